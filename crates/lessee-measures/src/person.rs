//! Person measures: whom they name, and how a party of an account is matched against them.
//!
//! Matching is behind the [`PersonMatcher`] trait so that the screening engine
//! (`lessee-screening`, with its transliteration tables, fuzzy scores and list index) is plugged
//! in without changing evaluation (`lessee-service` does, and runs this crate's rules first).
//! The built-in [`ExactMatcher`] is deliberately strict:
//!
//! 1. an identifier of the same type and number (and the same country when both say one) is a
//!    **decisive** match, whatever the names and dates say;
//! 2. otherwise, when both sides have a date of birth and the dates differ, there is no match;
//! 3. otherwise a name or alias with the same key ([`crate::normalize::name_key`]: case,
//!    diacritics, punctuation, script and word order folded) is a **strong** match when both
//!    dates of birth are known (and equal), and a **potential** one (for review) when either is
//!    missing.

use chrono::NaiveDate;
use lessee_domain::Country;
use serde::{Deserialize, Serialize};

use crate::normalize::{fold, identifier_number, name_key};
use crate::subject::Party;

/// An identifying document or registration: type, issuing country, number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identifier {
    /// `passport`, `national_id_card`, `tax_id`, `registration`, ... (compared folded).
    #[serde(rename = "type")]
    pub id_type: String,
    /// The issuing country, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    /// The number (compared on its letters and digits, upper case).
    pub number: String,
}

impl Identifier {
    /// An identifier.
    pub fn new(id_type: impl Into<String>, country: Option<Country>, number: impl Into<String>) -> Self {
        Identifier { id_type: id_type.into(), country, number: number.into() }
    }

    /// Whether two identifiers are the same: same folded type, same number (letters and digits,
    /// upper case), and the same country when both give one.
    pub fn same_as(&self, other: &Identifier) -> bool {
        let number = identifier_number(&self.number);
        !number.is_empty()
            && number == identifier_number(&other.number)
            && fold(&self.id_type) == fold(&other.id_type)
            && (self.country.is_none() || other.country.is_none() || self.country == other.country)
    }
}

/// Whom a person measure names (a "named foreign person", EO 13984 § 2(d)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonTarget {
    /// The name as the determination gives it.
    #[serde(default)]
    pub name: String,
    /// Other names and spellings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Date of birth (individuals) or of incorporation (entities), when the determination gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<NaiveDate>,
    /// Passports, registrations, tax ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<Identifier>,
}

impl PersonTarget {
    /// The name and the aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// How sure a person match is, and so what evaluation does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Needs review before the measure's effect applies.
    Potential,
    /// The measure's effect applies (name and date of birth).
    Strong,
    /// The measure's effect applies (same identifier).
    Decisive,
}

/// What a person match rests on. Carries no personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PersonBasis {
    /// The same identifier.
    Identifier {
        /// Its type.
        id_type: String,
        /// Its issuing country.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        country: Option<Country>,
    },
    /// The same normalized name (or alias) and the same date of birth.
    NameAndDateOfBirth,
    /// The same normalized name (or alias); no date of birth on one side.
    Name,
    /// A plugged-in matcher's own explanation (e.g. a screening score). It is copied into the
    /// reason text, so it must carry no personal data.
    Other {
        /// The explanation.
        detail: String,
    },
}

/// A match of one party against one person measure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonMatch {
    /// How sure.
    pub confidence: Confidence,
    /// Why.
    pub basis: PersonBasis,
}

/// Decides whether a party of an account is the person a measure names. The built-in
/// [`ExactMatcher`] folds names and compares identifiers exactly; the screening engine can
/// implement this trait to bring its transliteration and fuzzy scoring to measures.
pub trait PersonMatcher {
    /// The match, if `party` is (or may be) `target`.
    fn match_party(&self, target: &PersonTarget, party: &Party) -> Option<PersonMatch>;
}

/// The built-in matcher: identifiers decisive, then folded name plus date of birth.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExactMatcher;

impl PersonMatcher for ExactMatcher {
    fn match_party(&self, target: &PersonTarget, party: &Party) -> Option<PersonMatch> {
        for theirs in &target.identifiers {
            if party.identifiers.iter().any(|ours| theirs.same_as(ours)) {
                return Some(PersonMatch {
                    confidence: Confidence::Decisive,
                    basis: PersonBasis::Identifier { id_type: fold(&theirs.id_type), country: theirs.country },
                });
            }
        }
        let both_dates = match (target.date_of_birth, party.date_of_birth) {
            (Some(a), Some(b)) if a != b => return None,
            (Some(_), Some(_)) => true,
            _ => false,
        };
        if party.names.is_empty() {
            return None;
        }
        let target_keys: Vec<String> = target.names().map(name_key).filter(|k| !k.is_empty()).collect();
        let named = party.names.iter().any(|n| {
            let k = name_key(n);
            !k.is_empty() && target_keys.contains(&k)
        });
        if !named {
            return None;
        }
        Some(if both_dates {
            PersonMatch { confidence: Confidence::Strong, basis: PersonBasis::NameAndDateOfBirth }
        } else {
            PersonMatch { confidence: Confidence::Potential, basis: PersonBasis::Name }
        })
    }
}
