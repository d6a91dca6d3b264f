//! The shared fixture applications (../shared/data/applications) under the default policy:
//! each one's outcome, reason codes, tier and conditions, as the fixtures' README describes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
#![allow(clippy::type_complexity)] // case tables are tuples on purpose

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use lessee_domain::classify::{ClassificationConfig, Rule, classify};
use lessee_domain::{Application, Country, Outcome};
use lessee_policy::cases::run_cases;
use lessee_policy::codes::requirements;
use lessee_policy::{
    EvidenceKind, EvidenceState, ExternalEvidence, GrantedExemption, LiftedBy, Policy, PolicyDecision, Subject,
    VendorResult, codes, evaluate,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap()
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/applications")
}

fn load(name: &str) -> Application {
    let text = std::fs::read_to_string(dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The caller geolocates the sign-up IP; the fixtures' IPs are allocations in these countries.
fn ip_country(app: &Application) -> Option<Country> {
    let ip = app.signup.as_ref()?.ip.as_str();
    let cc = match ip {
        "73.158.22.9" => "US",
        "80.133.10.7" => "DE",
        "81.2.69.160" => "GB",
        "24.114.0.8" => "CA",
        "5.8.16.1" => "RU",
        "95.24.1.1" => "RU",
        "116.88.3.4" => "SG",
        other => panic!("no country for fixture IP {other}"),
    };
    Country::parse(cc).ok()
}

fn evidence(app: &Application, contact: EvidenceState) -> ExternalEvidence {
    ExternalEvidence {
        signup_ip_country: ip_country(app),
        email: contact,
        phone: contact,
        ..ExternalEvidence::default()
    }
}

fn run(policy: &Policy, name: &str, ext: &dyn Fn(&Application) -> ExternalEvidence) -> PolicyDecision {
    let app = load(name);
    lessee_domain::validate(&app, now()).unwrap_or_else(|e| panic!("{name} invalid: {e:?}"));
    let ext = ext(&app);
    let class = classify(&app, ext.classification(), &ClassificationConfig::default());
    evaluate(policy, &app, &class, &ext, now())
}

fn default_policy() -> Policy {
    Policy::default_policy().unwrap_or_else(|e| panic!("default policy: {e:?}"))
}

use EvidenceState::{Confirmed, NotStarted, Pending};

/// (fixture, email and phone state, outcome, codes that must appear, codes that must not)
type Row = (&'static str, EvidenceState, Outcome, &'static [&'static str], &'static [&'static str]);

#[test]
fn fixture_outcomes_under_the_default_policy() {
    let p = default_policy();
    let rows: &[Row] = &[
        (
            "individual_us_person.json",
            NotStarted,
            Outcome::Approve,
            &[codes::US_PERSON_NO_CIP_REQUIRED],
            &[codes::VERIFICATION_PENDING, codes::LOCATION_INCONSISTENT],
        ),
        (
            "individual_foreign_located_in_us.json",
            NotStarted,
            Outcome::Approve,
            &[codes::US_PERSON_NO_CIP_REQUIRED],
            &[codes::VERIFICATION_PENDING, codes::LOCATION_INCONSISTENT],
        ),
        // Foreign, passport valid: approvable once email and phone are confirmed.
        (
            "individual_foreign_passport.json",
            NotStarted,
            Outcome::ApproveWithConditions,
            &[codes::DOCUMENT_VERIFIED, codes::VERIFICATION_PENDING],
            &[codes::VERIFIED],
        ),
        (
            "individual_foreign_passport.json",
            Pending,
            Outcome::ApproveWithConditions,
            &[codes::DOCUMENT_VERIFIED, codes::VERIFICATION_PENDING],
            &[codes::VERIFIED],
        ),
        (
            "individual_foreign_passport.json",
            Confirmed,
            Outcome::Approve,
            &[codes::DOCUMENT_VERIFIED, codes::VERIFIED],
            &[codes::VERIFICATION_PENDING, codes::LOCATION_INCONSISTENT],
        ),
        // GB owner verified by its TD1 card, US owner classified US.
        (
            "entity_foreign_with_owners.json",
            Pending,
            Outcome::ApproveWithConditions,
            &[codes::DOCUMENT_VERIFIED, codes::VERIFICATION_PENDING, codes::US_PERSON_NO_CIP_REQUIRED],
            &[codes::BENEFICIAL_OWNER_VERIFICATION_PENDING],
        ),
        (
            "entity_foreign_with_owners.json",
            Confirmed,
            Outcome::Approve,
            &[codes::DOCUMENT_VERIFIED, codes::VERIFIED, codes::US_PERSON_NO_CIP_REQUIRED],
            &[codes::VERIFICATION_PENDING, codes::BENEFICIAL_OWNER_VERIFICATION_PENDING],
        ),
        // A wrong check digit: review (the customer can resubmit), whatever else is confirmed.
        (
            "individual_bad_mrz.json",
            Confirmed,
            Outcome::ManualReview,
            &[codes::DOCUMENT_CHECK_DIGIT_FAILED, codes::EVIDENCE_FAILED],
            &[codes::VERIFIED, codes::DOCUMENT_VERIFIED],
        ),
        (
            "individual_bad_mrz.json",
            Pending,
            Outcome::ManualReview,
            &[codes::DOCUMENT_CHECK_DIGIT_FAILED, codes::EVIDENCE_FAILED],
            &[codes::VERIFIED],
        ),
        // Expired passport; Brazilian address, Russian IP and card.
        (
            "individual_expired_passport_geo_mismatch.json",
            Confirmed,
            Outcome::ManualReview,
            &[codes::DOCUMENT_EXPIRED, codes::LOCATION_INCONSISTENT, codes::VERIFICATION_FAILED],
            &[codes::VERIFIED],
        ),
        (
            "individual_expired_passport_geo_mismatch.json",
            Pending,
            Outcome::ManualReview,
            &[codes::DOCUMENT_EXPIRED, codes::LOCATION_INCONSISTENT],
            &[codes::VERIFIED],
        ),
        // The reseller (SG) is verified: registration, contacts, bank account; its owner by passport.
        (
            "reseller_with_sublessees.json",
            Confirmed,
            Outcome::Approve,
            &[codes::VERIFIED, codes::DOCUMENT_VERIFIED, codes::RESELLER_ADOPTS_PROVIDER_CIP],
            &[codes::VERIFICATION_PENDING],
        ),
        (
            "reseller_with_sublessees.json",
            Pending,
            Outcome::ApproveWithConditions,
            &[codes::VERIFICATION_PENDING, codes::RESELLER_ADOPTS_PROVIDER_CIP],
            &[],
        ),
        // Left to screening: the document is valid and the name a romanization variant; the
        // high tier still wants an identity vendor (a wallet identifies no one).
        (
            "individual_sanctioned.json",
            Confirmed,
            Outcome::ManualReview,
            &[
                codes::DOCUMENT_VERIFIED,
                codes::DOCUMENT_NAME_TRANSLITERATION_VARIANT,
                codes::VERIFICATION_PENDING,
                codes::PAYMENT_METHOD_NOT_EVIDENCE,
            ],
            &[codes::DOCUMENT_NAME_MISMATCH, codes::VERIFIED],
        ),
    ];
    for (file, contact, outcome, must, must_not) in rows {
        let d = run(&p, file, &|a| evidence(a, *contact));
        let codes = d.codes();
        assert_eq!(d.outcome(), *outcome, "{file} with email/phone {contact}: {codes:?}");
        for c in *must {
            assert!(codes.contains(c), "{file} ({contact}): missing {c} in {codes:?}");
        }
        for c in *must_not {
            assert!(!codes.contains(c), "{file} ({contact}): unexpected {c} in {codes:?}");
        }
        assert_eq!(d.decision.policy_version, p.id());
        assert_eq!(d.decision.decided_at, now());
        assert_eq!(d.evidence.len(), d.decision.reasons.len());
        for code in codes {
            assert!(lessee_policy::codes::describe(code).is_some(), "{code} is not in codes::ALL");
        }
    }
}

#[test]
fn fixture_tiers_under_the_default_policy() {
    let p = default_policy();
    let rows = [
        ("individual_us_person.json", "standard", 30),
        ("individual_foreign_passport.json", "standard", 30),
        ("entity_foreign_with_owners.json", "standard", 30),
        ("individual_bad_mrz.json", "standard", 30),
        ("reseller_with_sublessees.json", "elevated", 40),
        ("individual_foreign_located_in_us.json", "elevated", 40),
        ("individual_sanctioned.json", "high", 100),
        ("individual_expired_passport_geo_mismatch.json", "high", 110),
    ];
    for (file, tier, score) in rows {
        let d = run(&p, file, &|a| evidence(a, Pending));
        assert_eq!((d.tier.as_str(), d.risk_score), (tier, score), "{file}: {:?}", d.risk_factors);
    }
}

#[test]
fn pending_terms_are_the_tier_conditions_lifted_by_verification() {
    let p = default_policy();
    let d = run(&p, "individual_foreign_passport.json", &|a| evidence(a, Pending));
    let ids: Vec<&str> = d.conditions.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["quota_cap", "no_gpu", "enhanced_monitoring"]);
    assert!(d.conditions.iter().all(|c| c.lifted_by == LiftedBy::Verification
        && c.imposed_by == codes::VERIFICATION_PENDING
        && c.subject == "customer"));
    let cap = &d.conditions[0];
    assert_eq!(cap.params.get("max_vcpus"), Some(&8));
    // Conditions only accompany approve_with_conditions.
    let d = run(&p, "individual_bad_mrz.json", &|a| evidence(a, Pending));
    assert!(d.conditions.is_empty());
}

#[test]
fn the_expired_passport_case_names_its_location_evidence() {
    let p = default_policy();
    let d = run(&p, "individual_expired_passport_geo_mismatch.json", &|a| evidence(a, Confirmed));
    let (_, ev) = d.reasons().find(|(r, _)| r.code == codes::LOCATION_INCONSISTENT).unwrap();
    let got: Vec<(EvidenceKind, &str, String)> =
        ev.iter().map(|e| (e.kind, e.source.as_str(), e.country.map(|c| c.to_string()).unwrap_or_default())).collect();
    assert_eq!(
        got,
        [
            (EvidenceKind::Address, "/customer/address/country", "BR".to_owned()),
            (EvidenceKind::SignupIp, "external:signup_ip_country", "RU".to_owned()),
            (EvidenceKind::Payment, "/payment/card/issuer_country", "RU".to_owned()),
        ]
    );
    let (r, ev) = d.reasons().find(|(r, _)| r.code == codes::DOCUMENT_EXPIRED).unwrap();
    assert_eq!(r.subject, "customer");
    assert_eq!(ev[0].source, "/documents/0");
    assert_eq!(ev[0].state, Some(EvidenceState::Failed));
}

#[test]
fn the_located_in_us_person_records_its_location_evidence() {
    let p = default_policy();
    let app = load("individual_foreign_located_in_us.json");
    let ext = evidence(&app, NotStarted);
    let class = classify(&app, ext.classification(), &ClassificationConfig::default());
    assert_eq!(class.basis.rule, Rule::LocatedInUs);
    let d = evaluate(&p, &app, &class, &ext, now());
    let (_, ev) = d.reasons().find(|(r, _)| r.code == codes::US_PERSON_NO_CIP_REQUIRED).unwrap();
    let sources: Vec<&str> = ev.iter().map(|e| e.source.as_str()).collect();
    assert_eq!(sources, ["/customer/address/country", "/signup/ip"]);
}

#[test]
fn an_identity_vendor_completes_the_high_tier() {
    let p = default_policy();
    let d = run(&p, "individual_sanctioned.json", &|a| {
        let mut e = evidence(a, Confirmed);
        e.id_vendor.push(VendorResult { subject: Subject::Customer, vendor: "generic".into(), state: Confirmed });
        e
    });
    // The policy alone would approve; screening (a separate check) is what stops this case.
    assert_eq!(d.outcome(), Outcome::Approve, "{:?}", d.codes());
    assert!(d.has(codes::VERIFIED));
}

#[test]
fn an_exemption_waives_verification_and_an_unknown_one_is_ignored() {
    let p = default_policy();
    let d = run(&p, "individual_foreign_passport.json", &|a| {
        let mut e = evidence(a, NotStarted);
        e.exemptions = vec!["adp".into(), "no-such-exemption".into()];
        e
    });
    assert_eq!(d.outcome(), Outcome::Approve, "{:?}", d.codes());
    for c in [codes::EXEMPTION_APPLIED, codes::EXEMPTION_UNKNOWN, codes::VERIFICATION_WAIVED] {
        assert!(d.has(c), "{c} in {:?}", d.codes());
    }
}

fn granted(id: &str, waives: &[&str]) -> GrantedExemption {
    GrantedExemption {
        id: id.into(),
        reference: "ADP-2027-1".into(),
        waives: waives.iter().map(|w| (*w).to_owned()).collect(),
        conditions: Vec::new(),
    }
}

fn with_granted(contact: EvidenceState, g: Vec<GrantedExemption>) -> impl Fn(&Application) -> ExternalEvidence {
    move |a| ExternalEvidence { granted_exemptions: g.clone(), ..evidence(a, contact) }
}

/// (code, subject) of every reason.
fn reason_subjects(d: &PolicyDecision) -> Vec<(String, String)> {
    d.reasons().map(|(r, _)| (r.code.clone(), r.subject.clone())).collect()
}

#[test]
fn a_granted_exemption_waiving_cip_verification_approves_an_unverified_foreign_customer() {
    let p = default_policy();
    let file = "individual_foreign_passport.json";
    let without = run(&p, file, &with_granted(NotStarted, Vec::new()));
    assert_ne!(without.outcome(), Outcome::Approve, "{:?}", without.codes());
    assert!(!without.has(codes::VERIFICATION_WAIVED));

    let d = run(&p, file, &with_granted(NotStarted, vec![granted("x-adp", &[requirements::CIP_VERIFICATION])]));
    assert_eq!(d.outcome(), Outcome::Approve, "{:?}", d.codes());
    let (applied, ev) = d.reasons().find(|(r, _)| r.code == codes::EXEMPTION_APPLIED).unwrap();
    assert!(applied.message.contains("`x-adp` (ADP-2027-1)"), "{}", applied.message);
    assert!(applied.message.contains("waives cip_verification"), "{}", applied.message);
    assert_eq!(d.exemptions_used, ["x-adp"]);
    assert_eq!(ev[0].kind, EvidenceKind::Exemption);
    assert_eq!(ev[0].source, "registry:exemption:x-adp");
    let (waived, _) = d.reasons().find(|(r, _)| r.code == codes::VERIFICATION_WAIVED).unwrap();
    assert_eq!(waived.subject, "customer");
    assert!(waived.message.contains("`x-adp`"), "{}", waived.message);
    // The tier's verification reasons are gone, the rest (risk tier) stays.
    assert!(!d.has(codes::VERIFICATION_PENDING) && d.has(codes::RISK_TIER), "{:?}", d.codes());
}

#[test]
fn a_granted_exemption_for_beneficial_owners_waives_them_and_not_the_entity() {
    let p = default_policy();
    let file = "entity_foreign_with_owners.json";
    let of = |d: &PolicyDecision, subject: &str| -> Vec<String> {
        reason_subjects(d).into_iter().filter(|(_, s)| s == subject).map(|(c, _)| c).collect()
    };
    let without = run(&p, file, &with_granted(NotStarted, Vec::new()));
    // Owner 0 is foreign and verified by its passport; owner 1 is a US person.
    assert!(of(&without, "beneficial_owner:0").contains(&codes::VERIFIED.to_owned()), "{:?}", without.codes());

    let d = run(
        &p,
        file,
        &with_granted(NotStarted, vec![granted("x-owners", &[requirements::BENEFICIAL_OWNER_VERIFICATION])]),
    );
    assert_eq!(of(&d, "beneficial_owner:0"), [codes::VERIFICATION_WAIVED], "{:?}", reason_subjects(&d));
    assert_eq!(of(&d, "beneficial_owner:1"), of(&without, "beneficial_owner:1"));
    // The entity itself still needs verification.
    assert!(of(&d, "customer").contains(&codes::VERIFICATION_PENDING.to_owned()), "{:?}", d.codes());
    assert_eq!(d.outcome(), without.outcome());
}

#[test]
fn a_granted_exemption_waives_the_reseller_cip_requirement() {
    let p = default_policy();
    let file = "reseller_with_sublessees.json";
    let strip = |g: Vec<GrantedExemption>| {
        let p = &p;
        let mut app = load(file);
        app.reseller = None;
        let ext = with_granted(Confirmed, g)(&app);
        let class = classify(&app, ext.classification(), &ClassificationConfig::default());
        evaluate(p, &app, &class, &ext, now())
    };
    let without = strip(Vec::new());
    assert!(without.has(codes::RESELLER_TERMS_MISSING), "{:?}", without.codes());
    assert_ne!(without.outcome(), Outcome::Approve);
    let d = strip(vec![granted("x-resellers", &[requirements::RESELLER_CIP])]);
    assert!(!d.has(codes::RESELLER_TERMS_MISSING), "{:?}", d.codes());
    let (r, _) = d.reasons().find(|(r, _)| r.code == codes::RESELLER_CIP_WAIVED).unwrap();
    assert!(r.message.contains("`x-resellers`"), "{}", r.message);
    assert_eq!(d.outcome(), Outcome::Approve, "{:?}", d.codes());
}

#[test]
fn a_granted_exemption_waiving_nothing_the_policy_knows_changes_no_outcome() {
    let p = default_policy();
    for file in ["individual_foreign_passport.json", "entity_foreign_with_owners.json", "individual_us_person.json"] {
        let without = run(&p, file, &with_granted(NotStarted, Vec::new()));
        let d = run(&p, file, &with_granted(NotStarted, vec![granted("x-other", &["record_keeping"])]));
        assert_eq!(d.outcome(), without.outcome(), "{file}");
        assert_eq!(d.codes(), without.codes(), "{file}");
        assert!(d.exemptions_used.is_empty(), "{file}");
    }
}

#[test]
fn a_granted_exemption_that_waives_nothing_here_is_not_said_to_apply() {
    // A US person needs no CIP verification: the waiver is in force but changes nothing.
    let p = default_policy();
    let file = "individual_us_person.json";
    let d = run(&p, file, &with_granted(NotStarted, vec![granted("x-adp", &[requirements::CIP_VERIFICATION])]));
    assert!(!d.has(codes::EXEMPTION_APPLIED) && !d.has(codes::VERIFICATION_WAIVED), "{:?}", d.codes());
    assert!(d.exemptions_used.is_empty());
}

#[test]
fn a_waiver_does_not_cover_evidence_found_false() {
    // A document whose MRZ fails its checks: the waiver does not hide it.
    let p = default_policy();
    let file = "individual_bad_mrz.json";
    let without = run(&p, file, &with_granted(Confirmed, Vec::new()));
    assert!(without.has(codes::EVIDENCE_FAILED) || without.has(codes::VERIFICATION_FAILED), "{:?}", without.codes());
    let d = run(&p, file, &with_granted(Confirmed, vec![granted("x-adp", &[requirements::CIP_VERIFICATION])]));
    assert_eq!(d.outcome(), without.outcome(), "{:?}", d.codes());
    assert_eq!(d.codes(), without.codes());
    assert!(d.exemptions_used.is_empty());
}

#[test]
fn every_requirement_code_is_described_and_known() {
    for (code, meaning) in requirements::ALL {
        assert!(requirements::is_known(code) && !meaning.is_empty());
    }
    assert!(!requirements::is_known("record_keeping"));
}

#[test]
fn policy_test_runs_a_directory() {
    let p = default_policy();
    let results =
        run_cases(&p, &dir(), now(), &ClassificationConfig::default(), &mut |a| evidence(a, Confirmed)).unwrap();
    let got: Vec<(&str, Outcome)> =
        results.iter().map(|r| (r.case.as_str(), r.result.as_ref().map(|d| d.outcome()).unwrap())).collect();
    assert_eq!(
        got,
        [
            ("entity_foreign_with_owners.json", Outcome::Approve),
            ("individual_bad_mrz.json", Outcome::ManualReview),
            ("individual_expired_passport_geo_mismatch.json", Outcome::ManualReview),
            ("individual_foreign_located_in_us.json", Outcome::Approve),
            ("individual_foreign_passport.json", Outcome::Approve),
            ("individual_sanctioned.json", Outcome::ManualReview),
            ("individual_us_person.json", Outcome::Approve),
            ("reseller_with_sublessees.json", Outcome::Approve),
        ]
    );
}

#[test]
fn policy_test_reports_bad_cases() {
    let p = default_policy();
    let mut ext = |_: &Application| ExternalEvidence::default();
    let cfg = ClassificationConfig::default();
    let e = lessee_policy::cases::run_case(&p, "{", now(), &cfg, &mut ext).unwrap_err();
    assert!(matches!(e, lessee_policy::cases::CaseError::Parse { .. }), "{e:?}");
    let bad = r#"{"external_id": "x", "account_type": "standard", "opening_method": "self_service",
        "customer": {"kind": "individual", "name": {"given": "A", "family": "B"}, "citizenships": ["XX"]}}"#;
    let e = lessee_policy::cases::run_case(&p, bad, now(), &cfg, &mut ext).unwrap_err();
    assert!(matches!(e, lessee_policy::cases::CaseError::Invalid { .. }), "{e:?}");
}

#[test]
fn the_empty_policy_approves_everything() {
    let p = Policy::empty();
    for f in
        ["individual_bad_mrz.json", "individual_expired_passport_geo_mismatch.json", "individual_foreign_passport.json"]
    {
        let d = run(&p, f, &|a| evidence(a, NotStarted));
        assert_eq!(d.outcome(), Outcome::Approve, "{f}: {:?}", d.codes());
    }
}
