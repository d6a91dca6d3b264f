//! Properties: evaluation never panics and its verdict agrees with its findings; parsers and
//! address resolution never panic; folding is idempotent; measures round-trip through JSON.

use chrono::NaiveDate;
use lessee_domain::application::{AccountType, CustomerKind};
use lessee_measures::normalize::{fold, name_key};
use lessee_measures::{
    Action, EvalConfig, Evaluator, Exemption, Identifier, Location, Measure, Party, PlaceBasis, Stage, Subdivision,
    Subject, Treatment, Verdict,
};
use proptest::prelude::*;
use serde_json::json;

const COUNTRIES: &[&str] = &["KP", "IR", "RU", "UA", "DE", "US", "BY", "CY"];
const SUBDIVISIONS: &[&str] = &["UA-43", "UA-40", "UA-14", "UA-09", "UA-30", "RU-MOW", "US-CA"];
const CITIES: &[&str] = &["Симферополь", "Donetsk", "Луганськ", "Kyiv", "", "Sevastopol", "Berlin"];

fn date() -> impl Strategy<Value = NaiveDate> {
    (0i64..3000).prop_map(|n| NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Duration::days(n))
}

fn location() -> impl Strategy<Value = Location> {
    (
        proptest::option::of(proptest::sample::select(COUNTRIES)),
        proptest::option::of(prop_oneof![proptest::sample::select(SUBDIVISIONS).prop_map(str::to_owned), ".{0,12}"]),
        proptest::option::of(prop_oneof![proptest::sample::select(CITIES).prop_map(str::to_owned), "\\PC{0,16}"]),
    )
        .prop_map(|(c, region, city)| {
            Location::from_address(
                c.and_then(|c| lessee_domain::Country::parse(c).ok()),
                region.as_deref(),
                city.as_deref(),
            )
        })
}

fn party() -> impl Strategy<Value = Party> {
    (
        proptest::collection::vec(prop_oneof!["\\PC{0,24}", Just("Ivan Petrov".to_owned())], 0..3),
        proptest::option::of(date()),
        proptest::collection::vec(("[a-z_]{0,8}", "[A-Z0-9 -]{0,10}"), 0..2),
        proptest::collection::vec((0u8..4, location()), 0..3),
    )
        .prop_map(|(names, dob, ids, places)| {
            let mut p = Party { names, date_of_birth: dob, ..Party::default() };
            p.identifiers = ids.into_iter().map(|(t, n)| Identifier::new(t, None, n)).collect();
            for (b, l) in places {
                let basis =
                    [PlaceBasis::Address, PlaceBasis::Residence, PlaceBasis::Incorporation, PlaceBasis::Nationality]
                        [usize::from(b)];
                p.places.push(lessee_measures::Place::new(basis, l));
            }
            p
        })
}

fn subject() -> impl Strategy<Value = Subject> {
    (
        party(),
        proptest::collection::vec(party(), 0..3),
        proptest::collection::vec(party(), 0..3),
        proptest::collection::vec(party(), 0..2),
        proptest::collection::vec(location(), 0..3),
        0u8..5,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(customer, bos, subs, obo, access, t, reseller, entity)| Subject {
            account: "p".into(),
            account_type: [AccountType::Trial, AccountType::Standard, AccountType::Reseller, AccountType::Enterprise]
                .get(usize::from(t))
                .copied(),
            reseller,
            lessee_type: Some(if entity { CustomerKind::Entity } else { CustomerKind::Individual }),
            customer,
            beneficial_owners: bos,
            sub_lessees: subs,
            on_behalf_of: obo,
            access_locations: access,
        })
}

fn measure() -> impl Strategy<Value = Measure> {
    let target = prop_oneof![
        proptest::sample::select(COUNTRIES).prop_map(|c| ("jurisdiction", json!({"country": c}))),
        proptest::sample::select(SUBDIVISIONS).prop_map(|s| ("jurisdiction", json!({"subdivision": s}))),
        proptest::sample::select(&["crimea", "dnr", "lnr", "unknown"][..])
            .prop_map(|r| ("jurisdiction", json!({"region": r}))),
        ("\\PC{0,20}", proptest::option::of(date())).prop_map(|(n, dob)| (
            "person",
            json!({
                "name": n, "date_of_birth": dob, "identifiers": [{"type": "passport", "number": "X1"}]
            })
        )),
    ];
    (
        target,
        any::<bool>(),
        proptest::collection::btree_set(
            proptest::sample::select(&["opening", "maintaining", "reseller_accounts", "on_behalf_of"][..]),
            0..4,
        ),
        date(),
        0i64..800,
        proptest::option::of(0i64..800),
        proptest::option::of(date()),
    )
        .prop_map(|((kind, target), prohibit, scope, determination, lead, length, revoked)| {
            let effective = determination + chrono::Duration::days(lead);
            let effect = if prohibit {
                json!({"type": "prohibit"})
            } else {
                json!({"type": "condition", "conditions": ["no_gpu"]})
            };
            let mut v = json!({
                "id": "m", "kind": kind, "target": target, "effect": effect, "scope": scope, "citation": "c",
                "determination": determination, "effective": effective,
            });
            if let Some(len) = length {
                v["expiry"] = json!(effective + chrono::Duration::days(len));
            }
            if let Some(r) = revoked {
                v["revocation"] = json!({"date": r, "citation": "r"});
            }
            serde_json::from_value(v).unwrap()
        })
}

fn exemption() -> impl Strategy<Value = Exemption> {
    (0u8..4, date(), proptest::option::of(date()), any::<bool>()).prop_map(|(scope, effective, expiry, all)| {
        let scope = match scope {
            0 => json!({"type": "provider"}),
            1 => json!({"type": "account_type", "account_type": "trial"}),
            2 => json!({"type": "lessee_type", "lessee_type": "entity"}),
            _ => json!({"type": "country", "country": "KP"}),
        };
        let exempts_from = if all { json!({"type": "all"}) } else { json!({"type": "listed", "measures": ["m0"]}) };
        serde_json::from_value(json!({
            "id": "e", "scope": scope, "reference": "r", "granted": effective, "effective": effective,
            "expiry": expiry, "exempts_from": exempts_from, "conditions": ["adp"],
        }))
        .unwrap()
    })
}

fn treatment() -> impl Strategy<Value = Treatment> {
    proptest::sample::select(&[Treatment::Apply, Treatment::Review, Treatment::Ignore][..])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn evaluate_never_panics_and_the_verdict_agrees_with_the_findings(
        measures in proptest::collection::vec(measure(), 0..4),
        exemptions in proptest::collection::vec(exemption(), 0..2),
        subject in subject(),
        at in date(),
        opening in any::<bool>(),
        access in treatment(),
        ambiguous in treatment(),
        days in any::<u32>(),
    ) {
        let mut measures = measures;
        for (i, m) in measures.iter_mut().enumerate() {
            m.id = lessee_measures::MeasureId::parse(&format!("m{i}")).unwrap();
        }
        let stage = if opening { Stage::Opening } else { Stage::Maintaining };
        let config = EvalConfig { access_locations: access, ambiguous_address: ambiguous, close_within_days: days, ..Default::default() };
        let out = Evaluator::new(config).evaluate(&measures, &exemptions, &subject, at, stage);
        let max = out.findings.iter().map(|f| f.action.verdict()).max().unwrap_or(Verdict::Clear);
        prop_assert_eq!(out.verdict, max);
        for f in &out.findings {
            prop_assert_eq!(f.exemption.is_some(), matches!(f.action, Action::Exempt { .. }));
            prop_assert!(opening || f.action != Action::Block);
            prop_assert_eq!(f.reason.subject.clone(), f.link.to_string());
            prop_assert!(lessee_measures::codes::describe(&f.reason.code).is_some(), "unlisted code {}", f.reason.code);
            let m = measures.iter().find(|m| m.id == f.measure).unwrap();
            prop_assert_eq!(m.status(at).status, lessee_measures::Status::InEffect);
        }
        // Status never panics either, and the next change is later than `at`.
        for m in &measures {
            let s = m.status(at);
            prop_assert!(s.next_change.is_none_or(|n| n > at));
            let _ = m.validate(&Default::default());
        }
    }

    #[test]
    fn parsers_never_panic(text in "\\PC{0,40}", country in proptest::option::of(proptest::sample::select(COUNTRIES))) {
        let _ = Subdivision::parse(&text);
        let c = country.and_then(|c| lessee_domain::Country::parse(c).ok());
        let _ = Location::from_address(c, Some(&text), Some(&text));
        let _ = serde_json::from_str::<Measure>(&text);
        let _ = serde_json::from_str::<Exemption>(&text);
    }

    #[test]
    fn folding_is_idempotent(text in "\\PC{0,40}") {
        let once = fold(&text);
        prop_assert_eq!(fold(&once), once.clone());
        let key = name_key(&text);
        prop_assert_eq!(name_key(&key), key);
    }

    #[test]
    fn measures_round_trip_through_json(m in measure()) {
        let text = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(serde_json::from_str::<Measure>(&text).unwrap(), m);
    }
}
