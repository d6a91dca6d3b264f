//! Identifiers of measures and exemptions: validated newtypes, serialized as strings.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Error;

fn valid_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses an id: 1 to 64 characters from `A-Z a-z 0-9 . _ - :`.
            pub fn parse(s: &str) -> Result<Self, Error> {
                if valid_id(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(Error::InvalidId(s.chars().take(80).collect()))
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(value: String) -> Result<Self, Error> {
                if valid_id(&value) { Ok(Self(value)) } else { Err(Error::InvalidId(value.chars().take(80).collect())) }
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

id_type!(
    /// The registry's identifier of a special measure, e.g. `sm-2026-001`.
    MeasureId
);
id_type!(
    /// The identifier of an exemption, e.g. `adp-2026-provider`.
    ExemptionId
);

/// Whether `code` is a condition or requirement code: lower case `a-z`, `0-9`, `_`, 1 to 64 long.
pub fn valid_code(code: &str) -> bool {
    (1..=64).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
