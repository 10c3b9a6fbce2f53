//! Entity tags (RFC 9110 §8.8.3) and the `If-Match` / `If-None-Match` lists that carry them.
//!
//! A tag is a digest of the stored state of a resource (every field the representation is made
//! from) plus a salt for what the representation derives at read time (a run's health verdict).
//! So a tag changes exactly when the representation does, however the row was changed (an API
//! call, a job, a bulk statement), without a version column every writer must remember to bump.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{DomainError, FieldError, Process, ProcessRun, ProcessStep, StepRun};

/// A strong entity tag: the opaque part, without the quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag(String);

impl EntityTag {
    /// The tag of `value` (a resource of `kind`) with `salt` for read-time derived fields.
    pub fn of<T: Serialize>(kind: &str, value: &T, salt: &str) -> Result<Self, serde_json::Error> {
        let mut hasher = Sha256::new();
        hasher.update(kind.as_bytes());
        hasher.update([0]);
        hasher.update(serde_json::to_vec(value)?);
        hasher.update([0]);
        hasher.update(salt.as_bytes());
        // 128 bits: collisions are out of reach, and the header stays short.
        let digest = hasher.finalize();
        Ok(Self(hex::encode(&digest[..16])))
    }

    /// The header value: the opaque part in double quotes.
    pub fn header_value(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

/// The tag of a process (its steps included, as its representation shows them).
pub fn process_tag(process: &Process) -> Result<EntityTag, serde_json::Error> {
    EntityTag::of("process", process, "")
}

/// The tag of a step.
pub fn step_tag(step: &ProcessStep) -> Result<EntityTag, serde_json::Error> {
    EntityTag::of("step", step, "")
}

/// The tag of a run with its current step runs; `health` is the late/stuck verdict the
/// representation carries, which changes with time alone.
pub fn run_tag(run: &ProcessRun, health: &str) -> Result<EntityTag, serde_json::Error> {
    EntityTag::of("run", run, health)
}

/// The tag of a step run.
pub fn step_run_tag(step_run: &StepRun) -> Result<EntityTag, serde_json::Error> {
    EntityTag::of("step_run", step_run, "")
}

/// One member of a tag list as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedTag {
    weak: bool,
    opaque: String,
}

/// The value of an `If-Match` or `If-None-Match` header: `*` or a list of entity tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagList {
    Any,
    Tags(Vec<ListedTag>),
}

impl TagList {
    /// Parses a header value; `header` names the header in the error.
    pub fn parse(header: &str, value: &str) -> Result<Self, DomainError> {
        let value = value.trim();
        if value == "*" {
            return Ok(Self::Any);
        }
        let invalid = || {
            DomainError::Validation(vec![FieldError::new(
                header,
                "must be \"*\" or a comma-separated list of quoted entity tags",
            )])
        };
        let mut tags = Vec::new();
        for member in value.split(',') {
            let member = member.trim();
            if member.is_empty() {
                continue;
            }
            let (weak, quoted) = match member.strip_prefix("W/") {
                Some(rest) => (true, rest),
                None => (false, member),
            };
            let opaque = quoted
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .filter(|s| !s.contains('"'))
                .ok_or_else(invalid)?;
            tags.push(ListedTag {
                weak,
                opaque: opaque.to_owned(),
            });
        }
        if tags.is_empty() {
            return Err(invalid());
        }
        Ok(Self::Tags(tags))
    }

    /// `If-Match`: strong comparison, so a weak tag never matches.
    pub fn matches_strong(&self, tag: &EntityTag) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|t| !t.weak && t.opaque == tag.0),
        }
    }

    /// `If-None-Match`: weak comparison, so `W/"x"` matches `"x"`.
    pub fn matches_weak(&self, tag: &EntityTag) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|t| t.opaque == tag.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tag() -> EntityTag {
        EntityTag::of("run", &json!({"id": 1, "status": "running"}), "ok").unwrap()
    }

    #[test]
    fn a_tag_changes_with_the_value_the_kind_and_the_salt() {
        let base = tag();
        assert_eq!(base, tag());
        let other_value = EntityTag::of("run", &json!({"id": 1, "status": "failed"}), "ok");
        let other_kind = EntityTag::of("process", &json!({"id": 1, "status": "running"}), "ok");
        let other_salt = EntityTag::of("run", &json!({"id": 1, "status": "running"}), "late");
        for other in [other_value, other_kind, other_salt] {
            assert_ne!(base, other.unwrap());
        }
        assert_eq!(base.header_value().len(), 34);
    }

    #[test]
    fn if_match_compares_strongly_and_if_none_match_weakly() {
        let t = tag();
        let strong = TagList::parse("If-Match", &t.header_value()).unwrap();
        let weak = TagList::parse("If-Match", &format!("W/{}", t.header_value())).unwrap();
        assert!(strong.matches_strong(&t));
        assert!(!weak.matches_strong(&t));
        assert!(weak.matches_weak(&t));
        let listed = TagList::parse("If-Match", &format!("\"a\", {}", t.header_value())).unwrap();
        assert!(listed.matches_strong(&t));
        assert!(
            !TagList::parse("If-Match", "\"a\"")
                .unwrap()
                .matches_strong(&t)
        );
        assert!(
            TagList::parse("If-Match", " * ")
                .unwrap()
                .matches_strong(&t)
        );
    }

    #[test]
    fn a_malformed_list_is_refused() {
        for bad in ["", "abc", "\"open", "W/abc", ",", "\"a\"b\""] {
            assert!(TagList::parse("If-Match", bad).is_err(), "{bad:?}");
        }
    }
}
