//! Evidence: what the engine is told from outside (one-time codes, vendor webhooks, the
//! geolocation of the sign-up IP address, exemptions) and how every reason points at the
//! evidence behind it.

use std::fmt;

use lessee_domain::Country;
use serde::{Deserialize, Serialize};

/// The state of a check that completes outside the engine (a one-time code, a vendor's
/// webhook), or the verdict of one of the engine's own verifiers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceState {
    /// Not begun (no code sent, no document submitted, no vendor session).
    #[default]
    NotStarted,
    /// Begun and waiting for the customer or the vendor.
    Pending,
    /// Verified.
    Confirmed,
    /// Checked and found wrong (code refused, checksum wrong, document expired, vendor rejected).
    Failed,
    /// Was begun or confirmed but has lapsed (the code expired, the vendor result is too old);
    /// it counts as missing and can be done again.
    Expired,
}

impl EvidenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceState::NotStarted => "not_started",
            EvidenceState::Pending => "pending",
            EvidenceState::Confirmed => "confirmed",
            EvidenceState::Failed => "failed",
            EvidenceState::Expired => "expired",
        }
    }
}

impl fmt::Display for EvidenceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whom a piece of evidence or a reason is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Customer,
    /// Index into `customer.beneficial_owners`.
    BeneficialOwner(usize),
}

impl Subject {
    /// Parses `customer` or `beneficial_owner:N`.
    pub fn parse(s: &str) -> Option<Subject> {
        if s == "customer" {
            return Some(Subject::Customer);
        }
        s.strip_prefix("beneficial_owner:")?.parse().ok().map(Subject::BeneficialOwner)
    }

    /// The JSON pointer of the person in the application.
    pub fn pointer(self) -> String {
        match self {
            Subject::Customer => "/customer".to_owned(),
            Subject::BeneficialOwner(n) => format!("/customer/beneficial_owners/{n}/person"),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Customer => f.write_str("customer"),
            Subject::BeneficialOwner(n) => write!(f, "beneficial_owner:{n}"),
        }
    }
}

impl Serialize for Subject {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Subject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Subject::parse(&s).ok_or_else(|| serde::de::Error::custom("a subject is `customer` or `beneficial_owner:N`"))
    }
}

/// The result of an identity-verification vendor for one subject, as its (signed, checked)
/// webhook reported it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorResult {
    pub subject: Subject,
    /// The adapter's name, e.g. `generic`.
    pub vendor: String,
    pub state: EvidenceState,
}

/// Everything the engine needs that does not come from the application itself. The caller
/// resolves it (geolocation, the one-time-code store, vendor webhooks, the exemption registry);
/// the engine does no I/O.
#[derive(Clone, Debug, Default)]
pub struct ExternalEvidence {
    /// Country of the sign-up IP address, if the geolocation database knows it.
    pub signup_ip_country: Option<Country>,
    /// Ownership of the customer's email address (one-time code).
    pub email: EvidenceState,
    /// Ownership of the customer's phone number (one-time code). The number's validity is
    /// checked by the engine itself ([`crate::phone`]).
    pub phone: EvidenceState,
    /// Identity-verification vendor results, per subject.
    pub id_vendor: Vec<VendorResult>,
    /// Identifiers of the exemptions (EO 13984 § 1(c)) that the exemption registry says apply
    /// to this application; the policy states what each one does.
    pub exemptions: Vec<String>,
    /// Exemptions granted by Commerce (the exemption registry) that are in force and whose scope
    /// covers this application, with the requirements each waives.
    pub granted_exemptions: Vec<GrantedExemption>,
    /// Screening of the customer, its beneficial owners and sub-lessees against government
    /// lists (R3), as the caller found it.
    pub screening: Screening,
}

/// An exemption granted by Commerce (EO 13984 § 1(c)) as the engine weighs it: the caller has
/// checked that it is in force and that its scope covers the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantedExemption {
    /// The registry id.
    pub id: String,
    /// Commerce's reference (letter, notice, ADP acceptance).
    pub reference: String,
    /// The requirement codes it waives ([`crate::codes::requirements`]); unknown codes are
    /// ignored.
    pub waives: Vec<String>,
    /// Condition codes attached to the exemption; the engine does not weigh them (the caller
    /// imposes them when the exemption waived something).
    pub conditions: Vec<String>,
}

impl GrantedExemption {
    pub(crate) fn waives(&self, requirement: &str) -> bool {
        self.waives.iter().any(|w| w == requirement)
    }

    /// `exemption `id` (reference)`, as reasons name it.
    pub fn label(&self) -> String {
        format!("exemption `{}` ({})", self.id, self.reference.trim())
    }
}

/// What screening found, as the engine weighs it ([`crate::policy`]'s `[screening]` section).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Screening {
    /// The caller did not screen (e.g. `lessee policy test`): nothing is recorded.
    #[default]
    NotRequested,
    /// Screening was asked for but no list is imported.
    NotPossible,
    /// Screened against these list versions (`list vN`); the alerts the account has.
    Screened { lists: Vec<String>, hits: Vec<ScreeningHit> },
}

/// A screening alert as the engine weighs it: list-side data only.
#[derive(Clone, Debug, PartialEq)]
pub struct ScreeningHit {
    /// `customer`, `beneficial_owner:N`, `sub_lessee:ID` or `on_behalf_of:N`.
    pub subject: String,
    pub alert_id: String,
    pub list: String,
    pub entity_id: String,
    pub list_version: String,
    pub score: f64,
    /// The date of birth or an identifier matched as well as the name.
    pub strong: bool,
    pub status: HitStatus,
}

/// Where an alert stands in its disposition workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HitStatus {
    Open,
    Escalated,
    TrueMatch,
    FalsePositive,
}

impl ExternalEvidence {
    /// The part the classifier of `lessee_domain` needs.
    pub fn classification(&self) -> lessee_domain::classify::ExternalEvidence {
        lessee_domain::classify::ExternalEvidence { signup_ip_country: self.signup_ip_country }
    }

    /// The vendor state for a subject: the best of its results, if any.
    pub fn vendor_state(&self, subject: Subject) -> EvidenceState {
        self.id_vendor
            .iter()
            .filter(|v| v.subject == subject)
            .map(|v| v.state)
            .max_by_key(|s| crate::expr::Level::of(*s))
            .unwrap_or_default()
    }
}

/// What kind of evidence a reason rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    Document,
    Email,
    Phone,
    Payment,
    IdVendor,
    Registration,
    Address,
    SignupIp,
    Classification,
    RiskFactor,
    Exemption,
    ResellerTerms,
    Screening,
}

/// A pointer to one piece of evidence behind a reason. It names where the evidence is (a JSON
/// pointer into the application, or `external:...`), its state, its country and a short
/// non-personal detail (a check name, a format, a line type); never the personal data itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRef {
    pub kind: EvidenceKind,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<EvidenceState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl EvidenceRef {
    pub fn new(kind: EvidenceKind, source: impl Into<String>) -> Self {
        EvidenceRef { kind, source: source.into(), state: None, country: None, detail: None }
    }

    pub fn state(mut self, state: EvidenceState) -> Self {
        self.state = Some(state);
        self
    }

    pub fn country(mut self, country: Option<Country>) -> Self {
        self.country = country;
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// How much a verifier's finding weighs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Recorded; no effect on the outcome.
    Info,
    /// Sends the application to manual review.
    Review,
    /// The evidence it is about fails.
    Fail,
}

/// One thing a verifier found, with a stable code (see [`crate::codes`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    /// A sentence without personal data.
    pub message: String,
    pub evidence: EvidenceRef,
}
