"""Formatters of ``alpinist fleet``: the dashboard of ``fleet report`` (``html``, ``markdown``, ``json``) and
the summary ``fleet scan``/``fleet rescan`` print (``table``, ``json``). Pure functions of
``alpinist.fleet.model``: they never read the store or start an engine."""
