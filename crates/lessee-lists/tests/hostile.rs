//! Hostile input: every kind is refused with an error that names where, and nothing panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly on purpose"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lessee_lists::{Cp1252Fallback, Format, ListError, ListFile, ParseConfig, Parser};

fn read(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("LESSEE_LISTS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/lists"));
    std::fs::read(dir.join(name)).unwrap()
}

/// Every single-file parser, plus OFAC with the input as each of its three files.
fn all_parsers(parser: &Parser, bytes: &[u8]) -> Vec<(&'static str, Result<ListFile, ListError>)> {
    const SDN: &[u8] = b"1,\"X\",-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n";
    vec![
        ("parse", parser.parse(bytes)),
        ("ofac sdn", parser.ofac(bytes, None, None)),
        ("ofac alt", parser.ofac(SDN, Some(bytes), None)),
        ("ofac add", parser.ofac(SDN, None, Some(bytes))),
        ("un", parser.un(bytes)),
        ("bis", parser.bis_dpl(bytes)),
        ("csl", parser.csl(bytes)),
        ("custom", parser.custom(bytes)),
    ]
}

fn refused_everywhere(bytes: &[u8], code: &str) {
    for (name, result) in all_parsers(&Parser::default(), bytes) {
        match result {
            Ok(_) => panic!("{name} accepted {:?}", String::from_utf8_lossy(bytes)),
            Err(e) => assert_eq!(e.code(), code, "{name}: {e}"),
        }
    }
}

fn utf16le(text: &str, bom: bool) -> Vec<u8> {
    let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const UN_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

fn un_individual(dataid: &str, comments: &str) -> String {
    format!(
        "<INDIVIDUAL><DATAID>{dataid}</DATAID><FIRST_NAME>JOHN</FIRST_NAME><SECOND_NAME>DOE</SECOND_NAME><COMMENTS1>{comments}</COMMENTS1></INDIVIDUAL>"
    )
}

fn un_doc(body: &str) -> String {
    format!("{UN_HEAD}<CONSOLIDATED_LIST><INDIVIDUALS>{body}</INDIVIDUALS><ENTITIES/></CONSOLIDATED_LIST>")
}

#[test]
fn a_minimal_un_document_parses() {
    let list = lessee_lists::parse_un(un_doc(&un_individual("1", "a &amp; b &#233;")).as_bytes()).unwrap();
    assert_eq!(list.entries.len(), 1);
    assert_eq!(list.entries[0].name, "JOHN DOE");
    assert_eq!(list.entries[0].remarks.as_deref(), Some("a & b é"));
}

#[test]
fn empty_and_blank_inputs() {
    refused_everywhere(b"", "LIST-EMPTY");
    refused_everywhere(b"  \r\n\r\n\t ", "LIST-EMPTY");
    refused_everywhere(b"\xEF\xBB\xBF", "LIST-EMPTY");
}

#[test]
fn utf16_and_utf32() {
    let custom = "id,name,type,aliases,date_of_birth,country,identifiers\n1,X,,,,,\n";
    refused_everywhere(&utf16le(custom, true), "LIST-WRONG-ENCODING");
    refused_everywhere(&utf16le(custom, false), "LIST-WRONG-ENCODING");
    let mut be = vec![0xFE, 0xFF];
    for unit in custom.encode_utf16() {
        be.extend_from_slice(&unit.to_be_bytes());
    }
    refused_everywhere(&be, "LIST-WRONG-ENCODING");
    refused_everywhere(b"\xFF\xFE\x00\x00<\x00\x00\x00", "LIST-WRONG-ENCODING");
    let un = utf16le(&un_doc(""), true);
    assert_eq!(lessee_lists::parse_un(&un).err().map(|e| e.code()), Some("LIST-WRONG-ENCODING"));
}

#[test]
fn latin1_bytes_are_refused_where_utf8_is_required() {
    // `é` as one Latin-1 byte, on line 3.
    let un = format!("{UN_HEAD}<CONSOLIDATED_LIST>\n<INDIVIDUALS>X\u{1}</INDIVIDUALS></CONSOLIDATED_LIST>")
        .replace('X', "")
        .replace('\u{1}', "\u{FFFD}");
    let mut bytes = un.into_bytes();
    let at = bytes.windows(3).position(|w| w == "\u{FFFD}".as_bytes()).unwrap();
    bytes.splice(at..at + 3, [0xE9]);
    assert_eq!(lessee_lists::parse_un(&bytes).err(), Some(ListError::InvalidUtf8 { line: 3, offset: at }));

    let custom = b"id,name,type,aliases,date_of_birth,country,identifiers\n1,MU\xD1OZ,,,,,\n";
    let err = lessee_lists::parse_custom(custom).err().unwrap();
    assert_eq!(err, ListError::InvalidUtf8 { line: 2, offset: 59 });
    assert!(err.to_string().contains("line 2"), "{err}");

    let bis = b"\"Name\"\t\"Street_Address\"\t\"City\"\t\"State\"\t\"Country\"\t\"Postal_Code\"\t\"Effective_Date\"\n\"MU\xD1OZ\"\t\"\"\t\"\"\t\"\"\t\"\"\t\"\"\t\"\"\n";
    assert_eq!(lessee_lists::parse_bis_dpl(bis).err().map(|e| e.code()), Some("LIST-INVALID-UTF8"));
    let csl = b"source,name,alt_names\nX,MU\xD1OZ,\n";
    assert_eq!(lessee_lists::parse_csl(csl).err().map(|e| e.code()), Some("LIST-INVALID-UTF8"));
    // Allowed explicitly, the same BIS bytes read as Windows-1252.
    let parser = Parser::new(ParseConfig { cp1252_fallback: Cp1252Fallback::AllDelimited, ..ParseConfig::default() });
    assert_eq!(parser.bis_dpl(bis).unwrap().entries[0].name, "MU\u{D1}OZ");
}

#[test]
fn ofac_windows_1252_is_decoded_unless_refused() {
    let sdn = b"1,\"MU\xD1OZ, Jos\xE9\",\"individual\",\"SDNT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"a.k.a. \x93PEPE\x94.\"\r\n\x1A";
    let list = lessee_lists::parse_ofac(sdn, None, None).unwrap();
    assert_eq!(list.entries[0].name, "MU\u{D1}OZ, Jos\u{E9}");
    assert_eq!(list.entries[0].aliases[0].name, "\u{201C}PEPE\u{201D}");
    let strict = Parser::new(ParseConfig { cp1252_fallback: Cp1252Fallback::Never, ..ParseConfig::default() });
    assert_eq!(strict.ofac(sdn, None, None).err(), Some(ListError::InvalidUtf8 { line: 1, offset: 5 }));
    // Bytes Windows-1252 leaves undefined are binary even for OFAC.
    let hole = b"1,\"A\x81B\",-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n";
    assert_eq!(lessee_lists::parse_ofac(hole, None, None).err().map(|e| e.code()), Some("LIST-BINARY"));
}

#[test]
fn binary_garbage() {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for round in 0..50 {
        let garbage: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
        for (name, result) in all_parsers(&Parser::default(), &garbage) {
            assert!(result.is_err(), "{name} accepted garbage in round {round}");
        }
        assert_eq!(lessee_lists::detect(&garbage), None);
    }
    // Printable garbage with one control byte: refused as binary at that byte.
    let mut text = b"36,\"NAME\",-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n".repeat(3);
    text.insert(70, 0x07);
    assert_eq!(
        lessee_lists::parse_ofac(&text, None, None).err(),
        Some(ListError::Binary { line: 2, offset: 70, byte: 7 })
    );
    // PNG and gzip headers.
    refused_everywhere(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "LIST-BINARY");
    refused_everywhere(b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "LIST-BINARY");
}

#[test]
fn truncated_ofac_names_the_line() {
    let sdn = read("ofac_sdn.csv");
    let text = String::from_utf8(sdn.clone()).unwrap();
    let line_start: usize = text.split_inclusive('\n').take(4999).map(str::len).sum();
    let line = &text[line_start..];
    // Inside the quoted name of line 5000.
    let inside_name = line_start + line.find('"').unwrap() + 3;
    let err = lessee_lists::parse_ofac(&sdn[..inside_name], None, None).err().unwrap();
    assert_eq!(err, ListError::UnterminatedQuote { line: 5000, offset: line_start + line.find('"').unwrap() });
    assert!(err.to_string().contains("line 5000"), "{err}");
    // Right after the name: a short row.
    let after_name = line_start + line.find("\",").unwrap() + 2;
    assert_eq!(
        lessee_lists::parse_ofac(&sdn[..after_name], None, None).err(),
        Some(ListError::FieldCount { line: 5000, expected: 12, found: 3 })
    );
    // A truncated ALT file is reported as the ALT file's problem.
    let alt = read("ofac_alt.csv");
    let err = lessee_lists::parse_ofac(&sdn, Some(&alt[..alt.len() / 2]), None).err().unwrap();
    assert!(matches!(err, ListError::InFile { file: Format::OfacAlt, .. }), "{err}");
    assert!(err.to_string().starts_with("in the OFAC ALT file: line "), "{err}");
}

#[test]
fn truncated_un_xml() {
    let xml = read("un_consolidated.xml");
    let text = String::from_utf8(xml.clone()).unwrap();
    let end = text.find("</INDIVIDUAL>").unwrap() + "</INDIVIDUAL>".len();
    assert_eq!(lessee_lists::parse_un(&xml[..end]).err().map(|e| e.code()), Some("LIST-TRUNCATED"));
    // Cut inside a tag, and at many other places: always an error, never an entry list.
    let mut rng = Rng(42);
    for _ in 0..40 {
        let cut = 1 + rng.below(xml.len() - 2);
        let cut = (cut..xml.len()).find(|&i| text.is_char_boundary(i)).unwrap();
        let err = lessee_lists::parse_un(&xml[..cut]).err();
        assert!(matches!(err.as_ref().map(|e| e.code()), Some("LIST-TRUNCATED" | "LIST-XML")), "cut at {cut}: {err:?}");
    }
}

#[test]
fn truncated_bis_and_csl() {
    let bis = read("bis_dpl.txt");
    let cut = bis.len() / 2;
    let err = lessee_lists::parse_bis_dpl(&bis[..cut]).err().unwrap();
    assert!(matches!(err.code(), "LIST-FIELD-COUNT" | "LIST-UNTERMINATED-QUOTE"), "{err}");
    assert!(err.to_string().contains("line "), "{err}");
    let csl = read("trade_csl_sample.csv");
    let text = String::from_utf8(csl.clone()).unwrap();
    // Cut in the middle of a quoted alt_names field.
    let quote = text.find("\"Mobarakeh Road").unwrap();
    let err = lessee_lists::parse_csl(&csl[..quote + 10]).err().unwrap();
    assert_eq!(err.code(), "LIST-UNTERMINATED-QUOTE", "{err}");
}

#[test]
fn huge_fields() {
    let huge = "A".repeat(100_000);
    let sdn = format!(
        "1,\"OK\",-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n2,\"{huge}\",-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n"
    );
    assert_eq!(
        lessee_lists::parse_ofac(sdn.as_bytes(), None, None).err(),
        Some(ListError::FieldTooLarge { line: 2, field: "#2".to_owned(), limit: 65_536 })
    );
    let unquoted = format!("1,{huge}");
    assert_eq!(
        lessee_lists::parse_ofac(unquoted.as_bytes(), None, None).err().map(|e| e.code()),
        Some("LIST-FIELD-TOO-LARGE")
    );
    let un = un_doc(&format!("{}\n{}", un_individual("1", "short"), un_individual("2", &huge)));
    let err = lessee_lists::parse_un(un.as_bytes()).err().unwrap();
    assert_eq!(err, ListError::FieldTooLarge { line: 3, field: "COMMENTS1".to_owned(), limit: 65_536 });
    // Split into many text events by references, still capped.
    let refs = "&amp;".repeat(70_000);
    let err = lessee_lists::parse_un(un_doc(&un_individual("1", &refs)).as_bytes()).err();
    assert_eq!(err.map(|e| e.code()), Some("LIST-FIELD-TOO-LARGE"));
    // Too many fields in one row.
    let wide = format!("id,name,type,aliases,date_of_birth,country,identifiers\n{}\n", ",".repeat(1000));
    assert_eq!(
        lessee_lists::parse_custom(wide.as_bytes()).err(),
        Some(ListError::TooManyFields { line: 2, limit: 256 })
    );
    // The limit is configurable: the real BIS file has fields over 100 bytes.
    let small = Parser::new(ParseConfig { max_field_bytes: 100, ..ParseConfig::default() });
    let err = small.bis_dpl(&read("bis_dpl.txt")).err().unwrap();
    assert_eq!(err.code(), "LIST-FIELD-TOO-LARGE");
}

#[test]
fn size_and_record_limits() {
    let un = read("un_consolidated.xml");
    let small = Parser::new(ParseConfig { max_input_bytes: 1_000_000, ..ParseConfig::default() });
    let too_large = ListError::TooLarge { size: un.len(), limit: 1_000_000 };
    assert_eq!(small.un(&un).err().as_ref(), Some(&too_large));
    assert_eq!(small.parse(&un).err().as_ref(), Some(&too_large));
    let few = Parser::new(ParseConfig { max_records: 10, ..ParseConfig::default() });
    assert_eq!(few.ofac(&read("ofac_sdn.csv"), None, None).err(), Some(ListError::TooManyRecords { limit: 10 }));
    assert_eq!(few.un(&un).err(), Some(ListError::TooManyRecords { limit: 10 }));
}

#[test]
fn billion_laughs_is_refused_at_once() {
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE CONSOLIDATED_LIST [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID><FIRST_NAME>&lol9;</FIRST_NAME></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"#;
    let start = Instant::now();
    let err = lessee_lists::parse_un(laughs.as_bytes()).err().unwrap();
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(matches!(err, ListError::XmlEntityDeclaration { line: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("entity declarations are refused"), "{err}");
    // Detection still says what the file claims to be; parsing is what refuses it.
    assert_eq!(lessee_lists::detect(laughs.as_bytes()), Some(Format::UnXml));
    assert_eq!(lessee_lists::parse(laughs.as_bytes()).err().map(|e| e.code()), Some("LIST-XML-ENTITY-DECLARATION"));
}

#[test]
fn external_entities_and_dtds_are_refused() {
    let xxe = format!(
        "{UN_HEAD}<!DOCTYPE CONSOLIDATED_LIST [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<CONSOLIDATED_LIST><INDIVIDUALS>{}</INDIVIDUALS></CONSOLIDATED_LIST>",
        un_individual("1", "&xxe;")
    );
    assert_eq!(lessee_lists::parse_un(xxe.as_bytes()).err().map(|e| e.code()), Some("LIST-XML-ENTITY-DECLARATION"));
    let parameter = format!(
        "{UN_HEAD}<!DOCTYPE CONSOLIDATED_LIST [<!ENTITY % remote SYSTEM \"http://example.invalid/x.dtd\"> %remote;]>\n<CONSOLIDATED_LIST/>"
    );
    assert_eq!(
        lessee_lists::parse_un(parameter.as_bytes()).err().map(|e| e.code()),
        Some("LIST-XML-ENTITY-DECLARATION")
    );
    let external_dtd = format!(
        "{UN_HEAD}<!DOCTYPE CONSOLIDATED_LIST SYSTEM \"http://example.invalid/list.dtd\">\n<CONSOLIDATED_LIST/>"
    );
    let err = lessee_lists::parse_un(external_dtd.as_bytes()).err().unwrap();
    assert_eq!(err.code(), "LIST-XML");
    assert!(err.to_string().contains("external DTD"), "{err}");
    // An entity that was never declared.
    let undeclared = un_doc(&un_individual("1", "&xxe;"));
    let err = lessee_lists::parse_un(undeclared.as_bytes()).err().unwrap();
    assert!(matches!(&err, ListError::XmlUnknownEntity { line: 2, name, .. } if name == "xxe"), "{err:?}");
    // A plain DOCTYPE without declarations is harmless.
    let plain = format!(
        "{UN_HEAD}<!DOCTYPE CONSOLIDATED_LIST>\n<CONSOLIDATED_LIST><INDIVIDUALS>{}</INDIVIDUALS></CONSOLIDATED_LIST>",
        un_individual("1", "x")
    );
    assert_eq!(lessee_lists::parse_un(plain.as_bytes()).unwrap().entries.len(), 1);
}

#[test]
fn xml_structure_limits() {
    let deep = format!("{UN_HEAD}<CONSOLIDATED_LIST>{}{}</CONSOLIDATED_LIST>", "<A>".repeat(100), "</A>".repeat(100));
    let err = lessee_lists::parse_un(deep.as_bytes()).err().unwrap();
    assert_eq!(err.code(), "LIST-XML-TOO-DEEP", "{err}");
    let wrong_root = format!("{UN_HEAD}<sdnList><sdnEntry/></sdnList>");
    assert_eq!(
        lessee_lists::parse_un(wrong_root.as_bytes()).err(),
        Some(ListError::UnexpectedRoot { expected: "CONSOLIDATED_LIST", found: "sdnList".to_owned() })
    );
    let mismatched = format!("{UN_HEAD}<CONSOLIDATED_LIST><INDIVIDUALS></ENTITIES></CONSOLIDATED_LIST>");
    let err = lessee_lists::parse_un(mismatched.as_bytes()).err().unwrap();
    assert_eq!(err.code(), "LIST-XML");
    assert!(err.to_string().contains("line 2"), "{err}");
    let no_id = un_doc("<INDIVIDUAL><FIRST_NAME>X</FIRST_NAME></INDIVIDUAL>");
    assert_eq!(
        lessee_lists::parse_un(no_id.as_bytes()).err(),
        Some(ListError::InvalidField { line: 2, field: "DATAID".to_owned(), reason: "missing or empty".to_owned() })
    );
    let duplicate = un_doc(&format!("{}\n{}", un_individual("7", "a"), un_individual("7", "b")));
    assert_eq!(
        lessee_lists::parse_un(duplicate.as_bytes()).err(),
        Some(ListError::DuplicateId { line: 3, id: "7".to_owned(), first_line: 2 })
    );
}

#[test]
fn malformed_rows() {
    let dup = b"1,\"A\",-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n1,\"B\",-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n";
    assert_eq!(
        lessee_lists::parse_ofac(dup, None, None).err(),
        Some(ListError::DuplicateId { line: 2, id: "1".to_owned(), first_line: 1 })
    );
    let bad_id = b"x1,\"A\",-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n";
    assert_eq!(lessee_lists::parse_ofac(bad_id, None, None).err().map(|e| e.code()), Some("LIST-INVALID-FIELD"));
    let stray_quote = b"1,\"A\"B,-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n";
    assert_eq!(lessee_lists::parse_ofac(stray_quote, None, None).err().map(|e| e.code()), Some("LIST-MALFORMED"));
    let bad_alt = b"1,2,\"xyz\",\"NAME\",-0- \n";
    let sdn = b"1,\"A\",-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n";
    let err = lessee_lists::parse_ofac(sdn, Some(bad_alt), None).err().unwrap();
    assert_eq!(err.root().code(), "LIST-INVALID-FIELD");
    let csl_missing = b"source,name\nX,Y\n";
    assert_eq!(
        lessee_lists::parse_csl(csl_missing).err(),
        Some(ListError::MissingColumn { line: 1, column: "alt_names".to_owned() })
    );
}

#[test]
fn files_of_the_wrong_kind() {
    let alt = read("ofac_alt.csv");
    let add = read("ofac_add.csv");
    let un = read("un_consolidated.xml");
    assert_eq!(
        lessee_lists::parse_ofac(&alt, None, None).err(),
        Some(ListError::WrongFormat { expected: Format::OfacSdn, found: "OFAC ALT".to_owned() })
    );
    let sdn = read("ofac_sdn.csv");
    let swapped = lessee_lists::parse_ofac(&sdn, Some(&add), Some(&alt)).err().unwrap();
    assert_eq!(swapped.root().code(), "LIST-WRONG-FORMAT", "{swapped}");
    assert_eq!(lessee_lists::parse_csl(&un).err().map(|e| e.code()), Some("LIST-WRONG-FORMAT"));
    assert_eq!(lessee_lists::parse_bis_dpl(&sdn).err().map(|e| e.code()), Some("LIST-WRONG-FORMAT"));
    assert_eq!(lessee_lists::parse(&alt).err().map(|e| e.code()), Some("LIST-WRONG-FORMAT"));
    assert_eq!(lessee_lists::parse(b"hello, world\n").err(), Some(ListError::UnknownFormat));
}

/// Mutated real files and random bytes through every parser and `detect`: errors are fine,
/// panics are not. Deterministic, so a failure reproduces.
#[test]
fn mutations_never_panic() {
    let samples: Vec<Vec<u8>> =
        ["ofac_sdn.csv", "ofac_alt.csv", "ofac_add.csv", "un_consolidated.xml", "bis_dpl.txt", "trade_csl_sample.csv"]
            .iter()
            .map(|name| {
                let bytes = read(name);
                bytes[..bytes.len().min(6_000)].to_vec()
            })
            .collect();
    let specials: &[u8] = b"\",;\t\r\n<>&/!?[]-0#'\x00\x1a\xc3\xff";
    let mut rng = Rng(7);
    let parser = Parser::default();
    // More rounds on demand: LESSEE_LISTS_FUZZ_ROUNDS=100000.
    let rounds = std::env::var("LESSEE_LISTS_FUZZ_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(300);
    for round in 0..rounds {
        let mut input = samples[round % samples.len()].clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(input.len());
            match rng.below(4) {
                0 => input[at] = specials[rng.below(specials.len())],
                1 => input.truncate(at),
                2 => input.insert(at, specials[rng.below(specials.len())]),
                _ => {
                    let len = rng.below(200).min(input.len() - at);
                    let copy = input[at..at + len].to_vec();
                    input.splice(at..at, copy);
                }
            }
            if input.is_empty() {
                break;
            }
        }
        let _ = lessee_lists::detect(&input);
        for (_, result) in all_parsers(&parser, &input) {
            if let Err(e) = result {
                assert!(!e.to_string().is_empty());
            }
        }
    }
}
