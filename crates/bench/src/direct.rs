//! `procdash-bench direct`: the create-run and patch-step-run use cases through the repository
//! layer, without HTTP, so the API's share of the cost can be read off as API / direct.

use std::sync::Arc;
use std::time::Duration;

use procdash_domain::{NewRun, StepStatus, StepUpdate};
use procdash_persistence::entities::{process, step_run};
use procdash_persistence::repo::{runs, step_runs};
use procdash_persistence::{Actor, DatabaseConnection, DbConfig};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::Error;
use crate::load::{self, Window};
use crate::meta::run_meta;
use crate::rng::Rng;
use crate::stats::Outcome;
use crate::table::Row;

#[derive(Debug, Clone)]
pub struct DirectOptions {
    pub database_url: String,
    pub clients: usize,
    pub seconds: u64,
    pub warmup: u64,
}

struct Ids {
    processes: Vec<i64>,
    step_runs: Vec<i64>,
}

pub async fn run(options: &DirectOptions) -> Result<Vec<Row>, Error> {
    let mut config = DbConfig::new(options.database_url.clone());
    // One connection per client, as the server's pool would give under this load.
    config.max_connections = u32::try_from(options.clients).unwrap_or(16).clamp(1, 256) + 2;
    let db = procdash_persistence::connect(&config).await?;
    let ids = Arc::new(ids(&db).await?);
    let window = Window {
        clients: options.clients,
        warmup: Duration::from_secs(options.warmup),
        measure: Duration::from_secs(options.seconds.max(1)),
    };
    let actor = Arc::new(Actor::system("bench"));
    let (d, a, i) = (db.clone(), Arc::clone(&actor), Arc::clone(&ids));
    let create = load::drive(window, move |client, n| {
        let (db, actor, ids) = (d.clone(), Arc::clone(&a), Arc::clone(&i));
        async move { create_run(&db, &actor, &ids, client, n).await }
    })
    .await;
    let (d, a, i) = (db.clone(), Arc::clone(&actor), Arc::clone(&ids));
    let patch = load::drive(window, move |client, n| {
        let (db, actor, ids) = (d.clone(), Arc::clone(&a), Arc::clone(&i));
        async move { patch_step_run(&db, &actor, &ids, client, n).await }
    })
    .await;
    db.close().await?;
    Ok(vec![
        Row {
            scenario: "create_run".to_owned(),
            note: "repository, no HTTP".to_owned(),
            sample: create,
        },
        Row {
            scenario: "patch_step_run".to_owned(),
            note: "repository, no HTTP".to_owned(),
            sample: patch,
        },
    ])
}

/// Live processes and the newest step runs (the same kind of rows the HTTP scenarios use).
async fn ids(db: &DatabaseConnection) -> Result<Ids, Error> {
    let processes: Vec<i64> = process::Entity::find()
        .select_only()
        .column(process::Column::Id)
        .filter(process::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    let step_runs: Vec<i64> = step_run::Entity::find()
        .select_only()
        .column(step_run::Column::Id)
        .filter(step_run::Column::DeletedAt.is_null())
        .order_by_desc(step_run::Column::Id)
        .limit(5_000)
        .into_tuple()
        .all(db)
        .await?;
    if processes.is_empty() || step_runs.is_empty() {
        return Err("the database has no processes with step runs: seed it first".into());
    }
    Ok(Ids {
        processes,
        step_runs,
    })
}

fn pick(items: &[i64], client: usize, n: u64) -> i64 {
    let mut rng = Rng::new(((client as u64) << 40) ^ n);
    let i = usize::try_from(rng.below(items.len() as u64)).unwrap_or(0);
    items.get(i).copied().unwrap_or_default()
}

async fn create_run(
    db: &DatabaseConnection,
    actor: &Actor,
    ids: &Ids,
    client: usize,
    n: u64,
) -> Outcome {
    let entity = format!("BENCH-D-{client}-{n}");
    let new = NewRun::new(
        pick(&ids.processes, client, n),
        &entity,
        Some("Bench customer"),
        Some(run_meta(&mut Rng::new(n), n)),
    );
    let Ok(new) = new else {
        return Outcome::Failed("invalid input".to_owned());
    };
    load::timed(async { runs::create(db, actor, new).await.map(drop) }).await
}

async fn patch_step_run(
    db: &DatabaseConnection,
    actor: &Actor,
    ids: &Ids,
    client: usize,
    n: u64,
) -> Outcome {
    let update = StepUpdate {
        status: if n.is_multiple_of(2) {
            StepStatus::Running
        } else {
            StepStatus::Success
        },
        started_at: None,
        finished_at: None,
        failure: None,
    };
    let id = pick(&ids.step_runs, client, n);
    load::timed(async {
        step_runs::update(db, actor, id, update, Some("bench".to_owned()), None)
            .await
            .map(drop)
    })
    .await
}
