//! Jurisdictions as codes: ISO 3166-2 subdivisions, the target of a jurisdiction measure, and
//! the [`Location`] of a subject (a country and, where known, a subdivision).
//!
//! A location is resolved once, when the subject is built ([`Location::from_address`]): free-text
//! region and city names are turned into subdivision codes there, using the shipped table of
//! named regions ([`crate::regions`]). Evaluation then only compares codes.

use std::fmt;

use lessee_domain::Country;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::regions;

/// An ISO 3166-2 subdivision code such as `UA-43` (the Autonomous Republic of Crimea): a country
/// and a suffix of 1 to 3 upper-case letters or digits. `Copy` and compared as bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Subdivision {
    country: Country,
    /// The suffix, left-aligned, padded with zero bytes.
    suffix: [u8; 3],
}

impl Subdivision {
    /// Parses `CC-XXX` (case-insensitive, surrounding blanks ignored).
    pub fn parse(code: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidSubdivision(code.chars().take(16).collect());
        let code_trim = code.trim();
        let (cc, suffix) = code_trim.split_once('-').ok_or_else(bad)?;
        let country = Country::parse(cc).map_err(|_| bad())?;
        Self::from_suffix(country, suffix).ok_or_else(bad)
    }

    /// The subdivision `suffix` of `country` (`43` of `UA`), if the suffix is well formed.
    pub fn from_suffix(country: Country, suffix: &str) -> Option<Self> {
        let bytes = suffix.trim().as_bytes();
        if bytes.is_empty() || bytes.len() > 3 || !bytes.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        let mut out = [0u8; 3];
        for (slot, b) in out.iter_mut().zip(bytes) {
            *slot = b.to_ascii_uppercase();
        }
        Some(Subdivision { country, suffix: out })
    }

    /// The country the subdivision belongs to.
    pub fn country(&self) -> Country {
        self.country
    }

    /// The suffix after the `-`.
    pub fn suffix(&self) -> &str {
        let len = self.suffix.iter().position(|b| *b == 0).unwrap_or(3);
        self.suffix.get(..len).and_then(|s| std::str::from_utf8(s).ok()).unwrap_or("")
    }
}

impl fmt::Display for Subdivision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.country, self.suffix())
    }
}

impl fmt::Debug for Subdivision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subdivision({self})")
    }
}

impl TryFrom<String> for Subdivision {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        Subdivision::parse(&value)
    }
}

impl From<Subdivision> for String {
    fn from(value: Subdivision) -> String {
        value.to_string()
    }
}

/// What a jurisdiction measure is against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum JurisdictionTarget {
    /// A whole country: `{"country": "KP"}`. Matches every location in it, including locations
    /// known only by a subdivision of it.
    Country(Country),
    /// One ISO 3166-2 subdivision: `{"subdivision": "UA-43"}`.
    Subdivision(Subdivision),
    /// A named region from the shipped table ([`crate::regions::REGIONS`]): `{"region": "crimea"}`.
    Region(String),
}

impl JurisdictionTarget {
    /// A short description for reasons: `KP (Korea, Democratic People's Republic of)`, `UA-43`,
    /// `Crimea (UA-43, UA-40)`.
    pub fn describe(&self) -> String {
        match self {
            JurisdictionTarget::Country(c) => format!("{c} ({})", c.name()),
            JurisdictionTarget::Subdivision(s) => s.to_string(),
            JurisdictionTarget::Region(id) => match regions::region(id) {
                Some(r) => format!("{} ({})", r.name, r.subdivisions.join(", ")),
                None => id.clone(),
            },
        }
    }

    /// Checks that a named region exists.
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            JurisdictionTarget::Region(id) if regions::region(id).is_none() => Err(Error::UnknownRegion {
                region: id.chars().take(64).collect(),
                known: regions::REGIONS.iter().map(|r| r.id).collect::<Vec<_>>().join(", "),
            }),
            _ => Ok(()),
        }
    }
}

/// How a location's subdivision became known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubdivisionSource {
    /// No subdivision is known.
    #[default]
    None,
    /// Given as an ISO 3166-2 code (or its suffix).
    Stated,
    /// Inferred from the address's region text (`Республика Крым`, `Donetsk Oblast`).
    RegionName,
    /// Inferred from the address's city (`Симферополь`).
    CityName,
    /// Inferred from a city name that also names a place elsewhere in the stated country (a
    /// `Donetsk` in a Russian address may be the town in Rostov Oblast); evaluation treats a
    /// match through it as a potential match (see [`crate::EvalConfig::ambiguous_address`]).
    AmbiguousCityName,
}

/// Where a person is, was, or is attached to, as codes: a country and, where known, a
/// subdivision. `Copy`, no text: building one does the string work, matching does none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// The country as stated (or geolocated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    /// The subdivision, stated or inferred (its country may differ from `country`: a Crimean
    /// address written as `RU` resolves to `UA-43`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdivision: Option<Subdivision>,
    /// How the subdivision became known.
    #[serde(default)]
    pub source: SubdivisionSource,
}

impl Location {
    /// A location known only by its country.
    pub fn country(country: Country) -> Self {
        Location { country: Some(country), subdivision: None, source: SubdivisionSource::None }
    }

    /// A location known by its subdivision (its country is the subdivision's).
    pub fn subdivision(subdivision: Subdivision) -> Self {
        Location {
            country: Some(subdivision.country()),
            subdivision: Some(subdivision),
            source: SubdivisionSource::Stated,
        }
    }

    /// Resolves a postal address. `region` may be an ISO 3166-2 code (`UA-43`), its suffix
    /// (`43`) or free text; free-text region names and then the city are looked up in the
    /// address rules of the shipped named regions (Latin and Cyrillic spellings, folded), which
    /// apply to addresses in the countries each rule lists (or with no country).
    pub fn from_address(country: Option<Country>, region: Option<&str>, city: Option<&str>) -> Self {
        let mut location = Location { country, subdivision: None, source: SubdivisionSource::None };
        let region = region.map(str::trim).filter(|r| !r.is_empty());
        if let Some(text) = region {
            // A full code first, then the region names (so that `DNR` is a name, not a suffix),
            // then a bare suffix of the stated country.
            let stated = Subdivision::parse(text).ok();
            let named = || regions::resolve_region_name(country, text);
            let suffix = || country.and_then(|c| Subdivision::from_suffix(c, text));
            let found = match stated {
                Some(s) => Some((s, SubdivisionSource::Stated)),
                None => named().or_else(|| suffix().map(|s| (s, SubdivisionSource::Stated))),
            };
            if let Some((s, source)) = found {
                location.subdivision = Some(s);
                location.source = source;
                return location;
            }
        }
        if let Some((s, source)) = city.and_then(|c| regions::resolve_city(country, c)) {
            location.subdivision = Some(s);
            location.source = source;
        }
        location
    }

    /// Whether the location is in `country`, by its stated country or its subdivision's.
    pub fn in_country(&self, country: Country) -> bool {
        self.country == Some(country) || self.subdivision.is_some_and(|s| s.country() == country)
    }

    /// The country to report: the stated one, else the subdivision's.
    pub fn effective_country(&self) -> Option<Country> {
        self.country.or(self.subdivision.map(|s| s.country()))
    }

    /// A short description for reasons: `UA-43 (from the address city)`, `RU`.
    pub fn describe(&self) -> String {
        let how = match self.source {
            SubdivisionSource::None | SubdivisionSource::Stated => "",
            SubdivisionSource::RegionName => ", inferred from the region name",
            SubdivisionSource::CityName => ", inferred from the city",
            SubdivisionSource::AmbiguousCityName => ", inferred from an ambiguous city name",
        };
        match (self.subdivision, self.country) {
            (Some(s), Some(c)) if c != s.country() => format!("{s} (stated country {c}{how})"),
            (Some(s), _) if how.is_empty() => s.to_string(),
            (Some(s), _) => format!("{s} ({})", how.trim_start_matches(", ")),
            (None, Some(c)) => c.to_string(),
            (None, None) => "unknown".to_owned(),
        }
    }
}
