#!/usr/bin/env bash
# Debian packages the test suite uses: Prometheus 2.42 (promtool writes and dumps real TSDB
# blocks; the server is the reference for query results). Idempotent; skips what is present.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# Independent gRPC clients of the Thanos services (Python grpcio, grpc-go 1.33 built offline with
# Thanos' snappy library; its reflection stubs for the reflection test) and openssl for the
# TLS/mTLS test certificates.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The systemd unit examples: systemd-analyze verifies them, strace checks their system call filter.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v strace >/dev/null 2>&1 || need+=(strace)
# The query UI's browser test and screenshots drive headless Chromium.
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c "import grpc, google.protobuf" >/dev/null 2>&1 || need+=(python3-grpcio python3-protobuf)
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -d /usr/share/gocode/src/google.golang.org/grpc ] || need+=(golang-google-grpc-dev)
[ -d /usr/share/gocode/src/github.com/klauspost/compress ] || need+=(golang-github-klauspost-compress-dev)
[ -d /usr/share/gocode/src/github.com/cespare/xxhash ] || need+=(golang-github-cespare-xxhash-dev)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
fi
# Test servers of the object storage providers, when that script exists.
if [ -f .ci/install_test_servers.sh ]; then bash .ci/install_test_servers.sh; fi
