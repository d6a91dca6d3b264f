//! The trade.gov Consolidated Screening List CSV: a header row; multi-valued columns
//! (`alt_names`, `addresses`, `programs`, `dates_of_birth`, `nationalities`, `citizenships`,
//! `places_of_birth`, `ids`) are `;`-separated; `source` names the underlying list.
//!
//! Entry ids: the CSL's own `_id`/`id` column when present; otherwise `<list>:<entity_number>`
//! (e.g. `SDN:20264`); otherwise a row key derived from the source, name, addresses and start
//! date (DPL, ISN and Entity List rows have no number).

use crate::ParseConfig;
use crate::common::{Columns, RowKeys, Warnings, input_digest, version_digest};
use crate::dates::parse_dob;
use crate::delimited::Reader;
use crate::error::ListError;
use crate::model::{
    Address, AliasQuality, CountryRef, EntityType, Entry, Format, IdCategory, Identifier, ListFile, ListKind, Vessel,
    push_unique,
};
use crate::remarks::{parse_identifier, place_of_birth};
use crate::text::{clean, decode, non_empty};

const REQUIRED: [&str; 3] = ["source", "name", "alt_names"];

fn split(value: &str) -> impl Iterator<Item = String> + '_ {
    value.split(';').filter_map(non_empty)
}

/// `Specially Designated Nationals (SDN) - Treasury Department` -> `SDN`.
fn source_code(source: &str) -> String {
    let inner = source
        .find('(')
        .and_then(|open| source.get(open + 1..).and_then(|rest| rest.find(')').and_then(|close| rest.get(..close))))
        .unwrap_or(source);
    let code: String = inner.chars().filter(|c| c.is_ascii_alphanumeric()).take(16).collect();
    if code.is_empty() { "CSL".to_owned() } else { code }
}

pub(crate) fn parse(bytes: &[u8], config: &ParseConfig) -> Result<ListFile, ListError> {
    let decoded = decode(bytes, config, config.cp1252_fallback == crate::Cp1252Fallback::AllDelimited)?;
    crate::detect::expect_format(&decoded.text, Format::Csl)?;
    let mut reader = Reader::new(&decoded.text, decoded.base, b',', config);
    let header = reader.next_row()?.ok_or(ListError::Empty)?;
    let columns = Columns::from_header(&header);
    columns.require(&REQUIRED)?;
    let mut warnings = Warnings::new(config.max_warnings);
    let mut keys = RowKeys::new();
    let mut seen = std::collections::HashMap::new();
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
            field: "name".to_owned(),
            reason: "the name is empty".to_owned(),
        })?;
        let source = non_empty(get("source"));
        let code = source_code(source.as_deref().unwrap_or(""));
        let own_id = non_empty(get("_id")).or_else(|| non_empty(get("id")));
        let id = match (own_id, non_empty(get("entity_number"))) {
            (Some(id), _) => id,
            (None, Some(number)) => format!("{code}:{number}"),
            (None, None) => {
                keys.key(&format!("{code}:"), &[get("source"), get("name"), get("addresses"), get("start_date")])
            }
        };
        if let Some(first_line) = seen.insert(id.clone(), row.line) {
            return Err(ListError::DuplicateId { line: row.line, id, first_line });
        }
        let mut entry = Entry::new(ListKind::Csl, id, name);
        entry.source = source;
        entry.entity_type = match get("type").trim().to_ascii_lowercase().as_str() {
            "individual" => EntityType::Individual,
            "entity" => EntityType::Entity,
            "vessel" => EntityType::Vessel,
            "aircraft" => EntityType::Aircraft,
            "" => EntityType::Unknown,
            other => {
                warnings.push(
                    Format::Csl,
                    row.line,
                    format!("unknown type `{}`", other.chars().take(40).collect::<String>()),
                );
                EntityType::Unknown
            }
        };
        for program in split(get("programs")) {
            push_unique(&mut entry.programs, program);
        }
        entry.title = non_empty(get("title"));
        for alias in split(get("alt_names")) {
            entry.push_alias(&alias, AliasQuality::Strong);
        }
        for address in get("addresses").split(';') {
            if let Some(address) = csl_address(address) {
                entry.push_address(address);
            }
        }
        for dob in split(get("dates_of_birth")) {
            push_unique(&mut entry.dates_of_birth, parse_dob(&dob));
        }
        for c in split(get("nationalities")) {
            push_unique(&mut entry.nationalities, CountryRef::from_text(&c));
        }
        for c in split(get("citizenships")) {
            push_unique(&mut entry.citizenships, CountryRef::from_text(&c));
        }
        for pob in split(get("places_of_birth")) {
            push_unique(&mut entry.places_of_birth, place_of_birth(&pob));
        }
        for id in split(get("ids")) {
            if let Some(id) = csl_identifier(&id) {
                push_unique(&mut entry.identifiers, id);
            }
        }
        let vessel = Vessel {
            call_sign: non_empty(get("call_sign")),
            vessel_type: non_empty(get("vessel_type")),
            tonnage: non_empty(get("gross_tonnage")),
            gross_registered_tonnage: non_empty(get("gross_registered_tonnage")),
            flag: non_empty(get("vessel_flag")).map(|f| CountryRef::from_text(&f)),
            owner: non_empty(get("vessel_owner")),
        };
        if !vessel.is_empty() {
            entry.vessel = Some(vessel);
        }
        entry.remarks = non_empty(get("remarks"));
        if let Some(remarks) = &entry.remarks {
            entry.linked_to = linked_to(remarks);
        }
        entries.push(entry);
    }
    let inputs = vec![input_digest(Format::Csl, bytes)];
    Ok(ListFile {
        kind: ListKind::Csl,
        entries,
        source_sha256: version_digest(&inputs),
        inputs,
        published: None,
        warnings: warnings.finish(Format::Csl),
    })
}

/// `80 SW 8th Street Suite 2000, Miami, FL, 33130, US`: the last part is an alpha-2 code.
fn csl_address(raw: &str) -> Option<Address> {
    let raw = clean(raw);
    if raw.is_empty() {
        return None;
    }
    let (rest, last) = match raw.rsplit_once(',') {
        Some((rest, last)) => (rest.trim(), last.trim()),
        None => ("", raw.as_str()),
    };
    let is_code = last.len() == 2 && crate::country::lookup(last).is_some();
    Some(if is_code {
        Address { text: rest.to_owned(), country: Some(CountryRef::from_text(last)) }
    } else {
        Address { text: raw.clone(), country: None }
    })
}

/// `US, 80-0890696, Tax ID No.` or `IMO 8898831, Vessel Registration Identification`.
fn csl_identifier(raw: &str) -> Option<Identifier> {
    let parts: Vec<&str> = raw.split(", ").map(str::trim).collect();
    let (label, rest) = parts.split_last()?;
    let (country, number_parts) = match rest {
        [first, more @ ..] if !more.is_empty() && first.len() == 2 => {
            (crate::country::lookup(first).map(|_| CountryRef::from_text(first)), more)
        }
        _ => (None, rest),
    };
    let number = clean(&number_parts.join(", "));
    if number.is_empty() {
        return None;
    }
    let label = label.trim_end_matches([' ', '-', ':']);
    let mut id = match parse_identifier(&format!("{label} {number}")) {
        Some(id) => id,
        None if crate::remarks::is_fact_label(label) => return None,
        None => Identifier { kind: clean(label), category: IdCategory::Other, number, country: None, note: None },
    };
    if country.is_some() {
        id.country = country;
    }
    Some(id)
}

/// `(Linked To: ROSTEC)` in CSL remarks.
fn linked_to(remarks: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = remarks;
    while let Some(at) = rest.find("Linked To:") {
        let after = rest.get(at + "Linked To:".len()..).unwrap_or_default();
        let end = after.find([')', ';']).unwrap_or(after.len());
        if let Some(name) = non_empty(after.get(..end).unwrap_or_default()) {
            push_unique(&mut out, name);
        }
        rest = after.get(end..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_codes() {
        assert_eq!(source_code("Specially Designated Nationals (SDN) - Treasury Department"), "SDN");
        assert_eq!(source_code("Denied Persons List (DPL) - Bureau of Industry and Security"), "DPL");
        assert_eq!(source_code(""), "CSL");
    }

    #[test]
    fn identifiers() {
        let id = csl_identifier("US, 80-0890696, Tax ID No.");
        assert_eq!(
            id.as_ref().map(|i| (
                i.kind.as_str(),
                i.category,
                i.number.as_str(),
                i.country.as_ref().and_then(|c| c.code).map(|c| c.to_string())
            )),
            Some(("Tax ID No.", IdCategory::TaxId, "80-0890696", Some("US".to_owned())))
        );
        let id = csl_identifier("IMO 8898831, Vessel Registration Identification");
        assert_eq!(id.map(|i| (i.category, i.number)), Some((IdCategory::Vessel, "IMO 8898831".to_owned())));
        assert_eq!(csl_identifier("Subject to Secondary Sanctions, Additional Sanctions Information -"), None);
        assert_eq!(csl_identifier("www.aictc.ir, Website").map(|i| i.category), Some(IdCategory::Website));
    }

    #[test]
    fn addresses_and_links() {
        let a = csl_address("80 SW 8th Street Suite 2000, Miami, FL, 33130, US");
        assert_eq!(a.as_ref().map(|a| a.text.as_str()), Some("80 SW 8th Street Suite 2000, Miami, FL, 33130"));
        assert_eq!(a.and_then(|a| a.country).and_then(|c| c.code).map(|c| c.to_string()), Some("US".to_owned()));
        assert_eq!(csl_address(" IR ").and_then(|a| a.country).map(|c| c.name), Some("IR".to_owned()));
        assert_eq!(linked_to("For more information; (Linked To: ROSTEC); (Linked To: GAZPROM)"), ["ROSTEC", "GAZPROM"]);
    }
}
