//! The statements a create-run and a patch-step-run transaction send, counted with sea-orm's
//! metric callback (BEGIN and COMMIT are not counted). Fewer round trips is most of what
//! PostgreSQL throughput is made of here; these counts keep them from creeping back.
#![cfg(test)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use procdash_domain::{NewProcess, NewRun, StepInput, StepStatus, StepUpdate};
use procdash_persistence::Actor;
use procdash_persistence::repo::{processes, runs, step_runs};
use procdash_persistence::testing::TestDatabase;

fn five_steps() -> NewProcess {
    let steps = (0..5)
        .map(|i| StepInput {
            index: i,
            name: format!("s{i}"),
            is_rerunnable: false,
            rerun_config: None,
        })
        .collect();
    NewProcess::new("p", None, None, steps).unwrap()
}

#[tokio::test]
async fn create_run_and_patch_step_run_take_a_fixed_small_number_of_statements() {
    let test_db = TestDatabase::create().await;
    let mut db = test_db.connect_migrated().await;
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let actor = Actor::system("test");
    let p = processes::create(&db, &actor, five_steps()).await.unwrap();

    count.store(0, Ordering::SeqCst);
    let run = runs::create(&db, &actor, NewRun::new(p.id, "E", None, None).unwrap())
        .await
        .unwrap();
    // process (FOR SHARE), steps, run INSERT … RETURNING, step runs INSERT … RETURNING, change rows.
    assert_eq!(count.load(Ordering::SeqCst), 5, "create run");
    assert_eq!(run.steps.len(), 5);
    assert!(
        run.steps
            .windows(2)
            .all(|w| w[0].step_index < w[1].step_index)
    );

    count.store(0, Ordering::SeqCst);
    let update = StepUpdate {
        status: StepStatus::Running,
        started_at: None,
        finished_at: None,
        failure: None,
    };
    let saved = step_runs::update(&db, &actor, run.steps[0].id, update, None, None)
        .await
        .unwrap();
    // run (FOR UPDATE, found through the step run), step run, its UPDATE … RETURNING, the step
    // statuses, the run UPDATE, both change rows.
    assert_eq!(count.load(Ordering::SeqCst), 6, "patch step run");
    assert_eq!(saved.status, StepStatus::Running);
    assert_eq!(
        runs::get(&db, run.id).await.unwrap().status.as_str(),
        "running"
    );
}
