# Many hardening problems at once; each line is named in tests/test_lint_rules.py.
FROM ubuntu AS base
FROM base AS base
ENV DB_PASSWORD=hunter2 \
    APP_HOME=/srv/app
ARG GITHUB_TOKEN
ADD https://example.invalid/tool.tar.gz /tmp/
ADD config.ini /etc/app/
RUN apt-get update && apt-get upgrade -y && apt-get install curl sudo
RUN curl -fsSL https://example.invalid/install.sh | sh
RUN curl -k https://example.invalid/x -o /x && sudo chmod +x /x
RUN pip install flask
WORKDIR app
EXPOSE 22 8080
USER app
USER root
CMD python app.py
CMD ["python", "app.py"]
