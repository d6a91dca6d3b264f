//! Detection by content: every real file, the same bytes under misleading names, and partial
//! or re-encoded copies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly on purpose"
)]

use std::path::PathBuf;

use lessee_lists::{Format, ListKind};

fn data_dir() -> PathBuf {
    std::env::var_os("LESSEE_LISTS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/lists"))
}

const FILES: [(&str, Format); 6] = [
    ("ofac_sdn.csv", Format::OfacSdn),
    ("ofac_alt.csv", Format::OfacAlt),
    ("ofac_add.csv", Format::OfacAdd),
    ("un_consolidated.xml", Format::UnXml),
    ("bis_dpl.txt", Format::BisDpl),
    ("trade_csl_sample.csv", Format::Csl),
];

fn read(name: &str) -> Vec<u8> {
    std::fs::read(data_dir().join(name)).unwrap()
}

#[test]
fn every_real_file_is_recognised() {
    for (name, format) in FILES {
        assert_eq!(lessee_lists::detect(&read(name)), Some(format), "{name}");
    }
}

#[test]
fn renamed_files_are_recognised_by_content() {
    let dir = tempfile::tempdir().unwrap();
    // Each file saved under another file's name and a meaningless extension.
    let misleading =
        ["un_consolidated.xml", "bis_dpl.txt", "ofac_sdn.csv", "trade_csl_sample.csv", "list.dat", "ofac_alt.csv"];
    for ((name, format), fake) in FILES.iter().zip(misleading) {
        let path = dir.path().join(fake);
        std::fs::write(&path, read(name)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(lessee_lists::detect(&bytes), Some(*format), "{name} saved as {fake}");
    }
}

#[test]
fn the_first_kilobytes_are_enough() {
    for (name, format) in FILES {
        let bytes = read(name);
        for len in [600, 4_096, 70_000] {
            let head = &bytes[..len.min(bytes.len())];
            assert_eq!(lessee_lists::detect(head), Some(format), "{name}, first {len} bytes");
        }
    }
}

#[test]
fn byte_order_mark_and_line_endings_do_not_matter() {
    for (name, format) in FILES {
        let bytes = read(name);
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(&bytes);
        assert_eq!(lessee_lists::detect(&with_bom), Some(format), "{name} with BOM");
        let text = String::from_utf8(bytes).unwrap();
        let lf = text.replace("\r\n", "\n");
        let crlf = lf.replace('\n', "\r\n");
        assert_eq!(lessee_lists::detect(lf.as_bytes()), Some(format), "{name} LF");
        assert_eq!(lessee_lists::detect(crlf.as_bytes()), Some(format), "{name} CRLF");
    }
}

#[test]
fn custom_format_by_header() {
    let custom = b"id,name,type,aliases,date_of_birth,country,identifiers\nC-1,DOE John,individual,,,,\n";
    assert_eq!(lessee_lists::detect(custom), Some(Format::Custom));
    let reordered = b"name,id,type,aliases,date_of_birth,country,identifiers\n";
    assert_eq!(lessee_lists::detect(reordered), Some(Format::Custom));
    let extra = b"id,name,type,aliases,date_of_birth,country,identifiers,notes\n";
    assert_eq!(lessee_lists::detect(extra), None);
}

#[test]
fn parse_dispatches_on_detected_format() {
    let cases = [
        ("ofac_sdn.csv", ListKind::OfacSdn),
        ("un_consolidated.xml", ListKind::Un),
        ("bis_dpl.txt", ListKind::BisDpl),
        ("trade_csl_sample.csv", ListKind::Csl),
    ];
    for (name, kind) in cases {
        let list = lessee_lists::parse(&read(name)).unwrap();
        assert_eq!(list.kind, kind, "{name}");
        assert!(list.entries.iter().all(|e| e.list == kind));
    }
}

#[test]
fn unknown_content_is_not_guessed() {
    let cases: [&[u8]; 7] = [
        b"",
        b"hello",
        b"<?xml version=\"1.0\"?><sdnList></sdnList>",
        b"<html><body>not a list</body></html>",
        b"{\"results\": []}",
        b"a,b,c\n1,2,3\n",
        b"1,2,3,4\n5,6,7,8\n",
    ];
    for bytes in cases {
        assert_eq!(lessee_lists::detect(bytes), None, "{:?}", String::from_utf8_lossy(bytes));
    }
}
