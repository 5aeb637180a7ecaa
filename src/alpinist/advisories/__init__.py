"""Advisory feeds and the advisory store.

``feed.py`` (what a feed is), ``feeds/<name>/`` (one package per feed: its profile and its code),
``registry.py`` (which feeds exist), ``profile.py`` (what a profile says), ``sources.py`` (the feeds as
the update consumes them), ``download.py``, ``store.py``, ``update.py``, ``model.py``, ``cvss.py``.
"""
