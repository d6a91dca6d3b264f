//! Data-driven tests of validation, classification and the interim decision.
#![allow(clippy::panic, clippy::type_complexity)] // tests report by panicking; case tables are tuples on purpose

use chrono::{DateTime, TimeZone, Utc};
use lessee_domain::classify::{ClassificationConfig, ExternalEvidence, Rule};
use lessee_domain::{Application, Country, Outcome, PersonStatus, classify, interim_decision, validate};
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap_or_default()
}

fn individual(extra: Value) -> Value {
    let mut c = json!({"kind": "individual", "name": {"given": "Ada", "family": "Lovelace"}});
    if let (Some(obj), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    c
}

fn app(customer: Value) -> Application {
    let v = json!({
        "external_id": "t-1", "account_type": "standard", "opening_method": "self_service",
        "customer": customer
    });
    serde_json::from_value(v).unwrap_or_else(|e| panic!("test application does not parse: {e}"))
}

fn country(c: &str) -> Option<Country> {
    Country::parse(c).ok()
}

/// (case, customer JSON, sign-up IP country, expected status, expected rule, expected conflict codes)
#[test]
fn classification_table() {
    let cases: Vec<(&str, Value, Option<&str>, PersonStatus, Rule, Vec<&str>)> = vec![
        (
            "US citizen abroad",
            individual(json!({"citizenships": ["FR", "US"], "address": {"country": "FR"}})),
            Some("FR"),
            PersonStatus::UsPerson,
            Rule::UsCitizen,
            vec![],
        ),
        (
            "green card holder",
            individual(json!({"citizenships": ["MX"], "permanent_residences": ["US"], "address": {"country": "MX"}})),
            None,
            PersonStatus::UsPerson,
            Rule::UsPermanentResident,
            vec![],
        ),
        (
            "foreigner living in the US",
            individual(json!({"citizenships": ["IN"], "address": {"country": "US"}})),
            Some("US"),
            PersonStatus::UsPerson,
            Rule::LocatedInUs,
            vec![],
        ),
        (
            "foreigner in Puerto Rico",
            individual(json!({"citizenships": ["IN"], "address": {"country": "PR"}})),
            None,
            PersonStatus::UsPerson,
            Rule::LocatedInUs,
            vec![],
        ),
        (
            "US address, foreign IP",
            individual(json!({"citizenships": ["IN"], "address": {"country": "US"}})),
            Some("IN"),
            PersonStatus::ForeignPerson,
            Rule::NoUsNexus,
            vec!["location_evidence_conflict"],
        ),
        (
            "foreign address, US IP",
            individual(json!({"citizenships": ["DE"], "address": {"country": "DE"}})),
            Some("US"),
            PersonStatus::ForeignPerson,
            Rule::NoUsNexus,
            vec!["location_evidence_conflict"],
        ),
        (
            "plain foreigner",
            individual(json!({"citizenships": ["DE"], "address": {"country": "DE"}})),
            Some("DE"),
            PersonStatus::ForeignPerson,
            Rule::NoUsNexus,
            vec![],
        ),
        ("nothing known", individual(json!({})), None, PersonStatus::ForeignPerson, Rule::NoUsNexus, vec![]),
        (
            "US LLC",
            json!({"kind": "entity", "legal_name": "Acme LLC", "organized_in": "US", "address": {"country": "DE"}}),
            Some("DE"),
            PersonStatus::UsPerson,
            Rule::OrganizedInUs,
            vec![],
        ),
        (
            "UK company",
            json!({"kind": "entity", "legal_name": "Acme Ltd", "organized_in": "GB", "address": {"country": "GB"}}),
            Some("GB"),
            PersonStatus::ForeignPerson,
            Rule::NoUsNexus,
            vec![],
        ),
        (
            "registration disagrees",
            json!({"kind": "entity", "legal_name": "Acme Ltd", "organized_in": "GB",
            "registration": {"country": "US", "number": "1"}, "address": {"country": "GB"}}),
            None,
            PersonStatus::ForeignPerson,
            Rule::NoUsNexus,
            vec!["organization_evidence_conflict"],
        ),
    ];
    let cfg = ClassificationConfig::default();
    for (name, customer, ip, status, rule, conflicts) in cases {
        let a = app(customer);
        assert_eq!(validate(&a, now()), Ok(()), "{name}: fixture must be valid");
        let c = classify(&a, ExternalEvidence { signup_ip_country: ip.and_then(country) }, &cfg);
        assert_eq!(c.status, status, "{name}");
        assert_eq!(c.basis.rule, rule, "{name}");
        let got: Vec<&str> = c.conflicts.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(got, conflicts, "{name}");
        let d = interim_decision(&c, now());
        let want = if status == PersonStatus::UsPerson && conflicts.is_empty() {
            Outcome::Approve
        } else {
            Outcome::ManualReview
        };
        assert_eq!(d.outcome, want, "{name}");
    }
}

#[test]
fn parties_on_whose_behalf_an_account_is_held_are_classified() {
    let mut v = json!({"external_id": "t-1", "account_type": "standard", "opening_method": "self_service",
    "customer": individual(json!({"citizenships": ["US"], "address": {"country": "US"}})),
    "on_behalf_of": [
        {"relationship": "principal", "party": individual(json!({"citizenships": ["RU"], "address": {"country": "RU"}}))},
        {"party": {"kind": "entity", "legal_name": "Acme Inc", "organized_in": "US"}}
    ]});
    let a: Application = serde_json::from_value(v.take()).unwrap_or_else(|e| panic!("{e}"));
    assert!(validate(&a, now()).is_ok());
    let c = classify(&a, ExternalEvidence { signup_ip_country: country("US") }, &ClassificationConfig::default());
    assert_eq!(c.status, PersonStatus::UsPerson);
    let got: Vec<(usize, PersonStatus)> = c.on_behalf_of.iter().map(|o| (o.index, o.status)).collect();
    assert_eq!(got, [(0, PersonStatus::ForeignPerson), (1, PersonStatus::UsPerson)]);
    let sources: Vec<&str> = c.on_behalf_of[0].basis.evidence.iter().map(|e| e.source.as_str()).collect();
    assert!(sources.iter().all(|s| s.starts_with("/on_behalf_of/0/party/")), "{sources:?}");
    // An application without the field keeps the stored form it had (no `on_behalf_of` key).
    let plain = app(individual(json!({})));
    let c = classify(&plain, ExternalEvidence::default(), &ClassificationConfig::default());
    assert!(serde_json::to_value(&c).unwrap_or_default().get("on_behalf_of").is_none());
}

#[test]
fn evidence_points_into_the_application() {
    let a = app(individual(json!({"citizenships": ["IN"], "address": {"country": "US"}})));
    let c = classify(&a, ExternalEvidence { signup_ip_country: country("US") }, &ClassificationConfig::default());
    let sources: Vec<&str> = c.basis.evidence.iter().map(|e| e.source.as_str()).collect();
    assert_eq!(sources, vec!["/customer/address/country", "/signup/ip"]);
}

#[test]
fn foreign_beneficial_owner_holds_a_us_entity_for_review() {
    let owner = individual(json!({"citizenships": ["RU"], "address": {"country": "RU"}}));
    let a = app(json!({"kind": "entity", "legal_name": "Acme Inc", "organized_in": "US",
        "beneficial_owners": [{"ownership_percent": 50, "person": owner}]}));
    let c = classify(&a, ExternalEvidence::default(), &ClassificationConfig::default());
    assert_eq!(c.status, PersonStatus::UsPerson);
    assert_eq!(c.beneficial_owners.len(), 1);
    assert_eq!(c.beneficial_owners.first().map(|b| b.status), Some(PersonStatus::ForeignPerson));
    let d = interim_decision(&c, now());
    assert_eq!(d.outcome, Outcome::ManualReview);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.code == "beneficial_owner_verification_pending" && r.subject == "beneficial_owner:0")
    );
}

/// (case, customer JSON or whole-application patch, expected (pointer, code) pairs)
#[test]
fn validation_table() {
    let cases: Vec<(&str, Value, Vec<(&str, &str)>)> = vec![
        (
            "bad citizenship",
            json!({"customer": individual(json!({"citizenships": ["XX"]}))}),
            vec![("/customer/citizenships/0", "invalid_country")],
        ),
        (
            "UK is not a code",
            json!({"customer": individual(json!({"address": {"country": "UK"}}))}),
            vec![("/customer/address/country", "invalid_country")],
        ),
        (
            "future birth",
            json!({"customer": individual(json!({"date_of_birth": "2030-01-01"}))}),
            vec![("/customer/date_of_birth", "date_in_future")],
        ),
        (
            "not a date",
            json!({"customer": individual(json!({"date_of_birth": "1990-02-30"}))}),
            vec![("/customer/date_of_birth", "invalid_date")],
        ),
        (
            "bad ip",
            json!({"signup": {"ip": "300.1.1.1", "at": "2026-11-20T09:14:03Z"}}),
            vec![("/signup/ip", "invalid_ip")],
        ),
        ("bad time", json!({"signup": {"ip": "::1", "at": "yesterday"}}), vec![("/signup/at", "invalid_datetime")]),
        (
            "full PAN",
            json!({"payment": {"method": "card", "card": {"number": "4111111111111111"}}}),
            vec![("/payment/card/number", "full_card_number_forbidden")],
        ),
        ("empty external id", json!({"external_id": " "}), vec![("/external_id", "required")]),
        (
            "entity owner",
            json!({"customer": {"kind": "entity", "legal_name": "A", "organized_in": "DE",
            "beneficial_owners": [{"person": {"kind": "entity", "legal_name": "B", "organized_in": "DE"}}]}}),
            vec![("/customer/beneficial_owners/0/person/kind", "beneficial_owner_not_individual")],
        ),
        (
            "subject out of range",
            json!({"documents": [{"type": "passport", "subject": "beneficial_owner:3"}]}),
            vec![("/documents/0/subject", "invalid_subject")],
        ),
        (
            "on behalf of a party with a bad country",
            json!({"on_behalf_of": [{"relationship": "principal", "party": individual(json!({"citizenships": ["XX"]}))}]}),
            vec![("/on_behalf_of/0/party/citizenships/0", "invalid_country")],
        ),
        (
            "owners of an on-behalf-of entity",
            json!({"on_behalf_of": [{"party": {"kind": "entity", "legal_name": "A", "organized_in": "DE",
                "beneficial_owners": [{"person": individual(json!({}))}]}}]}),
            vec![("/on_behalf_of/0/party/beneficial_owners", "not_supported")],
        ),
        (
            "too many on-behalf-of parties",
            json!({"on_behalf_of": (0..101).map(|_| json!({"party": individual(json!({}))})).collect::<Vec<_>>()}),
            vec![("/on_behalf_of", "too_many")],
        ),
        (
            "two problems at once",
            json!({"customer": individual(json!({"citizenships": ["QQ"], "email": "nope"}))}),
            vec![("/customer/citizenships/0", "invalid_country"), ("/customer/email", "invalid_email")],
        ),
    ];
    for (name, patch, want) in cases {
        let mut v = json!({"external_id": "t-1", "account_type": "standard", "opening_method": "self_service",
            "customer": individual(json!({}))});
        if let (Some(obj), Some(p)) = (v.as_object_mut(), patch.as_object()) {
            for (k, val) in p {
                obj.insert(k.clone(), val.clone());
            }
        }
        let a: Application = serde_json::from_value(v).unwrap_or_else(|e| panic!("{name}: {e}"));
        let errs = validate(&a, now()).err().unwrap_or_default();
        let got: Vec<(&str, &str)> = errs.iter().map(|e| (e.pointer.as_str(), e.code.as_str())).collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn unknown_fields_are_refused() {
    let v = json!({"external_id": "t", "account_type": "standard", "opening_method": "self_service",
        "customer": individual(json!({"nationality": "DE"}))});
    let err = serde_json::from_value::<Application>(v).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("nationality"), "{err}");
}
