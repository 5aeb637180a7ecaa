"""alpinist: make a container image measurably safer and prove it."""

__version__ = "0.1.0"
