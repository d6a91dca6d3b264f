//! lessee's verification policy engine: the risk-based, versioned Customer Identification
//! Program (CIP) of EO 13984 § 1(a)(i) and (b) and the proposed 15 CFR 7.302, and the
//! verifiers of the evidence it weighs.
//!
//! * [`policy`]: the TOML policy file, [`check`] with line/column errors, the compiled
//!   [`Policy`] and its identity (`name@version+sha256:…`).
//! * [`evaluate`] / [`decide`]: application + classification + [`ExternalEvidence`] + `now`
//!   → [`PolicyDecision`] (the domain `Decision` plus evidence, conditions, tier, risk).
//! * Verifiers: [`documents`] (ICAO 9303 MRZ), [`phone`] (libphonenumber), [`payment`] (card
//!   BIN, IBAN, BIC, ABA, Bitcoin, Ethereum), [`location`] (country consistency).
//! * [`codes`]: every stable reason code. [`cases`]: `policy test` over a directory.
//!
//! Invariant: the engine does no I/O and reads no clock (`now` and every outside fact are
//! passed in); only [`cases::run_cases`] reads files.
#![forbid(unsafe_code)]

pub mod cases;
pub mod codes;
pub mod documents;
pub mod engine;
pub mod evidence;
pub mod expr;
pub mod location;
pub mod payment;
pub mod phone;
pub mod policy;

pub use engine::{AppliedCondition, LiftedBy, PolicyDecision, RiskFactor, decide, evaluate};
pub use evidence::{
    EvidenceKind, EvidenceRef, EvidenceState, ExternalEvidence, GrantedExemption, HitStatus, Screening, ScreeningHit,
    Subject, VendorResult,
};
pub use expr::{Atom, Expr};
pub use policy::{DEFAULT_POLICY, Policy, PolicyError, check};
