//! Repository behaviour on a real database (SQLite, or PostgreSQL with TEST_POSTGRES_URL).
#![cfg(test)]

use procdash_domain::{NewProcess, NewRun, NewStep, PageRequest, Paging, StepInput};
use procdash_persistence::repo::{processes, runs, steps};
use procdash_persistence::testing::TestDatabase;
use procdash_persistence::{Actor, PersistenceError};
use sea_orm::{ConnectionTrait, DatabaseConnection};

async fn db() -> (TestDatabase, DatabaseConnection) {
    let test_db = TestDatabase::create().await;
    let conn = test_db.connect_migrated().await;
    (test_db, conn)
}

fn process(name: &str, steps: &[(i64, &str)]) -> NewProcess {
    let steps = steps
        .iter()
        .map(|(i, n)| StepInput {
            index: *i,
            name: (*n).to_owned(),
            is_rerunnable: false,
            rerun_config: None,
        })
        .collect();
    NewProcess::new(name, None, None, steps).unwrap()
}

#[tokio::test]
async fn runs_never_point_at_soft_deleted_steps() {
    let (_guard, db) = db().await;
    let actor = Actor::system("test");
    let p = processes::create(&db, &actor, process("p", &[(0, "a"), (1, "b"), (2, "c")]))
        .await
        .unwrap();
    let deleted = p.steps[1].id;
    db.execute_unprepared(&format!(
        "UPDATE process_steps SET deleted_at = created_at WHERE id = {deleted}"
    ))
    .await
    .unwrap();
    let run = runs::create(&db, &actor, NewRun::new(p.id, "E", None, None).unwrap())
        .await
        .unwrap();
    let step_ids: Vec<i64> = run.steps.iter().map(|s| s.step_id).collect();
    assert_eq!(step_ids, [p.steps[0].id, p.steps[2].id]);
    assert_eq!(
        run.steps.iter().map(|s| s.step_index).collect::<Vec<_>>(),
        [0, 2]
    );
    assert_eq!(run.created_by.as_deref(), Some("system:test"));
}

#[tokio::test]
async fn a_deleted_step_frees_its_index() {
    let (_guard, db) = db().await;
    let actor = Actor::anonymous();
    let p = processes::create(&db, &actor, process("p", &[(0, "a")]))
        .await
        .unwrap();
    let dup = steps::create(
        &db,
        &actor,
        p.id,
        NewStep::new(0, "again", false, None).unwrap(),
    )
    .await;
    assert!(matches!(dup, Err(PersistenceError::Conflict(_))));
    db.execute_unprepared("UPDATE process_steps SET deleted_at = created_at")
        .await
        .unwrap();
    let again = steps::create(
        &db,
        &actor,
        p.id,
        NewStep::new(0, "again", false, None).unwrap(),
    )
    .await;
    assert!(again.is_ok());
}

#[tokio::test]
async fn runs_of_missing_or_deleted_processes_are_not_found() {
    let (_guard, db) = db().await;
    let actor = Actor::anonymous();
    let missing = runs::create(&db, &actor, NewRun::new(404, "E", None, None).unwrap()).await;
    assert!(matches!(
        missing,
        Err(PersistenceError::NotFound {
            entity: "process",
            id: 404
        })
    ));
    let p = processes::create(&db, &actor, process("p", &[]))
        .await
        .unwrap();
    db.execute_unprepared("UPDATE processes SET deleted_at = created_at")
        .await
        .unwrap();
    let deleted = runs::create(&db, &actor, NewRun::new(p.id, "E", None, None).unwrap()).await;
    assert!(matches!(deleted, Err(PersistenceError::NotFound { .. })));
    assert!(matches!(
        processes::get(&db, p.id).await,
        Err(PersistenceError::NotFound { .. })
    ));
    let listed = processes::list(&db, &Paging::Offset(PageRequest::default()))
        .await
        .unwrap();
    assert_eq!(listed.total, Some(0));
}

#[tokio::test]
async fn a_failed_process_creation_leaves_nothing_behind() {
    let (_guard, db) = db().await;
    let actor = Actor::anonymous();
    // Bypass the domain's duplicate check so the database's unique index rejects the second
    // step after the process row was inserted: the whole transaction must roll back.
    let step = |name: &str| NewStep {
        index: 0,
        name: name.to_owned(),
        is_rerunnable: false,
        rerun_config: None,
    };
    let bad = NewProcess {
        name: "p".into(),
        meta: serde_json::json!({}),
        retention_months: None,
        steps: vec![step("a"), step("b")],
    };
    let result = processes::create(&db, &actor, bad).await;
    assert!(
        matches!(result, Err(PersistenceError::Conflict(_))),
        "{result:?}"
    );
    assert_eq!(
        processes::list(&db, &Paging::Offset(PageRequest::default()))
            .await
            .unwrap()
            .total,
        Some(0)
    );
    let orphans = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM process_steps",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(orphans, 0);
    // The process row's change-log entry was written before the failing step: it rolled back too.
    let changes = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM change_log",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(changes, 0, "a rolled-back change leaves no change-log row");
}

#[tokio::test]
async fn request_log_purge_removes_only_old_rows() {
    use procdash_persistence::repo::request_logs::{self, RequestLog};
    let (_guard, db) = db().await;
    let now = chrono::Utc::now();
    let row = |days_ago: i64| RequestLog {
        id: 0,
        occurred_at: now - chrono::Duration::days(days_ago),
        method: "GET".into(),
        route: "/api/v1/runs/{run_id}".into(),
        path: "/api/v1/runs/1".into(),
        query: None,
        status: 200,
        duration_ms: 1.5,
        api_key_id: Some(1),
        api_key_name: Some("k".into()),
        client_ip: None,
        user_agent: None,
        request_id: None,
        error_message: None,
    };
    request_logs::insert_batch(&db, vec![row(100), row(91), row(2), row(0)])
        .await
        .unwrap();
    let purged = request_logs::purge(&db, now - chrono::Duration::days(90))
        .await
        .unwrap();
    assert_eq!(purged, 2);
    let (daily, weekly, top) = request_logs::key_usage(&db, 1, now).await.unwrap();
    assert_eq!((daily, weekly), (1, 2));
    assert_eq!(top, vec![("/api/v1/runs/{run_id}".to_owned(), 2)]);
}
