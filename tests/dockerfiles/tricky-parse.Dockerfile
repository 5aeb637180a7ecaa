# syntax=docker/dockerfile:1.7
ARG PY_VERSION=3.12
ARG BASE=python:${PY_VERSION}-slim-bookworm
ARG UNUSED

FROM ${BASE} AS build
# a comment between instructions
RUN set -eux; \
    # a comment inside a continuation
    apt-get update; \
    apt-get install -y --no-install-recommends gcc libpq-dev; \
    rm -rf /var/lib/apt/lists/*
RUN <<EOF
set -e
python -m venv /venv
/venv/bin/pip install --no-cache-dir psycopg==3.2.3
EOF
COPY <<-CONF /etc/app.conf
	key=value
	CONF
RUN ["/bin/sh", "-c", "echo exec-form with sh -c"]

FROM python:3.11-slim-bookworm
ARG UID=10001
ENV PATH="/venv/bin:$PATH" HOME=/home/app
COPY --from=build /venv /venv
USER ${UID}:${UID}
HEALTHCHECK NONE
ENTRYPOINT ["/venv/bin/python"]
CMD ["-m", "app"]
