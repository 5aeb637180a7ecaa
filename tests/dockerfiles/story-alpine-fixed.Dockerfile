# The story's Alpine Dockerfile with the bug fixed: the builder installs the same python3 package
# as the runtime (Alpine 3.22: Python 3.12), so the venv it builds imports in the runtime.
FROM alpine:3.22.2@sha256:4b7ce07002c69e8f3d704a9c5d6fd3053be500b7f1c69fc0d80990c2ad8dd412 AS builder
RUN apk add --no-cache python3 py3-pip gcc musl-dev libffi-dev openssl-dev cargo rust
WORKDIR /build
COPY requirements.txt .
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt

FROM alpine:3.22.2@sha256:4b7ce07002c69e8f3d704a9c5d6fd3053be500b7f1c69fc0d80990c2ad8dd412
RUN apk add --no-cache python3 \
 && addgroup -S -g 65532 nonroot \
 && adduser -S -D -H -u 65532 -G nonroot nonroot
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY --chown=nonroot:nonroot . .
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["/opt/venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/actuator/health')"]
CMD ["/opt/venv/bin/python", "-m", "app"]
