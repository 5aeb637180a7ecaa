"""The command line: one module per verb (``sbom`` lives with the group in ``app.py``), options shared by
several verbs in ``common.py``. ``alpinist.cli:main`` is the console entry point."""

from alpinist.cli.app import app, main

__all__ = ["app", "main"]
