//! The normalized entry model every list parser produces.

use std::fmt;

use lessee_domain::Country;
use serde::{Deserialize, Serialize};

/// Which government (or provider) list an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// OFAC Specially Designated Nationals (legacy CSV: SDN + ALT + ADD files).
    OfacSdn,
    /// UN Security Council Consolidated List (XML).
    Un,
    /// Commerce BIS Denied Persons List (tab-separated).
    BisDpl,
    /// trade.gov Consolidated Screening List (CSV).
    Csl,
    /// A provider's own list in the documented custom CSV format.
    Custom,
}

impl ListKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ListKind::OfacSdn => "ofac_sdn",
            ListKind::Un => "un",
            ListKind::BisDpl => "bis_dpl",
            ListKind::Csl => "csl",
            ListKind::Custom => "custom",
        }
    }
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file format recognised by [`crate::detect`]. OFAC publishes one list as three files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// OFAC `sdn.csv`: the primary records.
    OfacSdn,
    /// OFAC `alt.csv`: alternate names, keyed by ent_num.
    OfacAlt,
    /// OFAC `add.csv`: addresses, keyed by ent_num.
    OfacAdd,
    /// UN consolidated list XML.
    UnXml,
    /// BIS Denied Persons List, tab-separated with a header row.
    BisDpl,
    /// trade.gov Consolidated Screening List CSV with a header row.
    Csl,
    /// The documented custom CSV format.
    Custom,
}

impl Format {
    /// The list this file belongs to.
    pub fn list_kind(&self) -> ListKind {
        match self {
            Format::OfacSdn | Format::OfacAlt | Format::OfacAdd => ListKind::OfacSdn,
            Format::UnXml => ListKind::Un,
            Format::BisDpl => ListKind::BisDpl,
            Format::Csl => ListKind::Csl,
            Format::Custom => ListKind::Custom,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Format::OfacSdn => "OFAC SDN",
            Format::OfacAlt => "OFAC ALT",
            Format::OfacAdd => "OFAC ADD",
            Format::UnXml => "UN XML",
            Format::BisDpl => "BIS DPL",
            Format::Csl => "CSL",
            Format::Custom => "custom CSV",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of party an entry designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    Individual,
    Entity,
    Vessel,
    Aircraft,
    /// The list does not say (BIS DPL, parts of the CSL).
    #[default]
    Unknown,
}

/// How much weight a list gives an alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AliasQuality {
    /// A good-quality a.k.a. (OFAC ALT `aka`, UN `Good` / `a.k.a.`, CSL and custom aliases).
    Strong,
    /// A low-quality a.k.a. (OFAC a.k.a. in remarks, UN `Low`): screen with care, many false hits.
    Weak,
    /// Formerly known as.
    Fka,
    /// Now known as.
    Nka,
    /// The name in its original (non-Latin) script.
    OriginalScript,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Alias {
    pub name: String,
    pub quality: AliasQuality,
}

/// A country as the list wrote it, with its ISO 3166-1 alpha-2 code where it could be mapped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CountryRef {
    /// The text as it appears in the list (`Korea, North`, `Iran (Islamic Republic of)`, `SY`).
    pub name: String,
    /// The mapped code, `None` for regions and historic or unknown names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Country>,
}

impl CountryRef {
    /// Maps a country name or alpha-2 code as written in a list.
    pub fn from_text(text: &str) -> Self {
        let name = text.trim().to_owned();
        let code = crate::country::lookup(&name);
        CountryRef { name, code }
    }
}

/// A calendar date of which the month and day may be unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartialDate {
    pub year: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<u8>,
}

impl PartialDate {
    /// A validated date: year 1000..=2999, month 1..=12, day within the month. A day needs a month.
    pub fn new(year: u16, month: Option<u8>, day: Option<u8>) -> Option<Self> {
        if !(1000..=2999).contains(&year) {
            return None;
        }
        match (month, day) {
            (None, Some(_)) => None,
            (Some(m), _) if !(1..=12).contains(&m) => None,
            (Some(m), Some(d)) if d == 0 || d > days_in_month(year, m) => None,
            _ => Some(PartialDate { year, month, day }),
        }
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
            if let Some(d) = self.day {
                write!(f, "-{d:02}")?;
            }
        }
        Ok(())
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        _ => 31,
    }
}

/// A date of birth as lists give them: a (partial) date, a range, or text that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DateOfBirth {
    /// `28 Oct 1983`, `Oct 1983`, `1984`, `circa 1970` (approximate).
    Date {
        date: PartialDate,
        #[serde(default)]
        approximate: bool,
    },
    /// `1970 to 1972`, `01 Jan 1960 to 31 Dec 1962`, UN `BETWEEN`.
    Range {
        from: PartialDate,
        to: PartialDate,
        #[serde(default)]
        approximate: bool,
    },
    /// Kept verbatim because it could not be read as a date.
    Text { text: String },
}

/// A place of birth, with the country when the text names one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlaceOfBirth {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Address {
    /// Street, city, region and postal code joined with `, ` (without the country).
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryRef>,
}

/// The broad kind of an identifier, so that matchers can compare like with like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdCategory {
    Passport,
    NationalId,
    TaxId,
    Registration,
    Bank,
    Vessel,
    Aircraft,
    DigitalCurrency,
    Website,
    Email,
    Phone,
    Other,
}

impl IdCategory {
    pub fn as_str(&self) -> &'static str {
        match self {
            IdCategory::Passport => "passport",
            IdCategory::NationalId => "national_id",
            IdCategory::TaxId => "tax_id",
            IdCategory::Registration => "registration",
            IdCategory::Bank => "bank",
            IdCategory::Vessel => "vessel",
            IdCategory::Aircraft => "aircraft",
            IdCategory::DigitalCurrency => "digital_currency",
            IdCategory::Website => "website",
            IdCategory::Email => "email",
            IdCategory::Phone => "phone",
            IdCategory::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        const ALL: [IdCategory; 12] = [
            IdCategory::Passport,
            IdCategory::NationalId,
            IdCategory::TaxId,
            IdCategory::Registration,
            IdCategory::Bank,
            IdCategory::Vessel,
            IdCategory::Aircraft,
            IdCategory::DigitalCurrency,
            IdCategory::Website,
            IdCategory::Email,
            IdCategory::Phone,
            IdCategory::Other,
        ];
        let s = s.trim();
        ALL.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(s))
    }
}

/// A document or registration number, website, e-mail address...
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identifier {
    /// The list's own label (`Passport`, `Cedula No.`, `Tax ID No.`, `Digital Currency Address - XBT`).
    pub kind: String,
    pub category: IdCategory,
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryRef>,
    /// Issue/expiry dates and other notes, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

/// Vessel particulars (OFAC, CSL).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Vessel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_sign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vessel_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tonnage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gross_registered_tonnage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<CountryRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl Vessel {
    pub(crate) fn is_empty(&self) -> bool {
        *self == Vessel::default()
    }
}

/// One designated party, the same shape whatever list it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub list: ListKind,
    /// The list's own identifier: OFAC ent_num, UN DATAID, CSL `source:entity_number`, or a
    /// content-derived row key for lists without ids (BIS DPL, parts of the CSL).
    pub entity_id: String,
    pub entity_type: EntityType,
    /// The primary name as the list writes it (OFAC: `SURNAME, Given Names`).
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<Alias>,
    #[serde(default)]
    pub dates_of_birth: Vec<DateOfBirth>,
    #[serde(default)]
    pub places_of_birth: Vec<PlaceOfBirth>,
    #[serde(default)]
    pub nationalities: Vec<CountryRef>,
    #[serde(default)]
    pub citizenships: Vec<CountryRef>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    /// The distinct countries of the addresses (and of the custom list's `country` column).
    #[serde(default)]
    pub countries: Vec<CountryRef>,
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
    /// Sanctions programs (OFAC `SDGT`, `CYBER2`; UN list type `DRC`, `Al-Qaida`).
    #[serde(default)]
    pub programs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// Title or designation (`Minister of Information`, `Maulavi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Parties this entry is linked to (OFAC `Linked To:`).
    #[serde(default)]
    pub linked_to: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vessel: Option<Vessel>,
    /// The list's human-facing reference (UN reference number such as `CDi.001`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// For aggregated lists, the underlying list (CSL `source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The list's free-text remarks, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<String>,
}

impl Entry {
    pub(crate) fn new(list: ListKind, entity_id: String, name: String) -> Self {
        Entry {
            list,
            entity_id,
            entity_type: EntityType::Unknown,
            name,
            aliases: Vec::new(),
            dates_of_birth: Vec::new(),
            places_of_birth: Vec::new(),
            nationalities: Vec::new(),
            citizenships: Vec::new(),
            addresses: Vec::new(),
            countries: Vec::new(),
            identifiers: Vec::new(),
            programs: Vec::new(),
            gender: None,
            title: None,
            linked_to: Vec::new(),
            vessel: None,
            reference: None,
            source: None,
            remarks: None,
        }
    }

    /// Adds an alias unless the same name with the same quality is already there or it is the
    /// primary name.
    pub(crate) fn push_alias(&mut self, name: &str, quality: AliasQuality) {
        let name = crate::text::clean(name);
        if name.is_empty() || (name == self.name && quality == AliasQuality::Strong) {
            return;
        }
        if !self.aliases.iter().any(|a| a.name == name && a.quality == quality) {
            self.aliases.push(Alias { name, quality });
        }
    }

    /// Adds an address and records its country in `countries`.
    pub(crate) fn push_address(&mut self, address: Address) {
        if address.text.is_empty() && address.country.is_none() {
            return;
        }
        if let Some(country) = &address.country {
            push_unique(&mut self.countries, country.clone());
        }
        push_unique(&mut self.addresses, address);
    }
}

pub(crate) fn push_unique<T: PartialEq>(v: &mut Vec<T>, item: T) {
    if !v.contains(&item) {
        v.push(item);
    }
}

/// The SHA-256 of one input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputDigest {
    pub format: Format,
    pub bytes: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// Something odd in the input that did not stop the parse (an OFAC alias for an unknown ent_num...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub format: Format,
    pub line: u64,
    pub message: String,
}

/// One parsed list version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFile {
    pub kind: ListKind,
    pub entries: Vec<Entry>,
    /// SHA-256 (lower-case hex) identifying this list version: the input file's digest, or for
    /// OFAC's several files the digest of their digests (see [`crate::version_digest`]).
    pub source_sha256: String,
    /// Each input file's own digest, in the order given.
    pub inputs: Vec<InputDigest>,
    /// When the publisher says it generated the list (UN `dateGenerated`), verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Non-fatal findings, at most [`crate::ParseConfig::max_warnings`].
    #[serde(default)]
    pub warnings: Vec<Warning>,
}
