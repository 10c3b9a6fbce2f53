#!/usr/bin/env bash
# What monthly partitions buy at 10,000,000 change-log rows (docs/scaling.md): the same rows in
# the partitioned change_log and in a plain copy, then retention of the oldest month, a record's
# history and a month's export timed on each. Needs a migrated PostgreSQL database:
#   createdb parts && DATABASE_URL=postgres://postgres@127.0.0.1/parts procdash migrate
#   crates/bench/scripts/history-partitions.sh postgres://postgres@127.0.0.1/parts [rows]
set -euo pipefail
url="$1"
rows="${2:-10000000}"
q() { psql "$url" -v ON_ERROR_STOP=1 -qAt "$@"; }
timed() { # label, SQL: wall time and WAL written
  local label="$1" sql="$2" lsn0 lsn1 t0 t1
  lsn0=$(q -c "select pg_current_wal_lsn()")
  t0=$(date +%s.%N)
  q -c "$sql" >/dev/null
  t1=$(date +%s.%N)
  lsn1=$(q -c "select pg_current_wal_lsn()")
  printf '%-58s %9.3f s  WAL %s\n' "$label" "$(echo "$t1 - $t0" | bc)" \
    "$(q -c "select pg_size_pretty(pg_wal_lsn_diff('$lsn1', '$lsn0'))")"
}

echo "== partitions for 2025-12 .. 2026-11"
for m in 2025-12 2026-01 2026-02 2026-03 2026-04 2026-05 2026-06 2026-07 2026-08 2026-09 2026-10 2026-11; do
  name="change_log_p${m/-/}"
  q -c "CREATE TABLE IF NOT EXISTS $name PARTITION OF change_log
        FOR VALUES FROM ('$m-01 00:00:00+00') TO (('$m-01'::date + interval '1 month')::timestamptz)"
done

echo "== $rows rows over 12 months (step-run updates, 6 per record), then the same in a plain table"
fill="SELECT i, timestamptz '2025-12-01 00:00:00+00' + (i * (interval '365 days' / $rows)),
        'step_run', i / 6, 'update', 1, 'bench', NULL, 'req-' || (i % 1000),
        jsonb_build_object('status', 'running'), jsonb_build_object('status', 'success'),
        '[\"status\"]'::jsonb, false, md5(i::text) || md5((i + 1)::text), i, md5(i::text) || md5(i::text),
        now(), now(), 'bench', 'bench', NULL
      FROM generate_series(1, $rows) AS i"
cols="id, occurred_at, entity, record_id, operation, actor_id, actor, on_behalf_of, request_id,
      before, after, changed_fields, redacted, payload_hash, chain_seq, chain_hash,
      created_at, updated_at, created_by, updated_by, deleted_at"
timed "insert into the partitioned change_log" "INSERT INTO change_log ($cols) $fill"
q -c "DROP TABLE IF EXISTS change_log_flat"
q -c "CREATE TABLE change_log_flat (LIKE change_log INCLUDING DEFAULTS)"
q -c "ALTER TABLE change_log_flat ADD PRIMARY KEY (id)"
for ix in "(actor_id)" "(chain_seq)" "(entity, record_id)" "(occurred_at)"; do
  q -c "CREATE INDEX ON change_log_flat $ix"
done
timed "insert into a plain table with the same indexes" "INSERT INTO change_log_flat ($cols) $fill"
q -c "ANALYZE change_log" -c "ANALYZE change_log_flat"
q -c "select 'sizes: partitioned ' || pg_size_pretty(sum(pg_total_relation_size(inhrelid))) from pg_inherits where inhparent = 'change_log'::regclass"
q -c "select 'sizes: plain ' || pg_size_pretty(pg_total_relation_size('change_log_flat'))"

echo "== a record's history (entity, record_id), newest first"
for t in change_log change_log_flat; do
  q -c "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT * FROM $t WHERE entity = 'step_run' AND record_id = 1234567 ORDER BY occurred_at DESC" | grep -E "Planning Time|Execution Time|Append|Index Scan" | sed "s/^/$t: /"
done
echo "== one month's rows, as an export of 2026-06 reads them"
for t in change_log change_log_flat; do
  q -c "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT count(*), max(chain_seq) FROM $t WHERE occurred_at >= '2026-06-01' AND occurred_at < '2026-07-01'" | grep -E "Execution Time|Scan" | sed "s/^/$t: /"
done

echo "== retention of the oldest month"
n=$(q -c "select count(*) from change_log_flat where occurred_at < '2026-01-01'")
echo "rows in 2025-12: $n"
timed "plain: DELETE the month's rows" "DELETE FROM change_log_flat WHERE occurred_at < '2026-01-01'"
timed "plain: VACUUM after the DELETE" "VACUUM change_log_flat"
timed "partitioned: DETACH and DROP the month's partition" "ALTER TABLE change_log DETACH PARTITION change_log_p202512; DROP TABLE change_log_p202512"
q -c "DROP TABLE change_log_flat"
