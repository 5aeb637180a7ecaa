# The story's "before": a Debian-slim Python service as it ran on Kubernetes.
FROM python:3.11.9-slim

WORKDIR /app
RUN apt-get update && apt-get install -y curl
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD curl -f http://localhost:8080/actuator/health || exit 1
CMD ["python", "-m", "app"]
