//! Swagger UI at /docs and ReDoc at /redoc, both served from assets built into the binary.

use actix_web::{HttpResponse, web};
use utoipa_redoc::{Redoc, Servable};
use utoipa_swagger_ui::SwaggerUi;

const REDOC_JS: &str = include_str!("../assets/redoc.standalone.js");
const REDOC_HTML: &str = r#"<!DOCTYPE html>
<html>
  <head>
    <title>procdash API reference</title>
    <meta charset="utf-8"/>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <div id="redoc-container"></div>
    <script src="/redoc/redoc.standalone.js"></script>
    <script>
      Redoc.init($spec, $config, document.getElementById("redoc-container"));
    </script>
  </body>
</html>"#;

pub fn configure(cfg: &mut web::ServiceConfig, doc: utoipa::openapi::OpenApi) {
    cfg.route("/redoc/redoc.standalone.js", web::get().to(redoc_js));
    cfg.route("/docs", web::get().to(docs_redirect));
    cfg.service(Redoc::with_url("/redoc", doc.clone()).custom_html(REDOC_HTML));
    cfg.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc));
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/docs/"))
        .finish()
}

async fn redoc_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(REDOC_JS)
}
