//! Special measures (EO 13984 § 2(d)), exemptions (§ 1(c)) and the ADP description, wired
//! to the store and to decisions. The rules themselves live in `lessee-measures`; this module
//! keeps the registry (every change audited, with an append-only history), applies the
//! measures in force when an account is opened or decided again, and re-evaluates existing
//! accounts when a measure or an exemption changes or a date passes (`reevaluate_measures`).
//!
//! Person measures match through `lessee-measures`' built-in `ExactMatcher` (identifiers, and
//! folded names with the same date of birth; a name alone is a potential match sent to
//! review). Fuzzy matching through the screening engine comes when the lists wiring merges.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, Utc};
use lessee_domain::{Account, AccountId, Application, Condition, Country, Decision, FieldError, Outcome};
use lessee_measures::{
    AdpDescription, AdpVersion, Evaluator, Exemption, Extension, JurisdictionTarget, Location, Measure, Revocation,
    Stage, Status, StatusAt, Subject, Target, ValidationConfig, Verdict,
};
use lessee_store::{ImpactRecord, ImpactWrite, RegistryDoc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Service;
use crate::audit::RequestContext;
use crate::auth::{Permission, Principal, Purpose};
use crate::error::{Error, ErrorCode, Result};

const MEASURE: &str = "measure";
const EXEMPTION: &str = "exemption";
const ADP: &str = "adp";
/// The job kind that re-evaluates existing accounts (`reevaluate_measures`); one pending at a
/// time (key `all`): a run evaluates every measure that changed, so more would do nothing.
pub const REEVALUATE_JOB: &str = "measures.reevaluate";
/// Accounts read per page by a re-evaluation.
const REEVALUATE_PAGE: u32 = 1000;
/// Per measure: the (version, status, exemptions) it was last evaluated under.
const EVALUATED: &str = "measure_evaluated";

/// A measure as the registry holds it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MeasureView {
    #[schema(value_type = Object)]
    pub measure: Measure,
    /// Incremented by every change (created = 1).
    pub version: i64,
    /// Status on the service's date and when it next changes.
    #[schema(value_type = Object)]
    pub status: StatusAt,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Accepted, but worth a look (e.g. the 180-day lead time when configured as a warning).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One change in a registry entry's history.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ChangeView {
    pub version: i64,
    /// `created`, `extended`, `revoked`, `version_added`.
    pub change: String,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
    /// The entry as it became.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
}

/// A measure with its history.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MeasureDetail {
    #[serde(flatten)]
    pub view: MeasureView,
    pub history: Vec<ChangeView>,
}

/// An exemption as the registry holds it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ExemptionView {
    #[schema(value_type = Object)]
    pub exemption: Exemption,
    pub version: i64,
    #[schema(value_type = Object)]
    pub status: StatusAt,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The ADP description with its versions and the one current on the service's date.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AdpView {
    #[schema(value_type = Object)]
    pub description: AdpDescription,
    #[schema(value_type = Option<Object>)]
    pub current: Option<AdpVersion>,
    pub history: Vec<ChangeView>,
}

/// A new ADP description version (`POST /v1/exemptions/adp`).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdpChange {
    /// The program's name; required for the first version, otherwise kept.
    #[serde(default)]
    pub program: Option<String>,
    /// `YYYY-MM-DD`: from when this version describes the program.
    #[schema(value_type = String)]
    pub effective: NaiveDate,
    pub text: String,
    #[serde(default)]
    pub reference: Option<String>,
}

/// Extending a measure (`POST /v1/measures/{id}/extend`).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendRequest {
    /// The new expiry, `YYYY-MM-DD`.
    #[schema(value_type = String)]
    pub until: NaiveDate,
    /// The determination that extends it.
    pub citation: String,
}

/// Revoking a measure or an exemption.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// The act that revokes it (citation or reason).
    pub reason: String,
    /// From when; the service's date when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub date: Option<NaiveDate>,
}

/// One account a measure reaches.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImpactEntry {
    pub account_id: String,
    /// `upcoming` (found before the effective date: nothing changed yet), `applied` (the
    /// outcome was given), `lifted` (the measure expired or was revoked).
    pub state: String,
    /// `block`, `close`, `review`, `conditions` or `clear` (exempted).
    pub verdict: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_by: Option<String>,
    pub measure_version: i64,
    pub first_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The findings: link, basis, action, exemption and the reason citing the measure.
    #[schema(value_type = Object)]
    pub outcome: serde_json::Value,
}

/// The impact report of a measure.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImpactView {
    pub measure_id: String,
    #[schema(value_type = Object)]
    pub status: StatusAt,
    /// When the accounts were last evaluated against this measure (absent: not yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluated_at: Option<DateTime<Utc>>,
    pub counts: BTreeMap<String, u64>,
    pub accounts: Vec<ImpactEntry>,
}

/// What one re-evaluation run did.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct ReevaluationReport {
    /// Measures evaluated (their version, status or the exemptions changed since last time).
    pub measures: u64,
    /// Accounts read (their summaries).
    pub scanned: u64,
    /// Accounts whose application was decrypted to evaluate them.
    pub decrypted: u64,
    /// Accounts given a measure's outcome or lifted, recorded in the impact table.
    pub recorded: u64,
    /// Accounts whose decision changed.
    pub decided: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct EvaluatedState {
    version: i64,
    status: Status,
    exemptions: String,
    at: DateTime<Utc>,
}

fn bad_body(detail: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidBody, detail)
}

fn random_id(prefix: &str) -> String {
    let mut b = [0u8; 6];
    rand::rng().fill_bytes(&mut b);
    format!("{prefix}-{}", hex::encode(b))
}

/// A `lessee-measures` error as a field error of the problem body.
fn field_error(e: &lessee_measures::Error) -> FieldError {
    use lessee_measures::Error as E;
    let (pointer, code) = match e {
        E::InvalidId(_) => ("/id", "invalid_id"),
        E::InvalidSubdivision(_) => ("/target/subdivision", "invalid_subdivision"),
        E::UnknownRegion { .. } => ("/target/region", "unknown_region"),
        E::PersonWithoutNameOrIdentifier => ("/target", "person_without_name_or_identifier"),
        E::EmptyName { .. } => ("/target/name", "empty_name"),
        E::IncompleteIdentifier { .. } => ("/target/identifiers", "incomplete_identifier"),
        E::MissingCitation { .. } => ("/citation", "missing_citation"),
        E::ScopeAppliesToNothing => ("/scope", "scope_applies_to_nothing"),
        E::InvalidConditions { .. } => ("/effect/conditions", "invalid_conditions"),
        E::EffectiveBeforeDetermination { .. } => ("/effective", "effective_before_determination"),
        E::EffectiveTooSoon { .. } => ("/effective", "effective_too_soon"),
        E::ExpeditedWithoutCitation => ("/expedited/citation", "missing_citation"),
        E::EndNotAfterStart { .. } => ("/expiry", "end_not_after_start"),
        E::ExtensionDoesNotExtend { .. } => ("/extensions", "extension_does_not_extend"),
        E::ExtensionDate { .. } => ("/extensions", "extension_date"),
        E::RevocationTooEarly { .. } => ("/revocation/date", "revocation_too_early"),
        E::EffectiveBeforeGrant { .. } => ("/effective", "effective_before_grant"),
        E::ExemptsFromNothing => ("/exempts_from", "exempts_from_nothing"),
        E::InvalidRequirement(_) => ("/exempts_from/requirements", "invalid_requirement"),
        E::AdpVersions(_) => ("/versions", "invalid_adp_version"),
    };
    FieldError { pointer: pointer.into(), code: code.into(), message: e.to_string() }
}

fn invalid(errors: &[lessee_measures::Error]) -> Error {
    Error::validation(errors.iter().map(field_error).collect())
}

/// The exemptions granted by Commerce that are in force on `today`, cover the application's
/// scope (account type, lessee type, country) and waive CIP requirements, as the policy weighs
/// them. Exemptions from measures only are left to the measures evaluation.
pub(crate) fn granted_exemptions(
    exemptions: &[Exemption],
    app: &Application,
    today: NaiveDate,
) -> Vec<lessee_policy::GrantedExemption> {
    if exemptions.is_empty() {
        return Vec::new();
    }
    let subject = Subject::scope_of(app);
    exemptions
        .iter()
        .filter(|e| e.in_effect(today) && e.covers_subject(&subject))
        .filter_map(|e| {
            let waives: Vec<String> = match &e.exempts_from {
                lessee_measures::ExemptsFrom::All {} => {
                    lessee_policy::codes::requirements::ALL.iter().map(|(c, _)| (*c).to_owned()).collect()
                }
                lessee_measures::ExemptsFrom::Listed { requirements, .. } => requirements.clone(),
            };
            (!waives.is_empty()).then(|| lessee_policy::GrantedExemption {
                id: e.id.to_string(),
                reference: e.reference.clone(),
                waives,
                conditions: e.conditions.clone(),
            })
        })
        .collect()
}

/// Registry id (kind `measure_evaluated`) of the state of the requirement exemptions last
/// applied to existing accounts.
const REQUIREMENTS_EVALUATED: &str = "requirement_exemptions";

/// Per exemption that waives CIP requirements: its version and status on a day.
type RequirementState = BTreeMap<String, (i64, String)>;

fn waives_requirements(e: &Exemption) -> bool {
    match &e.exempts_from {
        lessee_measures::ExemptsFrom::All {} => true,
        lessee_measures::ExemptsFrom::Listed { requirements, .. } => !requirements.is_empty(),
    }
}

fn requirement_state(exemptions: &[(Exemption, i64)], day: NaiveDate) -> RequirementState {
    exemptions
        .iter()
        .filter(|(e, _)| waives_requirements(e))
        .map(|(e, v)| (e.id.to_string(), (*v, e.status(day).status.as_str().to_owned())))
        .collect()
}

/// Whether a stored decision rests on one of these exemptions (a reason naming it, or a
/// condition it imposed).
fn cites_exemption(decision: &Decision, ids: &BTreeSet<String>) -> bool {
    use lessee_policy::codes;
    let cited = |text: &str| ids.iter().any(|id| text.contains(&format!("`{id}`")));
    decision.reasons.iter().any(|r| {
        matches!(r.code.as_str(), codes::EXEMPTION_APPLIED | codes::VERIFICATION_WAIVED | codes::RESELLER_CIP_WAIVED)
            && cited(&r.message)
    }) || decision.conditions.iter().any(|c| c.imposed_by.strip_prefix("exemption:").is_some_and(|id| ids.contains(id)))
}

/// Whether an exemption's scope may cover a stored account, from what is stored unencrypted
/// (the country scope is checked when the account is decided again).
fn may_cover(e: &Exemption, account: &Account) -> bool {
    match &e.scope {
        lessee_measures::ExemptionScope::Provider {} | lessee_measures::ExemptionScope::Country { .. } => true,
        lessee_measures::ExemptionScope::AccountType { account_type } => account.account_type == *account_type,
        lessee_measures::ExemptionScope::LesseeType { lessee_type } => account.customer_kind == *lessee_type,
    }
}

/// Whether an exemption's scope covers a stored account, judged from what is stored unencrypted:
/// the account type, the lessee type, and for a country scope the country of the customer's
/// address in the classification evidence.
pub(crate) fn covers_account(e: &Exemption, account: &Account) -> bool {
    match &e.scope {
        lessee_measures::ExemptionScope::Country { country } => account
            .classification
            .basis
            .evidence
            .iter()
            .any(|ev| ev.source == "/customer/address/country" && ev.country == *country),
        _ => may_cover(e, account),
    }
}

/// Refuses requirement codes the policy cannot waive: an exemption that names one would be
/// recorded but never applied, which an auditor would read as applied.
fn unknown_requirements(exemption: &Exemption) -> Vec<FieldError> {
    use lessee_policy::codes::requirements;
    let lessee_measures::ExemptsFrom::Listed { requirements: listed, .. } = &exemption.exempts_from else {
        return Vec::new();
    };
    let known: Vec<&str> = requirements::ALL.iter().map(|(c, _)| *c).collect();
    listed
        .iter()
        .enumerate()
        .filter(|(_, r)| lessee_measures::valid_code(r) && !requirements::is_known(r))
        .map(|(i, r)| FieldError {
            pointer: format!("/exempts_from/requirements/{i}"),
            code: "unknown_requirement".into(),
            message: format!(
                "`{}` is not a requirement an exemption can waive; known: {}",
                r.chars().take(64).collect::<String>(),
                known.join(", ")
            ),
        })
        .collect()
}

/// Reads a JSON object body, fills `id` (generated with `prefix`) and, when absent, `key` with
/// `today`, then parses it strictly as `T`.
fn complete<T: serde::de::DeserializeOwned>(
    mut body: serde_json::Value,
    prefix: &str,
    key: &str,
    today: NaiveDate,
) -> Result<T> {
    let obj = body.as_object_mut().ok_or_else(|| bad_body("the body must be a JSON object"))?;
    if !obj.contains_key("id") {
        obj.insert("id".into(), serde_json::Value::String(random_id(prefix)));
    }
    if !obj.contains_key(key) {
        obj.insert(key.into(), serde_json::Value::String(today.to_string()));
    }
    serde_json::from_value(body).map_err(|e| {
        let msg = e.to_string();
        if msg.contains("unknown field") { Error::new(ErrorCode::UnknownField, msg) } else { bad_body(msg) }
    })
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(Error::internal)
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(Error::internal)
}

fn severity(o: Outcome) -> u8 {
    match o {
        Outcome::Approve => 0,
        Outcome::ApproveWithConditions => 1,
        Outcome::ManualReview => 2,
        Outcome::Deny => 3,
    }
}

fn raise(decision: &mut Decision, to: Outcome) {
    if severity(to) > severity(decision.outcome) {
        decision.outcome = to;
    }
}

fn is_measure_reason(code: &str) -> bool {
    lessee_measures::codes::ALL.iter().any(|(c, _)| *c == code)
}

/// Conditions attached to a granted exemption go with it: when the exemption waived a
/// requirement in the decision (`used`, from the engine) and the decision approves, its
/// conditions are imposed (an approval becomes one with conditions). A decision that denies or
/// holds for review carries no conditions.
pub(crate) fn give_exemption_conditions(
    decision: &mut Decision,
    granted: &[lessee_policy::GrantedExemption],
    used: &[String],
) {
    if !matches!(decision.outcome, Outcome::Approve | Outcome::ApproveWithConditions) {
        return;
    }
    for g in granted.iter().filter(|g| !g.conditions.is_empty() && used.contains(&g.id)) {
        for code in &g.conditions {
            let imposed_by = format!("exemption:{}", g.id);
            if decision.conditions.iter().any(|c| &c.id == code && c.imposed_by == imposed_by) {
                continue;
            }
            decision.conditions.push(Condition {
                id: code.clone(),
                description: format!("attached to exemption `{}` ({})", g.id, g.reference.trim()),
                params: BTreeMap::new(),
                lifted_by: "exemption_ends".into(),
                imposed_by,
                subject: "customer".into(),
            });
        }
        raise(decision, Outcome::ApproveWithConditions);
    }
}

/// Gives a decision a measures evaluation's outcome: the findings' reasons (each citing its
/// measure, and saying when an exemption applied), the conditions, and the outcome raised to
/// what the verdict requires. Reasons of the same measures from an earlier evaluation are
/// replaced, so applying twice changes nothing.
pub(crate) fn give_outcome(decision: &mut Decision, outcome: &lessee_measures::Outcome, measures: &[Measure]) {
    let ids: BTreeSet<String> = outcome.findings.iter().map(|f| f.measure.to_string()).collect();
    let mentions = |text: &str| ids.iter().any(|id| text.contains(&format!("`{id}`")));
    decision.reasons.retain(|r| !(is_measure_reason(&r.code) && mentions(&r.message)));
    decision.conditions.retain(|c| !ids.iter().any(|id| c.imposed_by == format!("measure:{id}")));
    for f in &outcome.findings {
        decision.reasons.push(f.reason.clone());
        let conditions = match &f.action {
            lessee_measures::Action::Conditions { conditions } | lessee_measures::Action::Exempt { conditions } => {
                conditions.as_slice()
            }
            _ => &[],
        };
        let citation = measures.iter().find(|m| m.id == f.measure).map(|m| m.citation.trim()).unwrap_or_default();
        for code in conditions {
            if decision.conditions.iter().any(|c| &c.id == code && c.imposed_by == format!("measure:{}", f.measure)) {
                continue;
            }
            decision.conditions.push(Condition {
                id: code.clone(),
                description: format!("imposed by special measure `{}` ({citation})", f.measure),
                params: BTreeMap::new(),
                lifted_by: "measure_expired_or_revoked".into(),
                imposed_by: format!("measure:{}", f.measure),
                subject: f.link.to_string(),
            });
        }
    }
    match outcome.verdict {
        Verdict::Block | Verdict::Close => raise(decision, Outcome::Deny),
        Verdict::Review => raise(decision, Outcome::ManualReview),
        Verdict::Conditions => raise(decision, Outcome::ApproveWithConditions),
        Verdict::Clear => {}
    }
}

/// What is known of an account for measures, beside its application.
#[derive(Clone, Debug, Default)]
pub(crate) struct Links {
    /// Countries the account was accessed from (the jurisdiction watch notes them), and the
    /// sign-up IP's country.
    pub access_countries: Vec<String>,
    /// Applications of sub-lessee accounts a reseller registered (their customers are the
    /// reseller account's sub-lessees beside those in its own application).
    pub sub_lessees: Vec<Application>,
}

fn subject_of(account: &str, app: &Application, links: &Links) -> Subject {
    let mut subject = Subject::from_application(account, app);
    for sub in &links.sub_lessees {
        subject.sub_lessees.push(Subject::from_application("", sub).customer);
    }
    let mut seen = BTreeSet::new();
    for c in &links.access_countries {
        if let Ok(country) = Country::parse(c)
            && seen.insert(country)
        {
            subject.access_locations.push(Location::country(country));
        }
    }
    subject
}

/// The links known from the application alone: the sign-up IP's country.
fn signup_links(geo: &dyn crate::GeoIp, app: &Application) -> Links {
    let mut links = Links::default();
    if let Some(c) = app.signup.as_ref().and_then(|s| s.ip.trim().parse::<IpAddr>().ok()).and_then(|ip| geo.country(ip))
    {
        links.access_countries.push(c.to_string());
    }
    links
}

/// Only a reseller's account has registered sub-lessees.
fn may_have_sub_lessees(app: &Application) -> bool {
    app.account_type == lessee_domain::application::AccountType::Reseller || app.reseller.is_some()
}

/// One measure's evaluation of a stored account, `None` when it is clear.
fn evaluate_subject(
    measure: &Measure,
    exemptions: &[Exemption],
    at: NaiveDate,
    id: AccountId,
    app: &Application,
    links: &Links,
) -> Option<lessee_measures::Outcome> {
    let subject = subject_of(&id.to_string(), app, links);
    let measures = std::slice::from_ref(measure);
    let matcher = crate::person_match::matcher_for(measures);
    let outcome = Evaluator::with_matcher(lessee_measures::EvalConfig::default(), matcher).evaluate(
        measures,
        exemptions,
        &subject,
        at,
        Stage::Maintaining,
    );
    Some(outcome).filter(|o| !o.is_clear())
}

/// A candidate's application, opened, with the measure's outcome when it could be computed
/// beside the decryption (every account without registered sub-lessees, whose applications are
/// read from the store afterwards).
struct Opened {
    app: Application,
    outcome: Option<Option<lessee_measures::Outcome>>,
}

/// The measure's id, version and status, and the exemptions in force, as one comparable state.
fn exemptions_fingerprint(exemptions: &[(Exemption, i64)], day: NaiveDate) -> String {
    exemptions
        .iter()
        .filter(|(e, _)| match &e.exempts_from {
            lessee_measures::ExemptsFrom::All {} => true,
            lessee_measures::ExemptsFrom::Listed { measures, .. } => !measures.is_empty(),
        })
        .map(|(e, v)| format!("{}@{}:{}", e.id, v, e.status(day).status.as_str()))
        .collect::<Vec<_>>()
        .join(",")
}

impl Service {
    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    fn validation_config(&self) -> ValidationConfig {
        ValidationConfig::default()
    }

    async fn measure_docs(&self) -> Result<Vec<(Measure, RegistryDoc)>> {
        let docs = self.store.registry_docs(MEASURE).await?;
        docs.into_iter().map(|d| Ok((from_json::<Measure>(&d.body)?, d))).collect()
    }

    async fn exemption_docs(&self) -> Result<Vec<(Exemption, RegistryDoc)>> {
        let docs = self.store.registry_docs(EXEMPTION).await?;
        docs.into_iter().map(|d| Ok((from_json::<Exemption>(&d.body)?, d))).collect()
    }

    fn measure_view(&self, measure: Measure, doc: &RegistryDoc, warnings: Vec<String>) -> MeasureView {
        let status = measure.status(self.today());
        MeasureView {
            measure,
            version: doc.version,
            status,
            created_at: doc.created_at,
            updated_at: doc.updated_at,
            warnings,
        }
    }

    async fn history(&self, kind: &str, id: &str) -> Result<Vec<ChangeView>> {
        let changes = self.store.registry_changes(kind, id).await?;
        changes
            .into_iter()
            .map(|c| {
                Ok(ChangeView {
                    version: c.version,
                    change: c.change,
                    changed_by: c.changed_by,
                    changed_at: c.changed_at,
                    body: from_json(&c.body)?,
                })
            })
            .collect()
    }

    /// Adds a measure. The body is the measure's JSON (see `lessee-measures`); `id` is
    /// generated and `determination` is the service's date when absent. Validated in full (the
    /// 180-day rule included) before anything is written; the creation is audited and the
    /// accounts are re-evaluated by the next `reevaluate_measures` run.
    pub async fn add_measure(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        body: serde_json::Value,
    ) -> Result<MeasureView> {
        by.require(Permission::MeasuresWrite)?;
        let measure: Measure = complete(body, "m", "determination", self.today())?;
        if !measure.extensions.is_empty() || measure.revocation.is_some() {
            return Err(bad_body("a new measure has no extensions or revocation; extend or revoke it afterwards"));
        }
        let warnings = measure.validate(&self.validation_config()).map_err(|e| invalid(&e))?;
        let now = self.now();
        let doc = RegistryDoc {
            kind: MEASURE.into(),
            id: measure.id.to_string(),
            version: 1,
            body: to_json(&measure)?,
            created_at: now,
            updated_at: now,
        };
        let audit = self.audit_event(by, ctx, Purpose::Audit, "measure.create", MEASURE, &doc.id);
        if !self.store.put_registry(&doc, None, "created", &by.token_id, &audit).await? {
            return Err(Error::new(ErrorCode::Conflict, format!("a measure `{}` already exists", doc.id)));
        }
        tracing::info!(measure_id = %doc.id, by = %by.token_id, "Special measure added.");
        self.enqueue_reevaluation().await;
        Ok(self.measure_view(measure, &doc, warnings.iter().map(ToString::to_string).collect()))
    }

    pub async fn list_measures(&self, by: &Principal) -> Result<Vec<MeasureView>> {
        by.require(Permission::MeasuresRead)?;
        Ok(self.measure_docs().await?.into_iter().map(|(m, d)| self.measure_view(m, &d, Vec::new())).collect())
    }

    pub async fn measure(&self, by: &Principal, id: &str) -> Result<MeasureDetail> {
        by.require(Permission::MeasuresRead)?;
        let doc = self.store.registry_doc(MEASURE, id).await?.ok_or_else(|| Error::not_found("measure"))?;
        let view = self.measure_view(from_json(&doc.body)?, &doc, Vec::new());
        Ok(MeasureDetail { view, history: self.history(MEASURE, id).await? })
    }

    /// Changes a measure by compare-and-set on its version, validating the result.
    async fn change_measure(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        change: &str,
        apply: impl FnOnce(&mut Measure) -> Result<()>,
    ) -> Result<MeasureView> {
        by.require(Permission::MeasuresWrite)?;
        let doc = self.store.registry_doc(MEASURE, id).await?.ok_or_else(|| Error::not_found("measure"))?;
        let mut measure: Measure = from_json(&doc.body)?;
        if measure.revocation.is_some() {
            return Err(Error::new(ErrorCode::Conflict, format!("measure `{id}` is revoked")));
        }
        apply(&mut measure)?;
        // Dates of an existing measure were checked when it was added; the lead time is not
        // checked again.
        let config = ValidationConfig { lead_time: lessee_measures::RuleLevel::Off, ..self.validation_config() };
        measure.validate(&config).map_err(|e| invalid(&e))?;
        let now = self.now();
        let new = RegistryDoc { version: doc.version + 1, body: to_json(&measure)?, updated_at: now, ..doc.clone() };
        let audit = self.audit_event(by, ctx, Purpose::Audit, &format!("measure.{change}"), MEASURE, id);
        if !self.store.put_registry(&new, Some(doc.version), change, &by.token_id, &audit).await? {
            return Err(Error::new(ErrorCode::Conflict, "the measure changed meanwhile; read it again and retry"));
        }
        tracing::info!(measure_id = %id, change, by = %by.token_id, "Special measure changed.");
        self.enqueue_reevaluation().await;
        Ok(self.measure_view(measure, &new, Vec::new()))
    }

    pub async fn extend_measure(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        req: ExtendRequest,
    ) -> Result<MeasureView> {
        let date = self.today();
        self.change_measure(by, ctx, id, "extended", |m| {
            m.extensions.push(Extension { new_expiry: req.until, citation: req.citation, date });
            Ok(())
        })
        .await
    }

    pub async fn revoke_measure(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        req: RevokeRequest,
    ) -> Result<MeasureView> {
        let date = req.date.unwrap_or_else(|| self.today());
        self.change_measure(by, ctx, id, "revoked", |m| {
            m.revocation = Some(Revocation { date, citation: req.reason });
            Ok(())
        })
        .await
    }

    fn exemption_view(&self, exemption: Exemption, doc: &RegistryDoc) -> ExemptionView {
        let status = exemption.status(self.today());
        ExemptionView {
            exemption,
            version: doc.version,
            status,
            created_at: doc.created_at,
            updated_at: doc.updated_at,
        }
    }

    /// Records an exemption granted by Commerce (`id` generated, `granted` the service's date
    /// when absent).
    pub async fn add_exemption(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        body: serde_json::Value,
    ) -> Result<ExemptionView> {
        by.require(Permission::MeasuresWrite)?;
        let exemption: Exemption = complete(body, "x", "granted", self.today())?;
        if exemption.revocation.is_some() {
            return Err(bad_body("a new exemption has no revocation; revoke it afterwards"));
        }
        // Every problem at once: the exemption's own checks and requirement codes the policy
        // cannot waive.
        let mut errors: Vec<FieldError> =
            exemption.validate().err().unwrap_or_default().iter().map(field_error).collect();
        errors.extend(unknown_requirements(&exemption));
        if !errors.is_empty() {
            return Err(Error::validation(errors));
        }
        let now = self.now();
        let doc = RegistryDoc {
            kind: EXEMPTION.into(),
            id: exemption.id.to_string(),
            version: 1,
            body: to_json(&exemption)?,
            created_at: now,
            updated_at: now,
        };
        let audit = self.audit_event(by, ctx, Purpose::Audit, "exemption.create", EXEMPTION, &doc.id);
        if !self.store.put_registry(&doc, None, "created", &by.token_id, &audit).await? {
            return Err(Error::new(ErrorCode::Conflict, format!("an exemption `{}` already exists", doc.id)));
        }
        tracing::info!(exemption_id = %doc.id, by = %by.token_id, "Exemption recorded.");
        self.enqueue_reevaluation().await;
        Ok(self.exemption_view(exemption, &doc))
    }

    pub async fn list_exemptions(&self, by: &Principal) -> Result<Vec<ExemptionView>> {
        by.require(Permission::MeasuresRead)?;
        Ok(self.exemption_docs().await?.into_iter().map(|(e, d)| self.exemption_view(e, &d)).collect())
    }

    pub async fn revoke_exemption(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        req: RevokeRequest,
    ) -> Result<ExemptionView> {
        by.require(Permission::MeasuresWrite)?;
        let doc = self.store.registry_doc(EXEMPTION, id).await?.ok_or_else(|| Error::not_found("exemption"))?;
        let mut exemption: Exemption = from_json(&doc.body)?;
        if exemption.revocation.is_some() {
            return Err(Error::new(ErrorCode::Conflict, format!("exemption `{id}` is revoked")));
        }
        exemption.revocation =
            Some(Revocation { date: req.date.unwrap_or_else(|| self.today()), citation: req.reason });
        exemption.validate().map_err(|e| invalid(&e))?;
        let now = self.now();
        let new = RegistryDoc { version: doc.version + 1, body: to_json(&exemption)?, updated_at: now, ..doc.clone() };
        let audit = self.audit_event(by, ctx, Purpose::Audit, "exemption.revoke", EXEMPTION, id);
        if !self.store.put_registry(&new, Some(doc.version), "revoked", &by.token_id, &audit).await? {
            return Err(Error::new(ErrorCode::Conflict, "the exemption changed meanwhile; read it again and retry"));
        }
        self.enqueue_reevaluation().await;
        Ok(self.exemption_view(exemption, &new))
    }

    /// Records a new version of the ADP description (the first one names the program).
    pub async fn record_adp(&self, by: &Principal, ctx: &RequestContext, change: AdpChange) -> Result<AdpView> {
        by.require(Permission::MeasuresWrite)?;
        let current = self.store.registry_doc(ADP, ADP).await?;
        let version = AdpVersion { effective: change.effective, text: change.text, reference: change.reference };
        let mut description = match &current {
            Some(doc) => from_json::<AdpDescription>(&doc.body)?,
            None => {
                let program = change.program.clone().filter(|p| !p.trim().is_empty()).ok_or_else(|| {
                    Error::validation(vec![FieldError {
                        pointer: "/program".into(),
                        code: "missing_program".into(),
                        message: "the first ADP description names the program".into(),
                    }])
                })?;
                AdpDescription { program, versions: Vec::new() }
            }
        };
        if let Some(p) = change.program.filter(|p| !p.trim().is_empty()) {
            description.program = p;
        }
        description.push(version).map_err(|e| invalid(&[e]))?;
        let doc = RegistryDoc::next(ADP, ADP, current.as_ref(), to_json(&description)?, self.now());
        let audit = self.audit_event(by, ctx, Purpose::Audit, "adp.version_add", ADP, ADP);
        if !self
            .store
            .put_registry(&doc, current.as_ref().map(|d| d.version), "version_added", &by.token_id, &audit)
            .await?
        {
            return Err(Error::new(ErrorCode::Conflict, "the ADP description changed meanwhile; retry"));
        }
        let current = description.current(self.today()).cloned();
        Ok(AdpView { description, current, history: self.history(ADP, ADP).await? })
    }

    /// The part of the CIP copy (`lessee export cip`) that the registry holds: every exemption
    /// with its history (`exemptions.json`: they change what the CIP requires) and the ADP
    /// description with its versions (`adp.json`, when one is recorded).
    /// Every exemption in the registry (in force or not).
    pub(crate) async fn exemptions_in_registry(&self) -> Result<Vec<Exemption>> {
        Ok(self.exemption_docs().await?.into_iter().map(|(e, _)| e).collect())
    }

    pub(crate) async fn cip_registry_files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let mut exemptions = Vec::new();
        for (exemption, doc) in self.exemption_docs().await? {
            let view = self.exemption_view(exemption, &doc);
            exemptions.push(serde_json::json!({"exemption": view, "history": self.history(EXEMPTION, &doc.id).await?}));
        }
        let mut files =
            vec![("exemptions.json".to_owned(), serde_json::to_vec_pretty(&exemptions).map_err(Error::internal)?)];
        if let Some(doc) = self.store.registry_doc(ADP, ADP).await? {
            let description: AdpDescription = from_json(&doc.body)?;
            let current = description.current(self.today()).cloned();
            let view = AdpView { description, current, history: self.history(ADP, ADP).await? };
            files.push(("adp.json".to_owned(), serde_json::to_vec_pretty(&view).map_err(Error::internal)?));
        }
        Ok(files)
    }

    pub async fn adp(&self, by: &Principal) -> Result<AdpView> {
        by.require(Permission::MeasuresRead)?;
        let doc = self.store.registry_doc(ADP, ADP).await?.ok_or_else(|| Error::not_found("ADP description"))?;
        let description: AdpDescription = from_json(&doc.body)?;
        let current = description.current(self.today()).cloned();
        Ok(AdpView { description, current, history: self.history(ADP, ADP).await? })
    }

    /// The accounts a measure reaches, as recorded by the re-evaluations (before its
    /// effective date as `upcoming`, then `applied`, then `lifted`).
    pub async fn measure_impact(&self, by: &Principal, ctx: &RequestContext, id: &str) -> Result<ImpactView> {
        by.require(Permission::MeasuresRead)?;
        let doc = self.store.registry_doc(MEASURE, id).await?.ok_or_else(|| Error::not_found("measure"))?;
        let measure: Measure = from_json(&doc.body)?;
        self.audit(by, ctx, Purpose::Audit, "measure.impact.read", MEASURE, id, crate::audit::Allowed).await?;
        let evaluated = self.store.registry_doc(EVALUATED, id).await?;
        let rows = self.store.measure_impacts(id).await?;
        let mut counts = BTreeMap::new();
        let mut accounts = Vec::with_capacity(rows.len());
        for r in rows {
            *counts.entry(format!("{}:{}", r.state, r.verdict)).or_insert(0) += 1;
            accounts.push(ImpactEntry {
                account_id: r.account_id.to_string(),
                state: r.state,
                verdict: r.verdict,
                close_by: r.close_by,
                measure_version: r.measure_version,
                first_at: r.first_at,
                updated_at: r.updated_at,
                outcome: from_json(&r.outcome)?,
            });
        }
        Ok(ImpactView {
            measure_id: id.to_owned(),
            status: measure.status(self.today()),
            evaluated_at: evaluated.map(|d| d.updated_at),
            counts,
            accounts,
        })
    }

    /// The sign-up IP's country and the access countries noted for an account.
    /// `access`: the account's noted access countries when the caller read them already (a
    /// re-evaluation reads them a page at a time).
    pub(crate) async fn measure_links(
        &self,
        id: Option<AccountId>,
        app: &Application,
        access: Option<Vec<String>>,
    ) -> Result<Links> {
        let mut links = signup_links(self.geo.as_ref(), app);
        if let Some(id) = id {
            match access {
                Some(a) => links.access_countries.extend(a),
                None => {
                    links.access_countries.extend(self.store.access_countries(&[id]).await?.into_iter().map(|(_, c)| c))
                }
            }
            let subs = if may_have_sub_lessees(app) { self.store.sub_lessees_of(id).await? } else { Vec::new() };
            for sub in subs {
                if let Some(sealed) = self.store.sealed_application(sub).await? {
                    links.sub_lessees.push(self.vault.unseal(sub, &sealed)?);
                }
            }
        }
        Ok(links)
    }

    /// The hook of openings and re-decisions: the measures in force on the service's date,
    /// with the exemptions (the registry's, read once by the caller), given to `decision`. `id` is the account when it exists
    /// (its access countries and registered sub-lessees count); `stage` is opening for a new
    /// account, maintaining for an existing one.
    pub(crate) async fn apply_measures(
        &self,
        id: Option<AccountId>,
        app: &Application,
        stage: Stage,
        decision: &mut Decision,
        exemptions: &[Exemption],
    ) -> Result<()> {
        let measures: Vec<Measure> = self.measure_docs().await?.into_iter().map(|(m, _)| m).collect();
        if measures.is_empty() {
            return Ok(());
        }
        let links = self.measure_links(id, app, None).await?;
        let subject = subject_of(&id.map(|i| i.to_string()).unwrap_or_default(), app, &links);
        let matcher = crate::person_match::matcher_for(&measures);
        let outcome = Evaluator::with_matcher(lessee_measures::EvalConfig::default(), matcher).evaluate(
            &measures,
            exemptions,
            &subject,
            self.today(),
            stage,
        );
        if !outcome.is_clear() {
            give_outcome(decision, &outcome, &measures);
        }
        Ok(())
    }

    /// The earliest date after the service's date on which a measure or an exemption changes
    /// status: when `serve` should run `reevaluate_measures` next (it also runs it after every
    /// change through the API).
    pub async fn measures_next_change(&self) -> Result<Option<NaiveDate>> {
        let today = self.today();
        let m = self.measure_docs().await?.into_iter().filter_map(|(m, _)| m.status(today).next_change);
        let e = self.exemption_docs().await?.into_iter().filter_map(|(e, _)| e.status(today).next_change);
        Ok(m.chain(e).min())
    }

    /// Enqueues a `measures.reevaluate` job after a change. Not in the change's transaction,
    /// on purpose: if this enqueue is lost (a crash between the two), `serve`'s scheduler
    /// (`measures_due`) sees the measure's version differ from the one last evaluated and
    /// enqueues it again, so a failure here is logged and not returned.
    async fn enqueue_reevaluation(&self) {
        let job = lessee_store::NewJob {
            kind: REEVALUATE_JOB.into(),
            key: Some("all".into()),
            payload: serde_json::json!({}),
            run_at: self.now(),
        };
        if let Err(e) = self.store.enqueue_jobs(&[job]).await {
            tracing::error!(error = %e, "Could not enqueue the re-evaluation; the scheduler will.");
        }
    }

    /// Existing accounts when an exemption from CIP requirements is granted, changed, revoked,
    /// takes effect or expires: every account whose decision rests on a changed exemption, and
    /// every account held for review or approved with conditions that a changed exemption now
    /// in force may cover, is decided again (trigger `exemption_change`); a new decision is
    /// recorded only when it differs. One pass over the account summaries; only those accounts
    /// are decrypted. The state applied is then recorded, so a second run does nothing.
    async fn redecide_for_exemptions(
        &self,
        exemptions: &[(Exemption, i64)],
        today: NaiveDate,
        report: &mut ReevaluationReport,
    ) -> Result<()> {
        let state = requirement_state(exemptions, today);
        let last_doc = self.store.registry_doc(EVALUATED, REQUIREMENTS_EVALUATED).await?;
        let last: RequirementState = last_doc.as_ref().map(|d| from_json(&d.body)).transpose()?.unwrap_or_default();
        if last == state {
            return Ok(());
        }
        let changed: BTreeSet<String> =
            state.keys().chain(last.keys()).filter(|id| state.get(*id) != last.get(*id)).cloned().collect();
        let now_in_force: Vec<&Exemption> = exemptions
            .iter()
            .map(|(e, _)| e)
            .filter(|e| waives_requirements(e) && changed.contains(&e.id.to_string()) && e.in_effect(today))
            .collect();
        let (op, ctx) = (crate::Principal::local_operator(), RequestContext::local());
        let mut after = None;
        loop {
            let page = self.store.scan_accounts(&lessee_store::Page { after, limit: REEVALUATE_PAGE }).await?;
            let Some(last_id) = page.last().map(|a| a.id) else { break };
            report.scanned += page.len() as u64;
            for account in page {
                let pending =
                    matches!(account.decision.outcome, Outcome::ManualReview | Outcome::ApproveWithConditions);
                let reached = cites_exemption(&account.decision, &changed)
                    || (pending && now_in_force.iter().any(|e| may_cover(e, &account)));
                if !reached {
                    continue;
                }
                report.decrypted += 1;
                let Some(again) = self.redecide_screened(account.id, None, "exemption_change").await? else { continue };
                let same = again.decision.outcome == account.decision.outcome
                    && serde_json::to_value(&again.decision.reasons).ok()
                        == serde_json::to_value(&account.decision.reasons).ok()
                    && serde_json::to_value(&again.decision.conditions).ok()
                        == serde_json::to_value(&account.decision.conditions).ok();
                if same {
                    continue;
                }
                let audit = self.audit_event(
                    &op,
                    &ctx,
                    Purpose::Verification,
                    "account.redecide",
                    "account",
                    &account.id.to_string(),
                );
                self.store.record_decision(&again, &audit).await?;
                report.decided += 1;
            }
            after = Some(last_id);
        }
        let doc = RegistryDoc::next(EVALUATED, REQUIREMENTS_EVALUATED, last_doc.as_ref(), to_json(&state)?, self.now());
        let audit =
            self.audit_event(&op, &ctx, Purpose::Audit, "exemptions.reevaluate", EXEMPTION, REQUIREMENTS_EVALUATED);
        // A concurrent run recorded it first: its pass stands.
        let _ = self
            .store
            .put_registry(&doc, last_doc.as_ref().map(|d| d.version), "evaluated", "reevaluation", &audit)
            .await?;
        tracing::info!(
            exemptions = changed.len(),
            decided = report.decided,
            "Accounts decided again after exemption changes."
        );
        Ok(())
    }

    /// Whether some measure's version, status (a date passed) or the exemptions differ from
    /// what it was last evaluated under: `serve`'s scheduler enqueues a re-evaluation then.
    pub async fn measures_due(&self) -> Result<bool> {
        let today = self.today();
        let exemptions: Vec<(Exemption, i64)> =
            self.exemption_docs().await?.into_iter().map(|(e, d)| (e, d.version)).collect();
        let fingerprint = exemptions_fingerprint(&exemptions, today);
        for (measure, doc) in self.measure_docs().await? {
            let status = measure.status(today).status;
            let last = self.store.registry_doc(EVALUATED, &doc.id).await?;
            let last = last.as_ref().map(|d| from_json::<EvaluatedState>(&d.body)).transpose()?;
            if !last.is_some_and(|s| s.version == doc.version && s.status == status && s.exemptions == fingerprint) {
                return Ok(true);
            }
        }
        let last = self.store.registry_doc(EVALUATED, REQUIREMENTS_EVALUATED).await?;
        let last: RequirementState = last.as_ref().map(|d| from_json(&d.body)).transpose()?.unwrap_or_default();
        Ok(last != requirement_state(&exemptions, today))
    }

    /// The scheduler's tick: enqueues a re-evaluation when one is due.
    pub async fn schedule_measures(&self) -> Result<bool> {
        if self.measures_due().await? {
            self.enqueue_reevaluation().await;
            return Ok(true);
        }
        Ok(false)
    }

    /// `reevaluate_measures` on request (admin): authorized and audited.
    pub async fn reevaluate_measures_for(&self, by: &Principal, ctx: &RequestContext) -> Result<ReevaluationReport> {
        by.require(Permission::MeasuresWrite)?;
        self.audit(by, ctx, Purpose::Audit, "measures.reevaluate", MEASURE, "*", crate::audit::Allowed).await?;
        self.reevaluate_measures().await
    }

    /// Re-evaluates existing accounts against every measure whose version, status (a date
    /// passed) or exemptions changed since its last evaluation, and records the outcome per
    /// account. Idempotent: a second run with nothing changed does nothing, and a run
    /// interrupted midway is done again in full by the next one (impacts are upserts and a
    /// decision is only appended when the account's outcome for the measure changes).
    pub async fn reevaluate_measures(&self) -> Result<ReevaluationReport> {
        let today = self.today();
        let exemptions: Vec<(Exemption, i64)> =
            self.exemption_docs().await?.into_iter().map(|(e, d)| (e, d.version)).collect();
        let fingerprint = exemptions_fingerprint(&exemptions, today);
        let mut report = ReevaluationReport::default();
        for (measure, doc) in self.measure_docs().await? {
            let status = measure.status(today).status;
            let last = self.store.registry_doc(EVALUATED, &doc.id).await?;
            let last_state = last.as_ref().map(|d| from_json::<EvaluatedState>(&d.body)).transpose()?;
            if last_state
                .as_ref()
                .is_some_and(|s| s.version == doc.version && s.status == status && s.exemptions == fingerprint)
            {
                continue;
            }
            let exemptions: Vec<Exemption> = exemptions.iter().map(|(e, _)| e.clone()).collect();
            self.reevaluate_one(&measure, doc.version, &exemptions, &mut report).await?;
            report.measures += 1;
            let now = self.now();
            let state = EvaluatedState { version: doc.version, status, exemptions: fingerprint.clone(), at: now };
            let new = RegistryDoc::next(EVALUATED, &doc.id, last.as_ref(), to_json(&state)?, now);
            let audit = self.audit_event(
                &crate::Principal::local_operator(),
                &RequestContext::local(),
                Purpose::Audit,
                "measure.reevaluate",
                MEASURE,
                &doc.id,
            );
            // A concurrent run recorded it first: its evaluation stands.
            let _ = self
                .store
                .put_registry(&new, last.as_ref().map(|d| d.version), status.as_str(), "reevaluation", &audit)
                .await?;
        }
        self.redecide_for_exemptions(&exemptions, today, &mut report).await?;
        if report.measures > 0 {
            tracing::info!(
                measures = report.measures,
                scanned = report.scanned,
                decrypted = report.decrypted,
                recorded = report.recorded,
                decided = report.decided,
                "Accounts re-evaluated against changed special measures."
            );
        }
        Ok(report)
    }

    /// One measure against the stored accounts. Candidates are found from what is stored
    /// unencrypted: the countries of the classification evidence (customer, beneficial owners,
    /// sub-lessees) and the access countries noted by the jurisdiction watch; only candidates
    /// (and accounts with a recorded impact, and resellers with registered sub-lessees) are
    /// decrypted. A person measure has no such shortcut: every application is decrypted.
    async fn reevaluate_one(
        &self,
        measure: &Measure,
        version: i64,
        exemptions: &[Exemption],
        report: &mut ReevaluationReport,
    ) -> Result<()> {
        let today = self.today();
        let status = measure.status(today);
        let previous: HashMap<AccountId, ImpactRecord> =
            self.store.measure_impacts(measure.id.as_str()).await?.into_iter().map(|r| (r.account_id, r)).collect();
        let countries = candidate_countries(measure);
        // Applications are decrypted unless the measure is lifted (nothing to evaluate then).
        let decrypt = !matches!(status.status, Status::Expired | Status::Revoked);
        let mut after = None;
        // One page's writes run while the next page is read and evaluated (different accounts;
        // evaluating reads nothing the writes change). At most one in flight.
        let mut in_flight: Option<tokio::task::JoinHandle<lessee_store::Result<()>>> = None;
        loop {
            let page = self
                .reevaluate_page(
                    measure,
                    version,
                    exemptions,
                    &status,
                    &previous,
                    countries.as_ref(),
                    decrypt,
                    after,
                    report,
                )
                .await;
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    if let Some(h) = in_flight.take() {
                        let _ = h.await;
                    }
                    return Err(e);
                }
            };
            if let Some(h) = in_flight.take() {
                h.await.map_err(Error::internal)??;
            }
            let Some((last, writes)) = page else { break };
            after = Some(last);
            if !writes.is_empty() {
                let store = self.store.clone();
                in_flight = Some(tokio::spawn(async move { store.record_impacts(&writes).await }));
            }
        }
        Ok(())
    }

    /// One page of accounts after `after` against one measure: the page's last id and the
    /// writes to record, or `None` at the end. Candidates' applications are read in one
    /// statement and decrypted on every core.
    #[allow(clippy::too_many_arguments)] // the measure's context, the page and the run's counters
    async fn reevaluate_page(
        &self,
        measure: &Measure,
        version: i64,
        exemptions: &[Exemption],
        status: &StatusAt,
        previous: &HashMap<AccountId, ImpactRecord>,
        countries: Option<&BTreeSet<String>>,
        decrypt: bool,
        after: Option<AccountId>,
        report: &mut ReevaluationReport,
    ) -> Result<Option<(AccountId, Vec<ImpactWrite>)>> {
        let page = self.store.scan_accounts(&lessee_store::Page { after, limit: REEVALUATE_PAGE }).await?;
        let Some(last) = page.last().map(|a| a.id) else { return Ok(None) };
        report.scanned += page.len() as u64;
        let ids: Vec<AccountId> = page.iter().map(|a| a.id).collect();
        let mut access: HashMap<AccountId, Vec<String>> = HashMap::new();
        for (id, c) in self.store.access_countries(&ids).await? {
            access.entry(id).or_default().push(c);
        }
        let candidates: Vec<Account> = page
            .into_iter()
            .filter(|account| match countries {
                None => true,
                Some(set) => {
                    previous.contains_key(&account.id)
                        || evidence_countries(account).any(|c| set.contains(&c))
                        || access.get(&account.id).is_some_and(|v| v.iter().any(|c| set.contains(c.as_str())))
                        || account.account_type == lessee_domain::application::AccountType::Reseller
                }
            })
            .collect();
        let mut apps = if decrypt && !candidates.is_empty() {
            let ids: Vec<AccountId> = candidates.iter().map(|a| a.id).collect();
            // Accounts with registered sub-lessees (resellers'): their sub-lessees' applications
            // are read and opened when each is evaluated (`measure_links`).
            let with_subs: std::collections::HashSet<AccountId> =
                self.store.sub_lessees_of_many(&ids).await?.into_iter().map(|(reseller, _)| reseller).collect();
            let geo = self.geo.clone();
            let at = evaluation_date(measure, status, self.today());
            let (measure, exemptions, access) = (measure.clone(), exemptions.to_vec(), access.clone());
            self.open_applications(&ids, move |id, app| {
                // Without registered sub-lessees, the links are the sign-up IP's country and the
                // noted access countries: evaluated here, beside the decryption.
                let outcome = (!with_subs.contains(&id)).then(|| {
                    let mut links = signup_links(geo.as_ref(), &app);
                    links.access_countries.extend(access.get(&id).into_iter().flatten().cloned());
                    evaluate_subject(&measure, &exemptions, at, id, &app, &links)
                });
                Opened { app, outcome }
            })
            .await?
        } else {
            HashMap::new()
        };
        report.decrypted += apps.len() as u64;
        let mut writes = Vec::new();
        for account in candidates {
            let prev = previous.get(&account.id);
            let access = access.remove(&account.id).unwrap_or_default();
            let app = apps.remove(&account.id);
            if let Some(w) =
                self.evaluate_existing(measure, version, exemptions, status, account, app, access, prev).await?
            {
                writes.push(w);
            }
        }
        report.recorded += writes.len() as u64;
        report.decided += writes.iter().filter(|w| w.decision.is_some()).count() as u64;
        Ok(Some((last, writes)))
    }

    /// The applications of `ids` that have one (destroyed under retention, or never sealed:
    /// absent), read in one statement and decrypted on every core, each passed through `then`
    /// on the thread that decrypted it.
    async fn open_applications<T: Send + 'static>(
        &self,
        ids: &[AccountId],
        then: impl Fn(AccountId, Application) -> T + Send + Sync + 'static,
    ) -> Result<HashMap<AccountId, T>> {
        let sealed = self.store.sealed_applications(ids).await?;
        let vault = self.vault.clone();
        tokio::task::spawn_blocking(move || {
            let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            let size = sealed.len().div_ceil(threads).max(1);
            std::thread::scope(|s| {
                let handles: Vec<_> = sealed
                    .chunks(size)
                    .map(|part| {
                        let (vault, then) = (&vault, &then);
                        s.spawn(move || {
                            part.iter()
                                .map(|(id, x)| vault.unseal(*id, x).map(|a| (*id, then(*id, a))))
                                .collect::<Result<Vec<_>>>()
                        })
                    })
                    .collect();
                let mut out = HashMap::with_capacity(sealed.len());
                for h in handles {
                    out.extend(h.join().map_err(|_| Error::internal("an unsealing thread panicked"))??);
                }
                Ok(out)
            })
        })
        .await
        .map_err(Error::internal)?
    }

    /// One account against one measure: the impact to record (and the account's new decision)
    /// when something changed since the last evaluation, else `None`. `app`: the account's
    /// decrypted application (`None` when it has none, or when the measure is lifted).
    #[allow(clippy::too_many_arguments)] // the measure's context, the account and the run's counters
    async fn evaluate_existing(
        &self,
        measure: &Measure,
        version: i64,
        exemptions: &[Exemption],
        status: &StatusAt,
        account: Account,
        opened: Option<Opened>,
        access: Vec<String>,
        previous: Option<&ImpactRecord>,
    ) -> Result<Option<ImpactWrite>> {
        let id = account.id;
        let today = self.today();
        let now = self.now();
        let state = match status.status {
            Status::Pending => "upcoming",
            Status::InEffect => "applied",
            Status::Expired | Status::Revoked => "lifted",
        };
        let at = evaluation_date(measure, status, today);
        let outcome = if state == "lifted" {
            None
        } else {
            // Destroyed under retention, or never sealed: nothing to evaluate.
            let Some(Opened { app, outcome }) = opened else { return Ok(None) };
            match outcome {
                // Evaluated beside the decryption.
                Some(outcome) => outcome,
                None => {
                    let links = self.measure_links(Some(id), &app, Some(access)).await?;
                    evaluate_subject(measure, exemptions, at, id, &app, &links)
                }
            }
        };
        let audit = |action: &str| {
            self.audit_event(
                &crate::Principal::local_operator(),
                &RequestContext::local(),
                Purpose::Verification,
                action,
                "account",
                &id.to_string(),
            )
        };
        let Some(outcome) = outcome else {
            // Not (or no longer) reached: lift what was applied, once.
            let Some(prev) = previous.filter(|p| p.state != "lifted") else { return Ok(None) };
            let decision = if prev.state == "applied" {
                self.redecide(id, None, &format!("measure_lifted:{}", measure.id)).await?
            } else {
                None
            };
            let impact =
                ImpactRecord { measure_version: version, state: "lifted".into(), updated_at: now, ..prev.clone() };
            return Ok(Some(ImpactWrite { impact, decision, audit: audit("measure.lift") }));
        };
        let verdict = verdict_str(outcome.verdict).to_owned();
        let outcome_json = to_json(&outcome)?;
        if previous.is_some_and(|p| {
            p.state == state && p.measure_version == version && p.verdict == verdict && p.outcome == outcome_json
        }) {
            return Ok(None);
        }
        let softer = previous.is_some_and(|p| p.state == "applied" && verdict_rank(&p.verdict) > outcome.verdict);
        let decision = if state == "applied" && softer {
            // Less than before (an exemption, a narrower scope): the outcome given earlier is not
            // undone by adding reasons, so the account is decided again from its evidence, with
            // every measure in force.
            self.redecide(id, None, &format!("measure:{}", measure.id)).await?
        } else if state == "applied" {
            let mut decision = account.decision.clone();
            give_outcome(&mut decision, &outcome, std::slice::from_ref(measure));
            (decision != account.decision).then(|| {
                decision.decided_at = now;
                decision.trigger = Some(format!("measure:{}", measure.id));
                Account { decision, ..account }
            })
        } else {
            None
        };
        let impact = ImpactRecord {
            measure_id: measure.id.to_string(),
            account_id: id,
            measure_version: version,
            state: state.into(),
            verdict,
            close_by: outcome.close_by.map(|d| d.to_string()),
            outcome: outcome_json,
            first_at: previous.map_or(now, |p| p.first_at),
            updated_at: now,
        };
        Ok(Some(ImpactWrite { impact, decision, audit: audit(&format!("measure.{state}")) }))
    }
}

/// The date a measure is evaluated at: its effective date while pending, else `today`.
fn evaluation_date(measure: &Measure, status: &StatusAt, today: NaiveDate) -> NaiveDate {
    match status.status {
        Status::Pending => measure.effective,
        Status::InEffect | Status::Expired | Status::Revoked => today,
    }
}

fn verdict_rank(s: &str) -> Verdict {
    match s {
        "block" => Verdict::Block,
        "close" => Verdict::Close,
        "review" => Verdict::Review,
        "conditions" => Verdict::Conditions,
        _ => Verdict::Clear,
    }
}

fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Clear => "clear",
        Verdict::Conditions => "conditions",
        Verdict::Review => "review",
        Verdict::Close => "close",
        Verdict::Block => "block",
    }
}

/// The countries whose evidence makes an account a candidate for a jurisdiction measure
/// (`None`: every account, for a person measure). A Crimean address written as Russia resolves
/// to Ukraine's subdivisions, so Ukrainian targets also take accounts with Russian evidence.
fn candidate_countries(measure: &Measure) -> Option<BTreeSet<String>> {
    let Target::Jurisdiction(j) = &measure.target else { return None };
    let mut set = BTreeSet::new();
    match j {
        JurisdictionTarget::Country(c) => {
            set.insert(c.to_string());
        }
        JurisdictionTarget::Subdivision(s) => {
            set.insert(s.country().to_string());
        }
        JurisdictionTarget::Region(id) => {
            for s in
                lessee_measures::regions::region(id).map(lessee_measures::regions::subdivisions).unwrap_or_default()
            {
                set.insert(s.country().to_string());
            }
        }
    }
    if set.contains("UA") {
        set.insert("RU".into());
    }
    Some(set)
}

fn evidence_countries(account: &Account) -> impl Iterator<Item = String> + '_ {
    let c = &account.classification;
    c.basis
        .evidence
        .iter()
        .chain(c.beneficial_owners.iter().flat_map(|b| b.basis.evidence.iter()))
        .chain(c.sub_lessees.iter().flat_map(|s| s.basis.evidence.iter()))
        .chain(c.on_behalf_of.iter().flat_map(|o| o.basis.evidence.iter()))
        .chain(c.conflicts.iter().flat_map(|x| x.evidence.iter()))
        .map(|e| e.country.to_string())
}
