//! Validation: the 180-day rule (configurable), dates, extensions, revocation, targets,
//! effects, scope; strict JSON.

use lessee_measures::{Error, Measure, RuleLevel, ValidationConfig};
use serde_json::json;

use crate::*;

fn errors(m: &Measure) -> Vec<Error> {
    m.validate(&ValidationConfig::default()).err().unwrap_or_default()
}

#[test]
fn the_base_measure_is_valid() {
    assert_eq!(measure(json!({})).validate(&ValidationConfig::default()), Ok(vec![]));
}

#[test]
fn effective_less_than_180_days_after_determination_is_an_error_by_default() {
    // 2026-01-02 + 179 days = 2026-06-30.
    let m = measure(json!({"effective": "2026-06-30"}));
    let errs = errors(&m);
    assert_eq!(
        errs,
        vec![Error::EffectiveTooSoon {
            determination: d(DETERMINED),
            effective: d("2026-06-30"),
            days: 179,
            lead_days: 180,
            earliest: d(EFFECTIVE),
        }]
    );
    let text = errs[0].to_string();
    assert!(text.contains("179 days") && text.contains("expedited") && text.contains("2026-07-01"), "{text}");
}

#[test]
fn the_180_day_rule_is_configurable() {
    let m = measure(json!({"effective": "2026-02-01"}));
    let warn = ValidationConfig { lead_time: RuleLevel::Warning, ..Default::default() };
    let warnings = m.validate(&warn).unwrap();
    assert!(matches!(warnings.as_slice(), [Error::EffectiveTooSoon { days: 30, .. }]), "{warnings:?}");
    let off = ValidationConfig { lead_time: RuleLevel::Off, ..Default::default() };
    assert_eq!(m.validate(&off), Ok(vec![]));
    let shorter = ValidationConfig { lead_days: 30, ..Default::default() };
    assert_eq!(m.validate(&shorter), Ok(vec![]));
}

#[test]
fn expedited_with_a_citation_allows_an_earlier_date() {
    let m = measure(json!({"effective": "2026-01-10", "expedited": {"citation": "EO 13984 § 2(d); urgent finding"}}));
    assert_eq!(m.validate(&ValidationConfig::default()), Ok(vec![]));
    let blank = measure(json!({"effective": "2026-01-10", "expedited": {"citation": " "}}));
    assert_eq!(errors(&blank), vec![Error::ExpeditedWithoutCitation]);
}

#[test]
fn date_rules() {
    let cases: Vec<(serde_json::Value, Error)> = vec![
        (
            json!({"effective": "2025-12-01", "expedited": {"citation": "x"}}),
            Error::EffectiveBeforeDetermination { determination: d(DETERMINED), effective: d("2025-12-01") },
        ),
        (
            json!({"expiry": EFFECTIVE}),
            Error::EndNotAfterStart { field: "expiry".into(), effective: d(EFFECTIVE), end: d(EFFECTIVE) },
        ),
        (
            json!({"extensions": [{"new_expiry": "2027-06-01", "citation": "c", "date": "2027-01-01"}]}),
            Error::ExtensionDoesNotExtend { index: 0, previous: d(EXPIRES), new_expiry: d("2027-06-01") },
        ),
        (
            json!({"extensions": [
                {"new_expiry": "2028-07-01", "citation": "c", "date": "2027-01-01"},
                {"new_expiry": "2028-07-01", "citation": "c", "date": "2027-02-01"},
            ]}),
            Error::ExtensionDoesNotExtend { index: 1, previous: d("2028-07-01"), new_expiry: d("2028-07-01") },
        ),
        (
            json!({"extensions": [{"new_expiry": "2028-07-01", "citation": "", "date": "2027-01-01"}]}),
            Error::MissingCitation { field: "extensions[0].citation".into() },
        ),
        (
            json!({"revocation": {"date": "2025-01-01", "citation": "c"}}),
            Error::RevocationTooEarly {
                date: d("2025-01-01"),
                field: "the determination".into(),
                start: d(DETERMINED),
            },
        ),
        (json!({"citation": "  "}), Error::MissingCitation { field: "citation".into() }),
        (json!({"scope": ["reseller_accounts", "on_behalf_of"]}), Error::ScopeAppliesToNothing),
        (
            json!({"target": {"region": "atlantis"}}),
            Error::UnknownRegion { region: "atlantis".into(), known: "crimea, dnr, lnr".into() },
        ),
        (json!({"kind": "person", "target": {"name": "—"}}), Error::EmptyName { field: "target.name".into() }),
    ];
    for (fields, want) in cases {
        let m = measure(fields.clone());
        let errs = errors(&m);
        assert!(errs.contains(&want), "{fields}: got {errs:?}");
    }
}

#[test]
fn an_extension_after_the_expiry_or_revocation_is_refused() {
    let late = measure(json!({"extensions": [{"new_expiry": "2028-07-01", "citation": "c", "date": "2027-07-02"}]}));
    assert!(matches!(errors(&late).as_slice(), [Error::ExtensionDate { index: 0, .. }]), "{:?}", errors(&late));
    let revoked = measure(json!({
        "extensions": [{"new_expiry": "2028-07-01", "citation": "c", "date": "2027-01-01"}],
        "revocation": {"date": "2026-12-01", "citation": "r"},
    }));
    let errs = errors(&revoked);
    assert!(errs.iter().any(|e| e.to_string().contains("revocation")), "{errs:?}");
}

#[test]
fn effects_and_person_targets() {
    let empty = measure(json!({"effect": {"type": "condition", "conditions": []}}));
    assert!(matches!(errors(&empty).as_slice(), [Error::InvalidConditions { .. }]));
    let bad = measure(json!({"effect": {"type": "condition", "conditions": ["No GPU"]}}));
    let stray = serde_json::from_value::<lessee_measures::Effect>(json!({"type": "prohibit", "conditions": ["x"]}));
    assert!(stray.unwrap_err().to_string().contains("conditions"));
    assert!(errors(&bad)[0].to_string().contains("`No GPU`"));
    let nobody = measure(json!({"kind": "person", "target": {}}));
    assert_eq!(errors(&nobody), vec![Error::PersonWithoutNameOrIdentifier]);
    let id_only =
        measure(json!({"kind": "person", "target": {"identifiers": [{"type": "passport", "number": "AB 123"}]}}));
    assert_eq!(id_only.validate(&ValidationConfig::default()), Ok(vec![]));
    let no_number = measure(
        json!({"kind": "person", "target": {"name": "X Y", "identifiers": [{"type": "passport", "number": "--"}]}}),
    );
    assert_eq!(errors(&no_number), vec![Error::IncompleteIdentifier { field: "target.identifiers[0]".into() }]);
}

#[test]
fn every_error_is_reported_at_once() {
    let m = measure(json!({"citation": "", "scope": [], "effective": "2026-02-01", "expiry": "2026-01-01"}));
    assert_eq!(errors(&m).len(), 4, "{:?}", errors(&m));
}

#[test]
fn json_round_trips_and_is_strict() {
    let m = measure(json!({
        "id": "sm-crimea",
        "target": {"region": "crimea"},
        "effect": {"type": "condition", "conditions": ["no_gpu", "enhanced_monitoring"]},
        "scope": ["maintaining", "opening", "reseller_accounts"],
        "expiry": "2027-01-01",
        "extensions": [{"new_expiry": "2027-06-01", "citation": "c", "date": "2026-12-01"}],
    }));
    let text = serde_json::to_string(&m).unwrap();
    assert!(text.contains(r#""kind":"jurisdiction","target":{"region":"crimea"}"#), "{text}");
    assert_eq!(serde_json::from_str::<Measure>(&text).unwrap(), m);

    let person = measure(json!({"kind": "person", "target": {"name": "Ivan Petrov", "date_of_birth": "1970-01-01"}}));
    assert_eq!(serde_json::from_str::<Measure>(&serde_json::to_string(&person).unwrap()).unwrap(), person);

    let mut v = serde_json::to_value(&m).unwrap();
    v["surprise"] = json!(1);
    let err = serde_json::from_value::<Measure>(v).unwrap_err().to_string();
    assert!(err.contains("surprise"), "{err}");

    let mismatch = json!({
        "id": "x", "kind": "person", "target": {"country": "KP"}, "effect": {"type": "prohibit"},
        "scope": ["opening"], "citation": "c", "determination": DETERMINED, "effective": EFFECTIVE,
    });
    let err = serde_json::from_value::<Measure>(mismatch).unwrap_err().to_string();
    assert!(err.contains("target (person)") && err.contains("country"), "{err}");

    for bad_id in ["", "has space", &"x".repeat(65)] {
        let v = json!({
            "id": bad_id, "kind": "jurisdiction", "target": {"country": "KP"}, "effect": {"type": "prohibit"},
            "scope": ["opening"], "citation": "c", "determination": DETERMINED, "effective": EFFECTIVE,
        });
        assert!(serde_json::from_value::<Measure>(v).is_err(), "{bad_id:?}");
    }
    let bad_sub = json!({
        "id": "x", "kind": "jurisdiction", "target": {"subdivision": "ZZ-1"}, "effect": {"type": "prohibit"},
        "scope": ["opening"], "citation": "c", "determination": DETERMINED, "effective": EFFECTIVE,
    });
    assert!(serde_json::from_value::<Measure>(bad_sub).unwrap_err().to_string().contains("ISO 3166-2"));
}
