//! A provider's own list in the documented custom CSV format (see the crate README):
//!
//! ```text
//! id,name,type,aliases,date_of_birth,country,identifiers
//! C-001,"DOE, John",individual,JOHNNY D;J. DOE,1970-01-31,US;CA,passport:123456789:US
//! ```
//!
//! Because the provider writes this file, it is read strictly: every column must be present,
//! no other column is allowed, and a bad type, date, country code or identifier is an error
//! naming the line.

use lessee_domain::Country;

use crate::ParseConfig;
use crate::common::{Columns, Warnings, input_digest, version_digest};
use crate::dates::parse_dob;
use crate::delimited::Reader;
use crate::error::ListError;
use crate::model::{
    CountryRef, DateOfBirth, EntityType, Entry, Format, IdCategory, Identifier, ListFile, ListKind, push_unique,
};
use crate::text::{decode, non_empty};

pub(crate) const COLUMNS: [&str; 7] = ["id", "name", "type", "aliases", "date_of_birth", "country", "identifiers"];

const MAX_ID_LEN: usize = 128;

fn invalid(line: u64, field: &str, reason: String) -> ListError {
    ListError::InvalidField { line, field: field.to_owned(), reason }
}

fn shown(s: &str) -> String {
    s.chars().take(60).collect()
}

pub(crate) fn parse(bytes: &[u8], config: &ParseConfig) -> Result<ListFile, ListError> {
    let decoded = decode(bytes, config, config.cp1252_fallback == crate::Cp1252Fallback::AllDelimited)?;
    let mut reader = Reader::new(&decoded.text, decoded.base, b',', config);
    let header = reader.next_row()?.ok_or(ListError::Empty)?;
    let columns = Columns::from_header(&header);
    columns.require(&COLUMNS)?;
    if let Some(unknown) = columns.names().find(|n| !COLUMNS.contains(n)) {
        return Err(ListError::UnknownColumn { line: header.line, column: shown(unknown) });
    }
    if header.fields.len() != COLUMNS.len() {
        return Err(invalid(header.line, "header", "a column appears more than once".to_owned()));
    }
    let mut seen = std::collections::HashMap::new();
    let mut entries = Vec::new();
    while let Some(row) = reader.next_row()? {
        let line = row.line;
        if row.fields.len() != header.fields.len() {
            return Err(ListError::FieldCount { line, expected: header.fields.len(), found: row.fields.len() });
        }
        let get = |name: &str| columns.get(&row, name);
        let id = non_empty(get("id")).ok_or_else(|| invalid(line, "id", "empty".to_owned()))?;
        if id.len() > MAX_ID_LEN {
            return Err(invalid(line, "id", format!("longer than {MAX_ID_LEN} bytes")));
        }
        if let Some(first_line) = seen.insert(id.clone(), line) {
            return Err(ListError::DuplicateId { line, id, first_line });
        }
        let name = non_empty(get("name")).ok_or_else(|| invalid(line, "name", "empty".to_owned()))?;
        let mut entry = Entry::new(ListKind::Custom, id, name);
        entry.entity_type = match get("type").trim().to_ascii_lowercase().as_str() {
            "individual" => EntityType::Individual,
            "entity" => EntityType::Entity,
            "vessel" => EntityType::Vessel,
            "aircraft" => EntityType::Aircraft,
            "unknown" | "" => EntityType::Unknown,
            other => {
                return Err(invalid(
                    line,
                    "type",
                    format!("`{}` is not individual, entity, vessel, aircraft or unknown", shown(other)),
                ));
            }
        };
        for alias in get("aliases").split(';') {
            entry.push_alias(alias, crate::model::AliasQuality::Strong);
        }
        for dob in get("date_of_birth").split(';').filter_map(non_empty) {
            match parse_dob(&dob) {
                DateOfBirth::Text { text } => {
                    return Err(invalid(
                        line,
                        "date_of_birth",
                        format!("`{}` is not YYYY-MM-DD, YYYY-MM, YYYY, `circa YYYY` or `YYYY to YYYY`", shown(&text)),
                    ));
                }
                dob => push_unique(&mut entry.dates_of_birth, dob),
            }
        }
        for code in get("country").split(';').filter_map(non_empty) {
            let country = Country::parse(&code).map_err(|_| {
                invalid(line, "country", format!("`{}` is not an ISO 3166-1 alpha-2 code", shown(&code)))
            })?;
            push_unique(&mut entry.countries, CountryRef { name: country.to_string(), code: Some(country) });
        }
        for raw in get("identifiers").split(';').filter_map(non_empty) {
            let id = identifier(&raw).map_err(|reason| invalid(line, "identifiers", reason))?;
            push_unique(&mut entry.identifiers, id);
        }
        entries.push(entry);
    }
    let inputs = vec![input_digest(Format::Custom, bytes)];
    Ok(ListFile {
        kind: ListKind::Custom,
        entries,
        source_sha256: version_digest(&inputs),
        inputs,
        published: None,
        warnings: Warnings::new(config.max_warnings).finish(Format::Custom),
    })
}

/// `category:number` or `category:number:CC`; the number may itself contain `:` (URLs).
fn identifier(raw: &str) -> Result<Identifier, String> {
    let (category, rest) = raw.split_once(':').ok_or_else(|| format!("`{}` is not `type:number[:CC]`", shown(raw)))?;
    let category = IdCategory::parse(category).ok_or_else(|| {
        format!(
            "`{}` is not an identifier type (passport, national_id, tax_id, registration, bank, vessel, aircraft, digital_currency, website, email, phone, other)",
            shown(category)
        )
    })?;
    let (number, country) = match rest.rsplit_once(':') {
        Some((number, code)) if code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()) => {
            let country = Country::parse(code).map_err(|_| format!("`{code}` is not an ISO 3166-1 alpha-2 code"))?;
            (number, Some(country))
        }
        _ => (rest, None),
    };
    let number = non_empty(number).ok_or_else(|| format!("`{}` has no number", shown(raw)))?;
    Ok(Identifier {
        kind: category.as_str().to_owned(),
        category,
        number,
        country: country.map(|c| CountryRef { name: c.to_string(), code: Some(c) }),
        note: None,
    })
}
