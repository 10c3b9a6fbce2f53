//! Sign-in, sign-out and the signed-in viewer of a page.
//!
//! The session cookie is HttpOnly, SameSite=Strict, Path=/ (the pages' scripts read the JSON API
//! with it) and Secure over TLS. Sign-in is protected by a double-submit token (a random value in
//! a path-scoped cookie and in the form); every later form carries the session's synchronizer
//! token.

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::html;
use procdash_api::AppState;
use procdash_api::auth::session::{
    SESSION_COOKIE, SESSION_LIFETIME, Session, principal_from_cookie,
};
use procdash_api::auth::{AuthFailure, Principal};
use procdash_domain::api_key::Role;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::layout;

const LOGIN_COOKIE: &str = "procdash_login";
const LOGIN_PATH: &str = "/ui/login";

/// The signed-in person looking at a page.
pub struct Viewer {
    pub principal: Principal,
    pub csrf: String,
    session: Session,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.principal.role == Role::Admin
    }

    /// Whether a submitted form token belongs to this session.
    pub fn csrf_ok(&self, state: &AppState, submitted: &str) -> bool {
        state.sessions.csrf_matches(&self.session, submitted)
    }
}

/// Why a page cannot be shown to this request.
pub enum NotSignedIn {
    /// No session, or one that expired or whose key is no longer usable: sign in again.
    SignIn,
    /// The key store cannot be read.
    Unavailable,
}

impl NotSignedIn {
    pub fn response(self) -> HttpResponse {
        match self {
            Self::SignIn => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, LOGIN_PATH))
                .finish(),
            Self::Unavailable => layout::message_page(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                AuthFailure::Unavailable.message(),
            ),
        }
    }
}

/// The viewer, re-checking the session's key through the API's cached key lookup.
pub async fn viewer(req: &HttpRequest, state: &AppState) -> Result<Viewer, NotSignedIn> {
    match principal_from_cookie(req, state).await {
        Ok((principal, session)) => {
            let csrf = state
                .sessions
                .csrf_token(&session)
                .ok_or(NotSignedIn::Unavailable)?;
            Ok(Viewer {
                principal,
                csrf,
                session,
            })
        }
        Err(AuthFailure::Unavailable) => Err(NotSignedIn::Unavailable),
        Err(_) => Err(NotSignedIn::SignIn),
    }
}

/// Served over TLS: directly, or behind a trusted proxy that says so in X-Forwarded-Proto.
fn over_tls(req: &HttpRequest, state: &AppState) -> bool {
    if req.app_config().secure() {
        return true;
    }
    let from_proxy = req
        .peer_addr()
        .is_some_and(|a| state.security.trusted_proxies.contains(&a.ip()));
    from_proxy
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

fn cookie<'a>(
    req: &HttpRequest,
    state: &AppState,
    name: &'a str,
    value: String,
    path: &'a str,
) -> Cookie<'a> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(over_tls(req, state))
        .finish()
}

fn random_token() -> Option<String> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).ok()?;
    Some(hex::encode(buf))
}

fn login_page(
    status: actix_web::http::StatusCode,
    token: &str,
    error: Option<&str>,
) -> HttpResponse {
    let body = html! {
        main id="main" class="narrow" {
            h1 { "Sign in" }
            p { "Paste an API key once. The server keeps a signed session in a cookie; the key itself is not stored in the browser." }
            @if let Some(e) = error {
                p class="error" role="alert" id="login-error" { (e) }
            }
            form method="post" action=(LOGIN_PATH) id="login-form" {
                input type="hidden" name="csrf" value=(token);
                label for="api_key" { "API key" }
                input type="password" id="api_key" name="api_key" autocomplete="off" required
                    aria-describedby=[error.map(|_| "login-error")];
                button type="submit" { "Sign in" }
            }
        }
    };
    layout::bare(status, "Sign in", body)
}

/// The sign-in form, with a fresh double-submit token.
pub async fn login_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    _: web::Query<layout::NoParams>,
) -> HttpResponse {
    let Some(token) = random_token() else {
        tracing::error!("no randomness for the sign-in token");
        return NotSignedIn::Unavailable.response();
    };
    let mut res = login_page(actix_web::http::StatusCode::OK, &token, None);
    let c = cookie(&req, &state, LOGIN_COOKIE, token, LOGIN_PATH);
    if res.add_cookie(&c).is_err() {
        return NotSignedIn::Unavailable.response();
    }
    res
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginForm {
    #[serde(default)]
    api_key: String,
    /// Missing is the same as wrong: a forged form.
    #[serde(default)]
    csrf: String,
}

/// Checks the key as the API would and opens a session for it.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_owned());
    let same = expected
        .as_deref()
        .is_some_and(|e| !e.is_empty() && bool::from(e.as_bytes().ct_eq(form.csrf.as_bytes())));
    if !same {
        return layout::forbidden(
            "The sign-in form expired or was not sent by this site. Reload the page and try again.",
        );
    }
    let principal = match state.keys.authenticate(form.api_key.trim()).await {
        Ok(p) => p,
        Err(AuthFailure::Unavailable) => return NotSignedIn::Unavailable.response(),
        Err(failure) => {
            return login_page(
                actix_web::http::StatusCode::UNAUTHORIZED,
                &form.csrf,
                Some(failure.message()),
            );
        }
    };
    let Some(value) = state.sessions.issue(principal.key_id, Utc::now()) else {
        tracing::error!("cannot sign a session");
        return NotSignedIn::Unavailable.response();
    };
    tracing::info!(key_id = principal.key_id, "web session opened");
    let mut session = cookie(&req, &state, SESSION_COOKIE, value, "/");
    session.set_max_age(time::Duration::seconds(SESSION_LIFETIME.as_secs() as i64));
    let mut gone = cookie(&req, &state, LOGIN_COOKIE, String::new(), LOGIN_PATH);
    gone.make_removal();
    let mut res = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/ui/"))
        .finish();
    if res.add_cookie(&session).is_err() || res.add_cookie(&gone).is_err() {
        return NotSignedIn::Unavailable.response();
    }
    res
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsrfForm {
    /// Missing is the same as wrong: a forged form.
    #[serde(default)]
    pub csrf: String,
}

/// Ends the session: the cookie is cleared.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let viewer = match viewer(&req, &state).await {
        Ok(v) => v,
        Err(e) => return e.response(),
    };
    if !viewer.csrf_ok(&state, &form.csrf) {
        return layout::forbidden("The form was not sent by this site (CSRF check failed).");
    }
    let mut gone = cookie(&req, &state, SESSION_COOKIE, String::new(), "/");
    gone.make_removal();
    let mut res = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, LOGIN_PATH))
        .finish();
    if res.add_cookie(&gone).is_err() {
        return NotSignedIn::Unavailable.response();
    }
    res
}

type Refusal = actix_web::Error;
type Extracted<T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, Refusal>>>>;

/// A response that ends the request: the redirect to sign-in, a 403 page, and so on.
fn refuse(res: HttpResponse) -> Refusal {
    actix_web::error::InternalError::from_response("dashboard request refused", res).into()
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, Refusal> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| refuse(NotSignedIn::Unavailable.response()))
}

/// The signed-in viewer of a page; anyone else is sent to the sign-in form.
pub struct SignedIn(pub Viewer);

impl FromRequest for SignedIn {
    type Error = Refusal;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req)?;
            viewer(&req, &state)
                .await
                .map(SignedIn)
                .map_err(|e| refuse(e.response()))
        })
    }
}

/// An admin's state-changing form with a valid CSRF token, and the actor it writes as.
pub struct AdminAction {
    pub viewer: Viewer,
    pub actor: procdash_persistence::Actor,
}

impl FromRequest for AdminAction {
    type Error = Refusal;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let form = web::Form::<CsrfForm>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let form = form.await?;
            let state = app_state(&req)?;
            let viewer = viewer(&req, &state)
                .await
                .map_err(|e| refuse(e.response()))?;
            if !viewer.csrf_ok(&state, &form.csrf) {
                return Err(refuse(layout::forbidden(
                    "The form was not sent by this site (CSRF check failed). Nothing was changed.",
                )));
            }
            if !viewer.is_admin() {
                return Err(refuse(layout::forbidden(
                    "Admin access required. Nothing was changed.",
                )));
            }
            let request_id = req
                .extensions()
                .get::<procdash_api::request_id::RequestId>()
                .map(|r| r.0.clone());
            let actor = viewer.principal.actor().in_request(request_id, None);
            Ok(AdminAction { viewer, actor })
        })
    }
}
