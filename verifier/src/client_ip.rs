//! Who the client is, for rate limiting and scan context. Behind a reverse proxy the peer address is
//! the proxy's; only then, and only from proxies the configuration trusts, is `X-Forwarded-For`
//! believed. Otherwise any client could name its own address and dodge the rate limit. The same
//! goes for the coarse region such a proxy may add ([`trusted_region`]).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client address: the peer, unless the peer is a trusted proxy, in which case the right-most
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer_ip = peer.ip().to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer_ip) {
        return peer_ip;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return peer_ip;
        };
        for part in text.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => hops.push(ip.to_canonical()),
                // A malformed chain cannot be trusted at all.
                Err(_) => return peer_ip,
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer_ip)
}

/// A coarse region from a trusted proxy (e.g. a CDN's geolocation in `X-Client-Region`), never
/// from the client itself: for scan contexts and public reports.
pub fn trusted_region(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> Option<String> {
    let peer_ip = peer.ip().to_canonical();
    if !trusted.iter().any(|net| net.contains(&peer_ip)) {
        return None;
    }
    headers
        .get("x-client-region")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        let stranger: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        let h = headers(&["198.51.100.7"]);
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(stranger, &h, &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(proxy, &h, &[]),
            "10.1.2.3".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_wins_so_a_client_cannot_prepend_a_fake() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        let h = headers(&["1.2.3.4, 198.51.100.7", "10.9.9.9"]);
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(proxy, &headers(&["garbage"]), &trusted),
            "10.1.2.3".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(proxy, &headers(&[]), &trusted),
            "10.1.2.3".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn ipv4_mapped_peers_count_as_ipv4() {
        let peer: SocketAddr = "[::ffff:10.1.2.3]:80".parse().unwrap();
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            client_ip(peer, &headers(&["198.51.100.7"]), &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_region_is_believed_only_from_trusted_proxies() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert("x-client-region", "Guangdong".parse().unwrap());
        let proxy: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        let stranger: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        assert_eq!(
            trusted_region(proxy, &h, &trusted).as_deref(),
            Some("Guangdong")
        );
        assert_eq!(trusted_region(stranger, &h, &trusted), None);
        h.insert("x-client-region", "x".repeat(40).parse().unwrap());
        assert_eq!(
            trusted_region(proxy, &h, &trusted).map(|r| r.len()),
            Some(32)
        );
    }
}
