#!/usr/bin/env bash
# Real Python service images for the sbom benchmark, built as a user would without a Docker daemon:
# Debian packages with mmdebstrap, a venv with Django and friends from PyPI, one umoci layer per step
# (base, python3, venv), and a docker-archive by skopeo. Cached under bench/.images/ (ignored by git).
#
#   bench/debian_images.sh [SUITE...]        (default: bookworm trixie)
#
# Needs root (mmdebstrap --mode=root, chroot), mmdebstrap, umoci, skopeo, and network to
# deb.debian.org and pypi.org. When either is unreachable it says so and exits 3: the benchmark then
# reports these images as skipped, never as measured.
set -euo pipefail
cd "$(dirname "$0")"
OUT="$PWD/.images"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="django djangorestframework celery[redis] gunicorn psycopg[binary] requests boto3 pillow numpy"

for tool in mmdebstrap umoci skopeo chroot; do
  command -v "$tool" >/dev/null || { echo "debian_images: $tool is not installed (apt-get install $tool)"; exit 3; }
done
[ "$(id -u)" = 0 ] || { echo "debian_images: needs root (mmdebstrap --mode=root, chroot)"; exit 3; }
curl -fsI --max-time 10 "$MIRROR/dists/bookworm/Release" >/dev/null \
  || { echo "debian_images: $MIRROR is unreachable: the Debian images are skipped"; exit 3; }
curl -fsI --max-time 10 https://pypi.org/simple/django/ >/dev/null \
  || { echo "debian_images: pypi.org is unreachable: the Debian images are skipped"; exit 3; }

build() {
  local suite=$1 dir="$OUT/debian-$suite-venv"
  [ -f "$dir/done" ] && { echo "debian_images: $dir is cached"; return; }
  rm -rf "$dir" && mkdir -p "$dir"
  local layout="$dir/oci" bundle="$dir/bundle" tag="$suite-venv"
  umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  umoci unpack --image "$layout:$tag" "$bundle"
  rmdir "$bundle/rootfs" 2>/dev/null || true
  # layer 1: the minimal base
  mmdebstrap --quiet --mode=root --variant=minbase --include=ca-certificates \
    --dpkgopt='path-exclude=/usr/share/man/*' "$suite" "$bundle/rootfs" "$MIRROR"
  umoci repack --refresh-bundle --image "$layout:$tag" --history.created_by "mmdebstrap --variant=minbase $suite" "$bundle"
  # layer 2: python3 from Debian
  cp /etc/resolv.conf "$bundle/rootfs/etc/resolv.conf"
  chroot "$bundle/rootfs" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin'
  umoci repack --refresh-bundle --image "$layout:$tag" --history.created_by "apt-get install python3 python3-venv" "$bundle"
  # layer 3: the service's venv from PyPI
  # the host's CA bundle, for a network that reaches PyPI through a TLS-inspecting proxy; removed after
  cp /etc/ssl/certs/ca-certificates.crt "$bundle/rootfs/tmp/host-ca.crt"
  env SSL_CERT_FILE=/tmp/host-ca.crt REQUESTS_CA_BUNDLE=/tmp/host-ca.crt PIP_CERT=/tmp/host-ca.crt \
    chroot "$bundle/rootfs" sh -c "python3 -m venv /opt/venv && /opt/venv/bin/pip install -q --no-cache-dir $PACKAGES"
  rm -f "$bundle/rootfs/tmp/host-ca.crt"
  : > "$bundle/rootfs/etc/resolv.conf"
  umoci repack --refresh-bundle --image "$layout:$tag" --history.created_by "pip install $PACKAGES" "$bundle"
  umoci gc --layout "$layout"
  skopeo copy -q "oci:$layout:$tag" "docker-archive:$dir/image.docker.tar:$tag"
  rm -rf "$bundle"
  touch "$dir/done"
  echo "debian_images: built $dir"
}

for suite in "${@:-bookworm trixie}"; do
  for s in $suite; do build "$s"; done
done
