//! The Commerce BIS Denied Persons List: tab-separated, every field quoted, with a header row
//! (`Name`, `Street_Address`, `City`, `State`, `Country`, `Postal_Code`, `Effective_Date`,
//! `Expiration_Date`, `Standard_Order`, `Last_Update`, `Action`, `FR_Citation`).
//!
//! The list has no ids, so an entry's id is a row key derived from its name, address and
//! effective date (see [`crate::common::RowKeys`]).

use crate::ParseConfig;
use crate::common::{Columns, RowKeys, Warnings, input_digest, version_digest};
use crate::delimited::Reader;
use crate::error::ListError;
use crate::model::{Address, CountryRef, Entry, Format, ListFile, ListKind};
use crate::text::{decode, non_empty};

const REQUIRED: [&str; 7] = ["name", "street_address", "city", "state", "country", "postal_code", "effective_date"];

pub(crate) fn parse(bytes: &[u8], config: &ParseConfig) -> Result<ListFile, ListError> {
    let decoded = decode(bytes, config, config.cp1252_fallback == crate::Cp1252Fallback::AllDelimited)?;
    crate::detect::expect_format(&decoded.text, Format::BisDpl)?;
    let mut reader = Reader::new(&decoded.text, decoded.base, b'\t', config);
    let header = reader.next_row()?.ok_or(ListError::Empty)?;
    let columns = Columns::from_header(&header);
    columns.require(&REQUIRED)?;
    let mut keys = RowKeys::new();
    let mut entries = Vec::new();
    while let Some(row) = reader.next_row()? {
        if row.fields.len() != header.fields.len() {
            return Err(ListError::FieldCount {
                line: row.line,
                expected: header.fields.len(),
                found: row.fields.len(),
            });
        }
        let get = |name: &str| columns.get(&row, name);
        let name = non_empty(get("name")).ok_or_else(|| ListError::InvalidField {
            line: row.line,
            field: "Name".to_owned(),
            reason: "the name is empty".to_owned(),
        })?;
        let id = keys.key(
            "dpl-",
            &[
                get("name"),
                get("street_address"),
                get("city"),
                get("state"),
                get("country"),
                get("postal_code"),
                get("effective_date"),
            ],
        );
        let mut entry = Entry::new(ListKind::BisDpl, id, name);
        let text = ["street_address", "city", "state", "postal_code"]
            .iter()
            .filter_map(|c| non_empty(get(c)))
            .collect::<Vec<_>>()
            .join(", ");
        let country = non_empty(get("country")).map(|c| CountryRef::from_text(&c));
        entry.push_address(Address { text, country });
        let notes: Vec<String> = [
            ("effective", "effective_date"),
            ("expires", "expiration_date"),
            ("standard order", "standard_order"),
            ("last update", "last_update"),
            ("action", "action"),
            ("FR citation", "fr_citation"),
        ]
        .iter()
        .filter_map(|(label, column)| non_empty(get(column)).map(|v| format!("{label}: {v}")))
        .collect();
        if !notes.is_empty() {
            entry.remarks = Some(notes.join("; "));
        }
        entries.push(entry);
    }
    let inputs = vec![input_digest(Format::BisDpl, bytes)];
    Ok(ListFile {
        kind: ListKind::BisDpl,
        entries,
        source_sha256: version_digest(&inputs),
        inputs,
        published: None,
        warnings: Warnings::new(config.max_warnings).finish(Format::BisDpl),
    })
}
