/// Who performs a write. It comes from the authenticated principal, never from a client header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    label: Option<String>,
}

impl Actor {
    /// A principal identified by an API key.
    pub fn api_key(id: i64, name: &str) -> Self {
        Self {
            label: Some(format!("api_key:{id}:{name}")),
        }
    }

    /// The server itself (jobs, CLI).
    pub fn system(what: &str) -> Self {
        Self {
            label: Some(format!("system:{what}")),
        }
    }

    /// No principal is known (before authentication is configured).
    pub fn anonymous() -> Self {
        Self { label: None }
    }

    /// The value stored in created_by / updated_by.
    pub fn label(&self) -> Option<String> {
        self.label.clone()
    }
}
