//! Jurisdiction measures: every link (customer, beneficial owner, sub-lessee, on-behalf-of,
//! access location), every kind of place, named regions (Crimea by code, by Cyrillic city, by
//! region name), the effect at opening and when maintaining, and the reason text.

use lessee_domain::Application;
use lessee_domain::application::AccountType;
use lessee_measures::{
    Action, EvalConfig, Evaluator, Link, Location, MatchBasis, Party, PlaceBasis, Stage, SubdivisionSource, Subject,
    Treatment, Verdict, codes, evaluate,
};
use serde_json::json;

use crate::*;

fn kp() -> Location {
    Location::country(cc("KP"))
}

/// The links through which `measures` reach `subject` (maintaining, in effect).
fn links(measure_fields: serde_json::Value, subject: &Subject) -> Vec<String> {
    let m = [measure(measure_fields)];
    evaluate(&m, &[], subject, d(IN_EFFECT), Stage::Maintaining).findings.iter().map(|f| f.link.to_string()).collect()
}

#[test]
fn every_link() {
    let all_scope = json!({"scope": ["opening", "maintaining", "reseller_accounts", "on_behalf_of"]});
    let plain = json!({});
    let mut owner = german("bo");
    owner.beneficial_owners = vec![Party::default(), Party::at(PlaceBasis::Nationality, kp())];
    let mut reseller = german("rs");
    reseller.sub_lessees =
        vec![Party::at(PlaceBasis::Address, Location::country(cc("FR"))), Party::at(PlaceBasis::Incorporation, kp())];
    let mut proxy = german("obo");
    proxy.on_behalf_of = vec![Party::at(PlaceBasis::Residence, kp())];
    let mut accessed = german("acc");
    accessed.access_locations = vec![Location::country(cc("US")), kp(), kp()];
    let cases: Vec<(&str, serde_json::Value, Subject, Vec<&str>)> = vec![
        ("customer address", plain.clone(), customer_in("c", kp()), vec!["customer"]),
        ("nobody", plain.clone(), german("de"), vec![]),
        ("beneficial owner", plain.clone(), owner.clone(), vec!["beneficial_owner:1"]),
        ("sub-lessee, scope covers resellers", all_scope.clone(), reseller.clone(), vec!["sub_lessee:1"]),
        ("sub-lessee, scope does not cover resellers", plain.clone(), reseller.clone(), vec![]),
        ("on behalf of, covered", all_scope.clone(), proxy.clone(), vec!["on_behalf_of:0"]),
        ("on behalf of, not covered", plain.clone(), proxy.clone(), vec![]),
        ("access location (one finding)", plain.clone(), accessed.clone(), vec!["access_location:1"]),
    ];
    for (name, fields, subject, want) in cases {
        assert_eq!(links(fields, &subject), want, "{name}");
    }
}

#[test]
fn a_reseller_account_is_reached_only_when_the_scope_covers_resellers() {
    let mut s = customer_in("r", kp());
    s.account_type = Some(AccountType::Reseller);
    assert_eq!(links(json!({}), &s), Vec::<String>::new());
    assert_eq!(links(json!({"scope": ["maintaining", "reseller_accounts"]}), &s), vec!["customer"]);
}

#[test]
fn prohibit_blocks_at_opening_and_closes_by_a_deadline_when_maintaining() {
    let m = [measure(json!({}))];
    let s = customer_in("a", kp());
    let opening = evaluate(&m, &[], &s, d(IN_EFFECT), Stage::Opening);
    assert_eq!(opening.verdict, Verdict::Block);
    assert_eq!(opening.findings[0].action, Action::Block);
    assert_eq!(opening.verdict.decision_outcome(), lessee_domain::Outcome::Deny);

    // Within the window: effective + 30 days.
    let maintaining = evaluate(&m, &[], &s, d("2026-07-10"), Stage::Maintaining);
    assert_eq!(maintaining.verdict, Verdict::Close);
    assert_eq!(maintaining.close_by, Some(d("2026-07-31")));
    // Found after the window: the evaluation date + 30 days.
    let late = evaluate(&m, &[], &s, d(IN_EFFECT), Stage::Maintaining);
    assert_eq!(late.close_by, Some(d("2026-10-15")));
    // Configurable.
    let ev = Evaluator::new(EvalConfig { close_within_days: 90, ..Default::default() });
    assert_eq!(ev.evaluate(&m, &[], &s, d("2026-07-10"), Stage::Maintaining).close_by, Some(d("2026-09-29")));
}

#[test]
fn condition_imposes_conditions() {
    let m = [measure(json!({"effect": {"type": "condition", "conditions": ["no_gpu", "enhanced_monitoring"]}}))];
    let out = evaluate(&m, &[], &customer_in("a", kp()), d(IN_EFFECT), Stage::Opening);
    assert_eq!(out.verdict, Verdict::Conditions);
    assert_eq!(out.conditions, vec!["enhanced_monitoring", "no_gpu"]);
    assert_eq!(out.findings[0].reason.code, codes::MEASURE_IMPOSES_CONDITIONS);
}

#[test]
fn scope_limits_the_stage() {
    let m = [measure(json!({"scope": ["opening"]}))];
    let s = customer_in("a", kp());
    assert_eq!(evaluate(&m, &[], &s, d(IN_EFFECT), Stage::Opening).verdict, Verdict::Block);
    assert!(evaluate(&m, &[], &s, d(IN_EFFECT), Stage::Maintaining).is_clear());
}

#[test]
fn the_reason_cites_the_measure_and_names_the_link_without_personal_data() {
    let m = [measure(json!({}))];
    let mut s = german("a");
    s.beneficial_owners = vec![Party::at(PlaceBasis::Address, kp()).with_name("Kim Secret")];
    let out = evaluate(&m, &[], &s, d(IN_EFFECT), Stage::Opening);
    let r = &out.findings[0].reason;
    assert_eq!(r.code, codes::MEASURE_BLOCKS_OPENING);
    assert_eq!(r.subject, "beneficial_owner:0");
    assert_eq!(
        r.message,
        "Special measure `sm-1` against KP (Korea, Democratic People's Republic of), 91 FR 1234 (EO 13984 § 2(d)), \
         prohibits opening this account: the address of beneficial owner 0 is in KP."
    );
    assert!(!r.message.contains("Secret"));
    assert!(codes::describe(&r.code).is_some());
}

#[test]
fn places_can_be_configured_to_count_less() {
    let m = [measure(json!({}))];
    let s = Subject::new("n", Party::at(PlaceBasis::Nationality, kp()));
    let review = Evaluator::new(EvalConfig {
        places: lessee_measures::PlaceTreatments { nationality: Treatment::Review, ..Default::default() },
        ..Default::default()
    });
    let out = review.evaluate(&m, &[], &s, d(IN_EFFECT), Stage::Opening);
    assert_eq!(out.verdict, Verdict::Review);
    assert_eq!(out.findings[0].reason.code, codes::MEASURE_POTENTIAL_MATCH);
    // An address match in the same party wins over the nationality.
    let both = Subject::new("n", Party::at(PlaceBasis::Nationality, kp()).with_place(PlaceBasis::Address, kp()));
    let out = review.evaluate(&m, &[], &both, d(IN_EFFECT), Stage::Opening);
    assert_eq!(out.verdict, Verdict::Block);
    assert!(matches!(out.findings[0].basis, MatchBasis::Place { place: PlaceBasis::Address, .. }));
    let ignore = Evaluator::new(EvalConfig { access_locations: Treatment::Ignore, ..Default::default() });
    let mut accessed = german("acc");
    accessed.access_locations = vec![kp()];
    assert!(ignore.evaluate(&m, &[], &accessed, d(IN_EFFECT), Stage::Opening).is_clear());
}

#[test]
fn addresses_resolve_to_subdivisions() {
    let ua = Some(cc("UA"));
    let ru = Some(cc("RU"));
    let cases: Vec<(Option<lessee_domain::Country>, Option<&str>, Option<&str>, Option<&str>, SubdivisionSource)> = vec![
        (ua, Some("UA-43"), None, Some("UA-43"), SubdivisionSource::Stated),
        (ua, Some("43"), None, Some("UA-43"), SubdivisionSource::Stated),
        (ru, Some("Республика Крым"), None, Some("UA-43"), SubdivisionSource::RegionName),
        (ua, Some("Autonomous Republic of Crimea"), None, Some("UA-43"), SubdivisionSource::RegionName),
        (ru, None, Some("Симферополь"), Some("UA-43"), SubdivisionSource::CityName),
        (ua, None, Some("Сімферополь"), Some("UA-43"), SubdivisionSource::CityName),
        (None, None, Some("SIMFEROPOL"), Some("UA-43"), SubdivisionSource::CityName),
        (ru, None, Some("г. Севастополь"), Some("UA-40"), SubdivisionSource::CityName),
        (ru, Some("ДНР"), Some("Донецк"), Some("UA-14"), SubdivisionSource::RegionName),
        (ru, None, Some("Донецк"), Some("UA-14"), SubdivisionSource::AmbiguousCityName),
        (ua, None, Some("Донецьк"), Some("UA-14"), SubdivisionSource::CityName),
        (ru, Some("Луганская Народная Республика"), None, Some("UA-09"), SubdivisionSource::RegionName),
        (ua, None, Some("Lugansk"), Some("UA-09"), SubdivisionSource::CityName),
        (ua, None, Some("Kyiv"), None, SubdivisionSource::None),
        // Address rules apply only in the region's countries.
        (Some(cc("US")), None, Some("Sevastopol"), None, SubdivisionSource::None),
        (Some(cc("DE")), Some("BY"), Some("München"), Some("DE-BY"), SubdivisionSource::Stated),
    ];
    for (country, region, city, want, source) in cases {
        let l = Location::from_address(country, region, city);
        assert_eq!(l.subdivision.map(|s| s.to_string()).as_deref(), want, "{region:?} {city:?}");
        assert_eq!(l.source, source, "{region:?} {city:?}");
        assert_eq!(l.country, country);
    }
}

#[test]
fn crimea_by_subdivision_and_by_cyrillic_city() {
    let m = [measure(json!({"target": {"region": "crimea"}}))];
    let cases: Vec<(&str, Location, Verdict)> = vec![
        ("stated UA-43", Location::subdivision(sub("UA-43")), Verdict::Block),
        ("Sevastopol UA-40", Location::subdivision(sub("UA-40")), Verdict::Block),
        (
            "RU address, Cyrillic city",
            Location::from_address(Some(cc("RU")), None, Some("Симферополь")),
            Verdict::Block,
        ),
        ("Kerch, no country", Location::from_address(None, None, Some("Керчь")), Verdict::Block),
        ("Kyiv", Location::from_address(Some(cc("UA")), Some("UA-30"), Some("Kyiv")), Verdict::Clear),
        ("Ukraine, no subdivision", Location::country(cc("UA")), Verdict::Clear),
        ("Russia, Moscow", Location::from_address(Some(cc("RU")), None, Some("Москва")), Verdict::Clear),
    ];
    for (name, location, want) in cases {
        let out = evaluate(&m, &[], &customer_in("a", location), d(IN_EFFECT), Stage::Opening);
        assert_eq!(out.verdict, want, "{name}");
    }
    let out = evaluate(
        &m,
        &[],
        &customer_in("a", Location::from_address(Some(cc("RU")), None, Some("Симферополь"))),
        d(IN_EFFECT),
        Stage::Opening,
    );
    let msg = &out.findings[0].reason.message;
    assert!(
        msg.contains("Crimea (UA-43, UA-40)") && msg.contains("UA-43 (stated country RU, inferred from the city)"),
        "{msg}"
    );
}

#[test]
fn a_country_measure_reaches_its_subdivisions_and_a_region_measure_only_its_own() {
    let ua = [measure(json!({"target": {"country": "UA"}}))];
    let crimea_as_ru = customer_in("a", Location::from_address(Some(cc("RU")), None, Some("Симферополь")));
    assert_eq!(evaluate(&ua, &[], &crimea_as_ru, d(IN_EFFECT), Stage::Opening).verdict, Verdict::Block);
    let dnr = [measure(json!({"target": {"region": "dnr"}}))];
    assert!(evaluate(&dnr, &[], &crimea_as_ru, d(IN_EFFECT), Stage::Opening).is_clear());
    let lnr = [measure(json!({"target": {"subdivision": "UA-09"}}))];
    let luhansk = customer_in("l", Location::from_address(Some(cc("UA")), None, Some("Луганськ")));
    assert_eq!(evaluate(&lnr, &[], &luhansk, d(IN_EFFECT), Stage::Opening).verdict, Verdict::Block);
}

#[test]
fn an_ambiguous_city_is_a_potential_match() {
    let m = [measure(json!({"target": {"region": "dnr"}}))];
    let rostov_or_dnr = customer_in("a", Location::from_address(Some(cc("RU")), None, Some("Donetsk")));
    let out = evaluate(&m, &[], &rostov_or_dnr, d(IN_EFFECT), Stage::Opening);
    assert_eq!(out.verdict, Verdict::Review);
    let dnr = customer_in("b", Location::from_address(Some(cc("UA")), None, Some("Donetsk")));
    assert_eq!(evaluate(&m, &[], &dnr, d(IN_EFFECT), Stage::Opening).verdict, Verdict::Block);
}

#[test]
fn a_subject_from_a_domain_application() {
    let app: Application = serde_json::from_value(json!({
        "external_id": "acct-9",
        "account_type": "standard",
        "opening_method": "self_service",
        "customer": {
            "kind": "entity",
            "legal_name": "Example Ltd",
            "organized_in": "CY",
            "address": {"lines": ["1 Main St"], "city": "Limassol", "country": "CY"},
            "beneficial_owners": [{
                "ownership_percent": 50.0,
                "person": {
                    "kind": "individual",
                    "name": {"given": "Ivan", "family": "Petrov"},
                    "date_of_birth": "1970-01-01",
                    "citizenships": ["RU"],
                    "address": {"city": "Симферополь", "country": "RU"}
                }
            }]
        }
    }))
    .unwrap();
    let s = Subject::from_application("acct-9", &app);
    assert_eq!(s.beneficial_owners.len(), 1);
    assert_eq!(s.customer.home_country(), Some(cc("CY")));
    let m = [measure(json!({"target": {"region": "crimea"}}))];
    let out = evaluate(&m, &[], &s, d(IN_EFFECT), Stage::Opening);
    assert_eq!(out.findings.iter().map(|f| f.link).collect::<Vec<_>>(), vec![Link::BeneficialOwner(0)]);
    // Debug never prints the names.
    assert!(!format!("{s:?}").contains("Petrov"));
}

#[test]
fn a_party_on_whose_behalf_the_account_is_held_reaches_it_when_the_scope_says_so() {
    let app: Application = serde_json::from_value(json!({
        "external_id": "acct-10",
        "account_type": "standard",
        "opening_method": "self_service",
        "customer": {"kind": "individual", "name": {"given": "Anna", "family": "Schmidt"},
                     "citizenships": ["DE"], "address": {"country": "DE"}},
        "on_behalf_of": [{
            "relationship": "principal",
            "party": {"kind": "individual", "name": {"given": "Ivan", "family": "Petrov"},
                      "date_of_birth": "1970-01-01", "citizenships": ["KP"], "address": {"country": "KP"}}
        }]
    }))
    .unwrap();
    let s = Subject::from_application("acct-10", &app);
    assert_eq!(s.on_behalf_of.len(), 1);
    // The default scope (opening, maintaining) does not reach on-behalf-of parties.
    let narrow = [measure(json!({}))];
    assert!(evaluate(&narrow, &[], &s, d(IN_EFFECT), Stage::Opening).is_clear());
    let wide = [measure(json!({"scope": ["opening", "maintaining", "on_behalf_of"]}))];
    let out = evaluate(&wide, &[], &s, d(IN_EFFECT), Stage::Opening);
    assert_eq!(out.findings.iter().map(|f| f.link).collect::<Vec<_>>(), vec![Link::OnBehalfOf(0)]);
    assert!(!format!("{s:?}").contains("Petrov"));
}
