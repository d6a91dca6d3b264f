//! Recognising a list file by its content, never by its name.

use crate::ParseConfig;
use crate::delimited::{Reader, Row};
use crate::error::ListError;
use crate::model::Format;

/// How much of the input detection looks at.
const HEAD: usize = 64 * 1024;
/// How many OFAC rows must agree on a shape.
const SAMPLE_ROWS: usize = 20;

/// Recognises a list file by its content: the UN XML by its root element, BIS DPL, CSL and the
/// custom format by their header rows, and OFAC's header-less SDN, ALT and ADD files by the
/// shape and content of their first rows. Only the first 64 KiB are examined.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    let head = bytes.get(..HEAD).unwrap_or(bytes);
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if matches!(head, [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..]) || head.contains(&0) {
        return None;
    }
    let text = match std::str::from_utf8(head) {
        Ok(s) => s.to_owned(),
        // A multi-byte character cut by the 64 KiB window.
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(head.get(..e.valid_up_to()).unwrap_or_default()).into_owned()
        }
        // OFAC's legacy files may be Windows-1252; the exact characters do not matter here.
        Err(_) => head.iter().map(|&b| char::from(b)).collect(),
    };
    detect_text(&text)
}

/// Refuses `text` when it is recognisably another format than `expected`.
pub(crate) fn expect_format(text: &str, expected: Format) -> Result<(), ListError> {
    match detect_text(text) {
        Some(found) if found != expected => Err(ListError::WrongFormat { expected, found: found.to_string() }),
        _ => Ok(()),
    }
}

pub(crate) fn detect_text(text: &str) -> Option<Format> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('<') {
        return (xml_root(trimmed)? == "CONSOLIDATED_LIST").then_some(Format::UnXml);
    }
    let first_line = trimmed.lines().next()?;
    if let Some(format) = by_header(first_line) {
        return Some(format);
    }
    ofac_shape(trimmed)
}

/// The local name of the first element, skipping the declaration, comments, PIs and DOCTYPE.
fn xml_root(text: &str) -> Option<&str> {
    let mut rest = text;
    loop {
        let at = rest.find('<')?;
        rest = rest.get(at..)?;
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after.get(after.find("?>")? + 2..)?;
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.get(after.find("-->")? + 3..)?;
        } else if let Some(after) = rest.strip_prefix("<!") {
            // DOCTYPE, possibly with an internal subset in brackets.
            let end = match (after.find('['), after.find('>')) {
                (Some(open), Some(close)) if open < close => {
                    let close_subset = after.find("]>")?;
                    close_subset + 2
                }
                (_, Some(close)) => close + 1,
                _ => return None,
            };
            rest = after.get(end..)?;
        } else {
            let name = rest.get(1..)?;
            let end = name.find(|c: char| c.is_whitespace() || c == '>' || c == '/').unwrap_or(name.len());
            let name = name.get(..end)?;
            return Some(name.rsplit(':').next().unwrap_or(name));
        }
    }
}

fn header_fields(line: &str, delimiter: char) -> Vec<String> {
    line.split(delimiter).map(|f| f.trim().trim_matches('"').trim().to_ascii_lowercase()).collect()
}

fn by_header(line: &str) -> Option<Format> {
    let tabbed = header_fields(line, '\t');
    let has = |fields: &[String], name: &str| fields.iter().any(|f| f == name);
    if ["name", "street_address", "effective_date"].iter().all(|n| has(&tabbed, n)) {
        return Some(Format::BisDpl);
    }
    let fields = header_fields(line, ',');
    if ["source", "name", "alt_names"].iter().all(|n| has(&fields, n)) {
        return Some(Format::Csl);
    }
    let mut sorted = fields.clone();
    sorted.sort();
    let mut custom: Vec<String> = crate::custom::COLUMNS.iter().map(|c| c.to_string()).collect();
    custom.sort();
    if sorted == custom {
        return Some(Format::Custom);
    }
    None
}

fn is_number(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn ofac_row(row: &Row<'_>) -> Option<Format> {
    let field = |i: usize| row.get(i).trim();
    match row.fields.len() {
        12 if is_number(field(0))
            && !field(1).is_empty()
            && field(1) != "-0-"
            && matches!(field(2).to_ascii_lowercase().as_str(), "-0-" | "individual" | "vessel" | "aircraft") =>
        {
            Some(Format::OfacSdn)
        }
        5 if is_number(field(0))
            && is_number(field(1))
            && matches!(field(2).to_ascii_lowercase().as_str(), "aka" | "fka" | "nka") =>
        {
            Some(Format::OfacAlt)
        }
        6 if is_number(field(0)) && is_number(field(1)) => Some(Format::OfacAdd),
        _ => None,
    }
}

fn ofac_shape(text: &str) -> Option<Format> {
    // The input may be a prefix of the file: drop a last line without its newline.
    let text = match text.rfind('\n') {
        Some(end) if !text.ends_with('\n') => text.get(..=end)?,
        _ => text,
    };
    let config = ParseConfig::default();
    let mut reader = Reader::new(text, 0, b',', &config);
    let mut found = None;
    let mut rows = 0;
    while rows < SAMPLE_ROWS {
        let row = match reader.next_row() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            // A quoted field cut by the window: judge on the rows read so far.
            Err(_) if rows > 0 => break,
            Err(_) => return None,
        };
        let format = ofac_row(&row)?;
        if found.is_some_and(|f| f != format) {
            return None;
        }
        found = Some(format);
        rows += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_by_content() {
        let cases: &[(&str, Option<Format>)] = &[
            (
                "36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n",
                Some(Format::OfacSdn),
            ),
            ("36,12,\"aka\",\"AERO-CARIBBEAN\",-0- \r\n", Some(Format::OfacAlt)),
            ("36,25,-0- ,\"Havana\",\"Cuba\",-0- \r\n", Some(Format::OfacAdd)),
            (
                "<?xml version=\"1.0\"?>\n<!-- c -->\n<CONSOLIDATED_LIST dateGenerated=\"x\"><INDIVIDUALS/></CONSOLIDATED_LIST>",
                Some(Format::UnXml),
            ),
            ("<?xml version=\"1.0\"?><sdnList/>", None),
            (
                "\"Name\"\t\"Street_Address\"\t\"City\"\t\"State\"\t\"Country\"\t\"Postal_Code\"\t\"Effective_Date\"\n",
                Some(Format::BisDpl),
            ),
            ("source,entity_number,type,programs,name,alt_names\n", Some(Format::Csl)),
            ("id,name,type,aliases,date_of_birth,country,identifiers\n", Some(Format::Custom)),
            ("name,notes\nx,y\n", None),
            ("36,12,\"aka\",\"X\",-0- \n37,\"Y\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n", None),
            ("hello world", None),
        ];
        for (text, want) in cases {
            assert_eq!(detect(text.as_bytes()), *want, "{text:?}");
        }
    }

    #[test]
    fn binary_and_utf16_are_not_recognised() {
        assert_eq!(detect(b"\xFF\xFEi\0d\0"), None);
        assert_eq!(detect(b"36,12,\"aka\"\0"), None);
        assert_eq!(detect(b""), None);
    }
}
