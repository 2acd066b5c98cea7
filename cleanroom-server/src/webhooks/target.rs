//! Which webhook targets the server connects to (SSRF defence).
//!
//! A URL must be `https://` (or `http://` where the deployment allows it),
//! with no credentials. Every address its host stands for must be permitted:
//! in an allow range, or in no deny range. The check runs at registration
//! and again at every connection, on the addresses resolved for that
//! connection, and the connection goes to exactly those addresses: a name
//! that later resolves to an internal address is refused, not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use super::WebhookSettings;

/// An address range, e.g. `10.0.0.0/8` or `fc00::/7`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is in the range (an IPv4-mapped IPv6 address counts as
    /// its IPv4 address, so `::ffff:127.0.0.1` is loopback).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an address range such as 10.0.0.0/8");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = canonical(addr.trim().parse::<IpAddr>().map_err(|_| bad())?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }
}

/// IPv4-mapped IPv6 addresses as IPv4, so no range can be dodged by writing
/// an IPv4 address in IPv6 form.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The ranges denied unless a deployment says otherwise.
pub fn default_deny() -> Vec<Cidr> {
    let v4 = |a: [u8; 4], prefix| Cidr {
        addr: IpAddr::V4(Ipv4Addr::from(a)),
        prefix,
    };
    let v6 = |a: Ipv6Addr, prefix| Cidr {
        addr: IpAddr::V6(a),
        prefix,
    };
    vec![
        v4([0, 0, 0, 0], 8),      // unspecified, "this network"
        v4([10, 0, 0, 0], 8),     // private
        v4([100, 64, 0, 0], 10),  // CGNAT
        v4([127, 0, 0, 0], 8),    // loopback
        v4([169, 254, 0, 0], 16), // link-local (cloud metadata services)
        v4([172, 16, 0, 0], 12),  // private
        v4([192, 0, 0, 0], 24),   // IETF protocol assignments
        v4([192, 168, 0, 0], 16), // private
        v4([198, 18, 0, 0], 15),  // benchmarking
        v4([224, 0, 0, 0], 4),    // multicast
        v4([240, 0, 0, 0], 4),    // reserved, broadcast
        v6(Ipv6Addr::UNSPECIFIED, 128),
        v6(Ipv6Addr::LOCALHOST, 128),
        v6(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96), // NAT64 (maps IPv4)
        v6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),     // unique local
        v6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),    // link-local
        v6(Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),    // site-local (deprecated)
        v6(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),     // multicast
    ]
}

/// Whether the settings let the server connect to `ip`.
pub fn permitted(settings: &WebhookSettings, ip: IpAddr) -> bool {
    settings.allow.iter().any(|c| c.contains(ip)) || !settings.deny.iter().any(|c| c.contains(ip))
}

/// Why a target is refused; the texts name no address (they are shown to
/// API callers and kept in the delivery log).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not a URL this server posts to.
    #[error("{0}")]
    Invalid(String),
    /// The host is, or resolves to, an address the deployment denies.
    #[error("the target's host is or resolves to an address this deployment does not allow")]
    Denied,
    /// The host name does not resolve (now).
    #[error("the target's host name does not resolve")]
    Unresolved,
}

/// Checks a URL's shape: scheme, host, no credentials, no fragment.
pub fn parse_url(settings: &WebhookSettings, url: &str) -> Result<reqwest::Url, TargetError> {
    if url.len() > 2048 {
        return Err(TargetError::Invalid(
            "the URL is longer than 2048 bytes".into(),
        ));
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| TargetError::Invalid("the target is not an absolute URL".into()))?;
    match parsed.scheme() {
        "https" => {}
        "http" if settings.allow_http => {}
        _ => {
            return Err(TargetError::Invalid(
                "the target must be an https:// URL".into(),
            ));
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TargetError::Invalid(
            "the target URL must not carry credentials".into(),
        ));
    }
    if parsed.fragment().is_some() {
        return Err(TargetError::Invalid(
            "the target URL must not have a fragment".into(),
        ));
    }
    if parsed.host().is_none() || parsed.port_or_known_default().is_none() {
        return Err(TargetError::Invalid("the target URL has no host".into()));
    }
    Ok(parsed)
}

/// The addresses to connect to for `url`, all of them permitted: an address
/// host as is, a name resolved now (every address checked, one denied
/// address refuses the lot, so round-robin DNS cannot slip one through).
/// Returns the domain to pin them to (`None` for an address host).
pub async fn resolve(
    settings: &WebhookSettings,
    url: &reqwest::Url,
    timeout: Duration,
) -> Result<(Option<String>, Vec<SocketAddr>), TargetError> {
    let port = url
        .port_or_known_default()
        .ok_or_else(|| TargetError::Invalid("the target URL has no port".into()))?;
    let host = url
        .host_str()
        .ok_or_else(|| TargetError::Invalid("the target URL has no host".into()))?;
    // IPv6 hosts come bracketed; an address host is connected to as is.
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse::<IpAddr>();
    let (domain, addrs) = match literal {
        Ok(ip) => (None, vec![SocketAddr::new(ip, port)]),
        Err(_) => {
            let looked_up =
                tokio::time::timeout(timeout, tokio::net::lookup_host((host.to_owned(), port)))
                    .await
                    .map_err(|_| TargetError::Unresolved)?
                    .map_err(|_| TargetError::Unresolved)?;
            (Some(host.to_owned()), looked_up.collect::<Vec<_>>())
        }
    };
    if addrs.is_empty() {
        return Err(TargetError::Unresolved);
    }
    if addrs.iter().any(|a| !permitted(settings, a.ip())) {
        return Err(TargetError::Denied);
    }
    Ok((domain, addrs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_list_denies_internal_ranges() {
        let s = WebhookSettings::default();
        for denied in [
            "127.0.0.1",
            "10.1.2.3",
            "172.31.255.255",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!permitted(&s, ip(denied)), "{denied}");
        }
        for allowed in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "172.32.0.1"] {
            assert!(permitted(&s, ip(allowed)), "{allowed}");
        }
    }

    #[test]
    fn allow_list_overrides_deny() {
        let s = WebhookSettings {
            allow: vec!["127.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()],
            ..WebhookSettings::default()
        };
        assert!(permitted(&s, ip("127.0.0.1")));
        assert!(permitted(&s, ip("::1")));
        assert!(permitted(&s, ip("::ffff:127.0.0.1")));
        assert!(!permitted(&s, ip("10.0.0.1")));
    }

    #[test]
    fn cidr_parsing() {
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!(!all.contains(ip("2001:db8::1")));
    }

    #[test]
    fn url_shapes() {
        let s = WebhookSettings::default();
        assert!(parse_url(&s, "https://hooks.example.com/x").is_ok());
        assert!(parse_url(&s, "http://hooks.example.com/x").is_err());
        assert!(parse_url(&s, "https://u:p@hooks.example.com/x").is_err());
        assert!(parse_url(&s, "ftp://hooks.example.com/x").is_err());
        assert!(parse_url(&s, "/relative").is_err());
        let http = WebhookSettings {
            allow_http: true,
            ..WebhookSettings::default()
        };
        assert!(parse_url(&http, "http://127.0.0.1:9/x").is_ok());
    }
}
