"""A small REST service equivalent to a Spring Boot app, on the Python standard library only.

- ``app.items``: the domain (an ``Item``), its validation and an in-memory, thread-safe repository;
- ``app.main``: the HTTP layer (routing, JSON, Spring-style error bodies, the actuator endpoints) and
  ``main()``, which ``python3 -m app`` runs.
"""

__version__ = "1.0.0"
