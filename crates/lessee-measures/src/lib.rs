//! Special measures (EO 13984 § 2(d)) and exemptions (§ 1(c)) as pure domain logic.
//!
//! * [`Measure`]: a measure against a jurisdiction ([`JurisdictionTarget`]: a country, an
//!   ISO 3166-2 [`Subdivision`], or a named region from [`regions::REGIONS`] such as Crimea or the
//!   so-called DNR/LNR) or a named person ([`PersonTarget`]); prohibiting or conditioning
//!   ([`Effect`]); its [`ScopeItem`]s, citation, dates, extensions and revocation.
//!   [`Measure::validate`] checks it (the 180-day rule configurable through
//!   [`ValidationConfig`]); [`Measure::status`] gives the [`Status`] at a date and the next
//!   date it changes.
//! * [`Subject`]: what is known of an account ([`Party`]s with [`Place`]s resolved to
//!   [`Location`] codes, access locations, account and lessee type).
//! * [`evaluate`] / [`Evaluator`]: measures + exemptions + subject + date + [`Stage`] →
//!   [`Outcome`] with a [`Finding`] per measure and link. Person matching is behind the
//!   [`PersonMatcher`] trait (built in: [`ExactMatcher`]; `lessee-service` plugs in the screening engine).
//! * [`Exemption`] (scope, reference, dates, conditions, what it exempts from) and
//!   [`AdpDescription`] (the ADP's versioned description).
//! * [`impact`] / [`Evaluator::impact`]: the accounts a measure reaches (or would reach) on a date.
//!
//! Invariant: no I/O and no clock. Every date is passed in; the only shared state is the
//! address-rule table built once from constants.
#![forbid(unsafe_code)]

pub mod codes;
mod error;
pub mod eval;
pub mod exemption;
mod ids;
pub mod jurisdiction;
pub mod measure;
pub mod normalize;
pub mod person;
pub mod regions;
pub mod status;
pub mod subject;

pub use error::Error;
pub use eval::{
    Action, Affected, AppliedExemption, EvalConfig, Evaluator, Finding, ImpactReport, Link, MatchBasis, Outcome,
    PlaceTreatments, Prepared, Stage, Treatment, Verdict, evaluate, impact,
};
pub use exemption::{AdpDescription, AdpVersion, Exemption, ExemptionScope, ExemptsFrom, exemptions_for_requirement};
pub use ids::{ExemptionId, MeasureId, valid_code};
pub use jurisdiction::{JurisdictionTarget, Location, Subdivision, SubdivisionSource};
pub use measure::{
    DEFAULT_DURATION_DAYS, DEFAULT_LEAD_DAYS, Effect, Expedited, Extension, Measure, MeasureKind, Revocation,
    RuleLevel, ScopeItem, Target, ValidationConfig,
};
pub use person::{Confidence, ExactMatcher, Identifier, PersonBasis, PersonMatch, PersonMatcher, PersonTarget};
pub use status::{AsDate, Status, StatusAt};
pub use subject::{Party, Place, PlaceBasis, Subject};
