//! Decisions on an application: outcome, machine-readable reasons, the policy version.
//!
//! Until the verification engine exists, the built-in interim policy approves an account whose
//! customer and beneficial owners are all US persons (no CIP verification is required of US
//! persons) and sends every other account to manual review with a reason saying that the
//! verification of each foreign person is pending.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::classify::{AccountClassification, Conflict, PersonStatus};

/// Version tag of the built-in interim policy.
pub const INTERIM_POLICY_VERSION: &str = "builtin-interim-1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approve,
    ApproveWithConditions,
    ManualReview,
    Deny,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approve => "approve",
            Outcome::ApproveWithConditions => "approve_with_conditions",
            Outcome::ManualReview => "manual_review",
            Outcome::Deny => "deny",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Outcome::Approve, Outcome::ApproveWithConditions, Outcome::ManualReview, Outcome::Deny]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// Stable reason codes.
pub mod codes {
    pub const US_PERSON_NO_CIP_REQUIRED: &str = "us_person_no_cip_required";
    pub const VERIFICATION_PENDING: &str = "verification_pending";
    pub const BENEFICIAL_OWNER_VERIFICATION_PENDING: &str = "beneficial_owner_verification_pending";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    /// Stable machine-readable code.
    pub code: String,
    pub message: String,
    /// Whom the reason is about: `customer`, `beneficial_owner:N`, `sub_lessee:ID` or `on_behalf_of:N`.
    pub subject: String,
    /// The evidence behind the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

impl Reason {
    pub fn new(code: impl Into<String>, message: impl Into<String>, subject: impl Into<String>) -> Self {
        Reason { code: code.into(), message: message.into(), subject: subject.into(), evidence: Vec::new() }
    }
}

/// One piece of evidence behind a reason: where it is (a JSON pointer into the application, or
/// `external:…` for what came from outside), its kind and state, its country, and a short
/// detail. Never the personal data itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Evidence {
    /// `document`, `email`, `phone`, `payment`, `id_vendor`, `address`, `signup_ip`, `risk_factor`, …
    pub kind: String,
    pub source: String,
    /// `not_started`, `pending`, `confirmed`, `failed`, `expired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub country: Option<crate::Country>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A condition on an approval (`approve_with_conditions`): what it limits and what lifts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Condition {
    /// The policy's condition id, e.g. `quota_cap`, `no_gpu`, `enhanced_monitoring`.
    pub id: String,
    pub description: String,
    /// Numeric parameters, e.g. `max_vcpus`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: std::collections::BTreeMap<String, i64>,
    /// `verification` (lifted when the pending check completes) or `review`.
    pub lifted_by: String,
    /// The code of the reason that imposed it.
    pub imposed_by: String,
    pub subject: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub outcome: Outcome,
    pub reasons: Vec<Reason>,
    pub policy_version: String,
    pub decided_at: DateTime<Utc>,
    /// Conditions of an `approve_with_conditions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The policy's risk tier and score for the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_score: Option<u32>,
    /// Who decided: absent for the engine; the reviewers' token ids for a review decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decided_by: Vec<String>,
    /// Why it was decided again (e.g. `resubmission`, `review`, `email_confirmed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
}

impl Decision {
    /// A decision with reasons only (no conditions, tier or reviewers).
    pub fn new(outcome: Outcome, reasons: Vec<Reason>, policy_version: String, decided_at: DateTime<Utc>) -> Self {
        Decision {
            outcome,
            reasons,
            policy_version,
            decided_at,
            conditions: Vec::new(),
            tier: None,
            risk_score: None,
            decided_by: Vec::new(),
            trigger: None,
        }
    }
}

fn conflict_reasons(subject: &str, conflicts: &[Conflict]) -> impl Iterator<Item = Reason> {
    conflicts.iter().map(move |c| Reason::new(c.code.clone(), c.message.clone(), subject))
}

/// The interim decision: approve US persons, hold every foreign person for verification.
pub fn interim_decision(c: &AccountClassification, now: DateTime<Utc>) -> Decision {
    let mut reasons = Vec::new();
    reasons.extend(conflict_reasons("customer", &c.conflicts));
    if c.status == PersonStatus::ForeignPerson {
        reasons.push(Reason::new(
            codes::VERIFICATION_PENDING,
            "the customer is a foreign person; identity verification under the CIP is pending",
            "customer",
        ));
    }
    for bo in &c.beneficial_owners {
        let subject = format!("beneficial_owner:{}", bo.index);
        reasons.extend(conflict_reasons(&subject, &bo.conflicts));
        if bo.status == PersonStatus::ForeignPerson {
            reasons.push(Reason::new(
                codes::BENEFICIAL_OWNER_VERIFICATION_PENDING,
                "this beneficial owner is a foreign person; identity verification is pending",
                subject,
            ));
        }
    }
    let pending = reasons
        .iter()
        .any(|r| r.code == codes::VERIFICATION_PENDING || r.code == codes::BENEFICIAL_OWNER_VERIFICATION_PENDING);
    let outcome = if pending || !reasons.is_empty() {
        Outcome::ManualReview
    } else {
        reasons.push(Reason::new(
            codes::US_PERSON_NO_CIP_REQUIRED,
            "the customer and every beneficial owner are United States persons; no CIP verification is required",
            "customer",
        ));
        Outcome::Approve
    };
    Decision::new(outcome, reasons, INTERIM_POLICY_VERSION.into(), now)
}
