"""``alpinist fleet``: many images scanned on an engine (a local process pool or Dask), results in a store
(SQLite or PostgreSQL). docs/fleet.md is the user's side."""
