//! Phone numbers: parsed and validated with libphonenumber's metadata (the `phonenumber`
//! crate). The result is whether the number is valid, its country (the region libphonenumber
//! assigns, so `+1 514` is Canada) and its line type. Ownership is a separate, external check
//! (a one-time code, [`crate::ExternalEvidence::phone`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use lessee_domain::Country;
use phonenumber::metadata::DATABASE;
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

/// The line type of a number, as libphonenumber classifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineType {
    FixedLine,
    Mobile,
    /// Regions (such as NANP) where fixed and mobile numbers cannot be told apart.
    FixedLineOrMobile,
    TollFree,
    PremiumRate,
    SharedCost,
    Voip,
    PersonalNumber,
    Pager,
    Uan,
    Voicemail,
}

impl LineType {
    pub fn as_str(self) -> &'static str {
        match self {
            LineType::FixedLine => "fixed_line",
            LineType::Mobile => "mobile",
            LineType::FixedLineOrMobile => "fixed_line_or_mobile",
            LineType::TollFree => "toll_free",
            LineType::PremiumRate => "premium_rate",
            LineType::SharedCost => "shared_cost",
            LineType::Voip => "voip",
            LineType::PersonalNumber => "personal_number",
            LineType::Pager => "pager",
            LineType::Uan => "uan",
            LineType::Voicemail => "voicemail",
        }
    }
}

/// The verdict on a phone number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PhoneCheck {
    pub valid: bool,
    /// The region of the number (when libphonenumber can tell, even for an invalid number).
    pub country: Option<Country>,
    /// The line type of a valid number.
    pub line_type: Option<LineType>,
}

/// Longest input looked at; anything longer is not a phone number.
const MAX_LEN: usize = 64;

/// Parses and validates a phone number in international form (`+49 30 23125000`).
///
/// The usual form (`+` or `00`, digits, and spaces, dashes, dots, slashes or parentheses) is
/// read directly: the country calling code is found in libphonenumber's metadata and the rest
/// is the national significant number (a national prefix written after the country code, as in
/// `+44 (0)20 ...`, is dropped when the number only fits the metadata without it). Any other
/// form (`tel:` URIs, extensions) goes through the crate's own parser. Either way the region,
/// validity and line type are then decided against the metadata's patterns, compiled once per
/// process ([`matches`]).
pub fn check_phone(text: &str) -> PhoneCheck {
    let invalid = PhoneCheck { valid: false, country: None, line_type: None };
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_LEN {
        return invalid;
    }
    let (code, national) = match international_digits(text) {
        Some(digits) => match split_country_code(&digits) {
            Some(split) => split,
            None => return invalid,
        },
        None => match phonenumber::parse(None, text) {
            Ok(n) => (n.code().value(), n.national().to_string()),
            Err(_) => return invalid,
        },
    };
    let Some(meta) = region(code, &national) else {
        return invalid;
    };
    let national = strip_national_prefix(meta, national);
    let line_type = line_type(meta, &national);
    PhoneCheck { valid: line_type.is_some(), country: Country::parse(meta.id()).ok(), line_type }
}

/// The digits after `+` or `00`, if the text is only that and separators.
fn international_digits(text: &str) -> Option<String> {
    let rest = text.strip_prefix('+').or_else(|| text.strip_prefix("00"))?;
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if !matches!(c, ' ' | '-' | '.' | '/' | '(' | ')' | '\u{a0}') {
            return None;
        }
    }
    (4..=18).contains(&digits.len()).then_some(digits)
}

/// Splits digits into a country calling code (1 to 3 digits; the codes are prefix-free) and
/// the rest.
fn split_country_code(digits: &str) -> Option<(u16, String)> {
    (1..=3).find_map(|n| {
        let code: u16 = digits.get(..n)?.parse().ok()?;
        DATABASE.region(&code)?;
        Some((code, digits.get(n..)?.to_owned()))
    })
}

/// The metadata of the region a number belongs to: the code's only region, else the first
/// whose leading digits match, else the first where the number is of a known type (as
/// libphonenumber does for shared codes such as +1 and +7).
fn region(code: u16, national: &str) -> Option<&'static phonenumber::Metadata> {
    let db: &'static phonenumber::metadata::Database = &DATABASE;
    let metas: Vec<&'static phonenumber::Metadata> =
        db.region(&code)?.into_iter().filter_map(|id| db.by_id(id)).collect();
    if let [only] = metas.as_slice() {
        return Some(*only);
    }
    metas
        .iter()
        .find(|m| match m.leading_digits() {
            Some(ld) => matches(ld.as_str(), national, false),
            None => line_type(m, national).is_some(),
        })
        .copied()
}

/// Drops a national prefix (`0` in `+44 (0)20 ...`) when the number fits the region's general
/// pattern only without it.
fn strip_national_prefix(meta: &'static phonenumber::Metadata, national: String) -> String {
    let general = meta.descriptors().general();
    if let Some(prefix) = meta.national_prefix()
        && let Some(rest) = national.strip_prefix(prefix)
        && !descriptor_matches(general, &national)
        && descriptor_matches(general, rest)
    {
        return rest.to_owned();
    }
    national
}

fn descriptor_matches(d: &'static phonenumber::metadata::Descriptor, national: &str) -> bool {
    let lengths = d.possible_length();
    let len = u16::try_from(national.len()).unwrap_or(u16::MAX);
    (lengths.is_empty() || lengths.contains(&len)) && matches(d.national_number().as_str(), national, true)
}

/// Compiled metadata patterns, shared by the whole process and keyed by the address of the
/// pattern text in the (static, never moved) metadata database. The crate's own cache keeps
/// only 100 patterns and hashes each pattern's text on every use: with numbers from more than
/// a handful of countries it recompiles patterns all the time (1.5 ms per number with 60
/// countries, against microseconds here). A cache of compiled static data: results do not
/// depend on it.
fn matches(pattern: &'static str, text: &str, whole: bool) -> bool {
    type Cache = HashMap<(usize, usize, bool), Option<Arc<Regex>>>;
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let key = (pattern.as_ptr() as usize, pattern.len(), whole);
    let cache = CACHE.get_or_init(Mutex::default);
    let cached = cache.lock().unwrap_or_else(PoisonError::into_inner).get(&key).cloned();
    let re = match cached {
        Some(re) => re,
        None => {
            let source = if whole { format!("^(?:{pattern})$") } else { format!("^(?:{pattern})") };
            // The metadata's patterns are laid out on several lines, so whitespace is not
            // part of them (as for the crate's own compilation).
            let re = RegexBuilder::new(&source).ignore_whitespace(true).build().ok().map(Arc::new);
            cache.lock().unwrap_or_else(PoisonError::into_inner).insert(key, re.clone());
            re
        }
    };
    re.is_some_and(|r| r.is_match(text))
}

/// libphonenumber's `getNumberType`: `None` is "unknown", which makes a number invalid.
fn line_type(meta: &'static phonenumber::Metadata, national: &str) -> Option<LineType> {
    let d = meta.descriptors();
    if !descriptor_matches(d.general(), national) {
        return None;
    }
    let is = |desc: Option<&'static phonenumber::metadata::Descriptor>| {
        desc.is_some_and(|x| descriptor_matches(x, national))
    };
    // Fixed line and mobile first: nearly every number is one, and in the metadata their
    // patterns do not, as a rule, overlap the special services', so the answer is
    // libphonenumber's with fewer pattern matches (libphonenumber tries premium rate, toll free,
    // ... first).
    let fixed = is(d.fixed_line());
    let mobile = is(d.mobile());
    if fixed {
        let same = match (d.fixed_line(), d.mobile()) {
            (Some(f), Some(m)) => f.national_number().as_str() == m.national_number().as_str(),
            _ => false,
        };
        return Some(if same || mobile { LineType::FixedLineOrMobile } else { LineType::FixedLine });
    }
    if mobile {
        return Some(LineType::Mobile);
    }
    [
        (d.premium_rate(), LineType::PremiumRate),
        (d.toll_free(), LineType::TollFree),
        (d.shared_cost(), LineType::SharedCost),
        (d.voip(), LineType::Voip),
        (d.personal_number(), LineType::PersonalNumber),
        (d.pager(), LineType::Pager),
        (d.uan(), LineType::Uan),
        (d.voicemail(), LineType::Voicemail),
    ]
    .into_iter()
    .find(|(desc, _)| is(*desc))
    .map(|(_, t)| t)
}
