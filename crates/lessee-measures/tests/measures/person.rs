//! Person measures: an identifier is decisive; a folded name with the same date of birth is a
//! match; a different date of birth is not; a name without a date is for review; the matcher
//! can be replaced.

use lessee_measures::{
    Confidence, EvalConfig, Evaluator, Identifier, Link, MatchBasis, Party, PersonBasis, PersonMatch, PersonMatcher,
    PersonTarget, Stage, Subject, Verdict, codes, evaluate,
};
use serde_json::json;

use crate::*;

fn person_measure() -> lessee_measures::Measure {
    measure(json!({
        "id": "sm-person",
        "kind": "person",
        "target": {
            "name": "Ivan Sergeyevich Petrov",
            "aliases": ["Иван Петров"],
            "date_of_birth": "1970-03-04",
            "identifiers": [{"type": "passport", "country": "RU", "number": "72 1234567"}]
        },
        "scope": ["opening", "maintaining", "reseller_accounts", "on_behalf_of"],
    }))
}

fn verdict_for(party: Party) -> (Verdict, Option<MatchBasis>) {
    let out = evaluate(&[person_measure()], &[], &Subject::new("a", party), d(IN_EFFECT), Stage::Opening);
    (out.verdict, out.findings.first().map(|f| f.basis.clone()))
}

#[test]
fn matching_table() {
    let passport = Identifier::new("Passport", Some(cc("RU")), "721234567");
    let cases: Vec<(&str, Party, Verdict)> = vec![
        (
            "identifier is decisive, whatever the name and date",
            Party::default()
                .with_name("Someone Else")
                .with_date_of_birth(d("1999-01-01"))
                .with_identifier(passport.clone()),
            Verdict::Block,
        ),
        (
            "identifier without country",
            Party::default().with_identifier(Identifier::new("passport", None, "72-1234567")),
            Verdict::Block,
        ),
        (
            "identifier of another country",
            Party::default().with_identifier(Identifier::new("passport", Some(cc("BY")), "721234567")),
            Verdict::Clear,
        ),
        (
            "identifier of another type",
            Party::default().with_identifier(Identifier::new("tax_id", Some(cc("RU")), "721234567")),
            Verdict::Clear,
        ),
        (
            "name and date of birth",
            Party::default().with_name("PETROV, Ivan Sergeyevich").with_date_of_birth(d("1970-03-04")),
            Verdict::Block,
        ),
        (
            "Cyrillic alias and date of birth",
            Party::default().with_name("Петров Иван").with_date_of_birth(d("1970-03-04")),
            Verdict::Block,
        ),
        (
            "same name, different date of birth",
            Party::default().with_name("Ivan Sergeyevich Petrov").with_date_of_birth(d("1971-03-04")),
            Verdict::Clear,
        ),
        ("same name, no date of birth: review", Party::default().with_name("ivan sergeyevich petrov"), Verdict::Review),
        (
            "another name",
            Party::default().with_name("Ivan Petrenko").with_date_of_birth(d("1970-03-04")),
            Verdict::Clear,
        ),
        ("nothing known", Party::default(), Verdict::Clear),
    ];
    for (name, party, want) in cases {
        assert_eq!(verdict_for(party).0, want, "{name}");
    }
}

#[test]
fn the_basis_says_how_it_matched() {
    let (_, basis) =
        verdict_for(Party::default().with_identifier(Identifier::new("passport", Some(cc("RU")), "721234567")));
    assert_eq!(
        basis,
        Some(MatchBasis::Person(PersonMatch {
            confidence: Confidence::Decisive,
            basis: PersonBasis::Identifier { id_type: "passport".into(), country: Some(cc("RU")) },
        }))
    );
    let (_, basis) = verdict_for(Party::default().with_name("Иван Петров").with_date_of_birth(d("1970-03-04")));
    assert!(matches!(basis, Some(MatchBasis::Person(PersonMatch { confidence: Confidence::Strong, .. }))));
}

#[test]
fn a_person_is_found_through_every_party_link() {
    let petrov = Party::default().with_name("Ivan Petrov").with_date_of_birth(d("1970-03-04"));
    let mut s = german("a");
    s.beneficial_owners = vec![petrov.clone()];
    s.sub_lessees = vec![Party::default(), petrov.clone()];
    s.on_behalf_of = vec![petrov];
    let out = evaluate(&[person_measure()], &[], &s, d(IN_EFFECT), Stage::Maintaining);
    let links: Vec<Link> = out.findings.iter().map(|f| f.link).collect();
    assert_eq!(links, vec![Link::BeneficialOwner(0), Link::SubLessee(1), Link::OnBehalfOf(0)]);
    assert!(out.findings.iter().all(|f| f.reason.code == codes::MEASURE_REQUIRES_CLOSURE));
    assert!(out.findings.iter().all(|f| !f.reason.message.contains("Petrov")), "no names in reasons");
}

/// A stand-in for the screening engine: matches on the first word of the name only.
struct FirstWordMatcher;

impl PersonMatcher for FirstWordMatcher {
    fn match_party(&self, target: &PersonTarget, party: &Party) -> Option<PersonMatch> {
        let first = |s: &str| s.split_whitespace().next().map(str::to_lowercase);
        party.names.iter().any(|n| first(n) == first(&target.name)).then(|| PersonMatch {
            confidence: Confidence::Strong,
            basis: PersonBasis::Other { detail: "screening score 0.91".into() },
        })
    }
}

#[test]
fn the_matcher_can_be_plugged_in() {
    let s = Subject::new("a", Party::default().with_name("Ivan Ivanov"));
    let ev = Evaluator::with_matcher(EvalConfig::default(), FirstWordMatcher);
    let out = ev.evaluate(&[person_measure()], &[], &s, d(IN_EFFECT), Stage::Opening);
    assert_eq!(out.verdict, Verdict::Block);
    assert!(out.findings[0].reason.message.contains("screening score 0.91"));
}
