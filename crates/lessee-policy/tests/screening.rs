//! The `[screening]` rules: what alerts do to a decision.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use lessee_domain::classify::{ClassificationConfig, classify};
use lessee_domain::{Application, Outcome};
use lessee_policy::{ExternalEvidence, HitStatus, Policy, Screening, ScreeningHit, check, codes, evaluate};

fn load(name: &str) -> Application {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/applications").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hit(strong: bool, status: HitStatus) -> ScreeningHit {
    ScreeningHit {
        subject: "customer".into(),
        alert_id: "al1".into(),
        list: "ofac_sdn".into(),
        entity_id: "21326".into(),
        list_version: "v1".into(),
        score: 0.95,
        strong,
        status,
    }
}

fn decide(policy: &Policy, app: &Application, screening: Screening) -> lessee_policy::PolicyDecision {
    let class = classify(app, Default::default(), &ClassificationConfig::default());
    let ext = ExternalEvidence { screening, ..Default::default() };
    evaluate(policy, app, &class, &ext, Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap())
}

#[test]
fn alerts_weigh_as_the_policy_says() {
    let policy = Policy::default_policy().unwrap();
    let app = load("individual_us_person.json");
    let clear = decide(&policy, &app, Screening::Screened { lists: vec!["ofac_sdn v1".into()], hits: vec![] });
    assert_eq!(clear.outcome(), Outcome::Approve);
    assert!(clear.has(codes::SCREENING_CLEAR));
    let untouched = decide(&policy, &app, Screening::NotRequested);
    assert_eq!(untouched.outcome(), Outcome::Approve);
    assert!(!untouched.codes().iter().any(|c| c.starts_with("screening")));
    let none = decide(&policy, &app, Screening::NotPossible);
    assert_eq!(none.outcome(), Outcome::Approve, "by default a missing list is recorded only");
    assert!(none.has(codes::SCREENING_NOT_POSSIBLE));

    let strong = decide(&policy, &app, Screening::Screened { lists: vec![], hits: vec![hit(true, HitStatus::Open)] });
    assert_eq!(strong.outcome(), Outcome::Deny);
    let reason = strong.decision.reasons.iter().find(|r| r.code == codes::SCREENING_STRONG_HIT).unwrap();
    assert!(reason.message.contains("ofac_sdn entry 21326 (list version v1)"), "{}", reason.message);
    let weak =
        decide(&policy, &app, Screening::Screened { lists: vec![], hits: vec![hit(false, HitStatus::Escalated)] });
    assert_eq!(weak.outcome(), Outcome::ManualReview);
    let fp =
        decide(&policy, &app, Screening::Screened { lists: vec![], hits: vec![hit(true, HitStatus::FalsePositive)] });
    assert_eq!(fp.outcome(), Outcome::Approve);
    assert!(fp.has(codes::SCREENING_FALSE_POSITIVE));
    let tm = decide(&policy, &app, Screening::Screened { lists: vec![], hits: vec![hit(false, HitStatus::TrueMatch)] });
    assert_eq!(tm.outcome(), Outcome::Deny);
}

#[test]
fn screening_section_is_checked_and_optional() {
    let default = lessee_policy::DEFAULT_POLICY;
    let held = default
        .replace("strong_hit = { outcome = \"deny\" }", "strong_hit = { outcome = \"manual_review\" }")
        .replace("# not_screened = { outcome = \"manual_review\" }", "not_screened = { outcome = \"manual_review\" }");
    let policy = check(&held).unwrap();
    assert_ne!(policy.sha256(), Policy::default_policy().unwrap().sha256(), "a changed rule changes the policy's hash");
    let app = load("individual_us_person.json");
    let strong = decide(&policy, &app, Screening::Screened { lists: vec![], hits: vec![hit(true, HitStatus::Open)] });
    assert_eq!(strong.outcome(), Outcome::ManualReview);
    assert_eq!(decide(&policy, &app, Screening::NotPossible).outcome(), Outcome::ManualReview);
    // A hit never approves.
    let bad = default.replace("hit = { outcome = \"manual_review\" }", "hit = { outcome = \"approve\" }");
    let errors = check(&bad).unwrap_err();
    assert!(errors.iter().any(|e| e.to_string().contains("never approves")), "{errors:?}");
    // Without the section: the defaults, and the same hash as with the default section.
    let start = default.find("\n[screening]\n").unwrap();
    let end = default[start..].find("# ----").unwrap() + start;
    let without = format!("{}{}", &default[..start], &default[end..]);
    assert_eq!(check(&without).unwrap().sha256(), Policy::default_policy().unwrap().sha256());
}
