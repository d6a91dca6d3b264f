//! Name matching against government screening lists (R3), pure: no database, no network.
//!
//! [`Screener::new`] indexes the entries of one or more lists ([`lessee_lists::Entry`]) under
//! their list name and version; [`Screener::screen`] takes a [`Query`] (a name, optionally a
//! party kind, date of birth, country, identifiers and a list to restrict to) and returns the
//! entries that match at or above the configured threshold, best first, each with an
//! [`Explanation`]: the listed name that matched, how each token lined up, every feature that
//! moved the score, the list, the entity id and the list version.
//!
//! Names are normalized ([`normalize`]): scripts transliterated, diacritics, punctuation,
//! honorifics and company forms handled, tokens folded to romanization keys. Candidates come
//! from an index over tokens (romanization keys, one-edit deletion keys, consonant skeletons),
//! never from a scan of every name. The same index over stored customers ([`CustomerIndex`])
//! finds which customers a list change can affect ([`Screener::rescreen_diff`]).
//!
//! Invariants: no I/O; nothing panics on any input; every [`Match`] records the list version it
//! was scored against.
#![forbid(unsafe_code)]

mod config;
pub mod eval;
mod index;
pub mod keys;
pub mod normalize;
mod rescreen;
mod screener;
mod similarity;

pub use config::Config;
pub use index::TokenMatch;
pub use normalize::{fold, normalize, skeleton};
pub use rescreen::{Affected, Customer, CustomerIndex};
pub use screener::{
    Explanation, Feature, FeatureKind, ListInfo, ListSource, Match, NameKind, PartyKind, Query, QueryIdentifier,
    Screener, TokenAlignment,
};
pub use similarity::{edit_similarity, osa_distance};
