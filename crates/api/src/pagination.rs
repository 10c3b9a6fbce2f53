//! Page parameters and paginated responses with RFC 8288 Link and X-* headers.

use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use procdash_domain::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiResult;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000000, default = 1, example = 1)]
    pub page: Option<i64>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100, default = 50, example = 50)]
    pub size: Option<i64>,
}

impl PageParams {
    pub fn parse(&self) -> ApiResult<PageRequest> {
        Ok(PageRequest::new(self.page, self.size)?)
    }
}

/// One page of a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageResponse<T> {
    pub items: Vec<T>,
    /// Items matching the query on all pages.
    #[schema(example = 150)]
    pub total: u64,
    #[schema(example = 1)]
    pub page: u64,
    #[schema(example = 50)]
    pub size: u64,
    /// Number of pages; 0 when nothing matches.
    #[schema(example = 3)]
    pub pages: u64,
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
        }
    }
}

/// A 200 with the page as body and the navigation headers.
pub fn respond<T: Serialize>(req: &HttpRequest, body: PageResponse<T>) -> HttpResponse {
    let link = link_header(req, body.page, body.size, body.pages);
    HttpResponse::Ok()
        .insert_header(("Link", link))
        .insert_header(("X-Total-Count", body.total.to_string()))
        .insert_header(("X-Page", body.page.to_string()))
        .insert_header(("X-Page-Size", body.size.to_string()))
        .insert_header(("X-Total-Pages", body.pages.to_string()))
        .json(body)
}

fn link_header(req: &HttpRequest, page: u64, size: u64, pages: u64) -> String {
    let info = req.connection_info();
    // Links echo the path the client used, trailing slash included.
    let requested = req
        .extensions()
        .get::<crate::routes::RequestedPath>()
        .map(|p| p.0.clone());
    let path = requested.unwrap_or_else(|| req.path().to_owned());
    let base = format!("{}://{}{path}", info.scheme(), info.host());
    let others: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k != "page" && k != "size")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
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
