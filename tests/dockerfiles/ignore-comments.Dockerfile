# alpinist ignore-file=ALP004,ALP017
FROM debian:12-slim
# alpinist ignore=ALP002,ALP013
RUN apt-get update && apt-get install -y curl
RUN apt-get update && \
    # alpinist ignore=ALP013
    apt-get install -y wget
# alpinist ignore=ALP001
USER root
