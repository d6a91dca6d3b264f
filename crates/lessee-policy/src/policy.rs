//! The policy file (TOML), its checker and the compiled [`Policy`].
//!
//! [`check`] parses strictly (unknown keys refused) and then checks the meaning: expressions
//! parse and name evidence the subject can have, referenced conditions and jurisdiction lists
//! exist, country codes are ISO 3166-1, tiers and location rules are ordered, a pending
//! verification never approves without conditions and a failure never approves at all. Every
//! problem is reported at once, with its line and column where the TOML parser gives a span.
//!
//! A policy's identity is `name@version+sha256:HEX`, the hash taken over the canonical JSON of
//! the compiled policy (comments, layout and key order of the file do not change it; any change
//! of meaning does).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use lessee_domain::Country;
use lessee_domain::application::{AccountType, OpeningMethod, PaymentMethod};
use lessee_domain::decision::Outcome;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::documents::VariantRule;
use crate::expr::{Atom, Expr};
use crate::location::Weights;

/// The policy shipped with lessee: a starting point for a compliance officer (read it; it
/// explains each rule).
pub const DEFAULT_POLICY: &str = include_str!("../policies/default.toml");

/// Largest policy file accepted.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;

/// One problem in a policy file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyError {
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The dotted key path, e.g. `tiers.standard.individual` (empty when unknown).
    pub path: String,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, "{l}:{c}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Points added per account type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountTypeWeights {
    #[serde(default)]
    pub trial: u32,
    #[serde(default)]
    pub standard: u32,
    #[serde(default)]
    pub reseller: u32,
    #[serde(default)]
    pub enterprise: u32,
}

impl AccountTypeWeights {
    pub fn of(&self, t: AccountType) -> u32 {
        match t {
            AccountType::Trial => self.trial,
            AccountType::Standard => self.standard,
            AccountType::Reseller => self.reseller,
            AccountType::Enterprise => self.enterprise,
        }
    }
}

/// Points added per opening method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningMethodWeights {
    #[serde(default)]
    pub self_service: u32,
    #[serde(default)]
    pub sales_assisted: u32,
    #[serde(default)]
    pub marketplace: u32,
    #[serde(default)]
    pub reseller: u32,
}

impl OpeningMethodWeights {
    pub fn of(&self, m: OpeningMethod) -> u32 {
        match m {
            OpeningMethod::SelfService => self.self_service,
            OpeningMethod::SalesAssisted => self.sales_assisted,
            OpeningMethod::Marketplace => self.marketplace,
            OpeningMethod::Reseller => self.reseller,
        }
    }
}

/// The risk score's inputs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Risk {
    pub account_type: AccountTypeWeights,
    pub opening_method: OpeningMethodWeights,
    /// Points per product (summed over the account's products).
    pub products: BTreeMap<String, u32>,
    /// Points for a product not listed in `products`.
    pub other_products: u32,
    /// Points when a foreign person holds a reseller account.
    pub foreign_reseller: u32,
}

/// A named list of jurisdictions and the points it adds when the customer or a beneficial
/// owner is connected to one of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JurisdictionList {
    pub description: Option<String>,
    pub citation: Option<String>,
    pub countries: Vec<Country>,
    pub weight: u32,
}

/// An outcome and the conditions it imposes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutcomeRule {
    pub outcome: Outcome,
    pub conditions: Vec<String>,
}

/// A risk tier: from which score it applies, what each kind of subject must show, and what
/// happens while that is pending or missing and when it fails.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tier {
    pub name: String,
    pub description: Option<String>,
    pub min_score: u32,
    pub individual: Expr,
    pub entity: Expr,
    pub beneficial_owner: Expr,
    pub pending: OutcomeRule,
    pub missing: OutcomeRule,
    pub failed: OutcomeRule,
    /// Any evidence that fails makes the subject fail, even if another path could still
    /// satisfy the requirement (a wrong check digit is a reason to look, whatever else is shown).
    pub fail_on_any_failed_evidence: bool,
}

/// A condition an approval can carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionDef {
    pub description: String,
    /// Parameters for the control plane that enforces the condition (e.g. `max_vcpus = 8`).
    #[serde(default)]
    pub params: BTreeMap<String, i64>,
}

/// A location rule: from which weight of inconsistency it applies, and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocationRule {
    pub min_weight: u32,
    pub outcome: OutcomeRule,
}

/// How location evidence is weighed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocationPolicy {
    pub weights: Weights,
    pub high_risk_lists: Vec<String>,
    pub high_risk_weight: u32,
    /// Ascending by `min_weight`; the last rule that applies wins.
    pub rules: Vec<LocationRule>,
}

/// Resellers' CIP terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResellerPolicy {
    pub missing_terms: OutcomeRule,
    pub own_cip: OutcomeRule,
    pub missing_agreement: OutcomeRule,
}

/// What screening hits do (R3). A hit never approves: `lessee policy check` refuses
/// `approve` and `approve_with_conditions` for `strong_hit` and `hit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScreeningPolicy {
    /// An open alert whose date of birth (or an identifier) matches as well as the name.
    pub strong_hit: OutcomeRule,
    /// Any other open alert.
    pub hit: OutcomeRule,
    /// No list imported, so screening was not possible. `None`: recorded, no effect (the
    /// first list import re-screens every account).
    pub not_screened: Option<OutcomeRule>,
}

impl Default for ScreeningPolicy {
    fn default() -> Self {
        ScreeningPolicy {
            strong_hit: OutcomeRule { outcome: Outcome::Deny, conditions: Vec::new() },
            hit: OutcomeRule { outcome: Outcome::ManualReview, conditions: Vec::new() },
            not_screened: None,
        }
    }
}

impl ScreeningPolicy {
    fn is_default(&self) -> bool {
        *self == ScreeningPolicy::default()
    }
}

/// What an exemption does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionEffect {
    /// Foreign subjects need no CIP verification (e.g. an ADP exemption, EO 13984 § 1(c)).
    WaiveVerification,
}

/// An exemption the policy knows; the caller says which apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    pub description: String,
    #[serde(default)]
    pub citation: Option<String>,
    pub effect: ExemptionEffect,
}

/// A compiled, checked policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) description: Option<String>,
    pub(crate) contact: Option<String>,
    pub(crate) risk: Risk,
    pub(crate) jurisdictions: BTreeMap<String, JurisdictionList>,
    /// Ascending by `min_score`.
    pub(crate) tiers: Vec<Tier>,
    pub(crate) conditions: BTreeMap<String, ConditionDef>,
    pub(crate) location: Option<LocationPolicy>,
    pub(crate) name_transliteration_variant: VariantRule,
    pub(crate) payment_evidence_methods: Vec<PaymentMethod>,
    pub(crate) resellers: Option<ResellerPolicy>,
    pub(crate) exemptions: BTreeMap<String, Exemption>,
    /// Left out of the policy's hash when it is the default, so that policies written before
    /// screening keep their identity.
    #[serde(skip_serializing_if = "ScreeningPolicy::is_default")]
    pub(crate) screening: ScreeningPolicy,
    #[serde(skip)]
    pub(crate) sha256: String,
    #[serde(skip)]
    pub(crate) id: String,
    /// Union of the location high-risk lists, for quick lookups.
    #[serde(skip)]
    pub(crate) high_risk: Vec<Country>,
}

impl Policy {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// SHA-256 (hex) of [`Policy::canonical_json`].
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// `name@version+sha256:HEX`: what every decision records.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The CIP contact named in the policy.
    pub fn contact(&self) -> Option<&str> {
        self.contact.as_deref()
    }

    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    pub fn risk(&self) -> &Risk {
        &self.risk
    }

    pub fn jurisdictions(&self) -> &BTreeMap<String, JurisdictionList> {
        &self.jurisdictions
    }

    pub fn conditions(&self) -> &BTreeMap<String, ConditionDef> {
        &self.conditions
    }

    pub fn location(&self) -> Option<&LocationPolicy> {
        self.location.as_ref()
    }

    pub fn exemptions(&self) -> &BTreeMap<String, Exemption> {
        &self.exemptions
    }

    pub fn screening(&self) -> &ScreeningPolicy {
        &self.screening
    }

    /// The canonical form the hash is taken over: the compiled policy as JSON, fields in a
    /// fixed order and maps sorted.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The shipped default policy ([`DEFAULT_POLICY`]).
    pub fn default_policy() -> Result<Policy, Vec<PolicyError>> {
        check(DEFAULT_POLICY)
    }

    /// A policy that requires nothing and has no rules: every application is approved. The
    /// baseline of benchmarks; never a policy to run.
    pub fn empty() -> Policy {
        let review = OutcomeRule { outcome: Outcome::ManualReview, conditions: Vec::new() };
        let mut p = Policy {
            name: "empty".into(),
            version: 1,
            description: Some("requires nothing: a benchmark baseline".into()),
            contact: None,
            risk: Risk::default(),
            jurisdictions: BTreeMap::new(),
            tiers: vec![Tier {
                name: "none".into(),
                description: None,
                min_score: 0,
                individual: Expr::None,
                entity: Expr::None,
                beneficial_owner: Expr::None,
                pending: review.clone(),
                missing: review.clone(),
                failed: review,
                fail_on_any_failed_evidence: false,
            }],
            conditions: BTreeMap::new(),
            location: None,
            name_transliteration_variant: VariantRule::Accept,
            payment_evidence_methods: Vec::new(),
            resellers: None,
            exemptions: BTreeMap::new(),
            screening: ScreeningPolicy::default(),
            sha256: String::new(),
            id: String::new(),
            high_risk: Vec::new(),
        };
        p.seal();
        p
    }

    /// Computes the derived fields (hash, id, high-risk set).
    fn seal(&mut self) {
        let digest = Sha256::digest(self.canonical_json().as_bytes());
        self.sha256 = digest.iter().map(|b| format!("{b:02x}")).collect();
        self.id = format!("{}@{}+sha256:{}", self.name, self.version, self.sha256);
        let mut high_risk: Vec<Country> = self
            .location
            .iter()
            .flat_map(|l| l.high_risk_lists.iter())
            .filter_map(|n| self.jurisdictions.get(n))
            .flat_map(|j| j.countries.iter().copied())
            .collect();
        high_risk.sort_unstable();
        high_risk.dedup();
        self.high_risk = high_risk;
    }

    /// The tier for a risk score: the last (highest) whose `min_score` it reaches.
    pub fn tier_for(&self, score: u32) -> Option<&Tier> {
        self.tiers.iter().rev().find(|t| score >= t.min_score)
    }

    pub(crate) fn is_high_risk(&self, c: Country) -> bool {
        self.high_risk.binary_search(&c).is_ok()
    }
}

// ---------------------------------------------------------------------------------------
// The file as written.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    policy: RawMeta,
    #[serde(default)]
    risk: RawRisk,
    #[serde(default)]
    jurisdictions: BTreeMap<String, RawJurisdiction>,
    tiers: BTreeMap<String, Spanned<RawTier>>,
    #[serde(default)]
    conditions: BTreeMap<String, ConditionDef>,
    #[serde(default)]
    location: Option<RawLocation>,
    #[serde(default)]
    documents: RawDocuments,
    #[serde(default)]
    payment: RawPayment,
    #[serde(default)]
    resellers: Option<RawResellers>,
    #[serde(default)]
    exemptions: BTreeMap<String, Spanned<Exemption>>,
    #[serde(default)]
    screening: Option<RawScreening>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScreening {
    strong_hit: RawOutcomeRule,
    hit: RawOutcomeRule,
    #[serde(default)]
    not_screened: Option<RawOutcomeRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: Spanned<String>,
    version: Spanned<u32>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    contact: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRisk {
    #[serde(default)]
    account_type: AccountTypeWeights,
    #[serde(default)]
    opening_method: OpeningMethodWeights,
    #[serde(default)]
    products: BTreeMap<String, u32>,
    #[serde(default)]
    other_products: u32,
    #[serde(default)]
    foreign_reseller: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJurisdiction {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    citation: Option<String>,
    countries: Vec<Spanned<String>>,
    weight: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutcomeRule {
    outcome: Spanned<String>,
    #[serde(default)]
    conditions: Vec<Spanned<String>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    #[serde(default)]
    description: Option<String>,
    min_score: Spanned<u32>,
    individual: Spanned<String>,
    entity: Spanned<String>,
    beneficial_owner: Spanned<String>,
    pending: RawOutcomeRule,
    #[serde(default)]
    missing: Option<RawOutcomeRule>,
    failed: RawOutcomeRule,
    #[serde(default = "yes")]
    fail_on_any_failed_evidence: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocationRule {
    min_weight: Spanned<u32>,
    outcome: Spanned<String>,
    #[serde(default)]
    conditions: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocation {
    #[serde(default)]
    weights: Weights,
    #[serde(default)]
    high_risk_lists: Vec<Spanned<String>>,
    #[serde(default)]
    high_risk_weight: u32,
    #[serde(default)]
    rules: Vec<RawLocationRule>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocuments {
    #[serde(default)]
    name_transliteration_variant: VariantRule,
}

fn default_payment_methods() -> Vec<PaymentMethod> {
    vec![PaymentMethod::Card, PaymentMethod::BankTransfer]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayment {
    #[serde(default = "default_payment_methods")]
    identity_evidence_methods: Vec<PaymentMethod>,
}

impl Default for RawPayment {
    fn default() -> Self {
        RawPayment { identity_evidence_methods: default_payment_methods() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResellers {
    missing_terms: RawOutcomeRule,
    own_cip: RawOutcomeRule,
    missing_agreement: RawOutcomeRule,
}

// ---------------------------------------------------------------------------------------
// Checking.

/// Parses and checks a policy file.
pub fn check(text: &str) -> Result<Policy, Vec<PolicyError>> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(vec![PolicyError {
            line: None,
            column: None,
            path: String::new(),
            message: format!("the policy file has {} bytes; at most {MAX_POLICY_BYTES} are accepted", text.len()),
        }]);
    }
    let raw: RawPolicy = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((None, None), |s| position(text, s.start));
        vec![PolicyError { line, column, path: String::new(), message: e.message().trim().to_owned() }]
    })?;
    let mut c = Checker { text, errors: Vec::new() };
    let policy = c.compile(raw);
    if c.errors.is_empty() { Ok(policy) } else { Err(c.errors) }
}

/// 1-based line and column (in characters) of byte `offset`.
fn position(text: &str, offset: usize) -> (Option<usize>, Option<usize>) {
    let Some(before) = text.get(..offset.min(text.len())) else {
        return (None, None);
    };
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (Some(line), Some(column))
}

struct Checker<'a> {
    text: &'a str,
    errors: Vec<PolicyError>,
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.'))
}

impl Checker<'_> {
    fn err(&mut self, span: Option<Range<usize>>, path: impl Into<String>, message: impl Into<String>) {
        let (line, column) = span.map_or((None, None), |s| position(self.text, s.start));
        self.errors.push(PolicyError { line, column, path: path.into(), message: message.into() });
    }

    /// Where the contents of a string value start (after its opening quote(s)).
    fn string_start(&self, span: &Range<usize>) -> usize {
        let rest = self.text.get(span.start..).unwrap_or("");
        if rest.starts_with("\"\"\"") || rest.starts_with("'''") { span.start + 3 } else { span.start + 1 }
    }

    fn expr(&mut self, s: &Spanned<String>, path: &str, allowed: &[Atom]) -> Expr {
        match Expr::parse(s.get_ref()) {
            Ok(e) => {
                for a in e.atoms() {
                    if !allowed.contains(&a) {
                        self.err(
                            Some(s.span()),
                            path,
                            format!(
                                "`{a}` is not evidence this subject can have here (allowed: {})",
                                allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
                            ),
                        );
                    }
                }
                e
            }
            Err(e) => {
                let at = self.string_start(&s.span()) + e.offset;
                self.err(Some(at..at), path, e.message);
                Expr::None
            }
        }
    }

    fn outcome(&mut self, s: &Spanned<String>, path: &str) -> Outcome {
        match Outcome::parse(s.get_ref().trim()) {
            Some(o) => o,
            None => {
                self.err(
                    Some(s.span()),
                    path,
                    format!(
                        "`{}` is not an outcome (expected approve, approve_with_conditions, manual_review or deny)",
                        s.get_ref()
                    ),
                );
                Outcome::ManualReview
            }
        }
    }

    fn rule(
        &mut self,
        outcome: &Spanned<String>,
        conditions: &[Spanned<String>],
        path: &str,
        defined: &BTreeMap<String, ConditionDef>,
    ) -> OutcomeRule {
        let o = self.outcome(outcome, &format!("{path}.outcome"));
        for c in conditions {
            if !defined.contains_key(c.get_ref()) {
                self.err(
                    Some(c.span()),
                    format!("{path}.conditions"),
                    format!("condition `{}` is not defined in [conditions]", c.get_ref()),
                );
            }
        }
        if o == Outcome::ApproveWithConditions && conditions.is_empty() {
            self.err(Some(outcome.span()), path, "approve_with_conditions needs at least one condition");
        }
        if o != Outcome::ApproveWithConditions && !conditions.is_empty() {
            self.err(
                Some(outcome.span()),
                path,
                format!("conditions apply only to approve_with_conditions, not to {}", o.as_str()),
            );
        }
        OutcomeRule { outcome: o, conditions: conditions.iter().map(|c| c.get_ref().clone()).collect() }
    }

    fn countries(&mut self, list: &[Spanned<String>], path: &str) -> Vec<Country> {
        let mut out = Vec::with_capacity(list.len());
        for c in list {
            match Country::parse(c.get_ref()) {
                Ok(country) if c.get_ref().trim() == country.as_str() => out.push(country),
                _ => self.err(
                    Some(c.span()),
                    path,
                    format!("`{}` is not an ISO 3166-1 alpha-2 country code in upper case", c.get_ref()),
                ),
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn compile(&mut self, raw: RawPolicy) -> Policy {
        let name = raw.policy.name.get_ref().trim().to_owned();
        if !is_identifier(&name) {
            self.err(
                Some(raw.policy.name.span()),
                "policy.name",
                "a policy name is 1-64 characters of a-z, 0-9, `_`, `-` and `.`",
            );
        }
        let version = *raw.policy.version.get_ref();
        if version == 0 {
            self.err(Some(raw.policy.version.span()), "policy.version", "versions start at 1");
        }

        for p in raw.risk.products.keys() {
            if !is_identifier(p) {
                self.err(None, format!("risk.products.{p}"), "a product name is lower case (a-z, 0-9, `_`)");
            }
        }
        let risk = Risk {
            account_type: raw.risk.account_type,
            opening_method: raw.risk.opening_method,
            products: raw.risk.products,
            other_products: raw.risk.other_products,
            foreign_reseller: raw.risk.foreign_reseller,
        };

        let mut jurisdictions = BTreeMap::new();
        for (n, j) in &raw.jurisdictions {
            let path = format!("jurisdictions.{n}");
            if !is_identifier(n) {
                self.err(None, &path, "a list name is lower case (a-z, 0-9, `_`, `-`)");
            }
            let countries = self.countries(&j.countries, &format!("{path}.countries"));
            jurisdictions.insert(
                n.clone(),
                JurisdictionList {
                    description: j.description.clone(),
                    citation: j.citation.clone(),
                    countries,
                    weight: j.weight,
                },
            );
        }

        let conditions = raw.conditions;
        for n in conditions.keys() {
            if !is_identifier(n) {
                self.err(None, format!("conditions.{n}"), "a condition name is lower case (a-z, 0-9, `_`, `-`)");
            }
        }

        let individual = [Atom::Document, Atom::Email, Atom::Phone, Atom::Payment, Atom::IdVendor];
        let entity = [Atom::Email, Atom::Phone, Atom::Payment, Atom::IdVendor, Atom::Registration];
        let owner = [Atom::Document, Atom::IdVendor];
        let mut tiers = Vec::new();
        if raw.tiers.is_empty() {
            self.err(None, "tiers", "a policy needs at least one tier");
        }
        for (n, t) in &raw.tiers {
            let path = format!("tiers.{n}");
            let span = t.span();
            let t = t.get_ref();
            if !is_identifier(n) {
                self.err(Some(span.clone()), &path, "a tier name is lower case (a-z, 0-9, `_`, `-`)");
            }
            let pending = self.rule(&t.pending.outcome, &t.pending.conditions, &format!("{path}.pending"), &conditions);
            if pending.outcome == Outcome::Approve {
                self.err(
                    Some(t.pending.outcome.span()),
                    format!("{path}.pending.outcome"),
                    "an account pending verification cannot be approved without conditions (use approve_with_conditions, manual_review or deny)",
                );
            }
            let missing = match &t.missing {
                Some(m) => {
                    let r = self.rule(&m.outcome, &m.conditions, &format!("{path}.missing"), &conditions);
                    if r.outcome == Outcome::Approve {
                        self.err(
                            Some(m.outcome.span()),
                            format!("{path}.missing.outcome"),
                            "an account whose verification has not started cannot be approved without conditions",
                        );
                    }
                    r
                }
                None => pending.clone(),
            };
            let failed = self.rule(&t.failed.outcome, &t.failed.conditions, &format!("{path}.failed"), &conditions);
            if matches!(failed.outcome, Outcome::Approve | Outcome::ApproveWithConditions) {
                self.err(
                    Some(t.failed.outcome.span()),
                    format!("{path}.failed.outcome"),
                    "a failed verification leads to manual_review or deny",
                );
            }
            tiers.push(Tier {
                name: n.clone(),
                description: t.description.clone(),
                min_score: *t.min_score.get_ref(),
                individual: self.expr(&t.individual, &format!("{path}.individual"), &individual),
                entity: self.expr(&t.entity, &format!("{path}.entity"), &entity),
                beneficial_owner: self.expr(&t.beneficial_owner, &format!("{path}.beneficial_owner"), &owner),
                pending,
                missing,
                failed,
                fail_on_any_failed_evidence: t.fail_on_any_failed_evidence,
            });
        }
        tiers.sort_by_key(|t| t.min_score);
        if let Some(first) = tiers.first()
            && first.min_score != 0
        {
            let span = raw.tiers.get(&first.name).map(|t| t.get_ref().min_score.span());
            self.err(
                span,
                format!("tiers.{}.min_score", first.name),
                "the lowest tier must start at min_score = 0, so that every score has a tier",
            );
        }
        for pair in tiers.windows(2) {
            if let [a, b] = pair
                && a.min_score == b.min_score
            {
                let span = raw.tiers.get(&b.name).map(|t| t.get_ref().min_score.span());
                self.err(
                    span,
                    format!("tiers.{}.min_score", b.name),
                    format!("tiers `{}` and `{}` start at the same score", a.name, b.name),
                );
            }
        }

        let location = raw.location.as_ref().map(|l| {
            for n in &l.high_risk_lists {
                if !jurisdictions.contains_key(n.get_ref()) {
                    self.err(
                        Some(n.span()),
                        "location.high_risk_lists",
                        format!("`{}` is not a list in [jurisdictions]", n.get_ref()),
                    );
                }
            }
            let mut rules = Vec::new();
            let mut last: Option<u32> = None;
            for (i, r) in l.rules.iter().enumerate() {
                let path = format!("location.rules[{i}]");
                let w = *r.min_weight.get_ref();
                if w == 0 || last.is_some_and(|x| w <= x) {
                    self.err(Some(r.min_weight.span()), format!("{path}.min_weight"), "location rules are in ascending order of min_weight, from 1");
                }
                last = Some(w);
                let outcome = self.rule(&r.outcome, &r.conditions, &path, &conditions);
                if outcome.outcome == Outcome::Deny {
                    self.err(Some(r.outcome.span()), format!("{path}.outcome"), "a location inconsistency is weighed, never fatal by itself: use approve_with_conditions or manual_review");
                }
                rules.push(LocationRule { min_weight: w, outcome });
            }
            LocationPolicy {
                weights: l.weights,
                high_risk_lists: l.high_risk_lists.iter().map(|n| n.get_ref().clone()).collect(),
                high_risk_weight: l.high_risk_weight,
                rules,
            }
        });

        let resellers = raw.resellers.as_ref().map(|r| ResellerPolicy {
            missing_terms: self.rule(
                &r.missing_terms.outcome,
                &r.missing_terms.conditions,
                "resellers.missing_terms",
                &conditions,
            ),
            own_cip: self.rule(&r.own_cip.outcome, &r.own_cip.conditions, "resellers.own_cip", &conditions),
            missing_agreement: self.rule(
                &r.missing_agreement.outcome,
                &r.missing_agreement.conditions,
                "resellers.missing_agreement",
                &conditions,
            ),
        });

        let screening = match &raw.screening {
            None => ScreeningPolicy::default(),
            Some(r) => {
                let strong_hit =
                    self.rule(&r.strong_hit.outcome, &r.strong_hit.conditions, "screening.strong_hit", &conditions);
                let hit = self.rule(&r.hit.outcome, &r.hit.conditions, "screening.hit", &conditions);
                for (rule, raw_rule, path) in
                    [(&strong_hit, &r.strong_hit, "screening.strong_hit"), (&hit, &r.hit, "screening.hit")]
                {
                    if matches!(rule.outcome, Outcome::Approve | Outcome::ApproveWithConditions) {
                        self.err(
                            Some(raw_rule.outcome.span()),
                            path,
                            "a screening hit never approves: use manual_review or deny",
                        );
                    }
                }
                let not_screened = r
                    .not_screened
                    .as_ref()
                    .map(|n| self.rule(&n.outcome, &n.conditions, "screening.not_screened", &conditions));
                ScreeningPolicy { strong_hit, hit, not_screened }
            }
        };

        let mut exemptions = BTreeMap::new();
        for (id, e) in raw.exemptions {
            if !is_identifier(&id) {
                self.err(
                    Some(e.span()),
                    format!("exemptions.{id}"),
                    "an exemption id is lower case (a-z, 0-9, `_`, `-`, `.`)",
                );
            }
            exemptions.insert(id, e.into_inner());
        }

        let mut methods = raw.payment.identity_evidence_methods;
        methods.dedup();

        let mut p = Policy {
            name,
            version,
            description: raw.policy.description,
            contact: raw.policy.contact,
            risk,
            jurisdictions,
            tiers,
            conditions,
            location,
            name_transliteration_variant: raw.documents.name_transliteration_variant,
            payment_evidence_methods: methods,
            resellers,
            exemptions,
            screening,
            sha256: String::new(),
            id: String::new(),
            high_risk: Vec::new(),
        };
        p.seal();
        p
    }
}
