#!/bin/sh
# Rebuilds the promtool fixture: fixture.om -> blocks/<ULID>/ -> dump.txt.
# Needs Deno (or $DENO) and promtool (Debian package `prometheus`, 2.42) on PATH.
set -eu
cd "$(dirname "$0")"
"${DENO:-deno}" run --allow-write gen_openmetrics.ts
rm -rf blocks
mkdir blocks
promtool tsdb create-blocks-from openmetrics fixture.om blocks
# promtool 2.42 opens the directory as a DB and insists on a WAL directory.
mkdir -p blocks/wal
promtool tsdb dump blocks > dump.txt
rm -rf blocks/wal blocks/chunks_head
