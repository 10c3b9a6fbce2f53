use std::future::{Ready, ready};
use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use procdash_domain::api_key::Role;

use crate::auth::{AuthFailure, AuthOutcome, Principal};
use crate::error::ApiError;

/// Which roles a handler admits.
pub trait RoleRequirement {
    fn allows(role: Role) -> bool;
}

/// Admin keys only.
pub struct Admin;
/// Any valid key.
pub struct AnyRole;

impl RoleRequirement for Admin {
    fn allows(role: Role) -> bool {
        role == Role::Admin
    }
}

impl RoleRequirement for AnyRole {
    fn allows(_: Role) -> bool {
        true
    }
}

/// The authenticated caller, admitted only if its role meets `R`. Putting it in a handler's
/// signature is what protects the route.
pub struct Auth<R: RoleRequirement> {
    pub principal: Principal,
    request_id: Option<String>,
    on_behalf_of: Option<String>,
    _role: PhantomData<R>,
}

impl<R: RoleRequirement> Auth<R> {
    /// The key as actor, with the request id and the (untrusted) X-User header for the audit.
    pub fn actor(&self) -> procdash_persistence::Actor {
        self.principal
            .actor()
            .in_request(self.request_id.clone(), self.on_behalf_of.clone())
    }

    pub fn is_admin(&self) -> bool {
        self.principal.role == Role::Admin
    }
}

impl<R: RoleRequirement> FromRequest for Auth<R> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let outcome = req.extensions().get::<AuthOutcome>().map(|o| o.0.clone());
        let result = match outcome.unwrap_or(Err(AuthFailure::Missing)) {
            Ok(principal) if R::allows(principal.role) => Ok(Self {
                principal,
                request_id: req
                    .extensions()
                    .get::<crate::request_id::RequestId>()
                    .map(|r| r.0.clone()),
                on_behalf_of: req
                    .headers()
                    .get("x-user")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                _role: PhantomData,
            }),
            Ok(_) => Err(ApiError::Forbidden("Admin access required".to_owned())),
            Err(AuthFailure::Unavailable) => Err(ApiError::Unavailable(
                AuthFailure::Unavailable.message().to_owned(),
            )),
            Err(failure) => Err(ApiError::Unauthorized(failure.message().to_owned())),
        };
        ready(result)
    }
}
