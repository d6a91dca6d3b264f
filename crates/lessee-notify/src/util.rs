//! Small helpers shared by the modules.

use std::net::IpAddr;

/// Whether `host` (a host name or IP literal, IPv6 with or without brackets) is this machine.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
