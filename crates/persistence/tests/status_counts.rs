//! The live status counters (migration 000050) against the rows themselves, after every kind of
//! write: creates, status changes, soft deletes and restores of runs and processes, a statement
//! that changes many rows at once and a hard DELETE that no repository makes. The dashboards'
//! counter path (no window) must answer what their counting path (a window covering everything)
//! answers, and a run listing's `total` what counting its rows gives.
#![cfg(test)]

use std::collections::HashMap;

use chrono::{Duration, Utc};
use procdash_domain::{
    NewProcess, NewRun, PageRequest, Paging, RunFilter, RunOrder, RunStatus, StepInput, StepStatus,
    StepUpdate,
};
use procdash_persistence::Actor;
use procdash_persistence::repo::dashboards::{self, RunScope};
use procdash_persistence::repo::{deletion, processes, runs, status_counts, step_runs};
use procdash_persistence::testing::TestDatabase;
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult, Statement};

fn steps(n: i64) -> NewProcess {
    let steps = (0..n)
        .map(|i| StepInput {
            index: i,
            name: format!("s{i}"),
            is_rerunnable: false,
            rerun_config: None,
        })
        .collect();
    NewProcess::new(&format!("p{n}"), None, None, steps).unwrap()
}

fn update(status: StepStatus) -> StepUpdate {
    StepUpdate {
        status,
        started_at: None,
        finished_at: None,
        failure: None,
    }
}

#[derive(FromQueryResult)]
struct Row {
    grp: i64,
    status: String,
    n: i64,
}

async fn grouped(db: &DatabaseConnection, sql: &str) -> HashMap<(i64, String), i64> {
    Row::find_by_statement(Statement::from_string(db.get_database_backend(), sql))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.n != 0)
        .map(|r| ((r.grp, r.status), r.n))
        .collect()
}

/// Counters and rows agree, for runs and step runs, and the dashboards' two paths agree.
async fn assert_consistent(db: &DatabaseConnection, process_ids: &[i64]) {
    let counted_runs = grouped(
        db,
        "SELECT process_id AS grp, status, CAST(SUM(n) AS BIGINT) AS n FROM run_status_counts GROUP BY process_id, status",
    )
    .await;
    let live_runs = grouped(
        db,
        "SELECT process_id AS grp, status, CAST(COUNT(*) AS BIGINT) AS n FROM process_runs WHERE deleted_at IS NULL GROUP BY process_id, status",
    )
    .await;
    assert_eq!(counted_runs, live_runs, "run counters");
    let counted_steps = grouped(
        db,
        "SELECT step_id AS grp, status, CAST(SUM(n) AS BIGINT) AS n FROM step_status_counts GROUP BY step_id, status",
    )
    .await;
    let live_steps = grouped(
        db,
        "SELECT step_id AS grp, status, CAST(COUNT(*) AS BIGINT) AS n FROM step_runs WHERE deleted_at IS NULL GROUP BY step_id, status",
    )
    .await;
    assert_eq!(counted_steps, live_steps, "step counters");

    let now = Utc::now();
    let everything = |process_id| RunScope {
        process_id,
        since: Some(now - Duration::days(3650)),
        until: Some(now + Duration::days(1)),
    };
    let unwindowed = |process_id| RunScope {
        process_id,
        ..RunScope::default()
    };
    let (recent, late) = (now - Duration::hours(24), now + Duration::seconds(1));
    let mut scopes: Vec<Option<i64>> = process_ids.iter().copied().map(Some).collect();
    scopes.push(None);
    for p in scopes {
        let mut counted = dashboards::run_counts(db, &unwindowed(p), recent, late)
            .await
            .unwrap();
        let mut live = dashboards::run_counts(db, &everything(p), recent, late)
            .await
            .unwrap();
        counted.retain(|c| c.total() > 0);
        counted.sort_by_key(|c| c.process_id);
        live.sort_by_key(|c| c.process_id);
        assert_eq!(counted, live, "run counts of {p:?}");
        let counted = dashboards::step_status_counts(db, &unwindowed(p))
            .await
            .unwrap();
        let live = dashboards::step_status_counts(db, &everything(p))
            .await
            .unwrap();
        assert_eq!(counted, live, "step counts of {p:?}");
        let counted = dashboards::step_durations(db, &unwindowed(p))
            .await
            .unwrap();
        let live = dashboards::step_durations(db, &everything(p))
            .await
            .unwrap();
        assert_eq!(counted, live, "step durations of {p:?}");
    }

    let page = Paging::Offset(PageRequest::new(Some(1), Some(5)).unwrap());
    let mut filters = vec![RunFilter::default()];
    for p in process_ids {
        for status in [None, Some(RunStatus::Failed), Some(RunStatus::Running)] {
            filters.push(RunFilter {
                process_id: Some(*p),
                status,
                ..RunFilter::default()
            });
        }
    }
    for filter in filters {
        assert!(status_counts::can_count(&filter));
        let listed = runs::list(db, &filter, &RunOrder::default(), &page)
            .await
            .unwrap();
        // The same filter with a window around everything is counted from the rows.
        let windowed = RunFilter {
            created_after: Some(now - Duration::days(3650)),
            ..filter.clone()
        };
        assert!(!status_counts::can_count(&windowed));
        let counted = runs::list(db, &windowed, &RunOrder::default(), &page)
            .await
            .unwrap();
        assert_eq!(listed.total, counted.total, "total of {filter:?}");
        assert_eq!(
            listed.items.iter().map(|r| r.id).collect::<Vec<_>>(),
            counted.items.iter().map(|r| r.id).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn counters_follow_every_kind_of_write() {
    let test_db = TestDatabase::create().await;
    let db = test_db.connect_migrated().await;
    let actor = Actor::system("test");
    let a = processes::create(&db, &actor, steps(3)).await.unwrap();
    let b = processes::create(&db, &actor, steps(2)).await.unwrap();
    let ids = [a.id, b.id];
    assert_consistent(&db, &ids).await;

    let mut created = Vec::new();
    for i in 0..8 {
        let process = if i % 3 == 0 { b.id } else { a.id };
        let run = runs::create(
            &db,
            &actor,
            NewRun::new(process, &format!("E{i}"), None, None).unwrap(),
        )
        .await
        .unwrap();
        created.push(run);
    }
    assert_consistent(&db, &ids).await;

    // Runs move to running, completed and failed through their step runs.
    for (i, run) in created.iter().enumerate() {
        let statuses = match i % 4 {
            0 => vec![StepStatus::Running],
            1 => vec![StepStatus::Success; run.steps.len()],
            2 => vec![StepStatus::Success, StepStatus::Failed],
            _ => vec![],
        };
        for (step, status) in run.steps.iter().zip(statuses) {
            step_runs::update(
                &db,
                &actor,
                step.id,
                update(StepStatus::Running),
                None,
                None,
            )
            .await
            .unwrap();
            if status != StepStatus::Running {
                step_runs::update(&db, &actor, step.id, update(status), None, None)
                    .await
                    .unwrap();
            }
        }
    }
    assert_consistent(&db, &ids).await;

    deletion::delete_run(&db, &actor, created[1].id, None)
        .await
        .unwrap();
    deletion::delete_run(&db, &actor, created[2].id, None)
        .await
        .unwrap();
    assert_consistent(&db, &ids).await;
    deletion::restore_run(&db, &actor, created[2].id)
        .await
        .unwrap();
    assert_consistent(&db, &ids).await;

    deletion::delete_process(&db, &actor, b.id, None)
        .await
        .unwrap();
    assert_consistent(&db, &ids).await;
    deletion::restore_process(&db, &actor, b.id).await.unwrap();
    assert_consistent(&db, &ids).await;

    // One statement that changes many rows, and hard deletes no repository makes.
    db.execute_unprepared(&format!(
        "UPDATE process_runs SET status = 'cancelled' WHERE process_id = {} AND status = 'pending'",
        a.id
    ))
    .await
    .unwrap();
    assert_consistent(&db, &ids).await;
    let victim = created[5].id;
    db.execute_unprepared(&format!("DELETE FROM step_runs WHERE run_id = {victim}"))
        .await
        .unwrap();
    db.execute_unprepared(&format!("DELETE FROM process_runs WHERE id = {victim}"))
        .await
        .unwrap();
    assert_consistent(&db, &ids).await;
}

#[tokio::test]
async fn only_process_and_status_filters_are_counted_by_the_counters() {
    assert!(status_counts::can_count(&RunFilter::default()));
    assert!(!status_counts::can_count(&RunFilter {
        entity_id: Some("E".into()),
        ..RunFilter::default()
    }));
    assert!(!status_counts::can_count(&RunFilter {
        process_id: Some(1),
        failed_at: Some(2),
        ..RunFilter::default()
    }));
}
