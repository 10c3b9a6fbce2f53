//! Where procdash may send HTTP requests: OUTBOUND_ALLOWED_HOSTS (exact hosts or `.suffix`
//! entries), and the rule that loopback, link-local and private addresses are refused unless the
//! host (or the address itself) is listed exactly.

use std::net::IpAddr;

/// The parsed allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    exact: Vec<String>,
    suffixes: Vec<String>,
}

impl OutboundPolicy {
    /// Entries are hosts (`api.example.com`, `127.0.0.1`) or suffixes (`.example.com`).
    pub fn new(entries: &[String]) -> Result<Self, String> {
        let mut policy = Self::default();
        for raw in entries {
            let entry = raw.trim().to_ascii_lowercase();
            if entry.is_empty() || entry.contains(['/', ' ', '@']) {
                return Err(format!("{raw:?} is not a host or .suffix"));
            }
            match entry.strip_prefix('.') {
                Some("") => return Err(format!("{raw:?} is not a host or .suffix")),
                Some(_) => policy.suffixes.push(entry),
                None => policy.exact.push(entry),
            }
        }
        Ok(policy)
    }

    /// The host is listed exactly.
    pub fn lists_exactly(&self, host: &str) -> bool {
        let host = normalize(host);
        self.exact.contains(&host)
    }

    /// The host is listed exactly or falls under a suffix entry.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = normalize(host);
        self.lists_exactly(&host) || self.suffixes.iter().any(|s| host.ends_with(s.as_str()))
    }

    /// Checks a target URL when it is saved: https or http, and an allowed host. An IP literal
    /// in a private range must be listed exactly.
    pub fn check_url(&self, raw: &str) -> Result<url::Url, String> {
        let parsed = url::Url::parse(raw).map_err(|e| format!("is not a valid URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("must be an http or https URL".to_owned());
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("must not carry credentials".to_owned());
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| "must name a host".to_owned())?;
        if !self.allows_host(host) {
            return Err(format!("host {host} is not in OUTBOUND_ALLOWED_HOSTS"));
        }
        if let Ok(ip) = normalize(host).parse::<IpAddr>()
            && self.refuses_address(host, ip)
        {
            return Err(format!(
                "address {ip} is private, loopback or link-local and not listed exactly"
            ));
        }
        Ok(parsed)
    }

    /// At send time, after DNS: an address in a non-public range is refused unless the host
    /// or the address is listed exactly.
    pub fn refuses_address(&self, host: &str, ip: IpAddr) -> bool {
        !is_public(ip) && !self.lists_exactly(host) && !self.lists_exactly(&ip.to_string())
    }
}

fn normalize(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Not loopback, private, link-local, unspecified, shared (CGNAT), broadcast or unique-local.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str]) -> OutboundPolicy {
        let owned: Vec<String> = entries.iter().map(|s| (*s).to_owned()).collect();
        OutboundPolicy::new(&owned).unwrap_or_default()
    }

    #[test]
    fn exact_and_suffix_entries() {
        let p = policy(&["api.example.com", ".corp.example"]);
        assert!(p.allows_host("api.example.com"));
        assert!(p.allows_host("a.b.corp.example"));
        assert!(!p.allows_host("corp.example"));
        assert!(!p.allows_host("evil.com"));
        assert!(!p.allows_host("xapi.example.com"));
    }

    #[test]
    fn urls_outside_the_list_or_with_credentials_are_refused() {
        let p = policy(&["api.example.com"]);
        assert!(p.check_url("https://api.example.com/x").is_ok());
        assert!(p.check_url("https://other.example.com/x").is_err());
        assert!(p.check_url("ftp://api.example.com/x").is_err());
        assert!(p.check_url("https://u:p@api.example.com/x").is_err());
        assert!(p.check_url("not a url").is_err());
    }

    #[test]
    fn private_addresses_need_an_exact_entry() {
        let p = policy(&[".internal", "127.0.0.1"]);
        assert!(p.check_url("http://127.0.0.1:8080/hook").is_ok());
        let ip: IpAddr = "10.0.0.5".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert!(p.refuses_address("db.internal", ip));
        assert!(!p.refuses_address("127.0.0.1", "127.0.0.1".parse().unwrap_or(ip)));
        let public: IpAddr = "93.184.216.34".parse().unwrap_or(ip);
        assert!(!p.refuses_address("db.internal", public));
        for private in [
            "169.254.169.254",
            "192.168.1.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "100.64.0.1",
        ] {
            let ip: IpAddr = private.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
            assert!(!is_public(ip), "{private}");
        }
    }
}
