//! Exemptions under EO 13984 § 1(c): Commerce may exempt a provider (one that implements an
//! Abuse of IaaS Products Deterrence Program, ADP), a type of account or a type of lessee from
//! requirements and measures. An exemption has a scope, a reference, dates and conditions, and
//! says what it exempts from: everything, or listed measures and requirement codes.
//!
//! [`AdpDescription`] keeps the provider's ADP description with its versions, so the
//! certification report can show what changed and when.

use chrono::NaiveDate;
use lessee_domain::Country;
use lessee_domain::application::{AccountType, CustomerKind};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::ids::{ExemptionId, MeasureId, valid_code};
use crate::measure::{Revocation, validate_conditions};
use crate::status::{AsDate, Status, StatusAt, lifecycle};
use crate::subject::Subject;

/// Whom an exemption covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExemptionScope {
    /// The provider as a whole, under its ADP: every account.
    Provider {},
    /// Accounts of one type (e.g. `trial`).
    AccountType {
        /// The account type.
        account_type: AccountType,
    },
    /// Lessees of one type (`individual` or `entity`).
    LesseeType {
        /// The lessee type.
        lessee_type: CustomerKind,
    },
    /// Lessees of one country (the customer's [`crate::Party::home_country`]).
    Country {
        /// The country.
        country: Country,
    },
}

/// What an exemption exempts from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExemptsFrom {
    /// Every measure and every requirement.
    All {},
    /// The listed measures and requirement codes (e.g. `cip_verification`).
    Listed {
        /// Measure ids.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        measures: Vec<MeasureId>,
        /// Requirement codes.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        requirements: Vec<String>,
    },
}

/// An exemption granted by Commerce.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    /// The id.
    pub id: ExemptionId,
    /// Whom it covers.
    pub scope: ExemptionScope,
    /// Commerce's reference (letter, notice, ADP acceptance).
    pub reference: String,
    /// When it was granted.
    pub granted: NaiveDate,
    /// From when it applies.
    pub effective: NaiveDate,
    /// Until when (exclusive); `None`: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<NaiveDate>,
    /// Conditions attached to it (condition codes); an exempted finding carries them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// What it exempts from.
    pub exempts_from: ExemptsFrom,
    /// The revocation, if revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
}

impl Exemption {
    /// The status at a date (or time) and when it next changes.
    pub fn status(&self, at: impl AsDate) -> StatusAt {
        lifecycle(at.as_date(), self.effective, self.expiry, self.revocation.as_ref().map(|r| r.date))
    }

    /// Whether it is in effect at a date (or time).
    pub fn in_effect(&self, at: impl AsDate) -> bool {
        self.status(at).status == Status::InEffect
    }

    /// Whether its scope covers the subject (dates aside).
    pub fn covers_subject(&self, subject: &Subject) -> bool {
        match &self.scope {
            ExemptionScope::Provider {} => true,
            ExemptionScope::AccountType { account_type } => subject.account_type == Some(*account_type),
            ExemptionScope::LesseeType { lessee_type } => subject.lessee_type == Some(*lessee_type),
            ExemptionScope::Country { country } => subject.customer.home_country() == Some(*country),
        }
    }

    /// Whether it exempts from this measure.
    pub fn covers_measure(&self, measure: &MeasureId) -> bool {
        match &self.exempts_from {
            ExemptsFrom::All {} => true,
            ExemptsFrom::Listed { measures, .. } => measures.contains(measure),
        }
    }

    /// Whether it exempts from this requirement code.
    pub fn covers_requirement(&self, requirement: &str) -> bool {
        match &self.exempts_from {
            ExemptsFrom::All {} => true,
            ExemptsFrom::Listed { requirements, .. } => requirements.iter().any(|r| r == requirement),
        }
    }

    /// Checks the exemption: every error at once.
    pub fn validate(&self) -> Result<(), Vec<Error>> {
        let mut errors = Vec::new();
        if self.reference.trim().is_empty() {
            errors.push(Error::MissingCitation { field: "reference".into() });
        }
        if self.effective < self.granted {
            errors.push(Error::EffectiveBeforeGrant { granted: self.granted, effective: self.effective });
        }
        if let Some(end) = self.expiry.filter(|e| *e <= self.effective) {
            errors.push(Error::EndNotAfterStart { field: "expiry".into(), effective: self.effective, end });
        }
        errors.extend(validate_conditions("conditions", &self.conditions, false).err());
        if let ExemptsFrom::Listed { measures, requirements } = &self.exempts_from {
            if measures.is_empty() && requirements.is_empty() {
                errors.push(Error::ExemptsFromNothing);
            }
            for r in requirements.iter().filter(|r| !valid_code(r)) {
                errors.push(Error::InvalidRequirement(r.chars().take(64).collect()));
            }
        }
        if let Some(r) = &self.revocation {
            if r.citation.trim().is_empty() {
                errors.push(Error::MissingCitation { field: "revocation.citation".into() });
            }
            if r.date < self.granted {
                errors.push(Error::RevocationTooEarly { date: r.date, field: "the grant".into(), start: self.granted });
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// The exemptions that relieve `subject` of `requirement` at `at` (for the policy engine: e.g.
/// `cip_verification`).
pub fn exemptions_for_requirement<'e>(
    exemptions: &'e [Exemption],
    subject: &Subject,
    requirement: &str,
    at: impl AsDate,
) -> Vec<&'e Exemption> {
    let day = at.as_date();
    exemptions
        .iter()
        .filter(|e| e.in_effect(day) && e.covers_subject(subject) && e.covers_requirement(requirement))
        .collect()
}

/// One version of the provider's ADP description.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdpVersion {
    /// From when this text describes the program.
    pub effective: NaiveDate,
    /// The description.
    pub text: String,
    /// Commerce's reference for this version (acceptance, notice), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// The provider's Abuse of IaaS Products Deterrence Program description and its history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdpDescription {
    /// The program's name or reference.
    pub program: String,
    /// Versions, oldest first, strictly increasing effective dates.
    pub versions: Vec<AdpVersion>,
}

impl AdpDescription {
    /// Checks that there is a version, that every text is non-empty and that dates increase.
    pub fn validate(&self) -> Result<(), Error> {
        if self.versions.is_empty() {
            return Err(Error::AdpVersions("no version".into()));
        }
        if let Some(i) = self.versions.iter().position(|v| v.text.trim().is_empty()) {
            return Err(Error::AdpVersions(format!("versions[{i}].text is empty")));
        }
        for (i, pair) in self.versions.windows(2).enumerate() {
            if let [a, b] = pair
                && b.effective <= a.effective
            {
                return Err(Error::AdpVersions(format!(
                    "versions[{}] ({}) is not after versions[{i}] ({})",
                    i + 1,
                    b.effective,
                    a.effective
                )));
            }
        }
        Ok(())
    }

    /// Adds a new version; it must take effect after the last one.
    pub fn push(&mut self, version: AdpVersion) -> Result<(), Error> {
        if version.text.trim().is_empty() {
            return Err(Error::AdpVersions("the new version's text is empty".into()));
        }
        if let Some(last) = self.versions.last()
            && version.effective <= last.effective
        {
            return Err(Error::AdpVersions(format!(
                "the new version ({}) must take effect after the current one ({})",
                version.effective, last.effective
            )));
        }
        self.versions.push(version);
        Ok(())
    }

    /// The version in force at a date.
    pub fn current(&self, at: impl AsDate) -> Option<&AdpVersion> {
        let day = at.as_date();
        self.versions.iter().rev().find(|v| v.effective <= day)
    }

    /// The versions that took effect after `from` and up to `to` (both dates), i.e. the changes
    /// a report for that period shows.
    pub fn changes_between(&self, from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = &AdpVersion> {
        self.versions.iter().filter(move |v| v.effective > from && v.effective <= to)
    }
}
