# The story's hand-rewritten Alpine Dockerfile, with its real bug:
# the builder's Python is 3.11, Alpine 3.22's python3 package is 3.12.
FROM python:3.11-alpine3.22 AS builder
RUN apk add --no-cache gcc musl-dev libffi-dev openssl-dev cargo rust
WORKDIR /build
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

FROM alpine:3.22.2
RUN apk add --no-cache python3 py3-pip \
 && addgroup -S -g 65532 nonroot \
 && adduser -S -D -H -u 65532 -G nonroot nonroot
COPY --from=builder /usr/local/lib/python3.11/site-packages /usr/lib/python3.12/site-packages
WORKDIR /app
COPY --chown=nonroot:nonroot . .
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/actuator/health')"]
CMD ["python3", "-m", "app"]
