//! lessee's domain: the account application, its validation, the US/foreign classification of
//! EO 13984 § 5(k) and the decisions taken on it.
//!
//! Invariant: this crate does no I/O and reads no clock. Callers pass `now` and any outside
//! facts (such as the country of an IP address) in.
#![forbid(unsafe_code)]

pub mod access;
pub mod account;
pub mod application;
pub mod classify;
pub mod country;
mod country_table;
pub mod decision;
pub mod mrz;
pub mod validate;

pub use account::{Account, AccountId};
pub use application::Application;
pub use classify::{AccountClassification, ClassificationConfig, ExternalEvidence, PersonStatus, Rule, classify};
pub use country::Country;
pub use decision::{Condition, Decision, Evidence, Outcome, Reason, interim_decision};
pub use validate::{FieldError, validate};
