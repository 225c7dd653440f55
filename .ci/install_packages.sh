#!/usr/bin/env bash
# Debian packages the test suite uses: Prometheus 2.42 (promtool writes and dumps real TSDB
# blocks; the server is the reference for query results). Idempotent; skips what is present.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# Test servers of the object storage providers, when that script exists.
if [ -f .ci/install_test_servers.sh ]; then bash .ci/install_test_servers.sh; fi
