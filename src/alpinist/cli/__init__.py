"""The command line: the group in ``app.py``, one module per verb (``sbom``, ``scan``, ``compare``, ``db``,
``lint``, ``migrate``), the option groups they share in ``options.py``, each verb's output formats in
``formats.py``, run-time helpers in ``common.py``. ``alpinist.cli:main`` is the console entry point."""

from alpinist.cli.app import app, main

__all__ = ["app", "main"]
