//! Access and administrative events (EO 13984 § 1(a)(ii): "the Internet Protocol addresses used
//! for access or administration and the date and time of each such access or administrative
//! action"), and the IP prefix arithmetic the investigator's question ("which accounts were seen
//! from this address or range?") needs when addresses are stored only encrypted.
//!
//! Stored events carry keyed blind indexes of their address at four prefix lengths
//! ([`PREFIX_LEVELS_V4`], [`PREFIX_LEVELS_V6`]). A CIDR query is answered by [`plan`]: the
//! blind-index values to look up at one level, and whether the candidates must then be filtered
//! exactly (after decryption) because the level is coarser than the query.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validate::FieldError;

/// One access or administrative action, as the provider's control plane sends it.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessEventInput {
    /// The account: the provider's `external_id` (as in the shared example feed) ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// ... or lessee's account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// IPv4 or IPv6 address.
    pub ip: String,
    /// RFC 3339 time of the action.
    pub at: String,
    /// What was done, e.g. `console.login`, `iam.create_key`.
    pub action: String,
    pub kind: AccessKind,
    /// Who did it, in the provider's terms (user or key id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    Access,
    Administrative,
}

impl AccessKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKind::Access => "access",
            AccessKind::Administrative => "administrative",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "access" => Some(AccessKind::Access),
            "administrative" => Some(AccessKind::Administrative),
            _ => None,
        }
    }
}

/// Which account an event names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AccountRef {
    External(String),
    Id(String),
}

/// An event that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidEvent {
    pub account: AccountRef,
    pub ip: IpAddr,
    pub at: DateTime<Utc>,
    pub action: String,
    pub kind: AccessKind,
    pub principal: Option<String>,
}

fn err(pointer: &str, code: &str, message: &str) -> FieldError {
    FieldError { pointer: pointer.into(), code: code.into(), message: message.into() }
}

/// Checks one event. `now` bounds how far in the future a timestamp may be (clock skew).
pub fn validate_event(e: &AccessEventInput, now: DateTime<Utc>) -> Result<ValidEvent, Vec<FieldError>> {
    let mut errors = Vec::new();
    let account = match (&e.account, &e.account_id) {
        (Some(a), None) if !a.trim().is_empty() && a.len() <= 128 => Some(AccountRef::External(a.trim().to_owned())),
        (None, Some(id)) if id.len() <= 64 => Some(AccountRef::Id(id.trim().to_owned())),
        _ => {
            errors.push(err(
                "/account",
                "invalid_account",
                "give exactly one of `account` (external id) or `account_id`",
            ));
            None
        }
    };
    let ip = match e.ip.trim().parse::<IpAddr>() {
        Ok(ip) => Some(canonical(ip)),
        Err(_) => {
            errors.push(err("/ip", "invalid_ip", "must be an IPv4 or IPv6 address"));
            None
        }
    };
    let at = match DateTime::parse_from_rfc3339(e.at.trim()) {
        Ok(t) if t.with_timezone(&Utc) <= now + chrono::Duration::minutes(10) => Some(t.with_timezone(&Utc)),
        Ok(_) => {
            errors.push(err("/at", "date_in_future", "must not be more than 10 minutes in the future"));
            None
        }
        Err(_) => {
            errors.push(err("/at", "invalid_datetime", "must be an RFC 3339 date-time"));
            None
        }
    };
    let action_ok = !e.action.is_empty()
        && e.action.len() <= 100
        && e.action.chars().all(|c| c.is_ascii_alphanumeric() || "._-:/".contains(c));
    if !action_ok {
        errors.push(err("/action", "invalid_action", "an action is 1 to 100 characters of A-Z a-z 0-9 . _ - : /"));
    }
    if let Some(p) = &e.principal
        && (p.len() > 256 || p.chars().any(char::is_control))
    {
        errors.push(err("/principal", "invalid_principal", "at most 256 printable characters"));
    }
    match (account, ip, at, errors.is_empty()) {
        (Some(account), Some(ip), Some(at), true) => {
            Ok(ValidEvent { account, ip, at, action: e.action.clone(), kind: e.kind, principal: e.principal.clone() })
        }
        _ => Err(errors),
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are the IPv4 address: one address, one index.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Prefix lengths indexed for IPv4 addresses, finest first.
pub const PREFIX_LEVELS_V4: [u8; 4] = [32, 24, 16, 8];
/// Prefix lengths indexed for IPv6 addresses, finest first.
pub const PREFIX_LEVELS_V6: [u8; 4] = [128, 64, 48, 32];
/// A query expands to at most this many exact prefixes at one level before a coarser level
/// (with exact filtering) is used instead.
pub const MAX_EXPANSION: u32 = 256;

/// A network in CIDR notation; a bare address is a /32 or /128.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub network: IpAddr,
    pub len: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, len) = match s.trim().split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
            None => (s.trim(), None),
        };
        let ip = canonical(addr.parse::<IpAddr>().ok()?);
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len = match (len, addr.parse::<IpAddr>().ok()?) {
            // `::ffff:10.0.0.0/104` means the IPv4 /8.
            (Some(l), IpAddr::V6(v6)) if ip.is_ipv4() && v6.to_ipv4_mapped().is_some() => l.checked_sub(96)?,
            (Some(l), _) => l,
            (None, _) => max,
        };
        (len <= max).then(|| Cidr { network: mask(ip, len), len })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.len) == self.network
    }
}

/// The address with all bits after the first `len` cleared.
pub fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len.min(32))) };
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len.min(128))) };
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

/// The prefixes of an address that are indexed: (level 0..4, prefix length, masked address).
pub fn index_prefixes(ip: IpAddr) -> [(usize, u8, IpAddr); 4] {
    let ip = canonical(ip);
    let levels = if ip.is_ipv4() { PREFIX_LEVELS_V4 } else { PREFIX_LEVELS_V6 };
    let p = |i: usize| {
        let len = levels.get(i).copied().unwrap_or(0);
        (i, len, mask(ip, len))
    };
    [p(0), p(1), p(2), p(3)]
}

/// How to answer a CIDR query from the blind indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupPlan {
    /// Index level (0 = finest) to look up.
    pub level: usize,
    /// Prefix length of that level.
    pub prefix_len: u8,
    /// The masked addresses whose blind index values to look up.
    pub prefixes: Vec<IpAddr>,
    /// True when the level is coarser than the query: candidates must be filtered exactly.
    pub filter_exactly: bool,
}

/// Plans the lookups for a query. The coarsest-or-equal indexed level answers it with one
/// lookup (exact if the lengths are equal); when the next finer level can cover the query with
/// at most [`MAX_EXPANSION`] exact prefixes, that is used instead so no filtering is needed;
/// otherwise the coarser level is used and candidates are filtered exactly after decryption.
/// `None` when the range is too wide to search (wider than an IPv6 /16).
pub fn plan(query: Cidr) -> Option<LookupPlan> {
    let levels = if query.network.is_ipv4() { PREFIX_LEVELS_V4 } else { PREFIX_LEVELS_V6 };
    let coarser = levels.iter().position(|&len| len <= query.len);
    let finer = match coarser {
        Some(0) => None,
        Some(i) => Some(i - 1),
        None => Some(levels.len() - 1),
    };
    if let Some(c) = coarser
        && levels.get(c).copied() == Some(query.len)
    {
        return Some(LookupPlan {
            level: c,
            prefix_len: query.len,
            prefixes: vec![query.network],
            filter_exactly: false,
        });
    }
    if let Some(f) = finer {
        let len = levels.get(f).copied().unwrap_or(0);
        let extra = u32::from(len.saturating_sub(query.len));
        if extra <= 16 && ((1u32 << extra) <= MAX_EXPANSION || coarser.is_none()) {
            return Some(LookupPlan { level: f, prefix_len: len, prefixes: expand(query, len), filter_exactly: false });
        }
        // Too wide to expand and no coarser level to filter from.
        coarser?;
    }
    let c = coarser.unwrap_or(0);
    let len = levels.get(c).copied().unwrap_or(0);
    Some(LookupPlan { level: c, prefix_len: len, prefixes: vec![mask(query.network, len)], filter_exactly: true })
}

/// All prefixes of length `len` inside `query` (len >= query.len), capped at 65,536.
fn expand(query: Cidr, len: u8) -> Vec<IpAddr> {
    let extra = u32::from(len.saturating_sub(query.len)).min(16);
    let count = 1u64 << extra;
    (0..count)
        .map(|i| match query.network {
            IpAddr::V4(v4) => {
                let shift = 32 - u32::from(len);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) | ((i as u32).checked_shl(shift).unwrap_or(0))))
            }
            IpAddr::V6(v6) => {
                let shift = 128 - u32::from(len);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) | (u128::from(i as u32)).checked_shl(shift).unwrap_or(0)))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn cidr_parsing_and_membership() {
        let cases = [
            ("81.2.69.160", Some(("81.2.69.160", 32))),
            ("81.2.69.0/24", Some(("81.2.69.0", 24))),
            ("81.2.69.77/24", Some(("81.2.69.0", 24))),
            ("::ffff:81.2.69.160", Some(("81.2.69.160", 32))),
            ("::ffff:81.0.0.0/104", Some(("81.0.0.0", 8))),
            ("2001:db8::/32", Some(("2001:db8::", 32))),
            ("2001:db8::1", Some(("2001:db8::1", 128))),
            ("10.0.0.0/33", None),
            ("nonsense", None),
            ("10.0.0.0/", None),
        ];
        for (input, want) in cases {
            let got = Cidr::parse(input).map(|c| (c.network.to_string(), c.len));
            assert_eq!(got, want.map(|(a, l)| (a.to_owned(), l)), "{input}");
        }
        let net = Cidr::parse("81.2.69.0/24");
        assert!(net.is_some_and(|n| n.contains(ip("81.2.69.160"))));
        assert!(net.is_some_and(|n| n.contains(ip("::ffff:81.2.69.1"))));
        assert!(net.is_some_and(|n| !n.contains(ip("81.2.70.1"))));
        assert!(net.is_some_and(|n| !n.contains(ip("2001:db8::1"))));
    }

    #[test]
    fn plans_pick_the_finest_usable_level() {
        // (query, level, prefix_len, number of prefixes, exact filter)
        let cases = [
            ("81.2.69.160", 0, 32, 1, false),
            ("81.2.69.0/24", 1, 24, 1, false),
            ("81.2.69.0/28", 0, 32, 16, false),
            ("81.2.68.0/22", 1, 24, 4, false),
            ("81.2.64.0/20", 1, 24, 16, false),
            ("81.2.0.0/16", 2, 16, 1, false),
            ("81.0.0.0/12", 2, 16, 16, false),
            ("81.0.0.0/8", 3, 8, 1, false),
            ("80.0.0.0/4", 3, 8, 16, false),
            ("2001:db8::/64", 1, 64, 1, false),
            ("2001:db8::/56", 1, 64, 256, false),
            ("2001:db8::/52", 2, 48, 1, true),
            ("2001:db8::/32", 3, 32, 1, false),
        ];
        for (q, level, len, n, exact) in cases {
            let p = plan(Cidr::parse(q).unwrap_or(Cidr { network: ip("0.0.0.0"), len: 0 })).unwrap_or(LookupPlan {
                level: 9,
                prefix_len: 0,
                prefixes: vec![],
                filter_exactly: false,
            });
            assert_eq!((p.level, p.prefix_len, p.prefixes.len(), p.filter_exactly), (level, len, n, exact), "{q}");
        }
        let p = plan(Cidr::parse("81.2.64.0/20").unwrap_or(Cidr { network: ip("0.0.0.0"), len: 0 }))
            .unwrap_or(LookupPlan { level: 9, prefix_len: 0, prefixes: vec![], filter_exactly: false });
        assert!(plan(Cidr::parse("2000::/15").unwrap_or(Cidr { network: ip("::"), len: 0 })).is_none(), "too wide");
        assert_eq!(
            plan(Cidr::parse("0.0.0.0/0").unwrap_or(Cidr { network: ip("::"), len: 99 })).map(|p| p.prefixes.len()),
            Some(256)
        );
        assert_eq!(p.prefixes.first().map(|a| a.to_string()).as_deref(), Some("81.2.64.0"));
        assert_eq!(p.prefixes.last().map(|a| a.to_string()).as_deref(), Some("81.2.79.0"));
    }

    #[test]
    fn every_address_in_a_planned_query_is_found_by_its_own_index() {
        // For many queries and addresses: an address inside the query has, at the planned
        // level, a prefix among the planned prefixes; one outside does not (unless the plan
        // says candidates must be filtered exactly).
        let queries = ["81.2.69.0/24", "81.2.64.0/20", "81.2.69.160/30", "81.0.0.0/9", "2001:db8:aa00::/40"];
        let addrs = [
            "81.2.69.160",
            "81.2.69.1",
            "81.2.70.9",
            "81.2.79.255",
            "81.127.1.1",
            "81.128.0.1",
            "2001:db8:aa12::5",
            "2001:db8:ab00::1",
        ];
        for q in queries {
            let Some(c) = Cidr::parse(q) else { continue };
            let Some(p) = plan(c) else { continue };
            for a in addrs {
                let a = ip(a);
                let found = index_prefixes(a).iter().any(|(lvl, _, pre)| *lvl == p.level && p.prefixes.contains(pre))
                    && a.is_ipv4() == c.network.is_ipv4();
                if c.contains(a) {
                    assert!(found, "{a} in {q} must be found");
                } else if !p.filter_exactly {
                    assert!(!found, "{a} outside {q} must not be found");
                }
            }
        }
    }

    #[test]
    fn event_validation() {
        let now =
            DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        let good = AccessEventInput {
            account: Some("acct-1".into()),
            account_id: None,
            ip: "::ffff:81.2.69.160".into(),
            at: "2026-11-22T03:25:37Z".into(),
            action: "iam.create_key".into(),
            kind: AccessKind::Administrative,
            principal: Some("user-1".into()),
        };
        let v = validate_event(&good, now);
        assert_eq!(v.as_ref().map(|e| e.ip.to_string()).ok().as_deref(), Some("81.2.69.160"));
        let mut bad = good.clone();
        bad.account_id = Some("x".into());
        bad.ip = "1.2.3".into();
        bad.at = "2030-01-01T00:00:00Z".into();
        bad.action = "drop table;".into();
        let codes: Vec<String> =
            validate_event(&bad, now).err().unwrap_or_default().into_iter().map(|e| e.code).collect();
        assert_eq!(codes, ["invalid_account", "invalid_ip", "date_in_future", "invalid_action"]);
    }
}
