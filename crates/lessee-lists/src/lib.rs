//! Government screening lists, parsed into one normalized [`Entry`] model.
//!
//! Formats: OFAC SDN legacy CSV (SDN + ALT + ADD files, [`parse_ofac`]), the UN Security Council
//! Consolidated List XML, the BIS Denied Persons List, the trade.gov Consolidated Screening List
//! CSV, and a documented custom CSV for a provider's own list. [`detect`] recognises each by
//! content; [`parse`] detects and parses; [`diff`] compares two versions.
//!
//! Invariants: this crate does no I/O (callers pass bytes in) and never panics on input. Input is
//! hostile until parsed: it is refused with a [`ListError`] naming the line or byte when it is
//! empty, too large, not UTF-8 (OFAC's Windows-1252 excepted, see [`Cp1252Fallback`]), binary,
//! truncated, malformed, or when an XML document declares entities. Limits are in
//! [`ParseConfig`].
#![forbid(unsafe_code)]

mod bis;
mod common;
pub mod country;
mod csl;
mod custom;
mod dates;
mod delimited;
mod detect;
mod diff;
mod error;
mod model;
mod ofac;
mod remarks;
mod text;
mod un;

pub use common::version_digest;
pub use dates::parse_dob;
pub use detect::detect;
pub use diff::{Change, Diff, changed_fields, diff};
pub use error::ListError;
pub use model::{
    Address, Alias, AliasQuality, CountryRef, DateOfBirth, EntityType, Entry, Format, Gender, IdCategory, Identifier,
    InputDigest, ListFile, ListKind, PartialDate, PlaceOfBirth, Vessel, Warning,
};

/// When non-UTF-8 input may be read as Windows-1252 (which covers printable Latin-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cp1252Fallback {
    /// Only for the OFAC legacy CSV files, which Treasury has published in Windows-1252.
    #[default]
    OfacOnly,
    /// Never: every input must be UTF-8.
    Never,
    /// For every delimited format (OFAC, BIS DPL, CSL, custom); never for XML.
    AllDelimited,
}

/// Limits and decoding policy. The defaults fit the real lists with a wide margin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseConfig {
    /// Largest input accepted, in bytes (per file). Default 256 MiB.
    pub max_input_bytes: usize,
    /// Largest single field or XML element text, in bytes. Default 64 KiB (OFAC remarks stop at
    /// 1,000 characters; the longest UN comment is under 2 KiB).
    pub max_field_bytes: usize,
    /// Most fields in one delimited row. Default 256.
    pub max_fields_per_row: usize,
    /// Most records (rows or XML entries) in one file. Default 2,000,000.
    pub max_records: usize,
    /// Deepest XML element nesting. Default 16 (the UN list needs 5).
    pub max_xml_depth: usize,
    /// Most warnings kept in a [`ListFile`]; the rest are counted. Default 1,000.
    pub max_warnings: usize,
    pub cp1252_fallback: Cp1252Fallback,
}

impl Default for ParseConfig {
    fn default() -> Self {
        ParseConfig {
            max_input_bytes: 256 * 1024 * 1024,
            max_field_bytes: 64 * 1024,
            max_fields_per_row: 256,
            max_records: 2_000_000,
            max_xml_depth: 16,
            max_warnings: 1_000,
            cp1252_fallback: Cp1252Fallback::OfacOnly,
        }
    }
}

/// Parses lists under one [`ParseConfig`]. The free functions use the default configuration.
#[derive(Debug, Clone, Default)]
pub struct Parser {
    pub config: ParseConfig,
}

impl Parser {
    pub fn new(config: ParseConfig) -> Self {
        Parser { config }
    }

    /// Detects the format by content and parses it. OFAC ALT and ADD files are refused on their
    /// own: they only make sense with their SDN file ([`Parser::ofac`]).
    pub fn parse(&self, bytes: &[u8]) -> Result<ListFile, ListError> {
        if bytes.len() > self.config.max_input_bytes {
            return Err(ListError::TooLarge { size: bytes.len(), limit: self.config.max_input_bytes });
        }
        match detect(bytes) {
            Some(Format::OfacSdn) => self.ofac(bytes, None, None),
            Some(format @ (Format::OfacAlt | Format::OfacAdd)) => Err(ListError::WrongFormat {
                expected: Format::OfacSdn,
                found: format!("{format} (parse it together with its SDN file)"),
            }),
            Some(Format::UnXml) => self.un(bytes),
            Some(Format::BisDpl) => self.bis_dpl(bytes),
            Some(Format::Csl) => self.csl(bytes),
            Some(Format::Custom) => self.custom(bytes),
            // Let decoding name the problem (empty, UTF-16, binary...) when there is one.
            None => text::decode(bytes, &self.config, true).and(Err(ListError::UnknownFormat)),
        }
    }

    /// OFAC SDN with its optional ALT (aliases) and ADD (addresses) files.
    pub fn ofac(&self, sdn: &[u8], alt: Option<&[u8]>, add: Option<&[u8]>) -> Result<ListFile, ListError> {
        ofac::parse(sdn, alt, add, &self.config)
    }

    pub fn un(&self, bytes: &[u8]) -> Result<ListFile, ListError> {
        un::parse(bytes, &self.config)
    }

    pub fn bis_dpl(&self, bytes: &[u8]) -> Result<ListFile, ListError> {
        bis::parse(bytes, &self.config)
    }

    pub fn csl(&self, bytes: &[u8]) -> Result<ListFile, ListError> {
        csl::parse(bytes, &self.config)
    }

    pub fn custom(&self, bytes: &[u8]) -> Result<ListFile, ListError> {
        custom::parse(bytes, &self.config)
    }
}

/// [`Parser::parse`] with the default configuration.
pub fn parse(bytes: &[u8]) -> Result<ListFile, ListError> {
    Parser::default().parse(bytes)
}

/// [`Parser::ofac`] with the default configuration.
pub fn parse_ofac(sdn: &[u8], alt: Option<&[u8]>, add: Option<&[u8]>) -> Result<ListFile, ListError> {
    Parser::default().ofac(sdn, alt, add)
}

/// [`Parser::un`] with the default configuration.
pub fn parse_un(bytes: &[u8]) -> Result<ListFile, ListError> {
    Parser::default().un(bytes)
}

/// [`Parser::bis_dpl`] with the default configuration.
pub fn parse_bis_dpl(bytes: &[u8]) -> Result<ListFile, ListError> {
    Parser::default().bis_dpl(bytes)
}

/// [`Parser::csl`] with the default configuration.
pub fn parse_csl(bytes: &[u8]) -> Result<ListFile, ListError> {
    Parser::default().csl(bytes)
}

/// [`Parser::custom`] with the default configuration.
pub fn parse_custom(bytes: &[u8]) -> Result<ListFile, ListError> {
    Parser::default().custom(bytes)
}
