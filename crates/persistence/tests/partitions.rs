//! Monthly partitions of the history tables on PostgreSQL: the conversion of a database that
//! already holds data, and archival and purge by whole partitions, with the hash chain intact.
//! On SQLite the same calls take the row-by-row paths and must give the same results.
#![cfg(test)]

use chrono::{Months, Utc};
use procdash_domain::{NewProcess, NewRun, StepInput};
use procdash_migration::partitions::{self, Month};
use procdash_migration::{Migrator, MigratorTrait};
use procdash_persistence::audit::chain;
use procdash_persistence::repo::request_logs::RequestLog;
use procdash_persistence::repo::{processes, request_logs, runs};
use procdash_persistence::testing::TestDatabase;
use procdash_persistence::{Actor, DbConfig, connect};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn some_history(db: &DatabaseConnection, runs_n: usize) {
    let actor = Actor::system("test");
    let steps = (0..3)
        .map(|i| StepInput {
            index: i,
            name: format!("s{i}"),
            is_rerunnable: false,
            rerun_config: None,
        })
        .collect();
    let p = processes::create(db, &actor, NewProcess::new("p", None, None, steps).unwrap())
        .await
        .unwrap();
    for i in 0..runs_n {
        runs::create(
            db,
            &actor,
            NewRun::new(p.id, &format!("E{i}"), None, None).unwrap(),
        )
        .await
        .unwrap();
    }
}

fn log_at(at: chrono::DateTime<Utc>) -> RequestLog {
    RequestLog {
        id: 0,
        occurred_at: at,
        method: "GET".into(),
        route: "/x".into(),
        path: "/x".into(),
        query: None,
        status: 200,
        duration_ms: 1.0,
        api_key_id: None,
        api_key_name: None,
        client_ip: None,
        user_agent: None,
        request_id: None,
        error_message: None,
    }
}

#[tokio::test]
async fn the_migration_converts_a_database_with_data_and_back() {
    let test_db = TestDatabase::create().await;
    let db = connect(&DbConfig::new(test_db.url.clone())).await.unwrap();
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261203_000040_partition_history")
        .unwrap();
    Migrator::up(&db, Some(u32::try_from(before).unwrap()))
        .await
        .unwrap();
    some_history(&db, 20).await;
    let eight_months_ago = Utc::now().checked_sub_months(Months::new(8)).unwrap();
    request_logs::insert_batch(&db, vec![log_at(eight_months_ago), log_at(Utc::now())])
        .await
        .unwrap();
    chain::seal(&db).await.unwrap();
    let (changes, logs) = (
        count(&db, "change_log").await,
        count(&db, "request_logs").await,
    );
    assert_eq!(logs, 2);

    Migrator::up(&db, None).await.unwrap();
    assert_eq!(count(&db, "change_log").await, changes);
    assert_eq!(count(&db, "request_logs").await, logs);
    let verified = chain::verify(&db).await.unwrap();
    assert!(verified.ok, "{verified:?}");
    assert_eq!(i64::try_from(verified.checked).unwrap(), changes);
    let postgres = test_db.is_postgres();
    for table in partitions::TABLES {
        assert_eq!(
            partitions::is_partitioned(&db, table).await.unwrap(),
            postgres
        );
    }
    if postgres {
        let names = partitions::partition_names(&db, "request_logs")
            .await
            .unwrap();
        let old = Month::new(
            chrono::Datelike::year(&eight_months_ago),
            chrono::Datelike::month(&eight_months_ago),
        );
        assert!(
            names.contains(&old.partition_of("request_logs")),
            "{names:?}"
        );
        assert!(names.contains(&"request_logs_default".to_owned()));
        // Ids continue after the copied rows.
        let before_max = count(&db, "change_log").await;
        some_history(&db, 1).await;
        assert!(count(&db, "change_log").await > before_max);
        assert!(chain::verify(&db).await.unwrap().ok);
    }

    // And back to plain tables, rows kept: down through the partitioning migration.
    let from_partitioning = Migrator::migrations().len() - before;
    Migrator::down(&db, Some(u32::try_from(from_partitioning).unwrap()))
        .await
        .unwrap();
    assert!(!partitions::is_partitioned(&db, "change_log").await.unwrap());
    assert!(chain::verify(&db).await.unwrap().ok);
    some_history(&db, 1).await;
    Migrator::up(&db, None).await.unwrap();
    assert!(chain::verify(&db).await.unwrap().ok);
}

#[tokio::test]
async fn archival_and_purge_take_whole_months() {
    let test_db = TestDatabase::create().await;
    let db = test_db.connect_migrated().await;
    some_history(&db, 30).await;
    request_logs::insert_batch(&db, (0..5).map(|_| log_at(Utc::now())).collect())
        .await
        .unwrap();
    chain::seal(&db).await.unwrap();
    let changes = count(&db, "change_log").await;
    // A cutoff two months ahead makes this month and the next wholly due.
    let cutoff = Utc::now().checked_add_months(Months::new(2)).unwrap();

    let archived = chain::archive(&db, cutoff).await.unwrap();
    assert_eq!(i64::try_from(archived).unwrap(), changes);
    assert_eq!(count(&db, "change_log").await, 0);
    assert_eq!(count(&db, "change_log_archive").await, changes);
    let verified = chain::verify(&db).await.unwrap();
    assert!(verified.ok && i64::try_from(verified.checked).unwrap() == changes);

    assert_eq!(request_logs::purge(&db, cutoff).await.unwrap(), 5);
    assert_eq!(count(&db, "request_logs").await, 0);

    if test_db.is_postgres() {
        let this_month = Month::new(
            chrono::Datelike::year(&Utc::now()),
            chrono::Datelike::month(&Utc::now()),
        );
        let live = partitions::partition_names(&db, "change_log")
            .await
            .unwrap();
        let archive = partitions::partition_names(&db, "change_log_archive")
            .await
            .unwrap();
        let logs = partitions::partition_names(&db, "request_logs")
            .await
            .unwrap();
        assert!(
            !live.contains(&this_month.partition_of("change_log")),
            "{live:?}"
        );
        assert!(
            archive.contains(&this_month.partition_of("change_log_archive")),
            "the partition moved whole: {archive:?}"
        );
        assert!(
            !logs.contains(&this_month.partition_of("request_logs")),
            "{logs:?}"
        );
    }
}

#[tokio::test]
async fn maintenance_creates_the_months_ahead() {
    let test_db = TestDatabase::create().await;
    let db = test_db.connect_migrated().await;
    if !test_db.is_postgres() {
        assert_eq!(
            procdash_persistence::repo::partitions::maintain(&db)
                .await
                .unwrap(),
            0,
            "SQLite keeps plain tables"
        );
        return;
    }
    let far = Month::new(
        chrono::Datelike::year(&Utc::now()),
        chrono::Datelike::month(&Utc::now()),
    );
    let mut last = far;
    for _ in 0..procdash_migration::MONTHS_AHEAD {
        last = last.next();
    }
    db.execute_unprepared(&format!("DROP TABLE {}", last.partition_of("request_logs")))
        .await
        .unwrap();
    let created = procdash_persistence::repo::partitions::maintain(&db)
        .await
        .unwrap();
    assert_eq!(created, 1);
    let names = partitions::partition_names(&db, "request_logs")
        .await
        .unwrap();
    assert!(names.contains(&last.partition_of("request_logs")));
    assert_eq!(
        procdash_persistence::repo::partitions::maintain(&db)
            .await
            .unwrap(),
        0
    );
}
