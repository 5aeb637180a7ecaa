"""``alpinist recommend``: which base image to move to, each candidate pulled, scanned and checked
against the application, ranked (see ``docs/ARCHITECTURE.md``)."""
