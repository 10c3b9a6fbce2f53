//! Masking of API keys that a client put where they do not belong (a path, a message).

use crate::api_key::KEY_PREFIX;

/// Replaces every `pd_…` token in `text` with `pd_***`.
pub fn mask_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(KEY_PREFIX) {
        out.push_str(&rest[..at]);
        out.push_str("pd_***");
        let tail = &rest[at + KEY_PREFIX.len()..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::mask_keys;

    #[test]
    fn keys_are_masked_wherever_they_appear() {
        assert_eq!(
            mask_keys("/api/v1/api-keys/pd_AbC-1_x/toggle"),
            "/api/v1/api-keys/pd_***/toggle"
        );
        assert_eq!(
            mask_keys("can not parse \"pd_q3Jx\" to a i64"),
            "can not parse \"pd_***\" to a i64"
        );
        assert_eq!(mask_keys("nothing here"), "nothing here");
    }
}
