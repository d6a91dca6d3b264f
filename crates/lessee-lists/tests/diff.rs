//! Diffs of two list versions, made by editing entries and by editing the raw file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly on purpose"
)]

use std::path::PathBuf;

use lessee_lists::{Alias, AliasQuality, DateOfBirth, Entry, PartialDate};

fn read(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("LESSEE_LISTS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/lists"));
    std::fs::read(dir.join(name)).unwrap()
}

fn un_entries() -> Vec<Entry> {
    lessee_lists::parse_un(&read("un_consolidated.xml")).unwrap().entries
}

fn ids(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.entity_id.as_str()).collect()
}

#[test]
fn identical_and_reordered_versions_do_not_differ() {
    let old = un_entries();
    assert!(lessee_lists::diff(&old, &old).is_empty());
    let mut reversed = old.clone();
    reversed.reverse();
    assert!(lessee_lists::diff(&old, &reversed).is_empty());
}

#[test]
fn edited_entries() {
    let old = un_entries();
    let mut new = old.clone();
    let removed = new.remove(10);
    let mut added = new[20].clone();
    added.entity_id = "9999999".to_owned();
    added.name = "NEW DESIGNATION".to_owned();
    new.push(added.clone());
    new[30].aliases.push(Alias { name: "A NEW ALIAS".to_owned(), quality: AliasQuality::Weak });
    new[40].dates_of_birth =
        vec![DateOfBirth::Date { date: PartialDate { year: 1960, month: None, day: None }, approximate: true }];
    new[50].name.push_str(" JR");
    new[50].programs.push("NEW-PROGRAM".to_owned());
    new.reverse();

    let diff = lessee_lists::diff(&old, &new);
    assert_eq!(diff.added, [added]);
    assert_eq!(diff.removed, [removed]);
    // Sorted by entity id, numerically.
    let mut expected: Vec<(String, Vec<String>)> = vec![
        (new[new.len() - 1 - 30].entity_id.clone(), vec!["aliases".to_owned()]),
        (new[new.len() - 1 - 40].entity_id.clone(), vec!["dates_of_birth".to_owned()]),
        (new[new.len() - 1 - 50].entity_id.clone(), vec!["name".to_owned(), "programs".to_owned()]),
    ];
    expected.sort_by_key(|(id, _)| id.parse::<u64>().unwrap());
    let got: Vec<(String, Vec<String>)> =
        diff.changed.iter().map(|c| (c.new.entity_id.clone(), c.fields.clone())).collect();
    assert_eq!(got, expected);
    for change in &diff.changed {
        assert_eq!(change.old.entity_id, change.new.entity_id);
        assert_ne!(change.old, change.new);
    }
    // The same diff, whatever the input order.
    let mut shuffled = new.clone();
    shuffled.rotate_left(333);
    assert_eq!(lessee_lists::diff(&old, &shuffled), diff);
}

#[test]
fn two_versions_of_the_raw_ofac_file() {
    let sdn = String::from_utf8(read("ofac_sdn.csv")).unwrap();
    // Version 2: BOGACHEV gains an alternative date of birth, ent_num 36 is delisted and a new
    // designation appears at the end.
    let v2 = sdn
        .replace("\"DOB 28 Oct 1983; a.k.a. 'Slavik';", "\"DOB 28 Oct 1983; alt. DOB 1982; a.k.a. 'Slavik';")
        .replace("36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n", "")
        .replace(
            '\u{1a}',
            "99999,\"NEW, Designee\",\"individual\",\"CYBER2\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 1990.\"\r\n",
        );
    assert_ne!(sdn, v2);
    let old = lessee_lists::parse_ofac(sdn.as_bytes(), None, None).unwrap();
    let new = lessee_lists::parse_ofac(v2.as_bytes(), None, None).unwrap();
    assert_ne!(old.source_sha256, new.source_sha256);
    let diff = lessee_lists::diff(&old.entries, &new.entries);
    assert_eq!(ids(&diff.added), ["99999"]);
    assert_eq!(ids(&diff.removed), ["36"]);
    assert_eq!(diff.changed.len(), 1);
    assert_eq!(diff.changed[0].new.entity_id, "21326");
    assert_eq!(diff.changed[0].fields, ["dates_of_birth", "remarks"]);
    assert_eq!(diff.changed[0].new.dates_of_birth.len(), 2);
}

#[test]
fn diff_serializes() {
    let old = un_entries();
    let mut new = old.clone();
    new.truncate(5);
    let diff = lessee_lists::diff(&old[..7], &new);
    let json = serde_json::to_value(&diff).unwrap();
    assert_eq!(json["removed"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["added"].as_array().map(Vec::len), Some(0));
}
