//! The UN Security Council Consolidated List (XML), read as a stream with quick-xml.
//!
//! Hostile-input rules: no DTD is processed: a DOCTYPE that declares entities or points at an
//! external DTD is refused, and only the five predefined entities and character references are
//! resolved (so "billion laughs" and external-entity attacks cannot happen); nesting depth,
//! text size per element, record count and total size are capped.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};

use crate::ParseConfig;
use crate::common::{Warnings, input_digest, version_digest};
use crate::dates::parse_partial;
use crate::error::ListError;
use crate::model::{
    Address, AliasQuality, CountryRef, DateOfBirth, EntityType, Entry, Format, Gender, IdCategory, Identifier,
    ListFile, ListKind, PlaceOfBirth, push_unique,
};
use crate::text::{LineIndex, clean, decode, line_at, non_empty};

const ROOT: &str = "CONSOLIDATED_LIST";

/// One INDIVIDUAL or ENTITY element, flattened: leaf fields directly under it, and groups
/// (NATIONALITY, INDIVIDUAL_ALIAS...) with their own leaf fields.
struct Record {
    entity_type: EntityType,
    offset: u64,
    fields: Vec<(String, String)>,
    groups: Vec<Group>,
}

struct Group {
    name: String,
    fields: Vec<(String, String)>,
}

impl Group {
    fn get(&self, name: &str) -> Option<String> {
        self.fields.iter().find(|(n, _)| n == name).and_then(|(_, v)| non_empty(v))
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = String> + 'a {
        self.fields.iter().filter(move |(n, _)| n == name).filter_map(|(_, v)| non_empty(v))
    }
}

/// The element being read at depth 4 (directly under a record).
struct Open4 {
    name: String,
    text: String,
    children: Vec<(String, String)>,
}

struct State<'t> {
    text: &'t str,
    lines: LineIndex<'t>,
    config: &'t ParseConfig,
    stack: Vec<String>,
    record: Option<Record>,
    open4: Option<Open4>,
    open5: Option<(String, String)>,
    entries: Vec<Entry>,
    seen_ids: std::collections::HashMap<String, u64>,
    published: Option<String>,
}

pub(crate) fn parse(bytes: &[u8], config: &ParseConfig) -> Result<ListFile, ListError> {
    let decoded = decode(bytes, config, false)?;
    let text: &str = &decoded.text;
    let mut reader = Reader::from_str(text);
    {
        let c = reader.config_mut();
        c.check_end_names = true;
        c.expand_empty_elements = false;
        c.trim_text(false);
    }
    let mut state = State {
        text,
        lines: LineIndex::new(text),
        config,
        stack: Vec::new(),
        record: None,
        open4: None,
        open5: None,
        entries: Vec::new(),
        seen_ids: std::collections::HashMap::new(),
        published: None,
    };
    let mut root_seen = false;
    loop {
        // Where this event starts; errors and records point here.
        let offset = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let offset = reader.error_position();
            state.xml_error(offset, e.to_string())
        })?;
        match event {
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::DocType(doctype) => {
                let content = doctype.decode().map_err(|e| state.xml_error(offset, e.to_string()))?;
                check_doctype(&content, &state, offset)?;
            }
            Event::Start(start) => {
                let name = element_name(&start, &state, offset)?;
                if !root_seen {
                    check_root(&name)?;
                    root_seen = true;
                    state.published = attribute(&start, "dateGenerated");
                }
                state.open(name, offset)?;
            }
            Event::Empty(start) => {
                let name = element_name(&start, &state, offset)?;
                if !root_seen {
                    check_root(&name)?;
                    root_seen = true;
                }
                state.open(name, offset)?;
                state.close(offset)?;
            }
            Event::End(_) => state.close(offset)?,
            Event::Text(t) => {
                let s = t.decode().map_err(|e| state.xml_error(offset, e.to_string()))?;
                state.push_text(&s, offset)?;
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| state.xml_error(offset, e.to_string()))?;
                state.push_text(&s, offset)?;
            }
            Event::GeneralRef(r) => {
                let s = resolve_reference(&r, &state, offset)?;
                state.push_text(&s, offset)?;
            }
            Event::Eof => break,
        }
    }
    if !root_seen {
        return Err(ListError::UnexpectedRoot { expected: ROOT, found: String::new() });
    }
    if !state.stack.is_empty() {
        let offset = text.len() as u64;
        return Err(ListError::Truncated {
            line: line_at(text.as_bytes(), text.len()),
            offset: offset + decoded.base as u64,
        });
    }
    let inputs = vec![input_digest(Format::UnXml, bytes)];
    Ok(ListFile {
        kind: ListKind::Un,
        entries: state.entries,
        source_sha256: version_digest(&inputs),
        inputs,
        published: state.published,
        warnings: Warnings::new(config.max_warnings).finish(Format::UnXml),
    })
}

fn check_root(name: &str) -> Result<(), ListError> {
    if name == ROOT {
        Ok(())
    } else {
        Err(ListError::UnexpectedRoot { expected: ROOT, found: name.chars().take(64).collect() })
    }
}

fn check_doctype(content: &str, state: &State<'_>, offset: u64) -> Result<(), ListError> {
    if content.contains("<!ENTITY") {
        return Err(ListError::XmlEntityDeclaration { line: line_at(state.text.as_bytes(), offset as usize), offset });
    }
    let head = content.split('[').next().unwrap_or_default();
    if head.contains("SYSTEM") || head.contains("PUBLIC") {
        return Err(state.xml_error(
            offset,
            "the DOCTYPE refers to an external DTD; external DTDs and entities are refused".to_owned(),
        ));
    }
    Ok(())
}

fn element_name(start: &BytesStart<'_>, state: &State<'_>, offset: u64) -> Result<String, ListError> {
    let local = start.local_name();
    std::str::from_utf8(local.as_ref()).map(str::to_owned).map_err(|e| state.xml_error(offset, e.to_string()))
}

fn attribute(start: &BytesStart<'_>, name: &str) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| clean(&v)))
}

fn resolve_reference(r: &BytesRef<'_>, state: &State<'_>, offset: u64) -> Result<String, ListError> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) if !c.is_control() || matches!(c, '\t' | '\n' | '\r') => Ok(c.to_string()),
            Ok(_) => Err(state.xml_error(offset, "character reference to a control character".to_owned())),
            Err(e) => Err(state.xml_error(offset, e.to_string())),
        };
    }
    let name = r.decode().map_err(|e| state.xml_error(offset, e.to_string()))?;
    match resolve_predefined_entity(&name) {
        Some(s) => Ok(s.to_owned()),
        None => Err(ListError::XmlUnknownEntity {
            line: line_at(state.text.as_bytes(), offset as usize),
            offset,
            name: name.chars().take(64).collect(),
        }),
    }
}

impl State<'_> {
    fn line(&self, offset: u64) -> u64 {
        self.lines.line(usize::try_from(offset).unwrap_or(usize::MAX))
    }

    fn xml_error(&self, offset: u64, message: String) -> ListError {
        ListError::Xml { line: self.line(offset), offset, message }
    }

    fn open(&mut self, name: String, offset: u64) -> Result<(), ListError> {
        if self.stack.len() >= self.config.max_xml_depth {
            return Err(ListError::XmlTooDeep { line: self.line(offset), offset, limit: self.config.max_xml_depth });
        }
        self.stack.push(name);
        let depth = self.stack.len();
        let name = self.stack.last().cloned().unwrap_or_default();
        match depth {
            3 => {
                let entity_type = match name.as_str() {
                    "INDIVIDUAL" => Some(EntityType::Individual),
                    "ENTITY" => Some(EntityType::Entity),
                    _ => None,
                };
                if let Some(entity_type) = entity_type {
                    if self.entries.len() >= self.config.max_records {
                        return Err(ListError::TooManyRecords { limit: self.config.max_records });
                    }
                    self.record = Some(Record { entity_type, offset, fields: Vec::new(), groups: Vec::new() });
                }
            }
            4 if self.record.is_some() => {
                self.open4 = Some(Open4 { name, text: String::new(), children: Vec::new() });
            }
            5 if self.open4.is_some() => self.open5 = Some((name, String::new())),
            _ => {}
        }
        Ok(())
    }

    fn close(&mut self, offset: u64) -> Result<(), ListError> {
        let depth = self.stack.len();
        match depth {
            5 => {
                if let (Some(field), Some(open4)) = (self.open5.take(), self.open4.as_mut()) {
                    open4.children.push(field);
                }
            }
            4 => {
                if let (Some(open4), Some(record)) = (self.open4.take(), self.record.as_mut()) {
                    if open4.children.is_empty() {
                        record.fields.push((open4.name, open4.text));
                    } else {
                        record.groups.push(Group { name: open4.name, fields: open4.children });
                    }
                }
            }
            3 => {
                if let Some(record) = self.record.take() {
                    let line = self.line(record.offset);
                    let entry = to_entry(record, line)?;
                    if let Some(first_line) = self.seen_ids.get(&entry.entity_id) {
                        return Err(ListError::DuplicateId { line, id: entry.entity_id, first_line: *first_line });
                    }
                    self.seen_ids.insert(entry.entity_id.clone(), line);
                    self.entries.push(entry);
                }
            }
            0 => {
                return Err(self.xml_error(offset, "closing tag without an opening tag".to_owned()));
            }
            _ => {}
        }
        self.stack.pop();
        Ok(())
    }

    fn push_text(&mut self, s: &str, offset: u64) -> Result<(), ListError> {
        let limit = self.config.max_field_bytes;
        let target = match (self.open5.as_mut(), self.open4.as_mut()) {
            (Some((name, text)), _) if self.stack.len() == 5 => Some((name, text)),
            (_, Some(open4)) if self.stack.len() == 4 => Some((&mut open4.name, &mut open4.text)),
            _ => None,
        };
        let Some((name, text)) = target else {
            // Text between elements or outside any record: only whitespace is expected, and
            // anything else is ignored; still bounded by the input size.
            return Ok(());
        };
        if text.len() + s.len() > limit {
            let field = name.clone();
            return Err(ListError::FieldTooLarge { line: self.line(offset), field, limit });
        }
        text.push_str(s);
        Ok(())
    }
}

fn field(record: &Record, name: &str) -> Option<String> {
    record.fields.iter().find(|(n, _)| n == name).and_then(|(_, v)| non_empty(v))
}

fn to_entry(record: Record, line: u64) -> Result<Entry, ListError> {
    let id = field(&record, "DATAID").ok_or_else(|| ListError::InvalidField {
        line,
        field: "DATAID".to_owned(),
        reason: "missing or empty".to_owned(),
    })?;
    if id.len() > 64 {
        return Err(ListError::InvalidField {
            line,
            field: "DATAID".to_owned(),
            reason: "longer than 64 characters".to_owned(),
        });
    }
    let name = ["FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME"]
        .iter()
        .filter_map(|n| field(&record, n))
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        return Err(ListError::InvalidField {
            line,
            field: "FIRST_NAME".to_owned(),
            reason: format!("entry {id} has no name"),
        });
    }
    let mut entry = Entry::new(ListKind::Un, id, name);
    entry.entity_type = record.entity_type;
    entry.reference = field(&record, "REFERENCE_NUMBER");
    if let Some(program) = field(&record, "UN_LIST_TYPE") {
        entry.programs.push(program);
    }
    if let Some(original) = field(&record, "NAME_ORIGINAL_SCRIPT") {
        entry.push_alias(&original, AliasQuality::OriginalScript);
    }
    entry.remarks = field(&record, "COMMENTS1");
    entry.gender = match field(&record, "GENDER").map(|g| g.to_ascii_lowercase()).as_deref() {
        Some("male") => Some(Gender::Male),
        Some("female") => Some(Gender::Female),
        _ => None,
    };
    let mut titles = Vec::new();
    for group in &record.groups {
        match group.name.as_str() {
            "NATIONALITY" => {
                for value in group.all("VALUE") {
                    push_unique(&mut entry.nationalities, CountryRef::from_text(&value));
                }
            }
            "TITLE" | "DESIGNATION" => titles.extend(group.all("VALUE")),
            "INDIVIDUAL_ALIAS" | "ENTITY_ALIAS" => {
                if let Some(alias) = group.get("ALIAS_NAME") {
                    let quality = match group.get("QUALITY").map(|q| q.to_ascii_lowercase()).as_deref() {
                        Some("low") => AliasQuality::Weak,
                        Some("f.k.a.") | Some("fka") => AliasQuality::Fka,
                        Some("n.k.a.") | Some("nka") => AliasQuality::Nka,
                        _ => AliasQuality::Strong,
                    };
                    entry.push_alias(&alias, quality);
                }
                if let Some(dob) = group.get("DATE_OF_BIRTH") {
                    push_unique(&mut entry.dates_of_birth, crate::dates::parse_dob(&dob));
                }
            }
            "INDIVIDUAL_ADDRESS" | "ENTITY_ADDRESS" => {
                let text = ["STREET", "CITY", "STATE_PROVINCE", "ZIP_CODE"]
                    .iter()
                    .filter_map(|n| group.get(n))
                    .collect::<Vec<_>>()
                    .join(", ");
                let country = group.get("COUNTRY").map(|c| CountryRef::from_text(&c));
                entry.push_address(Address { text, country });
            }
            "INDIVIDUAL_DATE_OF_BIRTH" => {
                if let Some(dob) = date_of_birth(group) {
                    push_unique(&mut entry.dates_of_birth, dob);
                }
            }
            "INDIVIDUAL_PLACE_OF_BIRTH" => {
                let text = ["CITY", "STATE_PROVINCE", "COUNTRY"]
                    .iter()
                    .filter_map(|n| group.get(n))
                    .collect::<Vec<_>>()
                    .join(", ");
                if !text.is_empty() {
                    let country = group.get("COUNTRY").map(|c| CountryRef::from_text(&c));
                    push_unique(&mut entry.places_of_birth, PlaceOfBirth { text, country });
                }
            }
            "INDIVIDUAL_DOCUMENT" => {
                if let Some(id) = document(group) {
                    push_unique(&mut entry.identifiers, id);
                }
            }
            _ => {}
        }
    }
    if !titles.is_empty() {
        entry.title = Some(titles.join("; "));
    }
    Ok(entry)
}

fn date_of_birth(group: &Group) -> Option<DateOfBirth> {
    let kind = group.get("TYPE_OF_DATE").map(|k| k.to_ascii_uppercase()).unwrap_or_default();
    let approximate = kind == "APPROXIMATELY";
    let year = |name: &str| group.get(name).and_then(|y| parse_partial(&y)).filter(|d| d.month.is_none());
    if let (Some(from), Some(to)) = (year("FROM_YEAR"), year("TO_YEAR"))
        && from <= to
    {
        return Some(DateOfBirth::Range { from, to, approximate });
    }
    for name in ["DATE", "YEAR"] {
        if let Some(raw) = group.get(name) {
            return Some(match parse_partial(&raw) {
                Some(date) => DateOfBirth::Date { date, approximate },
                None => DateOfBirth::Text { text: raw },
            });
        }
    }
    let text = group
        .fields
        .iter()
        .filter(|(n, _)| n != "TYPE_OF_DATE")
        .filter_map(|(_, v)| non_empty(v))
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        return None;
    }
    // Only a NOTE such as `Nov. 1973`: read it like a list's free-text date.
    Some(match crate::dates::parse_dob(&text) {
        DateOfBirth::Date { date, approximate: a } => DateOfBirth::Date { date, approximate: a || approximate },
        DateOfBirth::Range { from, to, approximate: a } => {
            DateOfBirth::Range { from, to, approximate: a || approximate }
        }
        text => text,
    })
}

fn document(group: &Group) -> Option<Identifier> {
    let number = group.get("NUMBER")?;
    let kinds: Vec<String> = ["TYPE_OF_DOCUMENT", "TYPE_OF_DOCUMENT2"]
        .iter()
        .filter_map(|n| group.get(n))
        .map(|k| k.trim_end_matches([':', ' ']).to_owned())
        .collect();
    let kind = if kinds.is_empty() { "Document".to_owned() } else { kinds.join(" / ") };
    let lower = kind.to_lowercase();
    let category = if ["passport", "pasaporte", "passeport"].iter().any(|k| lower.contains(k)) {
        IdCategory::Passport
    } else if ["identification", "identity", "id card", "national id", "tazkira", "social security"]
        .iter()
        .any(|k| lower.contains(k))
    {
        IdCategory::NationalId
    } else if lower.contains("tax") {
        IdCategory::TaxId
    } else {
        IdCategory::Other
    };
    let country =
        group.get("ISSUING_COUNTRY").or_else(|| group.get("COUNTRY_OF_ISSUE")).map(|c| CountryRef::from_text(&c));
    let mut notes = Vec::new();
    if let Some(date) = group.get("DATE_OF_ISSUE") {
        notes.push(format!("issued {date}"));
    }
    if let Some(city) = group.get("CITY_OF_ISSUE") {
        notes.push(format!("issued in {city}"));
    }
    notes.extend(group.get("NOTE"));
    Some(Identifier { kind, category, number, country, note: (!notes.is_empty()).then(|| notes.join("; ")) })
}
