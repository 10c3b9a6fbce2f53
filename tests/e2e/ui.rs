//! The web dashboard over plain HTTP: sign-in and its cookie, CSRF refusals, role-based
//! buttons, the session as a read-only API credential, and the security headers.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, redirect};
use serde_json::{Value, json};

use crate::helpers::{TestApp, create_key, id, spawn_app, spawn_with, step_run_ids};

fn no_redirects() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

/// The Set-Cookie header for `name`.
fn set_cookie(res: &Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

/// The value of the hidden `csrf` field of the first form in a page.
fn csrf_field(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    html[at..].split('"').next().expect("value").to_owned()
}

pub struct Signed {
    pub cookie: String,
    pub set_cookie: String,
}

/// Signs in through the form, as a browser does.
pub async fn sign_in_with(app: &TestApp, key: &str, headers: &[(&str, &str)]) -> Signed {
    let client = no_redirects();
    let form = client.get(app.url("/ui/login")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let login_cookie = cookie_pair(&set_cookie(&form, "procdash_login").expect("login cookie"));
    let token = csrf_field(&form.text().await.unwrap());
    let mut req = client
        .post(app.url("/ui/login"))
        .header(COOKIE, login_cookie)
        .form(&[("api_key", key), ("csrf", token.as_str())]);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 303, "sign-in redirects");
    assert_eq!(res.headers()[LOCATION], "/ui/");
    let set_cookie = set_cookie(&res, "procdash_session").expect("session cookie");
    Signed {
        cookie: cookie_pair(&set_cookie),
        set_cookie,
    }
}

pub async fn sign_in(app: &TestApp, key: &str) -> Signed {
    sign_in_with(app, key, &[]).await
}

async fn page(app: &TestApp, cookie: &str, path: &str) -> Response {
    no_redirects()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

async fn page_html(app: &TestApp, cookie: &str, path: &str) -> String {
    let res = page(app, cookie, path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

async fn post_form(app: &TestApp, cookie: &str, path: &str, csrf: Option<&str>) -> Response {
    let form: Vec<(&str, &str)> = csrf.map(|c| vec![("csrf", c)]).unwrap_or_default();
    no_redirects()
        .post(app.url(path))
        .header(COOKIE, cookie)
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_session_cookie_that_never_holds_the_key() {
    let app = spawn_app().await;
    let signed = sign_in(&app, &app.admin_key).await;
    let c = signed.set_cookie.to_ascii_lowercase();
    assert!(c.contains("httponly"), "{c}");
    assert!(c.contains("samesite=strict"), "{c}");
    assert!(c.contains("path=/"), "{c}");
    assert!(c.contains("max-age="), "{c}");
    assert!(!c.contains("secure"), "plain HTTP: not Secure: {c}");
    assert!(!signed.set_cookie.contains(&app.admin_key));
    let html = page_html(&app, &signed.cookie, "/ui/").await;
    assert!(html.contains("Processes"));
    assert!(html.contains("data-role=\"admin\""));
}

#[tokio::test]
async fn the_cookie_is_secure_behind_a_trusted_https_proxy_only() {
    let app = spawn_with(|s| s.trusted_proxies = "127.0.0.1".into()).await;
    let proxied = sign_in_with(&app, &app.admin_key, &[("x-forwarded-proto", "https")]).await;
    assert!(proxied.set_cookie.to_ascii_lowercase().contains("secure"));
    let untrusted = spawn_app().await;
    let direct = sign_in_with(
        &untrusted,
        &untrusted.admin_key,
        &[("x-forwarded-proto", "https")],
    )
    .await;
    assert!(!direct.set_cookie.to_ascii_lowercase().contains("secure"));
}

#[tokio::test]
async fn a_wrong_key_or_a_forged_sign_in_form_opens_no_session() {
    let app = spawn_app().await;
    let client = no_redirects();
    let form = client.get(app.url("/ui/login")).send().await.unwrap();
    let login_cookie = cookie_pair(&set_cookie(&form, "procdash_login").unwrap());
    let token = csrf_field(&form.text().await.unwrap());
    let wrong = client
        .post(app.url("/ui/login"))
        .header(COOKIE, &login_cookie)
        .form(&[("api_key", "pd_not-a-key"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(set_cookie(&wrong, "procdash_session").is_none());
    assert!(wrong.text().await.unwrap().contains("Invalid API key"));
    // A cross-site form cannot read the token, and cannot set the cookie.
    let forged = client
        .post(app.url("/ui/login"))
        .form(&[
            ("api_key", app.admin_key.as_str()),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(set_cookie(&forged, "procdash_session").is_none());
}

#[tokio::test]
async fn pages_need_a_session_and_a_tampered_cookie_is_refused() {
    let app = spawn_app().await;
    let res = page(&app, "", "/ui/").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION], "/ui/login");
    let signed = sign_in(&app, &app.admin_key).await;
    let tampered = signed
        .cookie
        .replacen("procdash_session=", "procdash_session=9", 1);
    assert_eq!(page(&app, &tampered, "/ui/").await.status(), 303);
    let unknown = page(&app, &signed.cookie, "/ui/?debug=1").await;
    assert_eq!(
        unknown.status(),
        422,
        "unknown query parameters are refused"
    );
}

#[tokio::test]
async fn the_session_reads_the_api_but_cannot_change_it() {
    let app = spawn_app().await;
    let signed = sign_in(&app, &app.admin_key).await;
    let client = no_redirects();
    let read = client
        .get(app.api("/dashboard/overview"))
        .header(COOKIE, &signed.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let write = client
        .post(app.api("/processes/"))
        .header(COOKIE, &signed.cookie)
        .json(&json!({"name": "forged", "steps": [{"name": "a"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 401);
    let list: Value = app.get("/processes/").await.json().await.unwrap();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "nothing created"
    );
}

#[tokio::test]
async fn revoking_the_key_ends_its_sessions() {
    let app = spawn_app().await;
    let key = create_key(&app.db, "user", None).await;
    let signed = sign_in(&app, &key).await;
    assert_eq!(page(&app, &signed.cookie, "/ui/").await.status(), 200);
    let keys: Value = app.get("/admin/api-keys/").await.json().await.unwrap();
    let user = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "user")
        .expect("user key")
        .clone();
    let res = app
        .client
        .delete(app.api(&format!("/api-keys/{}", id(&user))))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(page(&app, &signed.cookie, "/ui/").await.status(), 303);
    let api = no_redirects()
        .get(app.api("/dashboard/overview"))
        .header(COOKIE, &signed.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
}

#[tokio::test]
async fn sign_out_needs_the_csrf_token_and_clears_the_cookie() {
    let app = spawn_app().await;
    let signed = sign_in(&app, &app.admin_key).await;
    let html = page_html(&app, &signed.cookie, "/ui/").await;
    let token = csrf_field(&html);
    let forged = post_form(&app, &signed.cookie, "/ui/logout", None).await;
    assert_eq!(forged.status(), 403);
    let wrong = post_form(&app, &signed.cookie, "/ui/logout", Some("00")).await;
    assert_eq!(wrong.status(), 403);
    assert_eq!(page(&app, &signed.cookie, "/ui/").await.status(), 200);
    let out = post_form(&app, &signed.cookie, "/ui/logout", Some(&token)).await;
    assert_eq!(out.status(), 303);
    assert_eq!(out.headers()[LOCATION], "/ui/login");
    let cleared = set_cookie(&out, "procdash_session").expect("cookie cleared");
    assert!(cleared.starts_with("procdash_session=;"), "{cleared}");
    assert!(
        cleared.to_ascii_lowercase().contains("max-age=0"),
        "{cleared}"
    );
}

async fn a_run(app: &TestApp) -> (i64, Value) {
    let process = app.create_process("billing", 2).await;
    let run = app.create_run(id(&process), "ent-1", None).await;
    (id(&run), run)
}

#[tokio::test]
async fn admin_actions_are_shown_to_admin_keys_only_and_refused_to_users() {
    let app = spawn_app().await;
    let (run_id, _) = a_run(&app).await;
    let path = format!("/ui/runs/{run_id}");
    let admin = sign_in(&app, &app.admin_key).await;
    let html = page_html(&app, &admin.cookie, &path).await;
    assert!(html.contains("id=\"delete-run\""));
    assert!(html.contains("id=\"neutralize-run\""));
    assert!(html.contains("data-confirm="));
    let user_key = create_key(&app.db, "user", None).await;
    let user = sign_in(&app, &user_key).await;
    let html = page_html(&app, &user.cookie, &path).await;
    assert!(!html.contains("delete-run"));
    assert!(!html.contains("neutralize-run"));
    assert!(html.contains("data-role=\"user\""));
    let token = csrf_field(&html);
    let res = post_form(&app, &user.cookie, &format!("{path}/delete"), Some(&token)).await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.get(&format!("/runs/{run_id}")).await.status(), 200);
}

#[tokio::test]
async fn a_forged_admin_form_changes_nothing_and_a_real_one_deletes_and_restores() {
    let app = spawn_app().await;
    let (run_id, _) = a_run(&app).await;
    let path = format!("/ui/runs/{run_id}");
    let admin = sign_in(&app, &app.admin_key).await;
    let forged = post_form(&app, &admin.cookie, &format!("{path}/delete"), None).await;
    assert_eq!(forged.status(), 403);
    let other = sign_in(&app, &app.admin_key).await;
    let other_token = csrf_field(&page_html(&app, &other.cookie, &path).await);
    let cross = post_form(
        &app,
        &admin.cookie,
        &format!("{path}/delete"),
        Some(&other_token),
    )
    .await;
    assert_eq!(cross.status(), 403, "a token of another session is refused");
    assert_eq!(app.get(&format!("/runs/{run_id}")).await.status(), 200);

    let token = csrf_field(&page_html(&app, &admin.cookie, &path).await);
    let deleted = post_form(&app, &admin.cookie, &format!("{path}/delete"), Some(&token)).await;
    assert_eq!(deleted.status(), 200);
    assert!(deleted.text().await.unwrap().contains("id=\"restore-run\""));
    assert_eq!(app.get(&format!("/runs/{run_id}")).await.status(), 404);
    let restored = post_form(
        &app,
        &admin.cookie,
        &format!("{path}/restore"),
        Some(&token),
    )
    .await;
    assert_eq!(restored.status(), 303);
    assert_eq!(app.get(&format!("/runs/{run_id}")).await.status(), 200);
    let neutralized = post_form(
        &app,
        &admin.cookie,
        &format!("{path}/neutralize"),
        Some(&token),
    )
    .await;
    assert_eq!(neutralized.status(), 303);
    let run = app.run(run_id).await;
    assert_eq!(run["is_neutralized"], true);
    let missing = post_form(&app, &admin.cookie, "/ui/runs/999999/delete", Some(&token)).await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn pages_carry_a_strict_csp_and_no_inline_script_or_style() {
    let app = spawn_app().await;
    let (run_id, run) = a_run(&app).await;
    let signed = sign_in(&app, &app.admin_key).await;
    let process_id = run["process_id"].as_i64().unwrap();
    let _ = step_run_ids(&run);
    for path in [
        "/ui/login".to_owned(),
        "/ui/".to_owned(),
        format!("/ui/processes/{process_id}"),
        format!("/ui/runs/{run_id}"),
        "/ui/entities/ent-1".to_owned(),
    ] {
        let res = page(&app, &signed.cookie, &path).await;
        assert_eq!(res.status(), 200, "{path}");
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        assert_eq!(res.headers()["cache-control"], "no-store");
        let html = res.text().await.unwrap();
        assert!(!html.contains("<script>"), "{path}: inline script");
        assert!(!html.contains(" style="), "{path}: inline style");
        assert!(!html.contains("<style"), "{path}: style element");
    }
    let js = page(&app, "", "/ui/assets/app.js").await;
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(page(&app, "", "/ui/assets/nope.js").await.status(), 404);
}

#[tokio::test]
async fn the_rerun_form_creates_an_attempt_for_admins_only_and_needs_the_csrf_token() {
    let app = spawn_with(crate::reruns::outbound).await;
    let target = crate::receiver::Receiver::start(vec![]).await;
    let config = json!({"api_endpoint": target.url("/rerun")});
    let (run_id, _, failed) = crate::reruns::failed_run(&app, config, true).await;
    let action = format!("/ui/step-runs/{failed}/rerun");
    let attempts = || async {
        let res = app.get(&format!("/step-runs/{failed}/attempts")).await;
        res.json::<Value>().await.unwrap().as_array().unwrap().len()
    };

    let user_key = create_key(&app.db, "user", None).await;
    let user = sign_in(&app, &user_key).await;
    let token = csrf_field(&page_html(&app, &user.cookie, &format!("/ui/runs/{run_id}")).await);
    assert_eq!(
        post_form(&app, &user.cookie, &action, Some(&token))
            .await
            .status(),
        403
    );

    let admin = sign_in(&app, &app.admin_key).await;
    assert_eq!(
        post_form(&app, &admin.cookie, &action, None).await.status(),
        403
    );
    assert_eq!(attempts().await, 1, "refused forms change nothing");

    let token = csrf_field(&page_html(&app, &admin.cookie, &format!("/ui/runs/{run_id}")).await);
    let res = post_form(&app, &admin.cookie, &action, Some(&token)).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()[LOCATION],
        format!("/ui/runs/{run_id}").as_str()
    );
    assert_eq!(attempts().await, 2);
    // The first attempt is no longer the current failed one.
    let again = post_form(&app, &admin.cookie, &action, Some(&token)).await;
    assert_eq!(again.status(), 409);
    assert_eq!(attempts().await, 2);
}

#[tokio::test]
async fn the_live_feed_accepts_the_session_cookie() {
    let app = spawn_app().await;
    let signed = sign_in(&app, &app.admin_key).await;
    let res = no_redirects()
        .get(app.api("/events"))
        .header(COOKIE, &signed.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let anonymous = no_redirects().get(app.api("/events")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}
