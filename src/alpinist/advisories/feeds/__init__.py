"""One package per advisory feed, each holding everything about it.

``<feed>/__init__.py`` is the feed's :class:`~alpinist.advisories.profile.Profile` (``PROFILE``): the
knowledge the rest of the program reads (namespace rule, package type and name, version scheme, severity
ownership, advisory URLs, rank). The other modules of the package are the feed's own code: download and
parse (a ``Source``), imported only when a source is built.

Adding a distro (Ubuntu, Wolfi...): a new package here with its ``PROFILE`` and its ``Source``, and one
line in ``advisories/registry.py``. Nothing else names a feed.
"""
