"""The reports of ``alpinist recommend``: a rich table, Markdown and ``alpinist-recommend/1`` JSON, each a
pure function of :class:`alpinist.recommend.model.Recommendation`."""
