//! Metadata conditions and sort keys of the run listing, per backend. Field paths and values are
//! always bound parameters; the SQL text around them is fixed.
//!
//! A value matches when it equals the text of the JSON scalar at the path: `5` matches 5 and
//! "5", `true` matches true, `null` matches null; objects and arrays never match.
//! - PostgreSQL: a containment test per spelling (`meta @> '{"n":5}'`), which the GIN
//!   `jsonb_path_ops` index on meta answers, then the exact text comparison on those rows.
//! - SQLite: JSON1 `json_type`/`->>`/`->` on the row.

use procdash_domain::health::RunHealth;
use procdash_domain::meta_filter::{MetaPath, spellings};
use procdash_domain::run_query::HealthCondition;
use sea_orm::ColumnTrait;
use sea_orm::sea_query::Condition;

use crate::entities::process_run;
use crate::sql::Sql;
use sea_orm::DbBackend;
use sea_orm::sea_query::{Expr, SimpleExpr};

/// A metadata path as a bound JSON path argument.
fn bind_path(sql: &mut Sql, path: &MetaPath) -> String {
    match sql.backend {
        DbBackend::Postgres => format!("{}::text[]", sql.bind(path.postgres_array())),
        _ => sql.bind(path.sqlite_path()),
    }
}

const META: &str = "\"process_runs\".\"meta\"";

/// The text of the JSON scalar at the path, or NULL for a missing key, an object or an array.
fn scalar_text(sql: &mut Sql, path: &MetaPath) -> String {
    let (a, b, c) = (
        bind_path(sql, path),
        bind_path(sql, path),
        bind_path(sql, path),
    );
    match sql.backend {
        DbBackend::Postgres => format!(
            "(CASE jsonb_typeof({META} #> {a}) WHEN 'string' THEN {META} #>> {b} \
             WHEN 'object' THEN NULL WHEN 'array' THEN NULL ELSE ({META} #> {c})::text END)"
        ),
        _ => format!(
            "(CASE json_type({META}, {a}) WHEN 'text' THEN {META} ->> {b} \
             WHEN 'object' THEN NULL WHEN 'array' THEN NULL ELSE {META} -> {c} END)"
        ),
    }
}

/// One field of a metadata filter: its value is one of `values`.
pub(crate) fn meta_condition(backend: DbBackend, path: &MetaPath, values: &[String]) -> SimpleExpr {
    let mut sql = Sql::new(backend);
    if backend == DbBackend::Postgres {
        // Index-served prefilter: the row contains one of the spellings at the path.
        let candidates: Vec<String> = values
            .iter()
            .flat_map(|v| spellings(v))
            .map(|leaf| format!("{META} @> {}::jsonb", sql.bind(path.nest(leaf).to_string())))
            .collect();
        let prefilter = format!("({}) AND ", candidates.join(" OR "));
        sql.text.push_str(&prefilter);
    }
    let text = scalar_text(&mut sql, path);
    let placeholders: Vec<String> = values.iter().map(|v| sql.bind(v.clone())).collect();
    let condition = format!("{text} IN ({})", placeholders.join(", "));
    sql.text.push_str(&condition);
    sql.into_expr()
}

/// The metadata value at `path`, as filter text, contains the lowercase `pattern` (a LIKE
/// pattern with `\\` as escape).
pub(crate) fn meta_key_contains(backend: DbBackend, path: &MetaPath, pattern: &str) -> SimpleExpr {
    let mut sql = Sql::new(backend);
    let text = scalar_text(&mut sql, path);
    let p = sql.bind(pattern.to_owned());
    sql.text = format!("lower({text}) LIKE {p} ESCAPE '\\'");
    sql.into_expr()
}

/// Some top-level scalar of the metadata, as filter text, contains `pattern`.
pub(crate) fn any_meta_contains(backend: DbBackend, pattern: &str) -> SimpleExpr {
    let mut sql = Sql::new(backend);
    let p = sql.bind(pattern.to_owned());
    sql.text = match backend {
        DbBackend::Postgres => format!(
            "EXISTS (SELECT 1 FROM jsonb_each(CASE WHEN jsonb_typeof({META}) = 'object' \
             THEN {META} ELSE '{{}}'::jsonb END) AS je \
             WHERE jsonb_typeof(je.value) NOT IN ('object', 'array') \
             AND lower(CASE jsonb_typeof(je.value) WHEN 'string' THEN je.value #>> '{{}}' \
             ELSE je.value::text END) LIKE {p} ESCAPE '\\')"
        ),
        _ => format!(
            "EXISTS (SELECT 1 FROM json_each({META}) AS je \
             WHERE je.type NOT IN ('object', 'array') \
             AND lower(CASE je.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
             WHEN 'null' THEN 'null' ELSE CAST(je.value AS TEXT) END) LIKE {p} ESCAPE '\\')"
        ),
    };
    sql.into_expr()
}

/// PostgreSQL only: the index-served superset of [`any_meta_contains`], a trigram match on the
/// document's text. Valid only for text that jsonb's output does not escape (no `"`, `\\` or
/// control characters), which the caller checks.
pub(crate) fn meta_document_contains(pattern: &str) -> SimpleExpr {
    Expr::cust_with_values(
        format!("lower({META}::text) LIKE $1 ESCAPE '\\'"),
        [pattern],
    )
}

/// SQLite only: the runs whose search document (entity id, entity name, scalar metadata values)
/// contains `text`, from the FTS5 trigram table. Needs at least 3 characters.
pub(crate) fn search_document_matches(text: &str) -> SimpleExpr {
    let phrase = format!("\"{}\"", text.replace('"', "\"\""));
    Expr::cust_with_values(
        "\"process_runs\".\"id\" IN (SELECT rowid FROM run_search WHERE run_search MATCH ?)",
        [phrase],
    )
}

/// The sort value of a metadata field: numbers order as numbers, strings as text; missing
/// values are NULL (sorted last by the caller).
pub(crate) fn meta_sort_key(backend: DbBackend, path: &MetaPath) -> SimpleExpr {
    let mut sql = Sql::new(backend);
    let p = bind_path(&mut sql, path);
    sql.text = match backend {
        // A JSON null sorts with the missing values, as json_extract makes it on SQLite.
        DbBackend::Postgres => format!("NULLIF({META} #> {p}, 'null'::jsonb)"),
        _ => format!("json_extract({META}, {p})"),
    };
    sql.into_expr()
}

/// Runs whose live step run for `step_id` failed (each run once: it is a semi-join).
pub(crate) fn failed_at(backend: DbBackend, step_id: i64) -> SimpleExpr {
    let mut sql = Sql::new(backend);
    let id = sql.bind(step_id);
    sql.text = format!(
        "EXISTS (SELECT 1 FROM \"step_runs\" AS sr WHERE sr.\"run_id\" = \"process_runs\".\"id\" \
         AND sr.\"step_id\" = {id} AND sr.\"status\" = 'failed' AND sr.\"deleted_at\" IS NULL)"
    );
    sql.into_expr()
}

/// Runs of the requested health at the condition's cutoffs.
pub(crate) fn health(h: &HealthCondition) -> Condition {
    use process_run::Column as C;
    let late = Condition::all()
        .add(C::Status.eq("pending"))
        .add(C::CreatedAt.lt(h.late_before));
    let known: Vec<i64> = h.stuck_before.iter().map(|(p, _)| *p).collect();
    let mut limits = Condition::any().add(
        Condition::all()
            .add(C::ProcessId.is_not_in(known))
            .add(C::StartedAt.lt(h.default_stuck_before)),
    );
    for (process_id, cutoff) in &h.stuck_before {
        limits = limits.add(
            Condition::all()
                .add(C::ProcessId.eq(*process_id))
                .add(C::StartedAt.lt(*cutoff)),
        );
    }
    let stuck = Condition::all().add(C::Status.eq("running")).add(limits);
    match h.health {
        Some(RunHealth::Late) => late,
        Some(RunHealth::Stuck) => stuck,
        Some(RunHealth::Ok) | None => {
            Condition::all().add(Condition::any().add(late).add(stuck).not())
        }
    }
}
