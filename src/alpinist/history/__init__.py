"""The scan history: one row per image per run of ``scan``, ``gate`` and ``rescan`` (docs/history.md).

``model.py`` holds the frozen entries (what reports may import), ``record.py`` turns a verb's result into
entries, ``store.py`` is the SQLite store.
"""
