"""Formatters of ``alpinist rescan``: ``table`` (people) and ``json`` (``alpinist-rescan-report/1``)."""
