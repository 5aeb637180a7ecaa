"""``python3 -m app``: serve on ``SERVER_ADDRESS:SERVER_PORT`` (default ``0.0.0.0:8080``)."""

from app.main import main

raise SystemExit(main())
