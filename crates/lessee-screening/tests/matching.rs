#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
//! Matching rules as tables over the real lists: one `check` per row.

mod common;

use lessee_domain::Country;
use lessee_lists::{IdCategory, PartialDate};
use lessee_screening::{FeatureKind, Match, NameKind, PartyKind, Query, TokenMatch};

use common::screener;

/// The query's best match is `list`/`entity_id`.
fn check_top(query: &Query, list: &str, entity_id: &str) -> Match {
    let matches = screener().screen(query);
    let top = matches.first().unwrap_or_else(|| panic!("{:?}: no match at the default threshold", query.name));
    assert_eq!(
        (top.list.as_str(), top.entity_id.as_str()),
        (list, entity_id),
        "{:?}: best match is {} {:?} ({})",
        query.name,
        top.entity_id,
        top.explanation.matched_name,
        top.score
    );
    top.clone()
}

/// The score of `entity_id` for `query`, whatever the threshold.
fn score_of(query: &Query, entity_id: &str) -> f64 {
    screener()
        .screen_with(query, 0.0, 50)
        .into_iter()
        .find(|m| m.entity_id == entity_id)
        .map(|m| m.score)
        .unwrap_or_else(|| panic!("{:?}: {entity_id} not among the candidates", query.name))
}

const BOGACHEV: &str = "21326";

#[test]
fn bogachev_spellings() {
    let spellings = [
        "Yevgeniy Bogachev",
        "Евгений Богачев",
        "Евгений Михайлович Богачёв",
        "BOGACHEV, Evgeniy Mikhailovich",
        "Evgeny Bogachev",
        "Evgenii Bogachev",
        "Bogachev Yevgeniy Mikhaylovich",
        "Evgeniy Bogatchev",
        "Evgeniy Bogachyov",
        "Evgeniy Mikhailovich Bogachev",
        "Mr. Evgeniy Bogachev",
        "Evgeniy Bogachov",
        "Evgeniy Bogahcev",
        "E. M. Bogachev",
    ];
    for name in spellings {
        let m = check_top(&Query::name(name), "ofac_sdn", BOGACHEV);
        assert!(m.score >= screener().config().threshold, "{name}: {}", m.score);
    }
}

#[test]
fn company_form_variants() {
    let rows = [
        ("Internet Research Agency OOO", "23943"),
        ("ООО Internet Research Agency", "23943"),
        ("Internet Research Agency, Limited Liability Company", "23943"),
        ("Internet Research Agency L.L.C.", "23943"),
        ("Internet Research Agency", "23943"),
        ("Concord Management and Consulting LLC", "22526"),
        ("OOO Concord Management & Consulting", "22526"),
        ("JSC Concern Sozvezdie", "16869"),
        ("Concern Sozvezdie AO", "16869"),
        ("Concern Sozvezdie Joint-Stock Company", "16869"),
        ("Акционерное общество Concern Sozvezdie", "16869"),
        ("FMF General Trading L.L.C.", "10596"),
        ("FMF General Trading Limited Liability Company", "10596"),
        ("Zulekha General Trading", "10604"),
    ];
    for (name, id) in rows {
        check_top(&Query::name(name), "ofac_sdn", id);
    }
}

#[test]
fn date_of_birth_raises_and_lowers() {
    let base = Query::name("Evgeniy Bogachev");
    let without = score_of(&base, BOGACHEV);
    let exact = score_of(&base.clone().date_of_birth(PartialDate::new(1983, Some(10), Some(28)).unwrap()), BOGACHEV);
    let year = score_of(&base.clone().date_of_birth(PartialDate::new(1983, None, None).unwrap()), BOGACHEV);
    let wrong = score_of(&base.clone().date_of_birth(PartialDate::new(1960, Some(1), Some(1)).unwrap()), BOGACHEV);
    let near = score_of(&base.clone().date_of_birth(PartialDate::new(1983, Some(3), Some(2)).unwrap()), BOGACHEV);
    assert!(exact > year && year >= without, "{exact} {year} {without}");
    assert!(without > near && near > wrong, "{without} {near} {wrong}");
    assert!(
        wrong < screener().config().threshold,
        "a wrong date of birth takes a plain name match below the threshold: {wrong}"
    );
}

#[test]
fn country_raises_and_lowers() {
    // ASLANOV, Dzheykhun Nasimi Ogly: nationality Russia, born in Azerbaijan.
    let base = Query::name("Dzheykhun Aslanov");
    let without = score_of(&base, "23951");
    let russia = score_of(&base.clone().country(Country::parse("RU").unwrap()), "23951");
    let brazil = score_of(&base.clone().country(Country::parse("BR").unwrap()), "23951");
    assert!(russia > without && without > brazil, "{russia} {without} {brazil}");
}

#[test]
fn exact_passport_is_decisive() {
    // AL ZAWAHIRI, Dr. Ayman: Passport 1084010 (Egypt).
    let query = Query::name("A. Zawahri").identifier(IdCategory::Passport, "1084010");
    let m = check_top(&query, "ofac_sdn", "2676");
    assert_eq!(m.score, 1.0);
    let feature =
        m.explanation.features.iter().find(|f| f.kind == FeatureKind::Identifier).expect("an identifier feature");
    assert!(feature.detail.contains("1084010") && feature.detail.contains("decisive"));
    // Decisive even when the name is someone else's.
    let other = Query::name("John Smith").identifier(IdCategory::Passport, "1084010");
    check_top(&other, "ofac_sdn", "2676");
    // A different passport number lowers the score a little.
    let base = Query::name("Ayman al-Zawahiri");
    let wrong = base.clone().identifier(IdCategory::Passport, "X9999999");
    assert!(score_of(&wrong, "2676") < score_of(&base, "2676"));
}

#[test]
fn negatives_stay_below_the_threshold() {
    // ("John Smith" is not here: it is the given name and half the surname of a BIS entry,
    // JOHN B. PRIDMORE-SMITH, and it scores as such.)
    let names = [
        "James Wilson",
        "Maria Garcia Lopez",
        "Emily Johnson",
        "Hans Müller",
        "Priya Sharma",
        "Olga Smirnova",
        "Yevgeniy Ivanov",
        "Evgeniy Petrov",
        "Mikhail Sokolov",
        "Svetlana Kuznetsova",
        "Blue River Logistics LLC",
        "Summit Dental Group",
        "Northern Star Software GmbH",
        "Acme Trading Ltd",
        "Green Valley Farms Inc.",
        // A listed person's names with a surname no list contains.
        "Ahmad Khalaf Abd Shabib Souza",
        // The feminine form of a listed man's surname.
        "Artem Kuznetsova",
        // A real given name near a listed one is another name (`Marco` / `MARCEL LEFEBVRE`).
        "Marco Lefebvre",
        // A particle ends no name: `Le` here is a surname.
        "Camille Le",
    ];
    for name in names {
        let matches = screener().screen(&Query::name(name));
        assert!(
            matches.is_empty(),
            "{name}: {} {} {:?} {}",
            matches[0].list,
            matches[0].entity_id,
            matches[0].explanation.matched_name,
            matches[0].score
        );
    }
}

#[test]
fn party_kind_and_list_filters() {
    let entities_only = Query::name("Evgeniy Bogachev").party(PartyKind::Entity);
    assert!(screener().screen(&entities_only).iter().all(|m| m.entity_id != BOGACHEV));
    let individuals = Query::name("Evgeniy Bogachev").party(PartyKind::Individual);
    check_top(&individuals, "ofac_sdn", BOGACHEV);
    let un_only = Query::name("Evgeniy Bogachev").list("un");
    assert!(screener().screen(&un_only).iter().all(|m| m.list == "un"));
    let unknown_list = Query::name("Evgeniy Bogachev").list("no_such_list");
    assert!(screener().screen(&unknown_list).is_empty());
    let companies = Query::name("Internet Research Agency").party(PartyKind::Individual);
    assert!(screener().screen(&companies).iter().all(|m| m.entity_id != "23943"));
}

#[test]
fn explanation_says_what_matched() {
    let m = check_top(&Query::name("Jewgeni Bogachev"), "ofac_sdn", BOGACHEV);
    let e = &m.explanation;
    assert_eq!(e.list, "ofac_sdn");
    assert_eq!(e.entity_id, BOGACHEV);
    assert_eq!(e.list_version, common::ofac().source_sha256);
    assert_eq!(m.list_version, common::ofac().source_sha256);
    assert!(e.matched_name.to_uppercase().contains("BOGACHEV"), "{}", e.matched_name);
    assert_eq!(e.query_normalized, "jewgeni bogachev");
    assert!(matches!(e.matched_name_kind, NameKind::Primary | NameKind::Alias(_)));
    let name = &e.features[0];
    assert_eq!(name.kind, FeatureKind::Name);
    assert!(name.contribution > 0.8);
    let how = |q: &str| e.tokens.iter().find(|t| t.query.as_deref() == Some(q)).and_then(|t| t.how);
    assert_eq!(how("bogachev"), Some(TokenMatch::Exact));
    assert_eq!(how("jewgeni"), Some(TokenMatch::Romanization));
    // The middle name the query left out is listed as unmatched.
    assert!(e.tokens.iter().any(|t| t.query.is_none() && t.listed.is_some()));
    let text = e.to_string();
    assert!(text.contains("ofac_sdn") && text.contains(BOGACHEV), "{text}");
    // Features with a date of birth and a country: each contribution is recorded.
    let q = Query::name("Evgeniy Bogachev")
        .date_of_birth(PartialDate::new(1983, Some(10), Some(28)).unwrap())
        .country(Country::parse("RU").unwrap());
    let m = check_top(&q, "ofac_sdn", BOGACHEV);
    let dob = m.explanation.features.iter().find(|f| f.kind == FeatureKind::DateOfBirth).unwrap();
    assert!(dob.contribution > 0.0 && dob.detail.contains("1983-10-28"), "{dob:?}");
    let sum: f64 = m.explanation.features.iter().map(|f| f.contribution).sum();
    assert!((sum.min(1.0) - m.score).abs() < 0.01, "{sum} vs {}", m.score);
    let json = serde_json::to_value(&m).unwrap();
    assert_eq!(json["entity_id"], BOGACHEV);
    assert!(json["explanation"]["features"].is_array());
}

#[test]
fn matches_are_ordered_and_bounded() {
    let matches = screener().screen(&Query::name("Mohammed Ali"));
    assert!(matches.len() <= screener().config().max_results);
    assert!(matches.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(screener().screen(&Query::name("")).is_empty());
    assert!(screener().screen(&Query::name("  ,.;-- ")).is_empty());
    assert!(screener().screen(&Query::name("LLC")).is_empty());
}
