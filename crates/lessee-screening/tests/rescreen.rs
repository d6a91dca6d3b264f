#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
//! Re-screening after a list change: the customer index finds who a new entry can affect.

mod common;

use lessee_lists::{Alias, AliasQuality, EntityType, Entry, IdCategory, Identifier, ListKind, PartialDate};
use lessee_screening::{Config, Customer, CustomerIndex, ListSource, Screener};

fn entry(id: &str, name: &str, aliases: &[&str]) -> Entry {
    let mut e = common::ofac().entries[0].clone();
    e.list = ListKind::Custom;
    e.entity_id = id.to_owned();
    e.entity_type = EntityType::Individual;
    e.name = name.to_owned();
    e.aliases = aliases.iter().map(|a| Alias { name: (*a).to_owned(), quality: AliasQuality::Strong }).collect();
    e.dates_of_birth.clear();
    e.identifiers.clear();
    e.nationalities.clear();
    e.citizenships.clear();
    e.countries.clear();
    e.addresses.clear();
    e
}

fn customers(n: usize) -> Vec<Customer> {
    let given = ["John", "Maria", "Wei", "Olga", "Ahmed", "Priya", "Hans", "Lucía"];
    let family = ["Smith", "Garcia", "Zhang", "Petrova", "Hassan", "Sharma", "Müller", "Rossi"];
    let mut out: Vec<Customer> = (0..n)
        .map(|i| Customer::new(format!("c-{i}"), format!("{} {} {}", given[i % 8], family[(i / 8) % 8], i)))
        .collect();
    let mut ivan = Customer::new("c-ivan", "Ivan Sergeyevich Kuzmenko");
    ivan.date_of_birth = PartialDate::new(1979, Some(4), Some(2));
    out.push(ivan);
    out.push(Customer::new("c-ivan-co", "Kuzmenko Trading LLC"));
    let mut passport = Customer::new("c-pass", "Somebody Else");
    passport.identifiers.push(lessee_screening::QueryIdentifier {
        category: IdCategory::Passport,
        number: "AB 123 456".to_owned(),
        country: None,
    });
    out.push(passport);
    out
}

#[test]
fn a_new_entry_finds_the_customers_it_affects_through_the_index() {
    let old = vec![entry("X-1", "DOE, Jane", &[])];
    let mut added = entry("X-2", "KUZMENKO, Ivan Sergeevich", &["Иван Кузьменко"]);
    added.dates_of_birth.push(lessee_lists::DateOfBirth::Date {
        date: PartialDate::new(1979, Some(4), Some(2)).unwrap(),
        approximate: false,
    });
    let mut by_passport = entry("X-3", "NOBODY, Known", &[]);
    by_passport.identifiers.push(Identifier {
        kind: "Passport".to_owned(),
        category: IdCategory::Passport,
        number: "AB123456".to_owned(),
        country: None,
        note: None,
    });
    let new: Vec<Entry> = old.iter().cloned().chain([added.clone(), by_passport.clone()]).collect();
    let diff = lessee_lists::diff(&old, &new);
    assert_eq!(diff.added.len(), 2);

    let screener = Screener::new(vec![ListSource::new("provider", "v2", new)], Config::default());
    let index = CustomerIndex::build(customers(2000), &screener);
    assert_eq!(index.len(), 2003);

    // Only a handful of customers come near the new entries: the index, not a scan.
    let near = screener.customers_near(&index, &[&added, &by_passport]);
    assert!(near.len() < 20, "{} customers", near.len());

    let affected = screener.rescreen_diff(&index, "provider", &diff);
    let ids: Vec<&str> = affected.iter().map(|a| a.customer_id.as_str()).collect();
    assert!(ids.contains(&"c-ivan"), "{ids:?}");
    assert!(ids.contains(&"c-pass"), "{ids:?}");
    assert!(!ids.iter().any(|id| id.starts_with("c-1")), "{ids:?}");
    let ivan = affected.iter().find(|a| a.customer_id == "c-ivan").unwrap();
    assert_eq!(ivan.matches[0].entity_id, "X-2");
    assert_eq!(ivan.matches[0].list_version, "v2");
    // The customer's date of birth counted.
    assert!(
        ivan.matches[0]
            .explanation
            .features
            .iter()
            .any(|f| f.kind == lessee_screening::FeatureKind::DateOfBirth && f.contribution > 0.0)
    );
}

#[test]
fn an_unrelated_change_affects_nobody() {
    let old = vec![entry("X-1", "DOE, Jane", &[])];
    let new = vec![entry("X-1", "DOE, Jane", &["Janet Doe"]), entry("X-9", "QWERTY, Zyxw", &[])];
    let diff = lessee_lists::diff(&old, &new);
    assert_eq!((diff.added.len(), diff.changed.len()), (1, 1));
    let screener = Screener::new(vec![ListSource::new("provider", "v2", new)], Config::default());
    let index = CustomerIndex::build(customers(500), &screener);
    assert!(screener.rescreen_diff(&index, "provider", &diff).is_empty());
}

#[test]
fn rescreening_against_the_real_lists_agrees_with_screening() {
    let screener = common::screener();
    let index = CustomerIndex::build(
        vec![
            Customer::new("a", "Evgeniy Bogachev"),
            Customer::new("b", "Maria Garcia"),
            Customer::new("c", "Internet Research Agency OOO"),
        ],
        screener,
    );
    let ofac = common::ofac();
    let entries: Vec<&Entry> =
        ofac.entries.iter().filter(|e| e.entity_id == "21326" || e.entity_id == "23943").collect();
    let affected = screener.rescreen_entries(&index, "ofac_sdn", &entries);
    let mut ids: Vec<&str> = affected.iter().map(|a| a.customer_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a", "c"]);
}

/// The keys stored beside accounts find every customer the in-memory customer index finds
/// near a list entry (so re-screening after a list change can decrypt only those), on the
/// evaluation set's customers (OFAC names changed every way the set changes them, and
/// ordinary names) against the OFAC entries they came from and others.
#[test]
fn stored_keys_find_what_the_customer_index_finds() {
    use lessee_screening::eval::{self, EvalConfig};
    use lessee_screening::keys;
    use std::collections::HashSet;

    let screener = common::screener();
    let entries = &common::ofac().entries;
    let set = eval::generate(entries, screener, &EvalConfig { seed: 3, positives: 1000, negatives: 1000 });
    let customers: Vec<Customer> =
        set.queries.iter().map(|q| Customer::new(format!("q-{}", q.id), q.name.clone())).collect();
    let stored: Vec<HashSet<u64>> = customers
        .iter()
        .map(|c| {
            let mut k = Vec::new();
            keys::stored_keys(&c.name, &mut k);
            k.into_iter().collect()
        })
        .collect();
    let index = CustomerIndex::build(customers, screener);
    // The entries the positives came from, and every 40th entry besides.
    let mut chosen: Vec<&Entry> = Vec::new();
    for q in &set.queries {
        if let Some(e) = q.expected.as_ref().and_then(|x| entries.iter().find(|e| e.entity_id == x.entity_id))
            && chosen.len() < 400
            && !chosen.iter().any(|c| c.entity_id == e.entity_id)
        {
            chosen.push(e);
        }
    }
    chosen.extend(entries.iter().step_by(40));
    let probe = keys::Probe::new(screener, &chosen);
    let probed: HashSet<u64> = probe.keys().into_iter().collect();
    let by_keys: HashSet<usize> = stored
        .iter()
        .enumerate()
        .filter(|(_, k)| {
            let hits: Vec<u64> = k.intersection(&probed).copied().collect();
            probe.selects(&hits)
        })
        .map(|(i, _)| i)
        .collect();
    let any_key = stored.iter().filter(|k| !k.is_disjoint(&probed)).count();
    let near = screener.customers_near(&index, &chosen);
    assert!(near.len() > 400, "the set should bring many customers near: {}", near.len());
    let missed: Vec<usize> = near.iter().copied().filter(|i| !by_keys.contains(i)).collect();
    eprintln!("near {}, selected by keys {}, sharing any key {}", near.len(), by_keys.len(), any_key);
    assert!(
        missed.is_empty(),
        "{} of {} near customers not found by keys: {:?}",
        missed.len(),
        near.len(),
        &missed[..missed.len().min(10)]
    );
    // The keys narrow the set: sharing one ordinary token (a given name) is not enough.
    assert!(by_keys.len() < any_key, "{} selected of {} sharing a key", by_keys.len(), any_key);
    assert!(by_keys.len() < 2000, "{} of 2000 customers", by_keys.len());
}

/// The stored keys of one customer name (as the store keeps them) against a probe: selected?
fn selected(probe: &lessee_screening::keys::Probe, name: &str) -> bool {
    use std::collections::HashSet;
    let mut k = Vec::new();
    lessee_screening::keys::stored_keys(name, &mut k);
    let probed: HashSet<u64> = probe.keys().into_iter().collect();
    let hits: Vec<u64> = k.into_iter().filter(|x| probed.contains(x)).collect();
    probe.selects(&hits)
}

/// The cases the probe's rule is made of, each checked against the customer index: what the
/// index finds near an entry is selected, and sharing one ordinary given name is not.
#[test]
fn the_probe_selects_what_the_reverse_score_can_reach() {
    use lessee_screening::keys::Probe;
    let screener = common::screener();
    let near = |customer: &str, e: &Entry| {
        let index = CustomerIndex::build(vec![Customer::new("c", customer)], screener);
        !screener.customers_near(&index, &[e]).is_empty()
    };
    let khamenei = entry("e-1", "Ali Hosseini KHAMENEI", &[]);
    let probe = Probe::new(screener, &[&khamenei]);
    // Two parts of the name, one of them misspelt: found and selected.
    assert!(near("Ali Khamenai", &khamenei) && selected(&probe, "Ali Khamenei"));
    assert!(selected(&probe, "Ali Khamenai"));
    // The rare part beside a part that is common in the lists (light): the reverse score
    // reaches the floor with one shared part, and the light key selects it.
    let short = entry("e-3", "Ali KHAMENEI", &[]);
    let probe3 = Probe::new(screener, &[&short]);
    assert!(near("Mohammad Khamenei", &short));
    assert!(selected(&probe3, "Mohammad Khamenei"));
    // A one-part customer name: its solo key.
    assert!(selected(&probe, "Khamenei"));
    // Two parts written as one word: the joined form covers both.
    let abdul = entry("e-2", "Abdul Rahman AL-ZAHRANI", &[]);
    let probe2 = Probe::new(screener, &[&abdul]);
    assert!(selected(&probe2, "Abdulrahman Zahrani"));
    // Whatever the index finds is selected: short parts the lists do not know (which weigh
    // little), common parts, one-part names, parts written apart or together.
    let entries = [&khamenei, &short, &abdul];
    for c in [
        "Ama Khamenei",
        "Xo Khamenei",
        "Li Khamenei",
        "Khamenei Ali",
        "Ali Al Khamenei",
        "Mohammad Ali",
        "Khamenei Trading LLC",
        "K. Khamenei",
        "Abdul Rahman",
        "Rahman Zahrani",
        "Abdul Zahrani Co",
        "Zahrani",
        "Ali Kamenei",
        "Aly Khamenei",
        "Hosseini",
        "Ali Hosseini",
    ] {
        for e in entries {
            let p = Probe::new(screener, &[e]);
            assert!(!near(c, e) || selected(&p, c), "{c} is near {} but not selected", e.name);
        }
    }
    // Sharing only a given name is not enough (and the index agrees).
    assert!(!near("Ali Johnson", &khamenei));
    assert!(!selected(&probe, "Ali Johnson"));
    assert!(!selected(&probe, "Maria Hosseinova Petrova") || near("Maria Hosseinova Petrova", &khamenei));
}
