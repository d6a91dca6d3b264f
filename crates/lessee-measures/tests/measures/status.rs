//! Status over dates: pending → in effect → expired, extension, revocation; measures that are
//! not yet or no longer in effect change nothing.

use chrono::{TimeZone, Utc};
use lessee_measures::{Stage, Status, StatusAt, Verdict, evaluate};
use serde_json::json;

use crate::*;

fn check(m: &lessee_measures::Measure, cases: &[(&str, Status, Option<(&str, Status)>)]) {
    for (at, status, next) in cases {
        let want =
            StatusAt { status: *status, next_change: next.map(|(date, _)| d(date)), next_status: next.map(|(_, s)| s) };
        assert_eq!(m.status(d(at)), want, "at {at}");
    }
}

#[test]
fn pending_then_in_effect_then_expired() {
    let m = measure(json!({}));
    assert_eq!(m.expiry_date(), d(EXPIRES), "default expiry is 365 days after the effective date");
    check(
        &m,
        &[
            (DETERMINED, Status::Pending, Some((EFFECTIVE, Status::InEffect))),
            ("2026-06-30", Status::Pending, Some((EFFECTIVE, Status::InEffect))),
            (EFFECTIVE, Status::InEffect, Some((EXPIRES, Status::Expired))),
            ("2027-06-30", Status::InEffect, Some((EXPIRES, Status::Expired))),
            (EXPIRES, Status::Expired, None),
            ("2030-01-01", Status::Expired, None),
        ],
    );
}

#[test]
fn explicit_expiry_is_used() {
    let m = measure(json!({"expiry": "2026-12-31"}));
    check(
        &m,
        &[
            ("2026-12-30", Status::InEffect, Some(("2026-12-31", Status::Expired))),
            ("2026-12-31", Status::Expired, None),
        ],
    );
}

#[test]
fn an_extension_moves_the_expiry() {
    let m = measure(json!({
        "extensions": [
            {"new_expiry": "2028-07-01", "citation": "92 FR 100", "date": "2027-05-01"},
            {"new_expiry": "2029-01-01", "citation": "93 FR 200", "date": "2028-06-01"},
        ],
    }));
    assert_eq!(m.validate(&Default::default()), Ok(vec![]));
    check(
        &m,
        &[
            (EXPIRES, Status::InEffect, Some(("2029-01-01", Status::Expired))),
            ("2028-12-31", Status::InEffect, Some(("2029-01-01", Status::Expired))),
            ("2029-01-01", Status::Expired, None),
        ],
    );
}

#[test]
fn revocation_ends_the_measure_on_its_date() {
    let m = measure(json!({"revocation": {"date": "2026-10-01", "citation": "91 FR 9999"}}));
    check(
        &m,
        &[
            ("2026-06-01", Status::Pending, Some((EFFECTIVE, Status::InEffect))),
            (EFFECTIVE, Status::InEffect, Some(("2026-10-01", Status::Revoked))),
            ("2026-10-01", Status::Revoked, None),
            ("2028-01-01", Status::Revoked, None),
        ],
    );
    // Revoked before it ever took effect.
    let early = measure(json!({"revocation": {"date": "2026-03-01", "citation": "91 FR 9999"}}));
    check(
        &early,
        &[("2026-02-01", Status::Pending, Some(("2026-03-01", Status::Revoked))), (EFFECTIVE, Status::Revoked, None)],
    );
}

#[test]
fn a_time_counts_as_its_utc_date() {
    let m = measure(json!({}));
    let before = Utc.with_ymd_and_hms(2026, 6, 30, 23, 59, 59).unwrap();
    let on = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
    assert_eq!(m.status(before).status, Status::Pending);
    assert_eq!(m.status(on).status, Status::InEffect);
}

#[test]
fn a_future_measure_changes_nothing_until_its_date() {
    let m = [measure(json!({}))];
    let s = customer_in("a-1", Location::country(cc("KP")));
    for (at, want) in [
        (DETERMINED, Verdict::Clear),
        ("2026-06-30", Verdict::Clear),
        (EFFECTIVE, Verdict::Block),
        (IN_EFFECT, Verdict::Block),
    ] {
        assert_eq!(evaluate(&m, &[], &s, d(at), Stage::Opening).verdict, want, "at {at}");
    }
}

#[test]
fn an_expired_or_revoked_measure_stops_applying() {
    let s = customer_in("a-1", Location::country(cc("KP")));
    let expired = [measure(json!({}))];
    assert_eq!(evaluate(&expired, &[], &s, d("2027-06-30"), Stage::Maintaining).verdict, Verdict::Close);
    assert!(evaluate(&expired, &[], &s, d(EXPIRES), Stage::Maintaining).is_clear());
    let revoked = [measure(json!({"revocation": {"date": "2026-10-01", "citation": "91 FR 9999"}}))];
    assert_eq!(evaluate(&revoked, &[], &s, d("2026-09-30"), Stage::Opening).verdict, Verdict::Block);
    assert!(evaluate(&revoked, &[], &s, d("2026-10-01"), Stage::Opening).is_clear());
}
