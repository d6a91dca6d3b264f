//! OFAC's legacy CSV files: `sdn.csv` (primary records), `alt.csv` (alternate names) and
//! `add.csv` (addresses), joined on ent_num. No header rows; `-0-` means empty.

use std::collections::HashMap;

use crate::ParseConfig;
use crate::common::{Warnings, input_digest, version_digest};
use crate::delimited::{Reader, Row};
use crate::error::ListError;
use crate::model::{
    Address, AliasQuality, CountryRef, EntityType, Entry, Format, ListFile, ListKind, Vessel, push_unique,
};
use crate::remarks::parse_remarks;
use crate::text::{clean, decode};

const SDN_FIELDS: usize = 12;
const ALT_FIELDS: usize = 5;
const ADD_FIELDS: usize = 6;

/// A field's value, `None` for OFAC's `-0-` and for blanks.
fn value(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t == "-0-" || t.is_empty() {
        None
    } else {
        let c = clean(t);
        (!c.is_empty()).then_some(c)
    }
}

fn ent_num(row: &Row<'_>, field: &str) -> Result<u64, ListError> {
    let raw = row.get(0).trim();
    raw.parse::<u64>().ok().filter(|n| *n > 0 && raw.len() <= 12).ok_or_else(|| ListError::InvalidField {
        line: row.line,
        field: field.to_owned(),
        reason: format!("`{}` is not a positive whole number", raw.chars().take(40).collect::<String>()),
    })
}

fn expect_fields(row: &Row<'_>, expected: usize) -> Result<(), ListError> {
    if row.fields.len() == expected {
        Ok(())
    } else {
        Err(ListError::FieldCount { line: row.line, expected, found: row.fields.len() })
    }
}

pub(crate) fn parse(
    sdn: &[u8],
    alt: Option<&[u8]>,
    add: Option<&[u8]>,
    config: &ParseConfig,
) -> Result<ListFile, ListError> {
    let cp1252 = config.cp1252_fallback != crate::Cp1252Fallback::Never;
    let mut warnings = Warnings::new(config.max_warnings);
    let mut inputs = vec![input_digest(Format::OfacSdn, sdn)];

    let decoded = decode(sdn, config, cp1252)?;
    crate::detect::expect_format(&decoded.text, Format::OfacSdn)?;
    let mut entries = Vec::new();
    let mut by_ent_num: HashMap<u64, (usize, u64)> = HashMap::new();
    let mut reader = Reader::new(&decoded.text, decoded.base, b',', config);
    while let Some(row) = reader.next_row()? {
        expect_fields(&row, SDN_FIELDS)?;
        let id = ent_num(&row, "ent_num")?;
        if let Some((_, first_line)) = by_ent_num.get(&id) {
            return Err(ListError::DuplicateId { line: row.line, id: id.to_string(), first_line: *first_line });
        }
        let entry = sdn_entry(&row, id, &mut warnings)?;
        by_ent_num.insert(id, (entries.len(), row.line));
        entries.push(entry);
    }

    if let Some(alt) = alt {
        inputs.push(input_digest(Format::OfacAlt, alt));
        merge_alt(alt, config, cp1252, &by_ent_num, &mut entries, &mut warnings)
            .map_err(|e| e.in_file(Format::OfacAlt))?;
    }
    if let Some(add) = add {
        inputs.push(input_digest(Format::OfacAdd, add));
        merge_add(add, config, cp1252, &by_ent_num, &mut entries, &mut warnings)
            .map_err(|e| e.in_file(Format::OfacAdd))?;
    }

    Ok(ListFile {
        kind: ListKind::OfacSdn,
        entries,
        source_sha256: version_digest(&inputs),
        inputs,
        published: None,
        warnings: warnings.finish(Format::OfacSdn),
    })
}

fn sdn_entry(row: &Row<'_>, id: u64, warnings: &mut Warnings) -> Result<Entry, ListError> {
    let name = value(row.get(1)).ok_or_else(|| ListError::InvalidField {
        line: row.line,
        field: "SDN_Name".to_owned(),
        reason: "the name is empty".to_owned(),
    })?;
    let mut entry = Entry::new(ListKind::OfacSdn, id.to_string(), name);
    entry.entity_type = match value(row.get(2)).map(|t| t.to_ascii_lowercase()).as_deref() {
        None => EntityType::Entity,
        Some("individual") => EntityType::Individual,
        Some("vessel") => EntityType::Vessel,
        Some("aircraft") => EntityType::Aircraft,
        Some(other) => {
            warnings.push(Format::OfacSdn, row.line, format!("unknown SDN_Type `{other}`"));
            EntityType::Unknown
        }
    };
    if let Some(programs) = value(row.get(3)) {
        for program in programs.split("] [") {
            let program = program.trim_matches(['[', ']', ' ']);
            if !program.is_empty() {
                push_unique(&mut entry.programs, program.to_owned());
            }
        }
    }
    entry.title = value(row.get(4));
    let mut vessel = Vessel {
        call_sign: value(row.get(5)),
        vessel_type: value(row.get(6)),
        tonnage: value(row.get(7)),
        gross_registered_tonnage: value(row.get(8)),
        flag: value(row.get(9)).map(|f| CountryRef::from_text(&f)),
        owner: value(row.get(10)),
    };
    if let Some(remarks) = value(row.get(11)) {
        let facts = parse_remarks(&remarks);
        if vessel.flag.is_none() {
            vessel.flag = facts.registration;
        }
        entry.dates_of_birth = facts.dates_of_birth;
        entry.places_of_birth = facts.places_of_birth;
        entry.nationalities = facts.nationalities;
        entry.citizenships = facts.citizenships;
        entry.identifiers = facts.identifiers;
        entry.linked_to = facts.linked_to;
        entry.gender = facts.gender;
        for (alias, quality) in facts.aliases {
            entry.push_alias(&alias, quality);
        }
        entry.remarks = Some(remarks);
    }
    if !vessel.is_empty() {
        entry.vessel = Some(vessel);
    }
    Ok(entry)
}

fn merge_alt(
    bytes: &[u8],
    config: &ParseConfig,
    cp1252: bool,
    by_ent_num: &HashMap<u64, (usize, u64)>,
    entries: &mut [Entry],
    warnings: &mut Warnings,
) -> Result<(), ListError> {
    let decoded = decode(bytes, config, cp1252)?;
    crate::detect::expect_format(&decoded.text, Format::OfacAlt)?;
    let mut reader = Reader::new(&decoded.text, decoded.base, b',', config);
    while let Some(row) = reader.next_row()? {
        expect_fields(&row, ALT_FIELDS)?;
        let id = ent_num(&row, "ent_num")?;
        let quality = match value(row.get(2)).map(|t| t.to_ascii_lowercase()).as_deref() {
            Some("aka") => AliasQuality::Strong,
            Some("fka") => AliasQuality::Fka,
            Some("nka") => AliasQuality::Nka,
            other => {
                return Err(ListError::InvalidField {
                    line: row.line,
                    field: "alt_type".to_owned(),
                    reason: format!(
                        "`{}` is not aka, fka or nka",
                        other.unwrap_or("").chars().take(40).collect::<String>()
                    ),
                });
            }
        };
        let Some(name) = value(row.get(3)) else {
            warnings.push(Format::OfacAlt, row.line, format!("empty alt_name for ent_num {id}"));
            continue;
        };
        match by_ent_num.get(&id).and_then(|(i, _)| entries.get_mut(*i)) {
            Some(entry) => entry.push_alias(&name, quality),
            None => warnings.push(
                Format::OfacAlt,
                row.line,
                format!("alias for ent_num {id}, which the SDN file does not have"),
            ),
        }
    }
    Ok(())
}

fn merge_add(
    bytes: &[u8],
    config: &ParseConfig,
    cp1252: bool,
    by_ent_num: &HashMap<u64, (usize, u64)>,
    entries: &mut [Entry],
    warnings: &mut Warnings,
) -> Result<(), ListError> {
    let decoded = decode(bytes, config, cp1252)?;
    crate::detect::expect_format(&decoded.text, Format::OfacAdd)?;
    let mut reader = Reader::new(&decoded.text, decoded.base, b',', config);
    while let Some(row) = reader.next_row()? {
        expect_fields(&row, ADD_FIELDS)?;
        let id = ent_num(&row, "ent_num")?;
        let text = [value(row.get(2)), value(row.get(3))].into_iter().flatten().collect::<Vec<_>>().join(", ");
        let country = value(row.get(4)).map(|c| CountryRef::from_text(&c));
        let address = Address { text, country };
        match by_ent_num.get(&id).and_then(|(i, _)| entries.get_mut(*i)) {
            Some(entry) => entry.push_address(address),
            None => warnings.push(
                Format::OfacAdd,
                row.line,
                format!("address for ent_num {id}, which the SDN file does not have"),
            ),
        }
    }
    Ok(())
}
