//! Authentication and authorization: API keys and bearer tokens resolved once per request by
//! [`middleware`], roles enforced by the [`Auth`] extractor in each handler's signature.

mod client_ip;
mod extractor;
mod keys;
mod middleware;
mod principal;
pub mod rate_limit;
pub mod session;
pub mod shared_limit;
mod tokens;

pub use client_ip::client_ip;
pub use extractor::{Admin, AnyRole, Auth, RoleRequirement};
pub use keys::KeyStore;
pub use middleware::middleware;
pub use principal::{AuthFailure, AuthOutcome, Principal};
pub use tokens::{TokenClaims, TokenService};
