//! lessee-measures against the spec: measure dates and status, validation, every link of a
//! jurisdiction measure, named regions, person matching, exemptions, impact, and a property test
//! that evaluation never panics. One binary; no database, no clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
#![allow(clippy::type_complexity)] // case tables are tuples on purpose

mod exemptions;
mod impact;
mod jurisdiction;
mod person;
mod props;
mod status;
mod validation;

use chrono::NaiveDate;
use lessee_domain::Country;
use lessee_measures::{Location, Measure, Party, PlaceBasis, Subdivision, Subject};
use serde_json::{Value, json};

/// A date from `YYYY-MM-DD`.
pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn cc(s: &str) -> Country {
    Country::parse(s).unwrap()
}

pub fn sub(s: &str) -> Subdivision {
    Subdivision::parse(s).unwrap()
}

/// Determined 2026-01-02, effective 2026-07-01 (exactly 180 days later), default expiry
/// 2027-07-01 (365 days after effective).
pub const DETERMINED: &str = "2026-01-02";
pub const EFFECTIVE: &str = "2026-07-01";
pub const EXPIRES: &str = "2027-07-01";
/// A day when the base measures are in effect.
pub const IN_EFFECT: &str = "2026-09-15";

/// A measure from JSON: `fields` overrides the base (a prohibiting measure against North Korea,
/// covering opening and maintaining).
pub fn measure(fields: Value) -> Measure {
    let mut base = json!({
        "id": "sm-1",
        "kind": "jurisdiction",
        "target": {"country": "KP"},
        "effect": {"type": "prohibit"},
        "scope": ["opening", "maintaining"],
        "citation": "91 FR 1234 (EO 13984 § 2(d))",
        "determination": DETERMINED,
        "effective": EFFECTIVE,
    });
    for (k, v) in fields.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_value(base).unwrap()
}

/// A subject whose customer's address is in `country` (`None`: no place).
pub fn customer_in(account: &str, location: Location) -> Subject {
    Subject::new(account, Party::at(PlaceBasis::Address, location))
}

/// A subject whose customer lives in Germany (reached by nothing below).
pub fn german(account: &str) -> Subject {
    customer_in(account, Location::country(cc("DE")))
}
