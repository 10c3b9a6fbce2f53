use std::collections::BTreeMap;

use crate::DomainError;

/// Metadata filters given as `field:value`: values of one field are OR'd, fields are AND'd.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetaFilter {
    fields: BTreeMap<String, Vec<String>>,
}

impl MetaFilter {
    pub fn parse<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<Self, DomainError> {
        let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for item in raw {
            let Some((field, value)) = item.split_once(':') else {
                return Err(DomainError::field(
                    "meta_filter",
                    format!("'{item}' is not field:value"),
                ));
            };
            let field = field.trim();
            if field.is_empty() {
                return Err(DomainError::field(
                    "meta_filter",
                    format!("'{item}' has an empty field"),
                ));
            }
            fields
                .entry(field.to_owned())
                .or_default()
                .push(value.to_owned());
        }
        Ok(Self { fields })
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn fields(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_values_by_field() {
        let f = MetaFilter::parse(["priority:high", "env:prod", "priority:low", "url:http://x"]);
        let f = f.unwrap_or_default();
        let got: Vec<_> = f
            .fields()
            .map(|(k, v)| (k.to_owned(), v.to_vec()))
            .collect();
        assert_eq!(got[0], ("env".to_owned(), vec!["prod".to_owned()]));
        assert_eq!(got[1].1, vec!["high".to_owned(), "low".to_owned()]);
        assert_eq!(got[2].1, vec!["http://x".to_owned()]);
    }

    #[test]
    fn rejects_malformed_items() {
        assert!(MetaFilter::parse(["nocolon"]).is_err());
        assert!(MetaFilter::parse([":v"]).is_err());
        assert!(MetaFilter::parse([]).is_ok_and(|f| f.is_empty()));
    }
}
