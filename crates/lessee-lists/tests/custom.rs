//! The custom CSV format: the README example parses, and every rule is enforced with the line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly on purpose"
)]

use lessee_lists::{AliasQuality, DateOfBirth, EntityType, IdCategory, ListError, ListKind, PartialDate};

const HEADER: &str = "id,name,type,aliases,date_of_birth,country,identifiers\n";

/// The example in the crate README.
const EXAMPLE: &str = r#"id,name,type,aliases,date_of_birth,country,identifiers
C-001,"DOE, John",individual,JOHNNY D;J. DOE,1970-01-31;circa 1968,US;CA,passport:123456789:US;email:jd@example.com
C-002,ACME TRADING LLC,entity,ACME;ACME TRADING,,AE,registration:CN-1234:AE;website:https://acme.example
C-003,SEA STAR,vessel,,,PA,vessel:IMO 9187629
"#;

#[test]
fn the_readme_example_parses() {
    let list = lessee_lists::parse_custom(EXAMPLE.as_bytes()).unwrap();
    assert_eq!(list.kind, ListKind::Custom);
    assert_eq!(list.entries.len(), 3);
    let doe = &list.entries[0];
    assert_eq!(doe.entity_id, "C-001");
    assert_eq!(doe.name, "DOE, John");
    assert_eq!(doe.entity_type, EntityType::Individual);
    let aliases: Vec<(&str, AliasQuality)> = doe.aliases.iter().map(|a| (a.name.as_str(), a.quality)).collect();
    assert_eq!(aliases, [("JOHNNY D", AliasQuality::Strong), ("J. DOE", AliasQuality::Strong)]);
    assert_eq!(
        doe.dates_of_birth,
        [
            DateOfBirth::Date { date: PartialDate { year: 1970, month: Some(1), day: Some(31) }, approximate: false },
            DateOfBirth::Date { date: PartialDate { year: 1968, month: None, day: None }, approximate: true }
        ]
    );
    let countries: Vec<String> = doe.countries.iter().map(|c| c.code.unwrap().to_string()).collect();
    assert_eq!(countries, ["US", "CA"]);
    assert_eq!(doe.identifiers[0].category, IdCategory::Passport);
    assert_eq!(doe.identifiers[0].number, "123456789");
    assert_eq!(doe.identifiers[0].country.as_ref().unwrap().code.unwrap().to_string(), "US");
    assert_eq!(doe.identifiers[1].category, IdCategory::Email);
    let acme = &list.entries[1];
    assert_eq!(acme.identifiers[1].number, "https://acme.example");
    assert_eq!(list.entries[2].identifiers[0].number, "IMO 9187629");
    assert_eq!(lessee_lists::detect(EXAMPLE.as_bytes()), Some(lessee_lists::Format::Custom));
    assert_eq!(lessee_lists::parse(EXAMPLE.as_bytes()).unwrap(), list);
}

#[test]
fn columns_may_come_in_any_order() {
    let text = "name,id,identifiers,country,date_of_birth,aliases,type\nX,1,,,,,entity\n";
    let list = lessee_lists::parse_custom(text.as_bytes()).unwrap();
    assert_eq!(list.entries[0].entity_id, "1");
    assert_eq!(list.entries[0].name, "X");
}

fn error(body: &str) -> ListError {
    lessee_lists::parse_custom(format!("{HEADER}{body}").as_bytes()).err().unwrap()
}

#[test]
fn every_rule_is_enforced() {
    // (rows after the header, line and field named in the error)
    let invalid: [(&str, u64, &str); 11] = [
        ("1,X,,,,,\n,Y,,,,,\n", 3, "id"),
        ("1,,,,,,\n", 2, "name"),
        ("1,X,person,,,,\n", 2, "type"),
        ("1,X,,,31/01/1970,,\n", 2, "date_of_birth"),
        ("1,X,,,1970-02-30,,\n", 2, "date_of_birth"),
        ("1,X,,,,USA,\n", 2, "country"),
        ("1,X,,,,ZZ,\n", 2, "country"),
        ("1,X,,,,,passport\n", 2, "identifiers"),
        ("1,X,,,,,ssn:123\n", 2, "identifiers"),
        ("1,X,,,,,passport:\n", 2, "identifiers"),
        ("1,X,,,,,passport:1:ZZ\n", 2, "identifiers"),
    ];
    for (body, line, field) in invalid {
        let e = error(body);
        assert!(
            matches!(&e, ListError::InvalidField { line: l, field: f, .. } if *l == line && f == field),
            "{body:?} gave {e:?}"
        );
        assert!(e.to_string().contains(&format!("line {line}")), "{e}");
    }
    assert_eq!(error("1,X,,,,,\n1,Y,,,,,\n"), ListError::DuplicateId { line: 3, id: "1".to_owned(), first_line: 2 });
    assert_eq!(error("1,X,,,,\n"), ListError::FieldCount { line: 2, expected: 7, found: 6 });
}

#[test]
fn header_rules() {
    let missing = lessee_lists::parse_custom(b"id,name\n1,X\n").err();
    assert_eq!(missing, Some(ListError::MissingColumn { line: 1, column: "type".to_owned() }));
    let unknown = lessee_lists::parse_custom(b"id,name,type,aliases,date_of_birth,country,identifiers,notes\n").err();
    assert_eq!(unknown, Some(ListError::UnknownColumn { line: 1, column: "notes".to_owned() }));
    let header_only = lessee_lists::parse_custom(HEADER.as_bytes()).unwrap();
    assert!(header_only.entries.is_empty());
}
