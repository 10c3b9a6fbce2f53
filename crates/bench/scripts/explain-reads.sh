#!/usr/bin/env bash
# EXPLAIN (ANALYZE, BUFFERS) of every statement the read scenarios send, exactly as the server
# sends them (docs/performance.md, docs/plans/). Starts the release server on a seeded
# PostgreSQL database with auto_explain loaded on the server's own connections only, runs each
# read scenario with one client, and cuts the PostgreSQL log into one file per scenario by the
# time span the tool prints for it. Each file keeps the first plan of every distinct statement
# and how many times it ran in the span (background jobs that ran in the span show up too).
#   crates/bench/scripts/explain-reads.sh postgres://postgres@127.0.0.1:5432/procdash_bench_1m [out-dir]
# Environment: PORT (18190), DEEP_PAGE (10000), SECONDS_EACH (2), PG_LOG (Debian's log file).
set -euo pipefail
url="$1"
out="${2:-docs/plans}"
port="${PORT:-18190}"
deep="${DEEP_PAGE:-10000}"
seconds="${SECONDS_EACH:-2}"
bin="${CARGO_TARGET_DIR:-target}/release"
log="${PG_LOG:-/var/log/postgresql/postgresql-15-main.log}"
mkdir -p "$out"

explain='-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0'
explain+=' -c auto_explain.log_analyze=on -c auto_explain.log_buffers=on'
sep='?'
[[ "$url" == *\?* ]] && sep='&'
encoded=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$explain")

key=$(DATABASE_URL="$url" "$bin/procdash" api-key create --name explain --role admin | tail -n 1)
# Dashboard reuse off: every request computes, so its statements and their cost show.
DATABASE_URL="$url${sep}options=$encoded" RATE_LIMIT_ENABLED=false DASHBOARD_CACHE_SECONDS=0 PORT="$port" \
  "$bin/procdash" serve >"${TMPDIR:-/tmp}/explain-reads-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.2
done

spans="${TMPDIR:-/tmp}/explain-reads-spans.txt"
# One client, timings inflated by auto_explain's own instrumentation.
"$bin/procdash-bench" run --url "http://127.0.0.1:$port" --key "$key" --clients 1 \
  --seconds "$seconds" --warmup 0 --deep-page "$deep" --scenarios reads \
  >"$out/_one_client.txt" 2>"$spans"
cat "$out/_one_client.txt"

python3 - "$log" "$spans" "$out" <<'PY'
import re, sys
log, spans, out = sys.argv[1:]
stamp = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC) ")
span = re.compile(r"^procdash-bench: (\w+) (from|until) (.+)$")
bounds = {}
for line in open(spans):
    m = span.match(line.strip())
    if m:
        bounds.setdefault(m.group(1), {})[m.group(2)] = m.group(3)
entries, current = [], None
for line in open(log, errors="replace"):
    m = stamp.match(line)
    if m:
        current = [m.group(1), line]
        entries.append(current)
    elif current is not None:
        current[1] += line
for name, b in bounds.items():
    if "until" not in b:
        continue
    plans, order = {}, []
    for at, text in entries:
        if not (b["from"] <= at <= b["until"]) or "Query Text:" not in text:
            continue
        query = text.split("Query Text:", 1)[1].split("\n", 1)[0].strip()
        # The request-log writer's batched inserts are the server's own, of every scenario.
        if query.startswith('INSERT INTO "request_logs"'):
            continue
        # One entry per statement shape: IN lists of other lengths are the same statement.
        shape = re.sub(r"\$\d+(, \$\d+)*", "$n", query)
        if shape not in plans:
            plans[shape] = [text, 0]
            order.append(shape)
        plans[shape][1] += 1
    with open(f"{out}/{name}.txt", "w") as f:
        f.write(f"# {name}: {b['from']} .. {b['until']}, {len(order)} distinct statements\n\n")
        for q in order:
            text, n = plans[q]
            f.write(f"## ran {n} times\n{text}\n")
PY
