FROM python:3.11-slim-bookworm AS build
RUN pip install --no-cache-dir --target /deps flask==3.0.3
FROM gcr.io/distroless/python3-debian12:nonroot
COPY --from=build /deps /deps
ENV PYTHONPATH=/deps
HEALTHCHECK CMD curl -f http://localhost:8080/ || exit 1
CMD python3 -m flask run
