use std::net::IpAddr;

use actix_web::HttpRequest;

/// The client's address: the peer, unless the peer is a trusted proxy, in which case the nearest
/// untrusted address of X-Forwarded-For.
pub fn client_ip(req: &HttpRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    match peer {
        Some(p) if trusted.contains(&p) => forwarded(req, trusted).or(Some(p)),
        other => other,
    }
}

fn forwarded(req: &HttpRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let header = req.headers().get("x-forwarded-for")?.to_str().ok()?;
    header
        .split(',')
        .rev()
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .find(|ip| !trusted.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn forwarded_for_is_honoured_only_from_trusted_peers() {
        let trusted: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap()];
        let via_proxy = TestRequest::default()
            .peer_addr("10.0.0.1:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "203.0.113.9, 10.0.0.1"))
            .to_http_request();
        assert_eq!(client_ip(&via_proxy, &trusted), "203.0.113.9".parse().ok());
        let direct = TestRequest::default()
            .peer_addr("198.51.100.7:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "203.0.113.9"))
            .to_http_request();
        assert_eq!(client_ip(&direct, &trusted), "198.51.100.7".parse().ok());
    }
}
