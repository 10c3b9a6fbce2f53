//! Page parameters and paginated responses with RFC 8288 Link and X-* headers. Every listing
//! pages by `page`/`size` (counted) or by `cursor` (keyset, not counted).

use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use procdash_domain::{Page, PageRequest, Paging, Position};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::cursor;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use procdash_domain::page::MAX_PAGE_SIZE;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000000, default = 1, example = 1)]
    pub page: Option<i64>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100, default = 50, example = 50)]
    pub size: Option<i64>,
    /// Opaque keyset cursor from `next_cursor` or a `rel="next"` link; not with `page`.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn paging(&self, req: &HttpRequest, state: &AppState) -> ApiResult<Paging> {
        paging(
            req,
            state,
            self.page,
            self.size,
            self.cursor.as_deref(),
            MAX_PAGE_SIZE,
        )
    }
}

/// The paging a request asks for: a cursor (keyset; `page` must be absent) or a page number.
pub fn paging(
    req: &HttpRequest,
    state: &AppState,
    page: Option<i64>,
    size: Option<i64>,
    cursor: Option<&str>,
    max_size: u64,
) -> ApiResult<Paging> {
    let Some(token) = cursor else {
        return Ok(Paging::Offset(PageRequest::with_max(page, size, max_size)?));
    };
    if page.is_some() {
        return Err(ApiError::BadRequest(
            "page and cursor exclude each other".into(),
        ));
    }
    let size = PageRequest::with_max(None, size, max_size)?.size();
    let after = cursor::decode(token, &cursor::fingerprint(req), &cursor_key(state))?;
    Ok(Paging::Keyset { size, after })
}

fn cursor_key(state: &AppState) -> Vec<u8> {
    state.security.secret_key.clone().unwrap_or_default()
}

/// The cursor to the rows after this page: when more follow and the client pages by cursor or
/// has not chosen a page number (so a plain first request can switch to cursors).
pub fn next_cursor<D>(
    req: &HttpRequest,
    state: &AppState,
    page: &Page<D>,
    position_of: impl Fn(&D) -> Position,
) -> Option<String> {
    let by_page =
        url::form_urlencoded::parse(req.query_string().as_bytes()).any(|(k, _)| k == "page");
    if !page.has_more || by_page {
        return None;
    }
    let last = page.items.last()?;
    Some(cursor::encode(
        position_of(last),
        cursor::fingerprint(req),
        &cursor_key(state),
    ))
}

/// The position of a row of a listing ordered by id alone.
pub fn by_id(id: i64) -> Position {
    Position {
        key: serde_json::Value::Null,
        id,
    }
}

/// The position of a row of a listing ordered by a timestamp, then id.
pub fn by_time(at: chrono::DateTime<chrono::Utc>, id: i64) -> Position {
    Position {
        key: serde_json::Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        id,
    }
}

/// One page of a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageResponse<T> {
    pub items: Vec<T>,
    /// Items matching the query on all pages; null when paging by cursor (not counted).
    #[schema(example = 150)]
    pub total: Option<u64>,
    /// Null when paging by cursor.
    #[schema(example = 1)]
    pub page: Option<u64>,
    #[schema(example = 50)]
    pub size: u64,
    /// Number of pages; 0 when nothing matches; null when paging by cursor.
    #[schema(example = 3)]
    pub pages: Option<u64>,
    /// Pass as `cursor` for the rows after this page. Present when more rows follow and the
    /// request gave a cursor or no page number.
    pub next_cursor: Option<String>,
}

impl<T> PageResponse<T> {
    pub fn from_page<D>(page: Page<D>, f: impl FnMut(D) -> T) -> Self {
        let page = page.map(f);
        Self {
            items: page.items,
            total: page.total,
            page: page.page,
            size: page.size,
            pages: page.pages,
            next_cursor: None,
        }
    }

    pub fn with_next(mut self, cursor: Option<String>) -> Self {
        self.next_cursor = cursor;
        self
    }
}

/// A 200 with the page as body and the navigation headers.
pub fn respond<T: Serialize>(req: &HttpRequest, body: PageResponse<T>) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    match (body.page, body.pages, body.total) {
        (Some(page), Some(pages), Some(total)) => {
            let mut link = link_header(req, page, body.size, pages);
            if let Some(next) = &body.next_cursor {
                link.push_str(&format!(
                    ", <{}>; rel=\"next-cursor\"",
                    cursor_url(req, body.size, next)
                ));
            }
            res.insert_header(("Link", link))
                .insert_header(("X-Total-Count", total.to_string()))
                .insert_header(("X-Page", page.to_string()))
                .insert_header(("X-Total-Pages", pages.to_string()));
        }
        _ => {
            res.insert_header((
                "Link",
                cursor_links(req, body.size, body.next_cursor.as_deref()),
            ));
        }
    }
    res.insert_header(("X-Page-Size", body.size.to_string()))
        .json(body)
}

/// The base URL the client used and its parameters other than the paging ones.
fn base_and_filters(req: &HttpRequest) -> (String, Vec<(String, String)>) {
    let info = req.connection_info();
    // Links echo the path the client used, trailing slash included.
    let requested = req
        .extensions()
        .get::<crate::routes::RequestedPath>()
        .map(|p| p.0.clone());
    let path = requested.unwrap_or_else(|| req.path().to_owned());
    let base = format!("{}://{}{path}", info.scheme(), info.host());
    let others = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k != "page" && k != "size" && k != "cursor")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (base, others)
}

fn cursor_url(req: &HttpRequest, size: u64, cursor: &str) -> String {
    let (base, others) = base_and_filters(req);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("cursor", cursor);
    query.append_pair("size", &size.to_string());
    for (k, v) in &others {
        query.append_pair(k, v);
    }
    format!("{base}?{}", query.finish())
}

/// Keyset links: `first` (the listing from its start) and `next` when more rows follow.
fn cursor_links(req: &HttpRequest, size: u64, next: Option<&str>) -> String {
    let (base, others) = base_and_filters(req);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("size", &size.to_string());
    for (k, v) in &others {
        query.append_pair(k, v);
    }
    let mut links = vec![format!("<{base}?{}>; rel=\"first\"", query.finish())];
    if let Some(cursor) = next {
        links.push(format!("<{}>; rel=\"next\"", cursor_url(req, size, cursor)));
    }
    links.join(", ")
}

fn link_header(req: &HttpRequest, page: u64, size: u64, pages: u64) -> String {
    let (base, others) = base_and_filters(req);
    let url_for = |target: u64| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("page", &target.to_string());
        query.append_pair("size", &size.to_string());
        for (k, v) in &others {
            query.append_pair(k, v);
        }
        format!("{base}?{}", query.finish())
    };
    let last = pages.max(1);
    let mut links = vec![
        format!("<{}>; rel=\"first\"", url_for(1)),
        format!("<{}>; rel=\"last\"", url_for(last)),
    ];
    if page > 1 {
        links.push(format!("<{}>; rel=\"prev\"", url_for((page - 1).min(last))));
    }
    if page < pages {
        links.push(format!("<{}>; rel=\"next\"", url_for(page + 1)));
    }
    links.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn links_keep_other_parameters_including_repeated_ones() {
        let req = TestRequest::get()
            .uri("/api/v1/runs/?status=failed&page=2&tag=a&tag=b&size=10")
            .insert_header(("host", "example.test"))
            .to_http_request();
        let link = link_header(&req, 2, 10, 3);
        assert!(link.contains("<http://example.test/api/v1/runs/?page=1&size=10&status=failed&tag=a&tag=b>; rel=\"first\""));
        assert!(link.contains("page=3&size=10&status=failed&tag=a&tag=b>; rel=\"last\""));
        assert!(link.contains("page=1&size=10&status=failed&tag=a&tag=b>; rel=\"prev\""));
        assert!(link.contains("page=3&size=10&status=failed&tag=a&tag=b>; rel=\"next\""));
    }

    #[test]
    fn empty_result_links_to_page_one_only() {
        let req = TestRequest::get().uri("/x").to_http_request();
        let link = link_header(&req, 1, 50, 0);
        assert!(link.contains("page=1&size=50>; rel=\"last\""));
        assert!(!link.contains("rel=\"next\""));
        assert!(!link.contains("rel=\"prev\""));
    }
}
