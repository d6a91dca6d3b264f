//! The real lists in `shared/data/lists`: entry counts checked against counts made here by a
//! different method (line and substring counting), and known entries read field by field.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly on purpose"
)]

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use lessee_lists::{AliasQuality, DateOfBirth, EntityType, Entry, Gender, IdCategory, ListFile, ListKind, PartialDate};

fn data_dir() -> PathBuf {
    std::env::var_os("LESSEE_LISTS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/lists"))
}

fn read(name: &str) -> Vec<u8> {
    let path = data_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn read_text(name: &str) -> String {
    String::from_utf8(read(name)).expect("the real files are UTF-8")
}

fn ofac() -> ListFile {
    lessee_lists::parse_ofac(&read("ofac_sdn.csv"), Some(&read("ofac_alt.csv")), Some(&read("ofac_add.csv")))
        .expect("the real OFAC files parse")
}

fn un() -> ListFile {
    lessee_lists::parse_un(&read("un_consolidated.xml")).expect("the real UN list parses")
}

fn by_id<'a>(list: &'a ListFile, id: &str) -> &'a Entry {
    list.entries.iter().find(|e| e.entity_id == id).unwrap_or_else(|| panic!("no entry {id}"))
}

fn codes(countries: &[lessee_lists::CountryRef]) -> Vec<String> {
    countries.iter().filter_map(|c| c.code.map(|c| c.to_string())).collect()
}

fn date(year: u16, month: Option<u8>, day: Option<u8>) -> PartialDate {
    PartialDate { year, month, day }
}

fn alias_names(entry: &Entry, quality: AliasQuality) -> Vec<&str> {
    entry.aliases.iter().filter(|a| a.quality == quality).map(|a| a.name.as_str()).collect()
}

/// Lines that start a record: OFAC rows begin with their ent_num.
fn lines_starting_with_digit(text: &str) -> usize {
    text.lines().filter(|l| l.starts_with(|c: char| c.is_ascii_digit())).count()
}

/// Newlines outside double quotes: the number of records of a CSV file, header included.
fn csv_records(text: &str) -> usize {
    let mut in_quotes = false;
    let mut records = 0;
    let mut line_has_content = false;
    for c in text.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                line_has_content = true;
            }
            '\n' if !in_quotes => {
                if line_has_content {
                    records += 1;
                }
                line_has_content = false;
            }
            '\r' => {}
            _ => line_has_content = true,
        }
    }
    records + usize::from(line_has_content)
}

#[test]
fn ofac_entry_count_matches_line_count() {
    let list = ofac();
    let expected = lines_starting_with_digit(&read_text("ofac_sdn.csv"));
    assert_eq!(list.kind, ListKind::OfacSdn);
    assert_eq!(list.entries.len(), expected);
    assert!(list.warnings.is_empty(), "{:?}", list.warnings);
    assert_eq!(list.inputs.len(), 3);
}

#[test]
fn ofac_every_alt_row_reaches_its_entry() {
    let list = ofac();
    let index: HashMap<&str, &Entry> = list.entries.iter().map(|e| (e.entity_id.as_str(), e)).collect();
    let alt = read_text("ofac_alt.csv");
    let mut rows = 0;
    for line in alt.lines().filter(|l| l.starts_with(|c: char| c.is_ascii_digit())) {
        // `36,12,"aka","AERO-CARIBBEAN",-0- `: OFAC names never contain a double quote.
        let ent_num = line.split(',').next().unwrap();
        let parts: Vec<&str> = line.split('"').collect();
        let (kind, name) = (parts[1], parts[3].split_whitespace().collect::<Vec<_>>().join(" "));
        let entry = index[ent_num];
        let quality = match kind {
            "aka" => AliasQuality::Strong,
            "fka" => AliasQuality::Fka,
            "nka" => AliasQuality::Nka,
            other => panic!("alt_type {other}"),
        };
        assert!(
            entry.aliases.iter().any(|a| a.name == name && a.quality == quality)
                || (entry.name == name && quality == AliasQuality::Strong),
            "line {line:?}"
        );
        rows += 1;
    }
    assert_eq!(rows, 11_910, "the README's row count");
}

#[test]
fn ofac_entries_with_addresses_match_the_add_file() {
    let list = ofac();
    let add = read_text("ofac_add.csv");
    let with_address: BTreeSet<&str> = add
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .filter(|l| !l.trim_end().ends_with("-0- ,-0- ,-0- ,-0-"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let parsed: BTreeSet<&str> =
        list.entries.iter().filter(|e| !e.addresses.is_empty()).map(|e| e.entity_id.as_str()).collect();
    assert_eq!(parsed, with_address);
}

#[test]
fn ofac_cyber2_program_entries() {
    let list = ofac();
    let sdn = read_text("ofac_sdn.csv");
    // The program column is the fourth; CYBER2 appears nowhere else in this file.
    let expected = sdn.lines().filter(|l| l.contains("CYBER2")).count();
    let cyber2: Vec<&Entry> = list.entries.iter().filter(|e| e.programs.iter().any(|p| p == "CYBER2")).collect();
    assert_eq!(cyber2.len(), expected);
    assert_eq!(expected, 161);
}

#[test]
fn ofac_bogachev() {
    let list = ofac();
    let e = by_id(&list, "21326");
    assert_eq!(e.name, "BOGACHEV, Evgeniy Mikhaylovich");
    assert_eq!(e.entity_type, EntityType::Individual);
    assert_eq!(e.programs, ["CYBER2"]);
    assert_eq!(e.dates_of_birth, [DateOfBirth::Date { date: date(1983, Some(10), Some(28)), approximate: false }]);
    assert_eq!(alias_names(e, AliasQuality::Strong), ["BOGACHEV, Evgeniy Mikhailovich"]);
    assert_eq!(alias_names(e, AliasQuality::Weak), ["Slavik", "Monstr", "Pollingsoon", "Lastik", "lucky12345"]);
    assert_eq!(e.addresses.len(), 1);
    assert_eq!(e.addresses[0].text, "Lermontova Str., 120-101, Anapa");
    assert_eq!(codes(&e.countries), ["RU"]);
    assert!(e.remarks.as_deref().unwrap().starts_with("DOB 28 Oct 1983"));
}

#[test]
fn ofac_belan_identifiers_and_nationality() {
    let list = ofac();
    let e = by_id(&list, "21324");
    assert_eq!(e.name, "BELAN, Aleksey Alekseyevich");
    assert_eq!(codes(&e.nationalities), ["LV"]);
    assert_eq!(e.places_of_birth.len(), 1);
    assert_eq!(e.places_of_birth[0].text, "Riga, Latvia");
    let passports: Vec<(&str, Vec<String>)> = e
        .identifiers
        .iter()
        .filter(|i| i.category == IdCategory::Passport)
        .map(|i| (i.number.as_str(), i.country.iter().filter_map(|c| c.code.map(|c| c.to_string())).collect()))
        .collect();
    assert_eq!(passports, [("RU0313455106", vec!["RU".to_owned()]), ("0307609477", vec!["RU".to_owned()])]);
    assert_eq!(alias_names(e, AliasQuality::Weak).len(), 10);
    assert!(alias_names(e, AliasQuality::Strong).contains(&"Abyr Valgov"));
}

#[test]
fn ofac_entity_with_website_email_and_tax_id() {
    let list = ofac();
    let e = by_id(&list, "21332");
    assert_eq!(e.name, "SPECIAL TECHNOLOGY CENTER");
    assert_eq!(e.entity_type, EntityType::Entity);
    let ids: Vec<(IdCategory, &str)> = e.identifiers.iter().map(|i| (i.category, i.number.as_str())).collect();
    assert_eq!(
        ids,
        [
            (IdCategory::Website, "stc-spb.ru"),
            (IdCategory::Email, "stcspb1@mail.ru"),
            (IdCategory::TaxId, "7802170553"),
        ]
    );
}

#[test]
fn ofac_dates_of_birth_are_mostly_read() {
    let list = ofac();
    let all: Vec<&DateOfBirth> = list.entries.iter().flat_map(|e| &e.dates_of_birth).collect();
    let unread: Vec<&&DateOfBirth> = all.iter().filter(|d| matches!(d, DateOfBirth::Text { .. })).collect();
    // `DOB ` and `alt. DOB ` statements counted in the raw file.
    let sdn = read_text("ofac_sdn.csv");
    let statements = sdn.matches("DOB ").count();
    assert_eq!(all.len(), statements);
    assert!(unread.len() * 100 < all.len(), "unread: {unread:?}");
    assert!(all.iter().any(|d| matches!(d, DateOfBirth::Range { .. })));
    assert!(all.iter().any(|d| matches!(d, DateOfBirth::Date { approximate: true, .. })));
}

#[test]
fn ofac_vessels_and_aircraft() {
    let list = ofac();
    let sdn = read_text("ofac_sdn.csv");
    let count = |kind: EntityType| list.entries.iter().filter(|e| e.entity_type == kind).count();
    assert_eq!(count(EntityType::Vessel), sdn.matches(",\"vessel\",").count());
    assert_eq!(count(EntityType::Aircraft), sdn.matches(",\"aircraft\",").count());
    assert_eq!(count(EntityType::Individual), sdn.matches(",\"individual\",").count());
    assert_eq!(count(EntityType::Unknown), 0);
    let vessel = list
        .entries
        .iter()
        .find(|e| e.entity_type == EntityType::Vessel && e.vessel.is_some())
        .expect("a vessel with particulars");
    assert!(vessel.vessel.as_ref().unwrap().flag.is_some() || vessel.vessel.as_ref().unwrap().vessel_type.is_some());
}

#[test]
fn un_entry_count_matches_element_count() {
    let list = un();
    let xml = read_text("un_consolidated.xml");
    let individuals = xml.matches("<INDIVIDUAL>").count();
    let entities = xml.matches("<ENTITY>").count();
    assert_eq!(list.entries.len(), individuals + entities);
    let count = |kind: EntityType| list.entries.iter().filter(|e| e.entity_type == kind).count();
    assert_eq!(count(EntityType::Individual), individuals);
    assert_eq!(count(EntityType::Entity), entities);
    assert_eq!(list.published.as_deref(), Some("2026-02-27T00:00:09.554Z"));
}

#[test]
fn un_individual_with_dob_and_nationality() {
    let list = un();
    let e = by_id(&list, "6908048");
    assert_eq!(e.name, "SADDAM HUSSEIN AL-TIKRITI");
    assert_eq!(e.reference.as_deref(), Some("IQi.001"));
    assert_eq!(e.programs, ["Iraq"]);
    assert_eq!(e.dates_of_birth, [DateOfBirth::Date { date: date(1937, Some(4), Some(28)), approximate: false }]);
    assert_eq!(codes(&e.nationalities), ["IQ"]);
    assert_eq!(e.places_of_birth[0].text, "al-Awja, near Tikrit, Iraq");
    assert_eq!(alias_names(e, AliasQuality::Weak), ["Abu Ali"]);
    assert_eq!(alias_names(e, AliasQuality::OriginalScript), ["صدام حسين التكريتي"]);
}

#[test]
fn un_dob_kinds_and_documents() {
    let list = un();
    let badege = by_id(&list, "6907993");
    assert_eq!(badege.dates_of_birth, [DateOfBirth::Date { date: date(1971, None, None), approximate: false }]);
    assert_eq!(codes(&badege.nationalities), ["CD"]);
    assert_eq!(codes(&badege.countries), ["RW"]);
    assert_eq!(badege.gender, Some(Gender::Male));

    let ranges =
        list.entries.iter().flat_map(|e| &e.dates_of_birth).filter(|d| matches!(d, DateOfBirth::Range { .. })).count();
    let xml = read_text("un_consolidated.xml");
    assert_eq!(ranges, xml.matches("<TYPE_OF_DATE>BETWEEN</TYPE_OF_DATE>").count());

    let holder = list
        .entries
        .iter()
        .find(|e| e.identifiers.iter().any(|i| i.number == "OB 0243318"))
        .expect("the passport holder");
    let passport = holder.identifiers.iter().find(|i| i.number == "OB 0243318").unwrap();
    assert_eq!(passport.category, IdCategory::Passport);
    assert_eq!(passport.country.as_ref().and_then(|c| c.code).map(|c| c.to_string()), Some("CD".to_owned()));
}

#[test]
fn un_entity_aliases() {
    let list = un();
    let adf = by_id(&list, "6908402");
    assert_eq!(adf.name, "ADF");
    assert_eq!(adf.entity_type, EntityType::Entity);
    assert_eq!(alias_names(adf, AliasQuality::Strong), ["Allied Democratic Forces"]);
    assert!(alias_names(adf, AliasQuality::Fka).contains(&"NALU"));
}

#[test]
fn un_nationalities_map_to_codes() {
    let list = un();
    let all: Vec<&lessee_lists::CountryRef> = list.entries.iter().flat_map(|e| &e.nationalities).collect();
    let unmapped: BTreeSet<&str> = all.iter().filter(|c| c.code.is_none()).map(|c| c.name.as_str()).collect();
    // A historic state and a `na` (not available) have no ISO code on purpose.
    assert_eq!(unmapped, ["former Soviet Union", "na"].into_iter().collect::<BTreeSet<_>>());
}

#[test]
fn ofac_countries_map_to_codes() {
    let list = ofac();
    let unmapped: BTreeSet<&str> = list
        .entries
        .iter()
        .flat_map(|e| e.nationalities.iter().chain(&e.citizenships).chain(&e.countries))
        .filter(|c| c.code.is_none())
        .map(|c| c.name.as_str())
        .collect();
    // Regions and historic states have no ISO code on purpose.
    let expected: BTreeSet<&str> =
        ["Netherlands Antilles", "Region: Crimea", "Region: Kafia Kingi", "Region: Northern Mali", "undetermined"]
            .into_iter()
            .collect();
    assert_eq!(unmapped, expected);
}

#[test]
fn bis_entry_count_and_fields() {
    let text = read_text("bis_dpl.txt");
    let list = lessee_lists::parse_bis_dpl(text.as_bytes()).expect("the real BIS file parses");
    assert_eq!(list.entries.len(), csv_records(&text) - 1);
    let first = &list.entries[0];
    assert_eq!(first.name, "ADRIAN MANUEL HERNANDEZ");
    assert_eq!(first.addresses[0].text, "3037 S. 69TH DRIVE, PHONEIX, AZ, 85043");
    assert!(first.remarks.as_deref().unwrap().contains("82 F.R. 48792"));
    let ash = &list.entries[1];
    assert_eq!(codes(&ash.countries), ["US"]);
    let ids: BTreeSet<&str> = list.entries.iter().map(|e| e.entity_id.as_str()).collect();
    assert_eq!(ids.len(), list.entries.len(), "row keys are unique");
}

#[test]
fn csl_entry_count_and_fields() {
    let text = read_text("trade_csl_sample.csv");
    let list = lessee_lists::parse_csl(text.as_bytes()).expect("the real CSL sample parses");
    assert_eq!(list.entries.len(), csv_records(&text) - 1);
    let tir = list.entries.iter().find(|e| e.name == "7TH OF TIR").unwrap();
    assert_eq!(tir.entity_id, "SDN:10863");
    assert_eq!(tir.aliases.len(), 7);
    assert_eq!(tir.programs, ["IFSR", "NPWMD"]);
    assert_eq!(codes(&tir.countries), ["IR"]);
    let psa = list.entries.iter().find(|e| e.name == "200G PSA HOLDINGS LLC").unwrap();
    assert_eq!(psa.identifiers.len(), 1);
    assert_eq!(psa.identifiers[0].category, IdCategory::TaxId);
    assert_eq!(psa.identifiers[0].number, "80-0890696");
    let plc = list.entries.iter().find(|e| e.name == "ABU TEIR, Mohammed").unwrap();
    assert_eq!(plc.dates_of_birth, [DateOfBirth::Date { date: date(1951, None, None), approximate: false }]);
    let sources: BTreeSet<&str> = list.entries.iter().filter_map(|e| e.source.as_deref()).collect();
    assert_eq!(sources.len(), 9);
}

#[test]
fn serde_round_trip() {
    let list = un();
    let json = serde_json::to_string(&list).unwrap();
    let back: ListFile = serde_json::from_str(&json).unwrap();
    assert_eq!(back, list);
}

#[test]
fn digests_are_of_the_input_bytes() {
    let bytes = read("un_consolidated.xml");
    let list = lessee_lists::parse(&bytes).unwrap();
    assert_eq!(list.source_sha256.len(), 64);
    assert_eq!(list.inputs[0].bytes, bytes.len() as u64);
    let mut changed = bytes.clone();
    changed.push(b'\n');
    let again = lessee_lists::parse(&changed).unwrap();
    assert_ne!(again.source_sha256, list.source_sha256);
    assert_eq!(again.entries, list.entries);
}
