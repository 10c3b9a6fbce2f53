//! After the bulk load: what the service derives from the runs, and fresh planner statistics.

use procdash_persistence::repo::kpis;
use procdash_persistence::{DatabaseConnection, DbBackend, PersistenceError};
use sea_orm::ConnectionTrait;

/// The serial sequences continue after the ids the seed assigned (PostgreSQL; SQLite's rowid
/// follows the largest id by itself).
pub async fn advance_sequences(db: &DatabaseConnection) -> Result<(), PersistenceError> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for table in ["process_runs", "step_runs", "change_log"] {
        db.execute_unprepared(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
        ))
        .await?;
    }
    Ok(())
}

/// Moves the serial sequences past the ids the seed is about to assign (PostgreSQL), so that a
/// key created with `procdash api-key create` while the seed runs does not take one of them.
pub async fn reserve_ids(
    db: &DatabaseConnection,
    next: &[(&str, i64)],
) -> Result<(), PersistenceError> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for (table, first_free) in next {
        db.execute_unprepared(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST({first_free}, \
             (SELECT COALESCE(MAX(id), 0) + 1 FROM {table})), false)"
        ))
        .await?;
    }
    Ok(())
}

/// Folds the seeded runs into the KPI facts and rollups with a full rebuild (the job's own tables), so
/// its watermark ends after the seed and the server's first tick has nothing left to do.
pub async fn kpi_rollups(db: &DatabaseConnection) -> Result<u64, PersistenceError> {
    // One recompute per bucket (refresh would recompute each 500-run chunk's buckets), and the
    // watermark moves past the seeded runs, so the server's job does not fold them again.
    Ok(kpis::rebuild(db, None, |_, _| {}).await?.runs_seen)
}

/// Planner statistics (and, on PostgreSQL, the visibility map a long-lived table would have).
pub async fn analyze(db: &DatabaseConnection) -> Result<(), PersistenceError> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => "VACUUM (ANALYZE)",
        _ => "ANALYZE",
    };
    db.execute_unprepared(sql).await?;
    Ok(())
}
