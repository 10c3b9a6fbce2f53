/// Who performs a write, and the request it came in. The principal comes from the authenticated
/// key, never from a client header; `on_behalf_of` (X-User) is recorded but not trusted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    label: Option<String>,
    key_id: Option<i64>,
    on_behalf_of: Option<String>,
    request_id: Option<String>,
}

impl Actor {
    /// A principal identified by an API key.
    pub fn api_key(id: i64, name: &str) -> Self {
        Self {
            label: Some(format!("api_key:{id}:{name}")),
            key_id: Some(id),
            ..Self::default()
        }
    }

    /// The server itself (jobs, CLI).
    pub fn system(what: &str) -> Self {
        Self {
            label: Some(format!("system:{what}")),
            ..Self::default()
        }
    }

    /// No principal is known.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// Adds the request the write belongs to.
    pub fn in_request(mut self, request_id: Option<String>, on_behalf_of: Option<String>) -> Self {
        self.request_id = request_id;
        self.on_behalf_of = on_behalf_of.map(|v| v.chars().take(255).collect());
        self
    }

    /// The value stored in created_by / updated_by.
    pub fn label(&self) -> Option<String> {
        self.label.clone()
    }

    pub fn key_id(&self) -> Option<i64> {
        self.key_id
    }

    pub fn on_behalf_of(&self) -> Option<String> {
        self.on_behalf_of.clone()
    }

    pub fn request_id(&self) -> Option<String> {
        self.request_id.clone()
    }
}
