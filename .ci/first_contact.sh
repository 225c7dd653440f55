#!/usr/bin/env bash
# First contact, as a new user: in a fresh clone of this checkout with an empty Deno cache, runs the
# README's demo command verbatim (read from the README), waits until `serve` answers, runs the
# `curl` queries the demo prints and expects data from each, then sends SIGTERM to the process the
# command started and expects it gone with its ports freed and no process of its session left.
# Then runs the README's test command verbatim in the same clone; its output is left in $TEST_LOG.
#
# Usage: first_contact.sh WORKDIR TEST_LOG. Prints `first-contact: ok|FAILED <check>` lines.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
work=$1
test_log=$2
ports=(9000 9001 6060)
failed=0
ok() { echo "first-contact: ok $*"; }
bad() { echo "first-contact: FAILED $*"; failed=1; }

# The README's quick start holds the two commands, demo first, each `npm ci ...` on its own line.
mapfile -t commands < <(sed -n '/^## Quick start/,/^## /p' "$src/README.md" | grep -E '^npm ci ')
if [ ${#commands[@]} -ne 2 ]; then
  bad "README quick start: expected 2 commands, found ${#commands[@]}"
  exit 1
fi
demo_cmd=${commands[0]}
test_cmd=${commands[1]}

mkdir -p "$work"
git clone -q "$src" "$work/clone" || { bad "git clone"; exit 1; }
# The tests read ../shared beside the project, as in CI's checkout.
if [ -d "$src/../shared" ]; then ln -s "$(cd "$src/../shared" && pwd)" "$work/shared"; fi
export DENO_DIR="$work/deno-dir"
cd "$work/clone" || exit 1
for p in "${ports[@]}"; do
  if ss -ltnH "sport = :$p" | grep -q .; then bad "port $p is taken before the demo starts"; fi
done

echo "\$ $demo_cmd"
demo_log="$work/demo.log"
# Its own session, so that every process it starts can be found afterwards.
setsid bash -c "$demo_cmd" >"$demo_log" 2>&1 &
shell_pid=$!
sid=$(ps -o sid= -p "$shell_pid" | tr -d ' ')
[ "$sid" = "$shell_pid" ] || bad "the demo did not get its own session ($sid)"
ready=0
for _ in $(seq 1 600); do
  if curl -fs -o /dev/null localhost:6060/-/ready && grep -q '^Stop with Ctrl-C' "$demo_log" &&
    curl -fs -o /dev/null 'localhost:9000/api/v1/labels'; then
    ready=1
    break
  fi
  if ! kill -0 "$shell_pid" 2>/dev/null && ! pgrep -s "$sid" >/dev/null; then break; fi
  sleep 0.5
done
if [ $ready -eq 1 ]; then ok "demo command serves (ready, Prometheus API answers)"; else
  bad "demo command did not become ready"
  grep -v '^Download' "$demo_log" | tail -40
fi

if [ $ready -eq 1 ]; then
  # The queries the demo prints, as printed.
  mapfile -t queries < <(grep -E "^  curl " "$demo_log" | sed 's/^  //')
  [ ${#queries[@]} -ge 3 ] || bad "demo printed ${#queries[@]} curl queries"
  for q in "${queries[@]}"; do
    out=$(bash -c "$q" 2>&1)
    if [[ $q == *objstore_bucket* ]]; then
      if [ -n "$out" ]; then ok "returns data: $q"; else bad "no output: $q"; fi
    elif [[ $out == *'"status":"success"'* && $out != *'"result":[]'* && $out != *'"data":[]'* ]]; then
      ok "returns data: $q"
    else
      bad "no data: $q -> ${out:0:300}"
    fi
  done
fi

# The process the user started: the shell `exec`s the last command of an `a && b` list only
# sometimes, so take the Deno process of the session.
target=$(pgrep -s "$sid" -x deno | head -n 1)
if [ -z "$target" ]; then
  bad "no deno process in the demo's session"
else
  count=$(pgrep -s "$sid" | wc -l)
  kill -TERM "$target"
  gone=0
  for _ in $(seq 1 60); do
    if ! kill -0 "$target" 2>/dev/null; then gone=1; break; fi
    sleep 0.5
  done
  if [ $gone -eq 1 ]; then ok "SIGTERM stops the demo's deno process (one of $count in its session)"; else
    bad "deno process $target still running 30 s after SIGTERM"
  fi
  sleep 0.5
  left=$(pgrep -s "$sid" -a)
  if [ -z "$left" ]; then ok "no process of the demo left"; else bad "left running: $left"; fi
  busy=""
  for p in "${ports[@]}"; do
    if ss -ltnH "sport = :$p" | grep -q .; then busy="$busy $p"; fi
  done
  if [ -z "$busy" ]; then ok "ports ${ports[*]} freed"; else bad "ports still taken:$busy"; fi
fi
pkill -KILL -s "$sid" 2>/dev/null

echo "\$ $test_cmd"
bash -c "$test_cmd" 2>&1 | tee "$test_log"
test_status=${PIPESTATUS[0]}
if [ "$test_status" -eq 0 ]; then ok "test command exits 0"; else bad "test command exited $test_status"; fi
exit $failed
