"""CI templates: the workflow files ``alpinist ci init`` writes (``github.py``: GitHub Actions).

A leaf beside the pipeline: it imports nothing of alpinist but ``errors`` and the version. The commands
the workflows run (``gate``, ``rescan``, ``scan sbom:FILE``) are called by name, never imported.
"""
