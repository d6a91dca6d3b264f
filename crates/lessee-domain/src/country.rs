//! ISO 3166-1 alpha-2 country codes as a validated newtype.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::country_table::COUNTRIES;

/// A validated ISO 3166-1 alpha-2 country code, always upper case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country([u8; 2]);

/// Why a string is not a country code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ISO 3166-1 alpha-2 country code")]
pub struct InvalidCountry(pub String);

impl Country {
    pub const US: Country = Country(*b"US");

    /// Parses an alpha-2 code. Lower case is accepted and normalised; anything else
    /// that is not an assigned code is refused.
    pub fn parse(code: &str) -> Result<Self, InvalidCountry> {
        let upper = code.trim().to_ascii_uppercase();
        let bytes = upper.as_bytes();
        match bytes {
            [a, b] if COUNTRIES.iter().any(|(c, _, _)| c.as_bytes() == [*a, *b]) => Ok(Country([*a, *b])),
            _ => Err(InvalidCountry(code.chars().take(16).collect())),
        }
    }

    /// Parses an alpha-3 code (as printed in machine-readable zones).
    pub fn from_alpha3(code: &str) -> Option<Self> {
        let upper = code.trim().to_ascii_uppercase();
        COUNTRIES.iter().find(|(_, a3, _)| *a3 == upper).and_then(|(a2, _, _)| Country::parse(a2).ok())
    }

    pub fn as_str(&self) -> &str {
        // Both bytes come from the ASCII table above, so this cannot fail; fall back
        // to a neutral value rather than panic if it ever did.
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }

    /// The alpha-3 code of this country.
    pub fn alpha3(&self) -> &'static str {
        self.entry().map(|(_, a3, _)| *a3).unwrap_or("ZZZ")
    }

    /// The short English name of this country.
    pub fn name(&self) -> &'static str {
        self.entry().map(|(_, _, n)| *n).unwrap_or("Unknown")
    }

    fn entry(&self) -> Option<&'static (&'static str, &'static str, &'static str)> {
        COUNTRIES.iter().find(|(a2, _, _)| a2.as_bytes() == self.0)
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.as_str())
    }
}

impl TryFrom<String> for Country {
    type Error = InvalidCountry;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Country::parse(&value)
    }
}

impl From<Country> for String {
    fn from(value: Country) -> Self {
        value.as_str().to_owned()
    }
}

impl utoipa::PartialSchema for Country {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[A-Z]{2}$"))
            .description(Some("ISO 3166-1 alpha-2 country code"))
            .examples([serde_json::json!("DE")])
            .into()
    }
}

impl utoipa::ToSchema for Country {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_assigned_codes_only() {
        let cases: &[(&str, Option<&str>)] = &[
            ("DE", Some("DE")),
            ("de", Some("DE")),
            (" us ", Some("US")),
            ("XK", Some("XK")),
            ("ZZ", None),
            ("UK", None), // the United Kingdom is GB
            ("DEU", None),
            ("", None),
            ("D", None),
            ("ÄÖ", None),
        ];
        for (input, want) in cases {
            let got = Country::parse(input).ok().map(|c| c.to_string());
            assert_eq!(got.as_deref(), *want, "input {input:?}");
        }
    }

    #[test]
    fn alpha3_round_trips_for_every_entry() {
        for (a2, a3, _) in COUNTRIES {
            let c = Country::from_alpha3(a3).map(|c| c.to_string());
            assert_eq!(c.as_deref(), Some(*a2));
            assert_eq!(Country::parse(a2).map(|c| c.alpha3()).ok(), Some(*a3));
        }
    }

    #[test]
    fn table_has_unique_codes() {
        let mut a2: Vec<_> = COUNTRIES.iter().map(|c| c.0).collect();
        let mut a3: Vec<_> = COUNTRIES.iter().map(|c| c.1).collect();
        a2.sort_unstable();
        a2.dedup();
        a3.sort_unstable();
        a3.dedup();
        assert_eq!(a2.len(), COUNTRIES.len());
        assert_eq!(a3.len(), COUNTRIES.len());
    }
}
