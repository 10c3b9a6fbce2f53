//! Hand-written SQL with bound parameters, for the queries sea-query cannot spell (JSON paths,
//! window functions, grouped CASE sums). The placeholder is the backend's own (`$n` on
//! PostgreSQL, `?` on SQLite): that is what sea-query substitutes in custom expressions, and
//! `?` is positional, so values are bound in the order their placeholders appear in the text.

use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{DbBackend, Statement, Value};

pub(crate) struct Sql {
    pub backend: DbBackend,
    pub text: String,
    params: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            text: String::new(),
            params: Vec::new(),
        }
    }

    /// Binds one value and returns its placeholder.
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        self.params.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.params.len()),
            _ => "?".to_owned(),
        }
    }

    /// The text as an expression for a sea-query condition or order.
    pub fn into_expr(self) -> SimpleExpr {
        Expr::cust_with_values(self.text, self.params)
    }

    /// The text as a whole statement.
    pub fn statement(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.params)
    }
}
