//! Impact: who a measure reaches (or would reach) on a date, before and after it takes effect.

use lessee_domain::application::AccountType;
use lessee_measures::{Evaluator, Location, Stage, Status, Verdict, impact};
use serde_json::json;

use crate::*;

fn population() -> Vec<lessee_measures::Subject> {
    let mut trial_in_crimea = customer_in("crimea-trial", Location::from_address(Some(cc("RU")), None, Some("Ялта")));
    trial_in_crimea.account_type = Some(AccountType::Trial);
    let mut seen_from_crimea = german("accessed");
    seen_from_crimea.access_locations = vec![Location::subdivision(sub("UA-43"))];
    vec![
        german("de-1"),
        customer_in("crimea-1", Location::subdivision(sub("UA-43"))),
        customer_in("kyiv", Location::subdivision(sub("UA-30"))),
        trial_in_crimea,
        seen_from_crimea,
        customer_in("donetsk-ru", Location::from_address(Some(cc("RU")), None, Some("Donetsk"))),
    ]
}

#[test]
fn impact_lists_the_affected_accounts_with_their_outcome() {
    let m = measure(json!({"target": {"region": "crimea"}}));
    let subjects = population();
    let report = impact(&m, &subjects, d(IN_EFFECT));
    assert_eq!(report.scanned, 6);
    assert_eq!(report.status.status, Status::InEffect);
    let accounts: Vec<&str> = report.affected.iter().map(|a| a.account.as_str()).collect();
    assert_eq!(accounts, vec!["crimea-1", "crimea-trial", "accessed"]);
    assert!(report.affected.iter().all(|a| a.outcome.verdict == Verdict::Close));
    assert_eq!(report.by_verdict.get(&Verdict::Close), Some(&3));
    assert_eq!(report.exempted, 0);
    // The report serializes (for the service to store and show).
    let v = serde_json::to_value(&report).unwrap();
    assert_eq!(v["by_verdict"]["close"], 3);
}

#[test]
fn impact_before_and_after_the_effective_date() {
    let m = measure(json!({"target": {"region": "crimea"}}));
    let subjects = population();
    let before = impact(&m, subjects.iter(), d("2026-03-01"));
    assert_eq!(before.status.status, Status::Pending);
    assert_eq!(before.status.next_change, Some(d(EFFECTIVE)));
    assert!(before.affected.is_empty());
    // "Who would be affected on the effective date?"
    let on = impact(&m, subjects.iter(), before.status.next_change.unwrap());
    assert_eq!(on.affected.len(), 3);
    assert_eq!(on.affected[0].outcome.close_by, Some(d("2026-07-31")));
    let after = impact(&m, subjects.iter(), d(EXPIRES));
    assert_eq!(after.status.status, Status::Expired);
    assert!(after.affected.is_empty());
}

#[test]
fn impact_with_exemptions_and_at_opening() {
    let m = measure(json!({"target": {"region": "crimea"}}));
    let ex: Vec<lessee_measures::Exemption> = vec![
        serde_json::from_value(json!({
            "id": "ex-trial", "scope": {"type": "account_type", "account_type": "trial"}, "reference": "BIS 1",
            "granted": "2026-01-01", "effective": "2026-01-01", "exempts_from": {"type": "all"},
        }))
        .unwrap(),
    ];
    let report = Evaluator::default().impact(&m, &ex, population(), d(IN_EFFECT), Stage::Opening);
    assert_eq!(report.affected.len(), 3);
    assert_eq!(report.exempted, 1);
    assert_eq!(report.by_verdict.get(&Verdict::Block), Some(&2));
    assert_eq!(report.by_verdict.get(&Verdict::Clear), Some(&1));
    // The ambiguous Donetsk is only a potential match for a DNR measure.
    let dnr = measure(json!({"target": {"region": "dnr"}}));
    let report = impact(&dnr, population(), d(IN_EFFECT));
    assert_eq!(report.by_verdict.get(&Verdict::Review), Some(&1));
}
