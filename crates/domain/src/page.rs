use serde::Serialize;

use crate::DomainError;

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 100;
/// The highest page number any listing accepts. Documented as the `maximum` of every `page`
/// parameter; with the largest page size (1,000) the offset stays far inside i64, which the
/// database drivers need (an offset that does not fit panicked inside sea-query).
pub const MAX_PAGE: i64 = 1_000_000_000;

/// A validated page request: page ≥ 1, size within 1..=max.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u64,
    size: u64,
}

impl PageRequest {
    pub fn new(page: Option<i64>, size: Option<i64>) -> Result<Self, DomainError> {
        Self::with_max(page, size, MAX_PAGE_SIZE)
    }

    /// Some listings (the audit log) allow larger pages.
    pub fn with_max(page: Option<i64>, size: Option<i64>, max: u64) -> Result<Self, DomainError> {
        let mut errors = Vec::new();
        let page = page.unwrap_or(1);
        let size = size.unwrap_or(i64::try_from(DEFAULT_PAGE_SIZE.min(max)).unwrap_or(1));
        if !(1..=MAX_PAGE).contains(&page) {
            errors.push(crate::FieldError::new(
                "page",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let max_i = i64::try_from(max).unwrap_or(i64::MAX);
        if !(1..=max_i).contains(&size) {
            errors.push(crate::FieldError::new(
                "size",
                format!("must be between 1 and {max}"),
            ));
        }
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        Ok(Self {
            page: page.unsigned_abs(),
            size: size.unsigned_abs(),
        })
    }

    pub fn page(&self) -> u64 {
        self.page
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.size)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// Where a keyset page starts: after the row with this sort key value and id.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Position {
    /// The sort key of the last row seen (null for a row without one); absent when the listing
    /// is ordered by id alone.
    pub key: serde_json::Value,
    pub id: i64,
}

/// How a listing is paged: by page number (counted), or by keyset after a position (not
/// counted: page 10,000 costs what page 1 costs).
#[derive(Debug, Clone, PartialEq)]
pub enum Paging {
    Offset(PageRequest),
    Keyset { size: u64, after: Position },
}

impl Paging {
    pub fn size(&self) -> u64 {
        match self {
            Self::Offset(p) => p.size,
            Self::Keyset { size, .. } => *size,
        }
    }
}

/// One page of a listing. `total`, `page` and `pages` are known when paging by page number;
/// a keyset page only knows whether more rows follow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: Option<u64>,
    pub page: Option<u64>,
    pub size: u64,
    pub pages: Option<u64>,
    pub has_more: bool,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, total: u64, request: PageRequest) -> Self {
        let pages = total.div_ceil(request.size);
        Self {
            items,
            total: Some(total),
            page: Some(request.page),
            size: request.size,
            pages: Some(pages),
            has_more: request.page < pages,
        }
    }

    /// A keyset page from up to `size + 1` rows: the extra row only tells that more follow.
    pub fn keyset(mut items: Vec<T>, size: u64) -> Self {
        let limit = usize::try_from(size).unwrap_or(usize::MAX);
        let has_more = items.len() > limit;
        items.truncate(limit);
        Self {
            items,
            total: None,
            page: None,
            size,
            pages: None,
            has_more,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            size: self.size,
            pages: self.pages,
            has_more: self.has_more,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let d = PageRequest::new(None, None).ok();
        assert_eq!(
            d.map(|p| (p.page(), p.size(), p.offset())),
            Some((1, 50, 0))
        );
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(None, Some(101)).is_err());
        assert!(PageRequest::new(None, Some(0)).is_err());
        assert_eq!(
            PageRequest::new(Some(3), Some(10)).map(|p| p.offset()).ok(),
            Some(20)
        );
        assert!(PageRequest::with_max(None, Some(1000), 1000).is_ok());
    }

    #[test]
    fn page_is_bounded_so_the_offset_fits_in_i64() {
        assert!(PageRequest::new(Some(MAX_PAGE), Some(100)).is_ok());
        assert!(PageRequest::new(Some(MAX_PAGE + 1), Some(100)).is_err());
        assert!(PageRequest::new(Some(i64::MAX - 1), Some(50)).is_err());
        assert!(PageRequest::new(Some(i64::MIN), Some(50)).is_err());
        let last = PageRequest::with_max(Some(MAX_PAGE), Some(1000), 1000).unwrap_or_default();
        assert!(i64::try_from(last.offset()).is_ok());
    }

    #[test]
    fn pages_round_up() {
        let req = PageRequest::new(Some(1), Some(50)).unwrap_or_default();
        assert_eq!(Page::new(Vec::<u8>::new(), 0, req).pages, Some(0));
        assert_eq!(Page::new(Vec::<u8>::new(), 150, req).pages, Some(3));
        assert_eq!(Page::new(Vec::<u8>::new(), 151, req).pages, Some(4));
        assert!(Page::new(Vec::<u8>::new(), 151, req).has_more);
        let keyset = Page::keyset(vec![1, 2, 3], 2);
        assert_eq!(
            (keyset.items, keyset.has_more, keyset.total),
            (vec![1, 2], true, None)
        );
        assert!(!Page::keyset(vec![1, 2], 2).has_more);
    }
}
