//! Smoke run of the tool: seed a few hundred runs, start the app in-process on that database,
//! and drive every HTTP scenario and the direct transactions briefly. No timing is asserted;
//! what must hold is that every request of every scenario got a 2xx answer, and that the seed
//! left a database the service accepts (the change-log chain verifies, the derived tables are
//! filled). On SQLite by default, on PostgreSQL when TEST_POSTGRES_URL is set.

// Inside a cfg(test) module, so clippy treats the helpers as test code like the e2e suite does.
#[cfg(test)]
mod smoke {
    use procdash_bench::direct::{self, DirectOptions};
    use procdash_bench::http::{self, RunOptions, scenario::Scenario};
    use procdash_bench::seed::{self, SeedOptions};
    use procdash_bench::table::Row;
    use procdash_persistence::audit::chain;
    use procdash_persistence::testing::TestDatabase;
    use procdash_persistence::{Actor, DatabaseConnection};
    use sea_orm::{ConnectionTrait, Statement};

    const RUNS: u64 = 300;
    const STEPS: u32 = 5;

    async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .expect("query")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("a count")
    }

    fn assert_all_ok(rows: &[Row]) {
        for row in rows {
            assert!(
                row.sample.failures.is_empty(),
                "{}: non-2xx answers {:?}",
                row.scenario,
                row.sample.failures
            );
            assert!(
                !row.sample.latencies_us.is_empty(),
                "{}: no answer inside the window",
                row.scenario
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_seeded_database_answers_every_scenario_with_2xx() {
        let database = TestDatabase::create().await;
        let report = seed::seed(&SeedOptions {
            database_url: database.url.clone(),
            runs: RUNS,
            processes: 3,
            steps: STEPS,
            days: 90,
            batch: 64,
            writers: 2,
            progress: false,
        })
        .await
        .expect("seeded");
        assert_eq!(report.runs, RUNS);

        let settings = procdash_server::Settings {
            database_url: database.url.clone(),
            port: 0,
            workers: 2,
            database_max_connections: 8,
            shutdown_timeout_seconds: 1,
            rate_limit_enabled: false,
            ..procdash_server::Settings::default()
        };
        let running = procdash_server::start(&settings, true)
            .await
            .expect("server starts");
        let handle = running.handle.clone();
        tokio::spawn(running.server);
        let db = running.db.clone();

        assert_eq!(
            count(&db, "SELECT COUNT(*) AS n FROM process_runs").await,
            RUNS as i64
        );
        assert_eq!(
            count(&db, "SELECT COUNT(*) AS n FROM step_runs").await,
            (RUNS * u64::from(STEPS)) as i64
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) AS n FROM change_log WHERE entity = 'run' AND operation = 'create'"
            )
            .await,
            RUNS as i64
        );
        assert!(
            count(
                &db,
                "SELECT COUNT(*) AS n FROM process_runs WHERE status = 'failed'"
            )
            .await
                > 0
        );
        assert!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM step_runs WHERE status = 'failed' AND failure IS NOT NULL"
        )
        .await
            > 0
    );
        assert_eq!(
            count(&db, "SELECT COUNT(*) AS n FROM kpi_run_facts").await,
            RUNS as i64
        );
        if !database.is_postgres() {
            assert_eq!(
                count(&db, "SELECT COUNT(*) AS n FROM run_search").await,
                RUNS as i64
            );
        }
        let verification = chain::verify(&db).await.expect("verify");
        assert!(verification.ok, "{verification:?}");

        let new =
            procdash_domain::api_key::NewApiKey::new("bench", None, "admin", None).expect("key");
        let (_, key) =
            procdash_persistence::repo::api_keys::create(&db, &Actor::system("test"), new)
                .await
                .expect("key created");
        let rows = http::run(&RunOptions {
            url: format!("http://{}", running.addr),
            key,
            clients: 2,
            seconds: 1,
            warmup: 0,
            scenarios: Scenario::ALL.to_vec(),
            deep_page: 10_000,
        })
        .await
        .expect("the run completes");
        assert_eq!(rows.len(), Scenario::ALL.len());
        assert_all_ok(&rows);
        let deep = rows
            .iter()
            .find(|r| r.scenario == "page_deep")
            .expect("page_deep row");
        assert!(deep.note.contains("deepest"), "{}", deep.note);

        let rows = direct::run(&DirectOptions {
            database_url: database.url.clone(),
            clients: 2,
            seconds: 1,
            warmup: 0,
        })
        .await
        .expect("the direct run completes");
        assert_all_ok(&rows);
        // The runs the load created were written through the service: the chain still holds.
        let verification = chain::verify(&db).await.expect("verify");
        assert!(verification.ok, "{verification:?}");
        handle.stop(false).await;
    }
}
