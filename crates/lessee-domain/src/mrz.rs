//! ICAO Doc 9303 machine-readable zones (MRZ): parsing, check digits, and consistency with
//! the data of an application.
//!
//! Formats (detected from the number and length of the lines and the first character):
//!
//! | format | lines | first character | composite check digit |
//! | --- | --- | --- | --- |
//! | TD1 (ID cards) | 3 x 30 | any | yes |
//! | TD2 | 2 x 36 | not `V` | yes |
//! | TD3 (passports) | 2 x 44 | not `V` | yes, plus the personal-number check digit |
//! | MRV-A (visa) | 2 x 44 | `V` | no |
//! | MRV-B (visa) | 2 x 36 | `V` | no |
//!
//! Every check (check digits, calendar validity of the dates, the sex code) is reported on its
//! own in [`Mrz::checks`]; [`Mrz::valid`] is true when all pass. Input that is not an MRZ at
//! all (wrong number of lines, wrong lengths, characters outside `A-Z 0-9 <`) is a
//! [`MrzError`]. Nothing here panics, whatever the input.
//!
//! # Centuries
//!
//! Dates are `YYMMDD`; the century is chosen against a reference date the caller passes in
//! (this crate reads no clock):
//!
//! * date of birth: `20YY` unless that would be after the reference date, then `19YY`
//!   (a date of birth is never in the future; people older than 100 are placed a century late);
//! * date of expiry: the year ending in `YY` within `[reference year - 50, reference year + 49]`
//!   (for a reference in 2026: 1976 to 2075).
//!
//! A date of birth that is unknown in whole or in part may be written with fillers
//! (`<<<<<<`, `YY<<<<`, `YYMM<<`); it is then accepted with no date.
//!
//! # Long document numbers
//!
//! In TD1 (Doc 9303-5 § 4.2.4) and TD2 (Doc 9303-6 § 4.2.4, note j), a document number longer
//! than 9 characters is written as its first 9 characters, a `<` in the check-digit position,
//! and the rest of the number followed by its check digit at the start of the optional-data
//! field. The check digit then covers the whole number.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use crate::country::Country;

/// The layout of an MRZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MrzFormat {
    /// 3 lines of 30 (identity cards).
    Td1,
    /// 2 lines of 36.
    Td2,
    /// 2 lines of 44 (passports).
    Td3,
    /// 2 lines of 44, visa.
    MrvA,
    /// 2 lines of 36, visa.
    MrvB,
}

impl MrzFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            MrzFormat::Td1 => "TD1",
            MrzFormat::Td2 => "TD2",
            MrzFormat::Td3 => "TD3",
            MrzFormat::MrvA => "MRV-A",
            MrzFormat::MrvB => "MRV-B",
        }
    }

    /// Number of lines and characters per line.
    pub fn shape(self) -> (usize, usize) {
        match self {
            MrzFormat::Td1 => (3, 30),
            MrzFormat::Td2 | MrzFormat::MrvB => (2, 36),
            MrzFormat::Td3 | MrzFormat::MrvA => (2, 44),
        }
    }
}

impl fmt::Display for MrzFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not an MRZ at all. (A well-formed MRZ with wrong check digits parses; its
/// failed checks are in [`Mrz::checks`].)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum MrzError {
    #[error("the MRZ is empty")]
    Empty,
    #[error("an MRZ has 2 or 3 lines (3 x 30, 2 x 36 or 2 x 44), found {found}")]
    LineCount { found: usize },
    #[error("line {line}, column {column}: `{found}` is not an MRZ character (only A-Z, 0-9 and < are)")]
    BadCharacter { line: usize, column: usize, found: String },
    #[error("line {line} has {found} characters; a {lines}-line MRZ has lines of {expected}")]
    LineLength { line: usize, found: usize, lines: usize, expected: usize },
    #[error("line 1 has {found} characters; a 2-line MRZ has lines of 36 (TD2, MRV-B) or 44 (TD3, MRV-A)")]
    UnknownLength { found: usize },
}

/// What an issuing-state or nationality code stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateCodeKind {
    /// An ISO 3166-1 alpha-3 code, or an ICAO alias of one (`D` for Germany, `RKS` for Kosovo).
    Country,
    /// `GBD`, `GBN`, `GBO`, `GBP`, `GBS`: the British nationality classes (mapped to GB).
    BritishNationality,
    /// `UNO`, `UNA`: United Nations officials; `UNK`: issued by UNMIK for Kosovo (mapped to XK).
    UnitedNations,
    /// `XXA`: stateless person (1954 Convention).
    Stateless,
    /// `XXB`, `XXC`: refugee (1951 Convention or otherwise).
    Refugee,
    /// `XXX`: nationality unspecified.
    Unspecified,
    /// `EUE`, `XOM`, `XPO`, `XCC` and the other ICAO organisation codes.
    Organization,
    /// Not a code this module knows (the ICAO specimen state `UTO` is one).
    Unknown,
}

/// An issuing-state or nationality code as printed in the MRZ, with the country it maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StateCode {
    /// The code as printed, trailing fillers removed: `DEU`, `D`, `GBN`, `XXA`.
    pub code: String,
    /// The ISO 3166-1 alpha-2 country the code stands for, if any.
    pub country: Option<Country>,
    pub kind: StateCodeKind,
}

/// ICAO codes that are not ISO 3166-1 alpha-3 codes: (code, alpha-2, kind).
const ICAO_SPECIAL_CODES: &[(&str, Option<&str>, StateCodeKind)] = &[
    ("D", Some("DE"), StateCodeKind::Country),
    ("RKS", Some("XK"), StateCodeKind::Country),
    ("GBD", Some("GB"), StateCodeKind::BritishNationality),
    ("GBN", Some("GB"), StateCodeKind::BritishNationality),
    ("GBO", Some("GB"), StateCodeKind::BritishNationality),
    ("GBP", Some("GB"), StateCodeKind::BritishNationality),
    ("GBS", Some("GB"), StateCodeKind::BritishNationality),
    ("UNO", None, StateCodeKind::UnitedNations),
    ("UNA", None, StateCodeKind::UnitedNations),
    ("UNK", Some("XK"), StateCodeKind::UnitedNations),
    ("XXA", None, StateCodeKind::Stateless),
    ("XXB", None, StateCodeKind::Refugee),
    ("XXC", None, StateCodeKind::Refugee),
    ("XXX", None, StateCodeKind::Unspecified),
    ("EUE", None, StateCodeKind::Organization),
    ("XOM", None, StateCodeKind::Organization),
    ("XPO", None, StateCodeKind::Organization),
    ("XCC", None, StateCodeKind::Organization),
    ("XBA", None, StateCodeKind::Organization),
    ("XIM", None, StateCodeKind::Organization),
    ("XCE", None, StateCodeKind::Organization),
    ("XDC", None, StateCodeKind::Organization),
    ("XEC", None, StateCodeKind::Organization),
    ("XES", None, StateCodeKind::Organization),
    ("XMP", None, StateCodeKind::Organization),
];

impl StateCode {
    /// Interprets a 1-3 letter code (fillers allowed: `D<<`).
    pub fn from_code(raw: &str) -> StateCode {
        let code = raw.trim().trim_end_matches('<').to_owned();
        if let Some((_, a2, kind)) = ICAO_SPECIAL_CODES.iter().find(|(c, _, _)| *c == code) {
            return StateCode { country: a2.and_then(|a| Country::parse(a).ok()), code, kind: *kind };
        }
        let country = if code.len() == 3 { Country::from_alpha3(&code) } else { None };
        let kind = if country.is_some() { StateCodeKind::Country } else { StateCodeKind::Unknown };
        StateCode { code, country, kind }
    }
}

impl fmt::Display for StateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.country {
            Some(c) if c.alpha3() != self.code => write!(f, "{} ({c})", self.code),
            _ => f.write_str(&self.code),
        }
    }
}

/// The sex field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    /// `X` or `<`.
    Unspecified,
    /// Any other character (fails the `sex_valid` check).
    Invalid,
}

/// The name of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    DocumentNumberCheckDigit,
    DateOfBirthCheckDigit,
    DateOfExpiryCheckDigit,
    /// TD3 only: the personal number (optional data) check digit; `<` is accepted when the
    /// field is empty.
    PersonalNumberCheckDigit,
    /// TD1, TD2 and TD3; visas have none.
    CompositeCheckDigit,
    /// The date of birth is a calendar date (or is written as unknown with fillers).
    DateOfBirthValid,
    /// The date of expiry is a calendar date.
    DateOfExpiryValid,
    /// The sex is `F`, `M`, `X` or `<`.
    SexValid,
}

impl CheckName {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::DocumentNumberCheckDigit => "document_number_check_digit",
            CheckName::DateOfBirthCheckDigit => "date_of_birth_check_digit",
            CheckName::DateOfExpiryCheckDigit => "date_of_expiry_check_digit",
            CheckName::PersonalNumberCheckDigit => "personal_number_check_digit",
            CheckName::CompositeCheckDigit => "composite_check_digit",
            CheckName::DateOfBirthValid => "date_of_birth_valid",
            CheckName::DateOfExpiryValid => "date_of_expiry_valid",
            CheckName::SexValid => "sex_valid",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Check {
    pub name: CheckName,
    pub passed: bool,
    /// Why it failed (or a note, such as an unknown date of birth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A parsed machine-readable zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Mrz {
    pub format: MrzFormat,
    /// Document code, fillers removed: `P`, `I`, `ID`, `V`, ...
    pub document_code: String,
    pub issuing_state: StateCode,
    /// Primary identifier, `<` replaced by spaces: `ERIKSSON`, `VAN DER BERG`.
    pub surname: String,
    /// Secondary identifier, `<` replaced by spaces: `ANNA MARIA`.
    pub given_names: String,
    /// The name field is full to its last character, so the name may have been truncated.
    pub name_possibly_truncated: bool,
    /// Document number, trailing fillers removed, including any overflow of a long number.
    pub document_number: String,
    pub nationality: StateCode,
    /// `None` when the date is invalid or written as unknown; see `date_of_birth_raw`.
    pub date_of_birth: Option<NaiveDate>,
    /// The `YYMMDD` field as printed.
    pub date_of_birth_raw: String,
    pub sex: Sex,
    /// `None` when the date is invalid; see `date_of_expiry_raw`.
    pub date_of_expiry: Option<NaiveDate>,
    pub date_of_expiry_raw: String,
    /// Optional data, trailing fillers removed: the personal number in TD3; in TD1 the data of
    /// line 1 (after any document-number overflow); in TD2 after any overflow.
    pub optional_data: String,
    /// TD1 only: the optional data of line 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional_data_2: Option<String>,
    /// Every check, in MRZ order.
    pub checks: Vec<Check>,
    /// True when every check passed.
    pub valid: bool,
}

/// Facts an application states about the holder, to compare with the MRZ. Fields left `None`
/// (or blank) are not compared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub family_name: Option<String>,
    /// All given names (and middle names), space separated.
    pub given_names: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub nationality: Option<Country>,
    pub document_number: Option<String>,
}

/// Which field disagrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MismatchField {
    FamilyName,
    GivenNames,
    DateOfBirth,
    Nationality,
    DocumentNumber,
}

/// A disagreement between the MRZ and the application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Mismatch {
    pub field: MismatchField,
    /// What the application says.
    pub expected: String,
    /// What the MRZ says.
    pub found: String,
}

/// The ICAO 9303 check digit (weights 7, 3, 1; `<` = 0, `0`-`9`, `A` = 10 ... `Z` = 35) of a
/// field, or `None` if the field holds another character.
pub fn check_digit(field: &str) -> Option<u8> {
    let mut sum: u32 = 0;
    for (c, weight) in field.chars().zip([7u32, 3, 1].into_iter().cycle()) {
        let value = match c {
            '<' => 0,
            '0'..='9' | 'A'..='Z' => c.to_digit(36)?,
            _ => return None,
        };
        sum = (sum + value * weight) % 10;
    }
    u8::try_from(sum).ok()
}

/// Lines of a well-formed MRZ (ASCII only), addressed by 1-based inclusive positions as in
/// Doc 9303.
struct Lines<'a>(Vec<&'a str>);

impl<'a> Lines<'a> {
    /// Positions `from..=to` (1-based) of line `line` (1-based); empty if out of range.
    fn span(&self, line: usize, from: usize, to: usize) -> &'a str {
        self.0.get(line.saturating_sub(1)).and_then(|l| l.get(from.saturating_sub(1)..to)).unwrap_or("")
    }

    /// Position `pos` (1-based) of line `line`; `'\0'` if out of range.
    fn at(&self, line: usize, pos: usize) -> char {
        self.span(line, pos, pos).chars().next().unwrap_or('\0')
    }
}

fn digit_check(name: CheckName, data: &str, found: char) -> Check {
    let computed = check_digit(data);
    let passed = match (computed, found.to_digit(10)) {
        (Some(c), Some(f)) => u32::from(c) == f,
        _ => false,
    };
    let detail = (!passed).then(|| match computed {
        Some(c) => format!("computed {c} over `{data}`, found `{found}`"),
        None => format!("`{data}` holds characters outside A-Z, 0-9 and <"),
    });
    Check { name, passed, detail }
}

fn personal_number_check(data: &str, found: char) -> Check {
    if found == '<' && data.chars().all(|c| c == '<') {
        Check { name: CheckName::PersonalNumberCheckDigit, passed: true, detail: None }
    } else {
        digit_check(CheckName::PersonalNumberCheckDigit, data, found)
    }
}

/// The document number and its check, handling the TD1/TD2 overflow into the optional data.
/// Returns (number, check, optional data left after the overflow).
fn document_number(principal: &str, found: char, optional: &str) -> (String, Check, String) {
    let name = CheckName::DocumentNumberCheckDigit;
    if found != '<' {
        return (
            principal.trim_end_matches('<').to_owned(),
            digit_check(name, principal, found),
            optional.trim_end_matches('<').to_owned(),
        );
    }
    // Long number: the 9 principal characters (no filler among them), then the rest of the
    // number (at least one character) and its check digit at the start of the optional data,
    // then a filler.
    let len = optional.find('<').unwrap_or(optional.len());
    let rest = optional.get(len..).unwrap_or("").trim_matches('<').to_owned();
    let parts = len
        .checked_sub(1)
        .filter(|n| *n > 0 && !principal.contains('<'))
        .and_then(|n| Some((optional.get(..n)?, optional.get(n..len)?)));
    match parts {
        Some((extension, digit)) => {
            let number = format!("{principal}{extension}");
            let digit = digit.chars().next().unwrap_or('\0');
            let check = digit_check(name, &number, digit);
            (number, check, rest)
        }
        None => (
            principal.trim_end_matches('<').to_owned(),
            Check {
                name,
                passed: false,
                detail: Some(
                    "the check digit position holds `<`, but the document number does not \
                     continue in the optional data (9 characters, then at least one more and \
                     a check digit)"
                        .to_owned(),
                ),
            },
            rest,
        ),
    }
}

/// Which century rule applies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DateKind {
    Birth,
    Expiry,
}

fn two_digits(s: &str) -> Option<u32> {
    if s.len() == 2 && s.chars().all(|c| c.is_ascii_digit()) { s.parse().ok() } else { None }
}

fn parse_date(raw: &str, kind: DateKind, reference: NaiveDate) -> (Option<NaiveDate>, Check) {
    let name = match kind {
        DateKind::Birth => CheckName::DateOfBirthValid,
        DateKind::Expiry => CheckName::DateOfExpiryValid,
    };
    let fail = |why: String| (None, Check { name, passed: false, detail: Some(why) });
    let parts =
        (raw.get(0..2).and_then(two_digits), raw.get(2..4).and_then(two_digits), raw.get(4..6).and_then(two_digits));
    let (yy, mm, dd) = match parts {
        (Some(y), Some(m), Some(d)) if raw.len() == 6 => (y, m, d),
        _ => {
            let unknown = ["<<<<<<", "<<<<", "<<"].iter().any(|tail| {
                raw.len() == 6
                    && raw.ends_with(tail)
                    && raw.get(..6 - tail.len()).is_some_and(|head| head.chars().all(|c| c.is_ascii_digit()))
            });
            if kind == DateKind::Birth && unknown {
                return (
                    None,
                    Check { name, passed: true, detail: Some(format!("`{raw}`: date of birth (partly) unknown")) },
                );
            }
            return fail(format!("`{raw}` is not a YYMMDD date"));
        }
    };
    let (ry, rm, rd) = (reference.year(), reference.month(), reference.day());
    let yy = i32::try_from(yy).unwrap_or(0);
    let year = match kind {
        DateKind::Birth => {
            let y = 2000 + yy;
            if (y, mm, dd) > (ry, rm, rd) { y - 100 } else { y }
        }
        DateKind::Expiry => {
            let low = ry - 50;
            low + (yy - low).rem_euclid(100)
        }
    };
    match NaiveDate::from_ymd_opt(year, mm, dd) {
        Some(d) => (Some(d), Check { name, passed: true, detail: None }),
        None => fail(format!("`{raw}` is not a calendar date ({year}-{mm:02}-{dd:02})")),
    }
}

fn parse_sex(c: char) -> (Sex, Check) {
    let sex = match c {
        'F' => Sex::Female,
        'M' => Sex::Male,
        'X' | '<' => Sex::Unspecified,
        _ => Sex::Invalid,
    };
    let passed = sex != Sex::Invalid;
    (sex, Check { name: CheckName::SexValid, passed, detail: (!passed).then(|| format!("`{c}` is not F, M, X or <")) })
}

/// Splits a name field at the first `<<` into (surname, given names), `<` becoming spaces.
fn split_name(field: &str) -> (String, String) {
    let (primary, secondary) = field.split_once("<<").unwrap_or((field, ""));
    let clean = |s: &str| s.split('<').filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" ");
    (clean(primary), clean(secondary))
}

/// Splits input into MRZ lines (blank lines and whitespace around lines ignored) and checks
/// their shape and characters.
fn lines_of(input: &str) -> Result<(MrzFormat, Vec<&str>), MrzError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(MrzError::Empty);
    }
    let lines: Vec<&str> = input.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if !(2..=3).contains(&lines.len()) {
        return Err(MrzError::LineCount { found: lines.len() });
    }
    for (i, line) in lines.iter().enumerate() {
        if let Some((j, c)) =
            line.chars().enumerate().find(|(_, c)| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '<'))
        {
            return Err(MrzError::BadCharacter { line: i + 1, column: j + 1, found: c.to_string() });
        }
    }
    let first = lines.first().copied().unwrap_or("");
    let expected = match lines.len() {
        3 => 30,
        _ => match first.len() {
            36 | 44 => first.len(),
            found => return Err(MrzError::UnknownLength { found }),
        },
    };
    for (i, line) in lines.iter().enumerate() {
        if line.len() != expected {
            return Err(MrzError::LineLength { line: i + 1, found: line.len(), lines: lines.len(), expected });
        }
    }
    let visa = first.starts_with('V');
    let format = match (lines.len(), expected, visa) {
        (3, _, _) => MrzFormat::Td1,
        (_, 36, false) => MrzFormat::Td2,
        (_, 36, true) => MrzFormat::MrvB,
        (_, _, false) => MrzFormat::Td3,
        (_, _, true) => MrzFormat::MrvA,
    };
    Ok((format, lines))
}

impl Mrz {
    /// Parses and checks an MRZ. Lines may be separated by `\n` or `\r\n`; whitespace around
    /// lines and blank lines are ignored. `reference` (normally today) decides the centuries
    /// of the dates (see the module documentation).
    pub fn parse(input: &str, reference: NaiveDate) -> Result<Mrz, MrzError> {
        let (format, lines) = lines_of(input)?;
        let l = Lines(lines);
        let mut checks = Vec::with_capacity(8);

        // The name field, whether it is full, and (line, position) of the document number.
        let (name_field, name_full, doc) = match format {
            MrzFormat::Td1 => (l.span(3, 1, 30), l.at(3, 30) != '<', (1, 6)),
            MrzFormat::Td2 | MrzFormat::MrvB => (l.span(1, 6, 36), l.at(1, 36) != '<', (2, 1)),
            MrzFormat::Td3 | MrzFormat::MrvA => (l.span(1, 6, 44), l.at(1, 44) != '<', (2, 1)),
        };
        let (surname, given_names) = split_name(name_field);

        // The date of birth starts at position `d` of line `dl`; check digit, sex, date of
        // expiry and its check digit follow it in that order in every format.
        let dl = 2;
        let d = match format {
            MrzFormat::Td1 => 1,
            _ => 14,
        };
        let nationality = match format {
            MrzFormat::Td1 => l.span(2, 16, 18),
            _ => l.span(2, 11, 13),
        };

        // Document number, with overflow for TD1 and TD2.
        let (doc_line, doc_pos) = doc;
        let principal = l.span(doc_line, doc_pos, doc_pos + 8);
        let doc_check = l.at(doc_line, doc_pos + 9);
        let overflow_field = match format {
            MrzFormat::Td1 => l.span(1, 16, 30),
            MrzFormat::Td2 => l.span(2, 29, 35),
            _ => "",
        };
        let (document_number, number_check, overflow_rest) = if matches!(format, MrzFormat::Td1 | MrzFormat::Td2) {
            document_number(principal, doc_check, overflow_field)
        } else {
            (
                principal.trim_end_matches('<').to_owned(),
                digit_check(CheckName::DocumentNumberCheckDigit, principal, doc_check),
                String::new(),
            )
        };
        checks.push(number_check);

        let dob_raw = l.span(dl, d, d + 5);
        checks.push(digit_check(CheckName::DateOfBirthCheckDigit, dob_raw, l.at(dl, d + 6)));
        let (date_of_birth, dob_valid) = parse_date(dob_raw, DateKind::Birth, reference);
        checks.push(dob_valid);

        let (sex, sex_check) = parse_sex(l.at(dl, d + 7));
        checks.push(sex_check);

        let exp_raw = l.span(dl, d + 8, d + 13);
        checks.push(digit_check(CheckName::DateOfExpiryCheckDigit, exp_raw, l.at(dl, d + 14)));
        let (date_of_expiry, exp_valid) = parse_date(exp_raw, DateKind::Expiry, reference);
        checks.push(exp_valid);

        let (optional_data, optional_data_2) = match format {
            MrzFormat::Td1 => (overflow_rest, Some(l.span(2, 19, 29).trim_end_matches('<').to_owned())),
            MrzFormat::Td2 => (overflow_rest, None),
            MrzFormat::Td3 => {
                let personal = l.span(2, 29, 42);
                checks.push(personal_number_check(personal, l.at(2, 43)));
                (personal.trim_end_matches('<').to_owned(), None)
            }
            MrzFormat::MrvA => (l.span(2, 29, 44).trim_end_matches('<').to_owned(), None),
            MrzFormat::MrvB => (l.span(2, 29, 36).trim_end_matches('<').to_owned(), None),
        };

        let composite = match format {
            MrzFormat::Td1 => {
                Some(([l.span(1, 6, 30), l.span(2, 1, 7), l.span(2, 9, 15), l.span(2, 19, 29)].concat(), l.at(2, 30)))
            }
            MrzFormat::Td2 => Some(([l.span(2, 1, 10), l.span(2, 14, 20), l.span(2, 22, 35)].concat(), l.at(2, 36))),
            MrzFormat::Td3 => Some(([l.span(2, 1, 10), l.span(2, 14, 20), l.span(2, 22, 43)].concat(), l.at(2, 44))),
            MrzFormat::MrvA | MrzFormat::MrvB => None,
        };
        if let Some((data, found)) = composite {
            checks.push(digit_check(CheckName::CompositeCheckDigit, &data, found));
        }

        let valid = checks.iter().all(|c| c.passed);
        Ok(Mrz {
            format,
            document_code: l.span(1, 1, 2).trim_end_matches('<').to_owned(),
            issuing_state: StateCode::from_code(l.span(1, 3, 5)),
            surname,
            given_names,
            name_possibly_truncated: name_full,
            document_number,
            nationality: StateCode::from_code(nationality),
            date_of_birth,
            date_of_birth_raw: dob_raw.to_owned(),
            sex,
            date_of_expiry,
            date_of_expiry_raw: exp_raw.to_owned(),
            optional_data,
            optional_data_2,
            checks,
            valid,
        })
    }

    /// The checks that failed.
    pub fn failed_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// The outcome of the named check, if this format has it.
    pub fn check(&self, name: CheckName) -> Option<bool> {
        self.checks.iter().find(|c| c.name == name).map(|c| c.passed)
    }

    /// True when the document expired before `on` (it is valid through its expiry date).
    /// False when the expiry date is invalid; that is reported by the `date_of_expiry_valid`
    /// check instead.
    pub fn is_expired(&self, on: NaiveDate) -> bool {
        self.date_of_expiry.is_some_and(|d| d < on)
    }

    /// Compares the MRZ with what an application states. Names are compared in MRZ form
    /// (see [`to_mrz_name`]); the MRZ may also hold the name with diacritics simply stripped
    /// (`MULLER` for Müller) or truncated when its field is full.
    pub fn compare(&self, expected: &Expected) -> Vec<Mismatch> {
        let mut out = Vec::new();
        if let Some(family) = stated(&expected.family_name)
            && !name_matches(&self.surname, family, self.name_possibly_truncated)
        {
            out.push(Mismatch {
                field: MismatchField::FamilyName,
                expected: family.to_owned(),
                found: self.surname.clone(),
            });
        }
        if let Some(names) = stated(&expected.given_names)
            && !name_matches(&self.given_names, names, self.name_possibly_truncated)
        {
            out.push(Mismatch {
                field: MismatchField::GivenNames,
                expected: names.to_owned(),
                found: self.given_names.clone(),
            });
        }
        if let Some(dob) = expected.date_of_birth
            && self.date_of_birth != Some(dob)
        {
            out.push(Mismatch {
                field: MismatchField::DateOfBirth,
                expected: dob.to_string(),
                found: self.date_of_birth.map(|d| d.to_string()).unwrap_or_else(|| self.date_of_birth_raw.clone()),
            });
        }
        if let Some(country) = expected.nationality
            && self.nationality.country != Some(country)
        {
            out.push(Mismatch {
                field: MismatchField::Nationality,
                expected: country.to_string(),
                found: self.nationality.to_string(),
            });
        }
        if let Some(number) = stated(&expected.document_number) {
            let norm = |s: &str| {
                s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect::<String>()
            };
            if norm(number) != norm(&self.document_number) {
                out.push(Mismatch {
                    field: MismatchField::DocumentNumber,
                    expected: number.to_owned(),
                    found: self.document_number.clone(),
                });
            }
        }
        out
    }
}

/// A stated field, unless blank.
fn stated(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Letters written as two or more in the MRZ by ICAO 9303-3 § 6 (after upper-casing).
const MULTI_LETTER: &[(char, &str)] = &[
    ('Ä', "AE"),
    ('Å', "AA"),
    ('Æ', "AE"),
    ('Ö', "OE"),
    ('Ø', "OE"),
    ('Ü', "UE"),
    ('ẞ', "SS"),
    ('Œ', "OE"),
    ('Þ', "TH"),
    ('Ĳ', "IJ"),
];

/// Letters whose diacritics are simply dropped (after upper-casing).
const STRIPPED: &[(&str, char)] = &[
    ("ÀÁÂÃÄÅĀĂĄǍ", 'A'),
    ("ÇĆĈĊČ", 'C'),
    ("ÐĎĐ", 'D'),
    ("ÈÉÊËĒĔĖĘĚ", 'E'),
    ("ĜĞĠĢ", 'G'),
    ("ĤĦ", 'H'),
    ("ÌÍÎÏĨĪĬĮİ", 'I'),
    ("Ĵ", 'J'),
    ("Ķ", 'K'),
    ("ĹĻĽĿŁ", 'L'),
    ("ÑŃŅŇŊ", 'N'),
    ("ÒÓÔÕÖØŌŎŐǑ", 'O'),
    ("ŔŖŘ", 'R'),
    ("ŚŜŞŠȘ", 'S'),
    ("ŢŤŦȚ", 'T'),
    ("ÙÚÛÜŨŪŬŮŰŲǓ", 'U'),
    ("Ŵ", 'W'),
    ("ÝŶŸ", 'Y'),
    ("ŹŻŽ", 'Z'),
];

fn mrz_form(name: &str, icao_multi_letter: bool) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_uppercase) {
        if c.is_ascii_uppercase() || c.is_ascii_digit() {
            out.push(c);
        } else if c.is_whitespace() || matches!(c, '-' | '‐' | '‑' | '–' | '<') {
            out.push('<');
        } else if matches!(c, '\'' | '’' | '‘' | 'ʼ' | '`' | '´' | '.' | ',') {
            // Apostrophes and other punctuation are omitted.
        } else if let Some((_, s)) =
            MULTI_LETTER.iter().find(|(m, _)| *m == c && (icao_multi_letter || !"ÄÅÖØÜ".contains(c)))
        {
            out.push_str(s);
        } else if let Some((_, base)) = STRIPPED.iter().find(|(set, _)| set.contains(c)) {
            out.push(*base);
        } else {
            // No transliteration known (other scripts): kept, so it cannot match an MRZ.
            out.push(c);
        }
    }
    out.split('<').filter(|t| !t.is_empty()).collect::<Vec<_>>().join("<")
}

/// A name as ICAO 9303-3 § 6 writes it in an MRZ: upper case, `Ä` → `AE`, `Ö` → `OE`,
/// `Ü` → `UE`, `ß` → `SS`, `Å` → `AA`, `Æ` → `AE`, `Ø` → `OE`, other diacritics dropped
/// (`é` → `E`, `ñ` → `N`), spaces and hyphens → `<`, apostrophes omitted.
pub fn to_mrz_name(name: &str) -> String {
    mrz_form(name, true)
}

/// True when `mrz_name` (a parsed MRZ name, spaces or `<` between parts) can be the MRZ form of
/// `application_name`: equal to its ICAO transliteration or to its diacritics-stripped form
/// (parts joined or separated), or, when `possibly_truncated`, a truncation of either (whole
/// or part by part, Doc 9303-3 § 4.6).
pub fn name_matches(mrz_name: &str, application_name: &str, possibly_truncated: bool) -> bool {
    let m: Vec<&str> = mrz_name.split([' ', '<']).filter(|t| !t.is_empty()).collect();
    let m_joined = m.concat();
    [true, false].into_iter().any(|icao| {
        let form = mrz_form(application_name, icao);
        let c: Vec<&str> = form.split('<').filter(|t| !t.is_empty()).collect();
        let c_joined = c.concat();
        if m == c || m_joined == c_joined {
            return true;
        }
        possibly_truncated
            && (c_joined.starts_with(&m_joined)
                || (m.len() <= c.len() && m.iter().zip(&c).all(|(mt, ct)| ct.starts_with(mt))))
    })
}
