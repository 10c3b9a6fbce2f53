//! The overview and the process dashboard are reused while no audited write has happened
//! (DASHBOARD_CACHE_SECONDS): an audited write shows at once, a write the change log does not
//! see shows after the TTL, and a TTL of zero computes every request.

use procdash_persistence::entities::process_run;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, id, spawn_with, step_run_ids};

async fn json_of(app: &TestApp, path: &str) -> Value {
    let res = app.get(path).await;
    assert_eq!(res.status().as_u16(), 200, "{path}");
    res.json().await.unwrap()
}

/// Marks a run cancelled in the database itself: no change-log row, so no new data version.
async fn cancel_unaudited(app: &TestApp, run_id: i64) {
    process_run::Entity::update_many()
        .col_expr(process_run::Column::Status, Expr::value("cancelled"))
        .filter(process_run::Column::Id.eq(run_id))
        .exec(&app.db)
        .await
        .unwrap();
}

fn overview_row(overview: &Value, process_id: i64) -> &Value {
    overview["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["process_id"] == process_id)
        .unwrap()
}

#[tokio::test]
async fn an_audited_write_shows_at_once_and_an_unaudited_one_after_the_ttl() {
    let app = spawn_with(|s| s.dashboard_cache_seconds = 2).await;
    let p = id(&app.create_process("cached", 1).await);
    let first = app.create_run(p, "E-1", None).await;

    let overview = json_of(&app, "/dashboard/overview").await;
    let board = json_of(&app, &format!("/dashboard/process/{p}")).await;
    assert_eq!(overview_row(&overview, p)["total_runs"], 1);
    // Reused: the same computation, to the instant it was made.
    let again = json_of(&app, "/dashboard/overview").await;
    assert_eq!(again["generated_at"], overview["generated_at"]);

    // Not in the change log: the kept answers stand until the TTL.
    cancel_unaudited(&app, id(&first)).await;
    let stale = json_of(&app, "/dashboard/overview").await;
    assert_eq!(overview_row(&stale, p)["cancelled_runs"], 0);
    let stale_board = json_of(&app, &format!("/dashboard/process/{p}")).await;
    assert_eq!(stale_board, board);

    // An audited write moves the version: both are computed again, with both changes.
    let second = app.create_run(p, "E-2", None).await;
    app.set_step(step_run_ids(&second)[0], json!({"status": "success"}))
        .await;
    let fresh = json_of(&app, "/dashboard/overview").await;
    assert_ne!(fresh["generated_at"], overview["generated_at"]);
    let row = overview_row(&fresh, p);
    assert_eq!(
        (
            &row["total_runs"],
            &row["cancelled_runs"],
            &row["completed_runs"]
        ),
        (&json!(2), &json!(1), &json!(1))
    );
    let fresh_board = json_of(&app, &format!("/dashboard/process/{p}")).await;
    assert_eq!(fresh_board["statistics"]["total_runs"], 2);
    assert_eq!(fresh_board["statistics"]["cancelled_runs"], 1);

    // Past the TTL an unaudited change shows too.
    let third = app.create_run(p, "E-3", None).await;
    let before = json_of(&app, "/dashboard/overview").await;
    cancel_unaudited(&app, id(&third)).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let after = json_of(&app, "/dashboard/overview").await;
    assert_eq!(overview_row(&before, p)["cancelled_runs"], 1);
    assert_eq!(overview_row(&after, p)["cancelled_runs"], 2);
}

#[tokio::test]
async fn a_zero_ttl_computes_every_request() {
    let app = spawn_with(|s| s.dashboard_cache_seconds = 0).await;
    let p = id(&app.create_process("uncached", 1).await);
    let run = app.create_run(p, "E", None).await;
    let first = json_of(&app, "/dashboard/overview").await;
    cancel_unaudited(&app, id(&run)).await;
    let second = json_of(&app, "/dashboard/overview").await;
    assert_ne!(first["generated_at"], second["generated_at"]);
    assert_eq!(overview_row(&second, p)["cancelled_runs"], 1);
    let board = json_of(&app, &format!("/dashboard/process/{p}")).await;
    assert_eq!(board["statistics"]["cancelled_runs"], 1);
}

async fn metadata_keys(app: &TestApp, process_id: i64) -> Vec<String> {
    let body = json_of(app, &format!("/processes/{process_id}/searchable-fields")).await;
    body["searchable_fields"]["metadata_fields"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn searchable_fields_are_reused_until_an_audited_write() {
    let app = spawn_with(|s| s.dashboard_cache_seconds = 60).await;
    let p = id(&app.create_process("fields", 1).await);
    let run = app
        .post(
            "/runs/",
            &json!({"process_id": p, "entity_id": "E-1", "meta": {"region": "north"}}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(metadata_keys(&app, p).await, ["region"]);
    // A key written straight into the database: no change-log row, the kept answer stands.
    process_run::Entity::update_many()
        .col_expr(
            process_run::Column::Meta,
            Expr::value(json!({"region": "north", "hidden": 1})),
        )
        .filter(process_run::Column::Id.eq(id(&run)))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(metadata_keys(&app, p).await, ["region"]);
    // An audited write computes again, and sees both keys.
    app.post(
        "/runs/",
        &json!({"process_id": p, "entity_id": "E-2", "meta": {"tier": "gold"}}),
    )
    .await;
    assert_eq!(metadata_keys(&app, p).await, ["hidden", "region", "tier"]);
}
