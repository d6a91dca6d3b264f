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
    /// Whom the reason is about: `customer`, `beneficial_owner:N` or `sub_lessee:ID`.
    pub subject: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub outcome: Outcome,
    pub reasons: Vec<Reason>,
    pub policy_version: String,
    pub decided_at: DateTime<Utc>,
}

fn conflict_reasons(subject: &str, conflicts: &[Conflict]) -> impl Iterator<Item = Reason> {
    conflicts.iter().map(move |c| Reason {
        code: c.code.clone(),
        message: c.message.clone(),
        subject: subject.to_owned(),
    })
}

/// The interim decision: approve US persons, hold every foreign person for verification.
pub fn interim_decision(c: &AccountClassification, now: DateTime<Utc>) -> Decision {
    let mut reasons = Vec::new();
    reasons.extend(conflict_reasons("customer", &c.conflicts));
    if c.status == PersonStatus::ForeignPerson {
        reasons.push(Reason {
            code: codes::VERIFICATION_PENDING.into(),
            message: "the customer is a foreign person; identity verification under the CIP is pending".into(),
            subject: "customer".into(),
        });
    }
    for bo in &c.beneficial_owners {
        let subject = format!("beneficial_owner:{}", bo.index);
        reasons.extend(conflict_reasons(&subject, &bo.conflicts));
        if bo.status == PersonStatus::ForeignPerson {
            reasons.push(Reason {
                code: codes::BENEFICIAL_OWNER_VERIFICATION_PENDING.into(),
                message: "this beneficial owner is a foreign person; identity verification is pending".into(),
                subject,
            });
        }
    }
    let pending = reasons
        .iter()
        .any(|r| r.code == codes::VERIFICATION_PENDING || r.code == codes::BENEFICIAL_OWNER_VERIFICATION_PENDING);
    let outcome = if pending || !reasons.is_empty() {
        Outcome::ManualReview
    } else {
        reasons.push(Reason {
            code: codes::US_PERSON_NO_CIP_REQUIRED.into(),
            message:
                "the customer and every beneficial owner are United States persons; no CIP verification is required"
                    .into(),
            subject: "customer".into(),
        });
        Outcome::Approve
    };
    Decision { outcome, reasons, policy_version: INTERIM_POLICY_VERSION.into(), decided_at: now }
}
