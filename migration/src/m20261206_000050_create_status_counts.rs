//! Live status counters, maintained by the database in the writing statement itself.
//!
//! `run_status_counts` holds, per process and status, how many live runs (`deleted_at IS NULL`)
//! there are; `step_status_counts` the same per step for live step runs. Dashboards, the overview
//! and the `total` of unwindowed run listings read a few dozen counter rows instead of counting
//! up to a million runs (the `COUNT(*)` of all runs took 0.5 s at 1,000,000 runs after ANALYZE).
//!
//! Triggers keep them exact whatever writes (handlers, bulk statements, the retention purge, a
//! restore, a person with psql), because they run inside the writing transaction.
//! - PostgreSQL: one statement-level trigger per table and operation, with transition tables,
//!   adds the grouped net change of the whole statement (a 1,000-row insert is one upsert per
//!   group, not 1,000). Counter rows are sharded by `pg_backend_pid() % 64`, so two concurrent
//!   transactions on the same process update different rows unless their backends collide, and
//!   readers sum the shards.
//! - SQLite: row triggers on shard 0; the server's writers are serialized anyway.
//!
//! The indexes below are partial on live rows and cover the dashboard's windowed counts (late,
//! stuck, failures in the last 24 hours) and its duration percentiles, so those are index-only.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A counted table: its counter table and the column the counters are grouped by.
struct Counted {
    table: &'static str,
    counters: &'static str,
    key: &'static str,
}

const COUNTED: [Counted; 2] = [
    Counted {
        table: "process_runs",
        counters: "run_status_counts",
        key: "process_id",
    },
    Counted {
        table: "step_runs",
        counters: "step_status_counts",
        key: "step_id",
    },
];

const INDEXES: [&str; 3] = [
    // Lists by process and status in created order (SQLite appends the rowid, PostgreSQL gets
    // the id), and the completion times of a process's completed runs, index-only.
    "CREATE INDEX IF NOT EXISTS ix_process_runs_live_process_status ON process_runs \
     (process_id, status, created_at, id, started_at, finished_at) WHERE deleted_at IS NULL",
    // Late (pending, created before), stuck (running, started before) and recent failures
    // (failed, finished since) across processes, index-only.
    "CREATE INDEX IF NOT EXISTS ix_process_runs_live_status ON process_runs \
     (status, created_at, started_at, finished_at, process_id) WHERE deleted_at IS NULL",
    // Step durations per step, index-only.
    "CREATE INDEX IF NOT EXISTS ix_step_runs_live_step_status ON step_runs \
     (step_id, status, started_at, finished_at) WHERE deleted_at IS NULL",
];

fn create_table(c: &Counted) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {counters} ({key} BIGINT NOT NULL, status VARCHAR(16) NOT NULL, \
         shard INTEGER NOT NULL, n BIGINT NOT NULL, PRIMARY KEY ({key}, status, shard))",
        counters = c.counters,
        key = c.key
    )
}

fn backfill(c: &Counted) -> String {
    format!(
        "INSERT INTO {counters} ({key}, status, shard, n) SELECT {key}, status, 0, COUNT(*) \
         FROM {table} WHERE deleted_at IS NULL GROUP BY {key}, status",
        counters = c.counters,
        key = c.key,
        table = c.table
    )
}

/// The upsert that adds `rows` (selecting key, status, shard, n) to the counters.
fn upsert(c: &Counted, rows: &str) -> String {
    format!(
        "INSERT INTO {counters} AS c ({key}, status, shard, n) {rows} \
         ON CONFLICT ({key}, status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;",
        counters = c.counters,
        key = c.key
    )
}

fn postgres_function(c: &Counted) -> String {
    let key = c.key;
    // Sorted, so two statements that share counter rows lock them in the same order.
    let grouped = |source: &str, sign: &str| {
        format!(
            "SELECT {key}, status, pg_backend_pid() % 64, {sign}COUNT(*) FROM {source} \
             WHERE deleted_at IS NULL GROUP BY {key}, status ORDER BY {key}, status"
        )
    };
    let net = format!(
        "SELECT {key}, status, pg_backend_pid() % 64, SUM(d) FROM (\
         SELECT {key}, status, -1 AS d FROM old_rows WHERE deleted_at IS NULL \
         UNION ALL SELECT {key}, status, 1 AS d FROM new_rows WHERE deleted_at IS NULL) AS x \
         GROUP BY {key}, status HAVING SUM(d) <> 0 ORDER BY {key}, status"
    );
    format!(
        "CREATE OR REPLACE FUNCTION procdash_count_{table}() RETURNS trigger AS $$ BEGIN \
         IF TG_OP = 'INSERT' THEN {insert} \
         ELSIF TG_OP = 'DELETE' THEN {delete} \
         ELSE {update} END IF; RETURN NULL; END $$ LANGUAGE plpgsql",
        table = c.table,
        insert = upsert(c, &grouped("new_rows", "")),
        delete = upsert(c, &grouped("old_rows", "-")),
        update = upsert(c, &net),
    )
}

fn postgres_triggers(c: &Counted) -> [String; 3] {
    let t = c.table;
    let trigger = |op: &str, referencing: &str| {
        format!(
            "CREATE TRIGGER {t}_count_{name} AFTER {op} ON {t} REFERENCING {referencing} \
             FOR EACH STATEMENT EXECUTE FUNCTION procdash_count_{t}()",
            name = op.to_lowercase()
        )
    };
    [
        trigger("INSERT", "NEW TABLE AS new_rows"),
        trigger("DELETE", "OLD TABLE AS old_rows"),
        trigger("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ]
}

fn sqlite_triggers(c: &Counted) -> [String; 3] {
    let (t, counters, key) = (c.table, c.counters, c.key);
    let add = |row: &str| {
        format!(
            "INSERT INTO {counters} ({key}, status, shard, n) SELECT {row}.{key}, {row}.status, 0, 1 \
             WHERE {row}.deleted_at IS NULL \
             ON CONFLICT ({key}, status, shard) DO UPDATE SET n = n + 1;"
        )
    };
    let remove = |row: &str| {
        format!(
            "UPDATE {counters} SET n = n - 1 WHERE {row}.deleted_at IS NULL \
             AND {key} = {row}.{key} AND status = {row}.status AND shard = 0;"
        )
    };
    [
        format!(
            "CREATE TRIGGER IF NOT EXISTS {t}_count_insert AFTER INSERT ON {t} BEGIN {} END",
            add("NEW")
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS {t}_count_delete AFTER DELETE ON {t} BEGIN {} END",
            remove("OLD")
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS {t}_count_update AFTER UPDATE OF status, deleted_at, {key} \
             ON {t} WHEN OLD.status IS NOT NEW.status OR OLD.{key} IS NOT NEW.{key} \
             OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) BEGIN {} {} END",
            remove("OLD"),
            add("NEW")
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        for c in &COUNTED {
            db.execute_unprepared(&create_table(c)).await?;
            db.execute_unprepared(&backfill(c)).await?;
            if postgres {
                db.execute_unprepared(&postgres_function(c)).await?;
                for trigger in postgres_triggers(c) {
                    db.execute_unprepared(&trigger).await?;
                }
            } else {
                for trigger in sqlite_triggers(c) {
                    db.execute_unprepared(&trigger).await?;
                }
            }
        }
        for index in INDEXES {
            db.execute_unprepared(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        for index in [
            "ix_process_runs_live_process_status",
            "ix_process_runs_live_status",
            "ix_step_runs_live_step_status",
        ] {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {index}"))
                .await?;
        }
        for c in &COUNTED {
            for op in ["insert", "delete", "update"] {
                let drop = if postgres {
                    format!("DROP TRIGGER IF EXISTS {t}_count_{op} ON {t}", t = c.table)
                } else {
                    format!("DROP TRIGGER IF EXISTS {}_count_{op}", c.table)
                };
                db.execute_unprepared(&drop).await?;
            }
            if postgres {
                db.execute_unprepared(&format!(
                    "DROP FUNCTION IF EXISTS procdash_count_{}()",
                    c.table
                ))
                .await?;
            }
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {}", c.counters))
                .await?;
        }
        Ok(())
    }
}
