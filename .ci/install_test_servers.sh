#!/usr/bin/env bash
# Debian packages for the object storage provider tests: OpenStack Swift (proxy with tempauth
# and s3api, account/container/object servers) and memcached (tempauth keeps tokens there).
# The tests start their own one-node Swift on 127.0.0.1 with rings in a temporary directory;
# Swift only reads /etc/swift/swift.conf for the hash path suffix, so that file is written here
# when missing. Idempotent; skips what is present.
set -euo pipefail
need=()
command -v swift-proxy-server >/dev/null 2>&1 || need+=(swift-proxy)
command -v swift-object-server >/dev/null 2>&1 || need+=(swift-object)
command -v swift-container-server >/dev/null 2>&1 || need+=(swift-container)
command -v swift-account-server >/dev/null 2>&1 || need+=(swift-account)
command -v memcached >/dev/null 2>&1 || [ -x /usr/bin/memcached ] || need+=(memcached)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Do not start the packaged system services: the tests run their own processes.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
fi
mkdir -p /etc/swift
if ! grep -q '^swift_hash_path_suffix' /etc/swift/swift.conf 2>/dev/null; then
  cat >/etc/swift/swift.conf <<'CONF'
[swift-hash]
# Test installs only: a fixed suffix is fine for a throwaway one-node cluster.
swift_hash_path_suffix = parquet-gateway-tests
swift_hash_path_prefix = parquet-gateway-tests

[storage-policy:0]
name = Policy-0
default = yes
CONF
fi
