//! Exemptions (EO 13984 § 1(c)): a trial-account exemption changes only trial accounts' outcomes;
//! listed measures, dates, scopes, conditions; requirement codes; the ADP description.

use lessee_domain::application::{AccountType, CustomerKind};
use lessee_measures::{
    Action, AdpDescription, AdpVersion, Error, Exemption, ExemptsFrom, Location, Stage, Subject, Verdict, codes,
    evaluate, exemptions_for_requirement,
};
use serde_json::json;

use crate::*;

fn exemption(fields: serde_json::Value) -> Exemption {
    let mut base = json!({
        "id": "ex-trial",
        "scope": {"type": "account_type", "account_type": "trial"},
        "reference": "BIS letter 2026-17 (ADP)",
        "granted": "2026-05-01",
        "effective": "2026-06-01",
        "exempts_from": {"type": "all"},
    });
    for (k, v) in fields.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn accounts() -> Vec<Subject> {
    let mut out = Vec::new();
    for (i, t) in
        [AccountType::Trial, AccountType::Standard, AccountType::Enterprise, AccountType::Trial].into_iter().enumerate()
    {
        for (j, country) in ["KP", "DE"].into_iter().enumerate() {
            let mut s = customer_in(&format!("acct-{i}-{j}"), Location::country(cc(country)));
            s.account_type = Some(t);
            s.lessee_type = Some(if i % 2 == 0 { CustomerKind::Individual } else { CustomerKind::Entity });
            out.push(s);
        }
    }
    out
}

#[test]
fn a_trial_exemption_changes_only_trial_outcomes() {
    let m = [measure(json!({}))];
    let ex = [exemption(json!({}))];
    for s in accounts() {
        let without = evaluate(&m, &[], &s, d(IN_EFFECT), Stage::Opening);
        let with = evaluate(&m, &ex, &s, d(IN_EFFECT), Stage::Opening);
        let reached = !without.is_clear();
        if s.account_type == Some(AccountType::Trial) && reached {
            assert_ne!(with, without, "{}", s.account);
            assert_eq!(with.verdict, Verdict::Clear);
            let f = &with.findings[0];
            assert_eq!(f.action, Action::Exempt { conditions: vec![] });
            assert_eq!(f.exemption.as_ref().unwrap().instead_of, Action::Block);
            assert_eq!(f.reason.code, codes::MEASURE_EXEMPTED);
            assert!(f.reason.message.contains("`ex-trial` (BIS letter 2026-17 (ADP))"), "{}", f.reason.message);
        } else {
            assert_eq!(with, without, "{}", s.account);
        }
    }
}

#[test]
fn an_exemption_applies_only_while_in_effect() {
    let m = [measure(json!({}))];
    let ex = [exemption(json!({"effective": "2026-08-01", "expiry": "2026-09-01"}))];
    let mut s = customer_in("t", Location::country(cc("KP")));
    s.account_type = Some(AccountType::Trial);
    for (at, want) in [("2026-07-15", Verdict::Block), ("2026-08-01", Verdict::Clear), ("2026-09-01", Verdict::Block)] {
        assert_eq!(evaluate(&m, &ex, &s, d(at), Stage::Opening).verdict, want, "at {at}");
    }
    let revoked = [exemption(json!({"revocation": {"date": "2026-08-15", "citation": "BIS letter 2026-40"}}))];
    assert_eq!(evaluate(&m, &revoked, &s, d("2026-08-14"), Stage::Opening).verdict, Verdict::Clear);
    assert_eq!(evaluate(&m, &revoked, &s, d("2026-08-15"), Stage::Opening).verdict, Verdict::Block);
}

#[test]
fn listed_measures_scopes_and_conditions() {
    let kp = measure(json!({"id": "sm-kp"}));
    let ir = measure(json!({"id": "sm-ir", "target": {"country": "IR"}}));
    let mut s = customer_in("e", Location::country(cc("KP")));
    s.customer = s.customer.with_place(lessee_measures::PlaceBasis::Residence, Location::country(cc("IR")));
    s.lessee_type = Some(CustomerKind::Entity);
    let ex = [exemption(json!({
        "scope": {"type": "lessee_type", "lessee_type": "entity"},
        "exempts_from": {"type": "listed", "measures": ["sm-ir"]},
        "conditions": ["adp_monitoring"],
    }))];
    let out = evaluate(&[kp, ir], &ex, &s, d(IN_EFFECT), Stage::Opening);
    let actions: Vec<(&str, &Action)> = out.findings.iter().map(|f| (f.measure.as_str(), &f.action)).collect();
    assert_eq!(
        actions,
        vec![("sm-kp", &Action::Block), ("sm-ir", &Action::Exempt { conditions: vec!["adp_monitoring".into()] })]
    );
    assert_eq!(out.verdict, Verdict::Block);
    assert_eq!(out.conditions, vec!["adp_monitoring"]);

    let by_country = [exemption(json!({"scope": {"type": "country", "country": "KP"}}))];
    assert_eq!(evaluate(&[measure(json!({}))], &by_country, &s, d(IN_EFFECT), Stage::Opening).verdict, Verdict::Clear);
    let provider = [exemption(json!({"scope": {"type": "provider"}}))];
    assert_eq!(evaluate(&[measure(json!({}))], &provider, &s, d(IN_EFFECT), Stage::Opening).verdict, Verdict::Clear);
}

#[test]
fn requirements() {
    let ex = vec![
        exemption(json!({"id": "ex-cip", "exempts_from": {"type": "listed", "requirements": ["cip_verification"]}})),
        exemption(json!({"id": "ex-other", "exempts_from": {"type": "listed", "measures": ["sm-1"]}})),
    ];
    let mut trial = german("t");
    trial.account_type = Some(AccountType::Trial);
    let found: Vec<&str> = exemptions_for_requirement(&ex, &trial, "cip_verification", d(IN_EFFECT))
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(found, vec!["ex-cip"]);
    assert!(exemptions_for_requirement(&ex, &german("s"), "cip_verification", d(IN_EFFECT)).is_empty());
    assert!(exemptions_for_requirement(&ex, &trial, "cip_verification", d("2026-05-15")).is_empty());
}

#[test]
fn exemption_validation() {
    assert_eq!(exemption(json!({})).validate(), Ok(()));
    let bad = exemption(json!({
        "reference": "",
        "effective": "2026-04-01",
        "expiry": "2026-04-01",
        "conditions": ["Bad Code"],
        "exempts_from": {"type": "listed"},
    }));
    let errs = bad.validate().unwrap_err();
    assert!(errs.contains(&Error::MissingCitation { field: "reference".into() }), "{errs:?}");
    assert!(errs.contains(&Error::EffectiveBeforeGrant { granted: d("2026-05-01"), effective: d("2026-04-01") }));
    assert!(errs.contains(&Error::ExemptsFromNothing));
    assert!(errs.iter().any(|e| matches!(e, Error::InvalidConditions { .. })));
    assert!(errs.iter().any(|e| matches!(e, Error::EndNotAfterStart { .. })));
    assert!(serde_json::from_value::<ExemptsFrom>(json!({"type": "all", "x": 1})).is_err());
}

#[test]
fn adp_description_versions() {
    let mut adp = AdpDescription {
        program: "Example Cloud ADP".into(),
        versions: vec![AdpVersion { effective: d("2026-01-01"), text: "v1".into(), reference: None }],
    };
    assert_eq!(adp.validate(), Ok(()));
    adp.push(AdpVersion { effective: d("2026-06-01"), text: "v2".into(), reference: Some("BIS 2026-9".into()) })
        .unwrap();
    assert!(adp.push(AdpVersion { effective: d("2026-06-01"), text: "v3".into(), reference: None }).is_err());
    assert_eq!(adp.current(d("2025-12-31")), None);
    assert_eq!(adp.current(d("2026-05-31")).unwrap().text, "v1");
    assert_eq!(adp.current(d("2026-06-01")).unwrap().text, "v2");
    let changes: Vec<&str> = adp.changes_between(d("2026-01-01"), d("2026-12-31")).map(|v| v.text.as_str()).collect();
    assert_eq!(changes, vec!["v2"]);
    let json = serde_json::to_value(&adp).unwrap();
    assert_eq!(serde_json::from_value::<AdpDescription>(json).unwrap(), adp);
    adp.versions.reverse();
    assert!(matches!(adp.validate(), Err(Error::AdpVersions(_))));
}
