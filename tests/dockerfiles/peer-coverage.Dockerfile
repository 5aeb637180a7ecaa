# Exercises the checks hadolint and checkov have beyond insecure.Dockerfile (see bench/lint_peers.py).
FROM alpine:3.20.3 AS alpine-build
MAINTAINER someone@example.invalid
RUN apk update
RUN apk add gcc musl-dev
RUN apk add --allow-untrusted --no-cache /tmp/local.apk
RUN wget --no-check-certificate -O /tmp/x https://example.invalid/x
RUN cd /tmp && tar xf x
RUN echo "root:changeme" | chpasswd
ENV PYTHONHTTPSVERIFY=0 NODE_TLS_REJECT_UNAUTHORIZED=0 GIT_SSL_NO_VERIFY=true PIP_TRUSTED_HOST=example.invalid
ENV NPM_CONFIG_STRICT_SSL=false
RUN pip install --trusted-host example.invalid --no-cache-dir requests
RUN git -c http.sslVerify=false clone https://example.invalid/repo.git /src
RUN npm config set strict-ssl false

FROM fedora:40 AS rpm-build
RUN dnf install -y --nogpgcheck gcc
RUN yum install -y --setopt=sslverify=false make && yum clean all
RUN rpm -i --nosignature /tmp/x.rpm

FROM debian:12-slim
RUN apt update && apt install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
RUN apt-get update
RUN apt-get install -y --no-install-recommends --allow-unauthenticated ca-certificates && rm -rf /var/lib/apt/lists/*
RUN curl -sSL https://example.invalid/get.py | python3 -
RUN sh -c "$(curl -fsSL https://example.invalid/install.sh)"
USER 10001:10001
HEALTHCHECK CMD ["/healthcheck"]
ENTRYPOINT /usr/local/bin/app --serve
