#!/bin/bash
# paced-threads.sh RATE [SECONDS] [BUILD_DIR]: one paced produce-and-consume phase against a fresh
# broker, and each broker thread's CPU during it. The same clients as bench/peers.ts's latency
# phase (paced-producer, linger.ms=1, acks=1, 1 KiB; rdkafka_performance -C -l at the log end),
# but at a fixed rate, so that two builds can be compared (BUILD_DIR: another checkout, built).
# Prints the producer's delivery latency, the broker's threads (ticks of 10 ms, from
# /proc/<pid>/task/*/stat; the main thread first), and the end-to-end percentiles, the first
# 10 % of samples dropped as peers.ts does. WINDOW_SECONDS=S also prints p50/p99 per S seconds
# of the phase (all samples, in the order received), to see warm-up. BROKER_OVERRIDES="k=v k=v"
# passes broker configs (--override each). Needs `npm run build` and
# the clients in bench/.build (built by any run of `npm run bench:peers`).
set -euo pipefail
rate=${1:?usage: paced-threads.sh RATE [SECONDS] [BUILD_DIR]}
seconds=${2:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${3:-$root}
clients=$root/bench/.build
scratch=$(mktemp -d)
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
cd "$build"
overrides=()
for override in ${BROKER_OVERRIDES:-}; do overrides+=(--override "$override"); done
node dist/src/main.js --override "listeners=PLAINTEXT://127.0.0.1:$port" --override "log.dirs=$scratch/data" --override num.partitions=1 "${overrides[@]}" > "$scratch/broker.log" 2>&1 &
broker=$!
cleanup() { kill -TERM "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; rm -rf "$scratch"; }
trap cleanup EXIT
for _ in $(seq 100); do grep -q "broker ready" "$scratch/broker.log" && break; sleep 0.1; done
node dist/src/cli/main.js --bootstrap-server "127.0.0.1:$port" topics create paced --partitions 1 > /dev/null
count=$((rate * seconds))
snapshot() { for task in /proc/$broker/task/*; do echo "$(basename "$task") $(awk '{print $14 + $15}' "$task/stat")"; done | sort -n; }
"$clients/rdkafka_performance" -C -t paced -b "127.0.0.1:$port" -o beginning -c "$count" -l -A "$scratch/latency.txt" -X fetch.wait.max.ms=100 -p 0 > /dev/null 2>&1 &
consumer=$!
sleep 1
snapshot > "$scratch/before"
"$clients/paced-producer" -t paced -b "127.0.0.1:$port" -s 1024 -c "$count" -r "$rate" -X acks=1 -X linger.ms=1 2>&1 | grep latency
snapshot > "$scratch/after"
wait "$consumer"
join "$scratch/before" "$scratch/after" | awk -v main="$broker" '{ d = $3 - $2; if ($1 == main) printf "main thread: %d ticks\n", d; else if (d > 0) printf "thread %s: %d ticks\n", $1, d }'
lines=$(wc -l < "$scratch/latency.txt")
tail -n +$((lines / 10 + 1)) "$scratch/latency.txt" | sort -n | awk '{ a[NR] = $1 } END { n = NR; printf "end-to-end: %d samples, p50 %.2f, p99 %.2f, p99.9 %.2f ms\n", n, a[int(n * 0.5) + 1] / 1000, a[int(n * 0.99) + 1] / 1000, a[int(n * 0.999) + 1] / 1000 }'
if [ -n "${WINDOW_SECONDS:-}" ]; then
  split -l $((rate * WINDOW_SECONDS)) -d -a 3 "$scratch/latency.txt" "$scratch/window."
  index=0
  for window in "$scratch"/window.*; do
    sort -n "$window" | awk -v from=$((index * WINDOW_SECONDS)) -v to=$(((index + 1) * WINDOW_SECONDS)) '{ a[NR] = $1 } END { n = NR; printf "window %d-%d s: p50 %.2f, p99 %.2f ms\n", from, to, a[int(n * 0.5) + 1] / 1000, a[int(n * 0.99) + 1] / 1000 }'
    index=$((index + 1))
  done
fi
