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
    _role: PhantomData<R>,
}

impl<R: RoleRequirement> Auth<R> {
    pub fn actor(&self) -> procdash_persistence::Actor {
        self.principal.actor()
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
                _role: PhantomData,
            }),
            Ok(_) => Err(ApiError::Forbidden("Admin access required".to_owned())),
            Err(failure) => Err(ApiError::Unauthorized(failure.message().to_owned())),
        };
        ready(result)
    }
}
