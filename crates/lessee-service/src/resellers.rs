//! The reseller register (EO 13984 § 1(a)(i), § 5(h); issue 7): whether a reseller is domestic
//! or foreign, its CIP basis (the provider's CIP adopted by agreement, or its own CIP document,
//! stored and versioned), annual attestations with their due date, and, for a foreign reseller
//! found non-compliant, the 30-day termination deadline tracked by reminder jobs to its outcome,
//! with references to suspected-malicious-activity reports. Entries are `reseller` documents
//! of the measures registry, so every change is versioned, appended to the history and audited.
//!
//! Not here yet: reseller tokens bound to their account and the sub-lessee API with tenant
//! isolation.

use chrono::{Days, NaiveDate};
use lessee_domain::application::AccountType;
use lessee_measures::Exemption;
use lessee_store::{NewJob, RegistryDoc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::Service;
use crate::audit::RequestContext;
use crate::auth::{Permission, Principal, Purpose};
use crate::error::{Error, ErrorCode, Result};

const RESELLER: &str = "reseller";
/// A reseller token's binding to its reseller account (id: the token id).
const RESELLER_TOKEN: &str = "reseller_token";
/// The reminder job of a termination deadline.
pub const REMINDER_JOB: &str = "resellers.reminder";
/// Days a non-compliant foreign reseller has before the relationship must end (proposed rule).
pub const TERMINATION_DAYS: u64 = 30;
/// Days after the finding on which a reminder is due; the last is the deadline itself.
pub const REMINDER_DAYS: [u64; 5] = [7, 14, 21, 28, 30];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResellerLocation {
    Domestic,
    Foreign,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CipBasis {
    /// The reseller adopts the provider's CIP by agreement.
    AdoptsProviderCip,
    /// The reseller keeps its own CIP, filed here.
    OwnCip,
}

/// `PUT /v1/resellers/{account_id}`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResellerRegistration {
    pub location: ResellerLocation,
    pub cip_basis: CipBasis,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub agreement_signed: Option<NaiveDate>,
}

/// A filed version of a reseller's own CIP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CipDocument {
    pub version: u32,
    pub sha256: String,
    pub text: String,
    #[schema(value_type = String)]
    pub filed: NaiveDate,
}

/// `POST /v1/resellers/{account_id}/attestations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    #[schema(value_type = String)]
    pub date: NaiveDate,
    pub reference: String,
}

/// A non-compliance finding and its 30-day termination deadline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NonCompliance {
    #[schema(value_type = String)]
    pub since: NaiveDate,
    pub reason: String,
    #[schema(value_type = String)]
    pub terminate_by: NaiveDate,
    /// Days after `since` whose reminder was given.
    #[serde(default)]
    pub reminders: Vec<u64>,
    /// `terminated`, `remediated`, or `deadline_passed` (recorded by the last reminder when no
    /// outcome came first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub outcome_date: Option<NaiveDate>,
}

/// A suspected-malicious-activity report, kept by reference and digest (the report itself,
/// which may hold personal data, stays in the provider's case system).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityReport {
    pub reference: String,
    /// SHA-256 of the report as filed, hex.
    pub sha256: String,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub filed: Option<NaiveDate>,
}

/// A reseller as registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reseller {
    pub account_id: String,
    pub location: ResellerLocation,
    pub cip_basis: CipBasis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub agreement_signed: Option<NaiveDate>,
    #[serde(default)]
    pub cip_documents: Vec<CipDocument>,
    #[serde(default)]
    pub attestations: Vec<Attestation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_compliance: Option<NonCompliance>,
    #[serde(default)]
    pub reports: Vec<ActivityReport>,
}

/// A reseller with its compliance status on the service's date.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ResellerView {
    #[serde(flatten)]
    pub reseller: Reseller,
    pub version: i64,
    /// `compliant`, `attestation_due`, `cip_missing`, `exempt`, `non_compliant`, `terminated`,
    /// `remediated`, `deadline_passed`.
    pub status: String,
    /// A year after the last attestation (or after registration when none).
    #[schema(value_type = String)]
    pub next_attestation_due: NaiveDate,
    /// The exemption in force that waives the reseller's CIP requirement (`reseller_cip`), if
    /// any: status `exempt` then, instead of `cip_missing` or `attestation_due`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exempted_by: Option<String>,
}

/// `POST /v1/resellers/{account_id}/non-compliance`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NonComplianceRequest {
    pub reason: String,
}

/// `POST /v1/resellers/{account_id}/outcome`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    /// `terminated` or `remediated`.
    pub outcome: String,
}

/// `POST /v1/resellers/{account_id}/cip-documents`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CipDocumentRequest {
    pub text: String,
}

fn invalid(pointer: &str, code: &str, message: impl Into<String>) -> Error {
    Error::validation(vec![lessee_domain::FieldError {
        pointer: pointer.into(),
        code: code.into(),
        message: message.into(),
    }])
}

fn plus(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days)).unwrap_or(NaiveDate::MAX)
}

fn nonblank(field: &str, s: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() || s.len() > max {
        return Err(invalid(&format!("/{field}"), "invalid_text", format!("`{field}` is 1 to {max} bytes")));
    }
    Ok(())
}

impl Service {
    /// The register's view of a reseller. `exempted_by` is the exemption in force that waives
    /// its CIP requirement ([`Service::reseller_cip_exemption`]); a non-compliance stands anyway.
    fn reseller_view(&self, reseller: Reseller, doc: &RegistryDoc, exempted_by: Option<String>) -> ResellerView {
        let today = self.now().date_naive();
        let last = reseller.attestations.iter().map(|a| a.date).max().unwrap_or(doc.created_at.date_naive());
        let next_attestation_due = plus(last, 365);
        let status = match &reseller.non_compliance {
            Some(n) => n.outcome.clone().unwrap_or_else(|| "non_compliant".into()),
            None if exempted_by.is_some() => "exempt".into(),
            None if reseller.cip_basis == CipBasis::OwnCip && reseller.cip_documents.is_empty() => "cip_missing".into(),
            None if today >= next_attestation_due => "attestation_due".into(),
            None => "compliant".into(),
        };
        ResellerView { reseller, version: doc.version, status, next_attestation_due, exempted_by }
    }

    /// The id of an exemption in force today that waives `reseller_cip` and whose scope covers
    /// the reseller's account (judged from the stored account: its type, lessee type and the
    /// country of the customer's address evidence).
    async fn reseller_cip_exemption(&self, account_id: &str, exemptions: &[Exemption]) -> Result<Option<String>> {
        let today = self.now().date_naive();
        let waiving: Vec<&Exemption> = exemptions
            .iter()
            .filter(|e| e.in_effect(today) && e.covers_requirement(lessee_policy::codes::requirements::RESELLER_CIP))
            .collect();
        if waiving.is_empty() {
            return Ok(None);
        }
        let Some(account) = self.store.account(crate::accounts::parse_account_id(account_id)?).await? else {
            return Ok(None);
        };
        Ok(waiving.into_iter().find(|e| crate::measures::covers_account(e, &account)).map(|e| e.id.to_string()))
    }

    async fn reseller_doc(&self, id: &str) -> Result<(Reseller, RegistryDoc)> {
        let account = crate::accounts::parse_account_id(id)?;
        let doc = self
            .store
            .registry_doc(RESELLER, &account.to_string())
            .await?
            .ok_or_else(|| Error::not_found("reseller"))?;
        let r = serde_json::from_str(&doc.body).map_err(Error::internal)?;
        Ok((r, doc))
    }

    /// Writes a changed reseller entry (compare-and-set), appends the change and audits it.
    async fn put_reseller(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        reseller: &Reseller,
        previous: Option<&RegistryDoc>,
        change: &str,
    ) -> Result<ResellerView> {
        let body = serde_json::to_string(reseller).map_err(Error::internal)?;
        let doc = RegistryDoc::next(RESELLER, &reseller.account_id, previous, body, self.now());
        let audit = self.audit_event(by, ctx, Purpose::Audit, &format!("reseller.{change}"), RESELLER, &doc.id);
        if !self.store.put_registry(&doc, previous.map(|d| d.version), change, &by.token_id, &audit).await? {
            return Err(Error::new(
                ErrorCode::Conflict,
                "the reseller entry changed meanwhile; read it again and retry",
            ));
        }
        let exemptions = self.exemptions_in_registry().await?;
        let exempted_by = self.reseller_cip_exemption(&reseller.account_id, &exemptions).await?;
        Ok(self.reseller_view(reseller.clone(), &doc, exempted_by))
    }

    /// Registers a reseller account, or updates its location and CIP basis.
    pub async fn register_reseller(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        reg: ResellerRegistration,
    ) -> Result<ResellerView> {
        by.require(Permission::MeasuresWrite)?;
        let account_id = crate::accounts::parse_account_id(id)?;
        let account = self.store.account(account_id).await?.ok_or_else(|| Error::not_found("account"))?;
        if account.account_type != AccountType::Reseller {
            return Err(invalid("/account_type", "not_a_reseller_account", "only a reseller account is registered"));
        }
        let current = self.store.registry_doc(RESELLER, &account_id.to_string()).await?;
        let mut reseller = match &current {
            Some(d) => serde_json::from_str::<Reseller>(&d.body).map_err(Error::internal)?,
            None => Reseller {
                account_id: account_id.to_string(),
                location: reg.location,
                cip_basis: reg.cip_basis,
                agreement_signed: None,
                cip_documents: Vec::new(),
                attestations: Vec::new(),
                non_compliance: None,
                reports: Vec::new(),
            },
        };
        if reg.cip_basis == CipBasis::AdoptsProviderCip && reg.agreement_signed.is_none() {
            return Err(invalid(
                "/agreement_signed",
                "agreement_required",
                "a reseller adopting the provider's CIP does so by an agreement; give its date",
            ));
        }
        reseller.location = reg.location;
        reseller.cip_basis = reg.cip_basis;
        reseller.agreement_signed = reg.agreement_signed;
        let change = if current.is_some() { "updated" } else { "registered" };
        self.put_reseller(by, ctx, &reseller, current.as_ref(), change).await
    }

    pub async fn reseller(&self, by: &Principal, id: &str) -> Result<ResellerView> {
        by.require(Permission::MeasuresRead)?;
        let (r, doc) = self.reseller_doc(id).await?;
        let exemptions = self.exemptions_in_registry().await?;
        let exempted_by = self.reseller_cip_exemption(&r.account_id, &exemptions).await?;
        Ok(self.reseller_view(r, &doc, exempted_by))
    }

    pub async fn list_resellers(&self, by: &Principal) -> Result<Vec<ResellerView>> {
        by.require(Permission::MeasuresRead)?;
        let exemptions = self.exemptions_in_registry().await?;
        let mut out = Vec::new();
        for d in self.store.registry_docs(RESELLER).await? {
            let r: Reseller = serde_json::from_str(&d.body).map_err(Error::internal)?;
            let exempted_by = self.reseller_cip_exemption(&r.account_id, &exemptions).await?;
            out.push(self.reseller_view(r, &d, exempted_by));
        }
        Ok(out)
    }

    /// Files a new version of the reseller's own CIP.
    pub async fn file_cip_document(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        req: CipDocumentRequest,
    ) -> Result<ResellerView> {
        by.require(Permission::MeasuresWrite)?;
        nonblank("text", &req.text, 1_000_000)?;
        let (mut r, doc) = self.reseller_doc(id).await?;
        let version = r.cip_documents.last().map_or(1, |d| d.version + 1);
        r.cip_documents.push(CipDocument {
            version,
            sha256: hex::encode(Sha256::digest(req.text.as_bytes())),
            text: req.text,
            filed: self.now().date_naive(),
        });
        self.put_reseller(by, ctx, &r, Some(&doc), "cip_filed").await
    }

    /// Records an annual attestation; the next is due a year later.
    pub async fn attest_reseller(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        a: Attestation,
    ) -> Result<ResellerView> {
        by.require(Permission::MeasuresWrite)?;
        nonblank("reference", &a.reference, 500)?;
        if a.date > self.now().date_naive() {
            return Err(invalid("/date", "date_in_future", "an attestation is recorded once made"));
        }
        let (mut r, doc) = self.reseller_doc(id).await?;
        r.attestations.push(a);
        self.put_reseller(by, ctx, &r, Some(&doc), "attested").await
    }

    /// Marks a foreign reseller non-compliant: the relationship must end within 30 days;
    /// reminder jobs are enqueued for days 7, 14, 21, 28 and 30.
    pub async fn mark_reseller_non_compliant(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        req: NonComplianceRequest,
    ) -> Result<ResellerView> {
        by.require(Permission::MeasuresWrite)?;
        nonblank("reason", &req.reason, 2000)?;
        let (mut r, doc) = self.reseller_doc(id).await?;
        if r.location != ResellerLocation::Foreign {
            return Err(invalid("/location", "not_foreign", "the 30-day termination applies to foreign resellers"));
        }
        if r.non_compliance.as_ref().is_some_and(|n| n.outcome.is_none()) {
            return Err(Error::new(ErrorCode::Conflict, "a non-compliance finding is already open"));
        }
        let since = self.now().date_naive();
        r.non_compliance = Some(NonCompliance {
            since,
            reason: req.reason,
            terminate_by: plus(since, TERMINATION_DAYS),
            reminders: Vec::new(),
            outcome: None,
            outcome_date: None,
        });
        let view = self.put_reseller(by, ctx, &r, Some(&doc), "non_compliant").await?;
        let start = self.now();
        let jobs: Vec<NewJob> = REMINDER_DAYS
            .iter()
            .map(|d| NewJob {
                kind: REMINDER_JOB.into(),
                key: Some(format!("{}:{since}:{d}", r.account_id)),
                payload: serde_json::json!({"account_id": r.account_id, "since": since, "day": d}),
                run_at: start + chrono::Duration::days(i64::try_from(*d).unwrap_or(30)),
            })
            .collect();
        self.store.enqueue_jobs(&jobs).await?;
        Ok(view)
    }

    /// Records the outcome of an open non-compliance finding.
    pub async fn record_reseller_outcome(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        req: OutcomeRequest,
    ) -> Result<ResellerView> {
        by.require(Permission::MeasuresWrite)?;
        if !matches!(req.outcome.as_str(), "terminated" | "remediated") {
            return Err(invalid("/outcome", "invalid_outcome", "`outcome` is `terminated` or `remediated`"));
        }
        let (mut r, doc) = self.reseller_doc(id).await?;
        let today = self.now().date_naive();
        match r.non_compliance.as_mut() {
            Some(n) if n.outcome.is_none() || n.outcome.as_deref() == Some("deadline_passed") => {
                n.outcome = Some(req.outcome);
                n.outcome_date = Some(today);
            }
            _ => return Err(Error::new(ErrorCode::Conflict, "no open non-compliance finding")),
        }
        self.put_reseller(by, ctx, &r, Some(&doc), "outcome").await
    }

    /// Attaches a suspected-malicious-activity report (reference and digest).
    pub async fn attach_activity_report(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        mut report: ActivityReport,
    ) -> Result<ResellerView> {
        by.require(Permission::MeasuresWrite)?;
        nonblank("reference", &report.reference, 500)?;
        if report.sha256.len() != 64 || !report.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("/sha256", "invalid_sha256", "`sha256` is 64 hex digits"));
        }
        report.sha256.make_ascii_lowercase();
        report.filed = Some(report.filed.unwrap_or_else(|| self.now().date_naive()));
        let (mut r, doc) = self.reseller_doc(id).await?;
        r.reports.push(report);
        self.put_reseller(by, ctx, &r, Some(&doc), "report_attached").await
    }

    /// Creates a `reseller` token bound to a registered reseller's account (admin). The token
    /// reaches only that account's sub-lessees.
    pub async fn create_reseller_token(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        name: &str,
    ) -> Result<crate::NewToken> {
        by.require(Permission::TokensManage)?;
        let (r, _) = self.reseller_doc(id).await?;
        let token = self.create_token(by, ctx, name, crate::Role::Reseller).await?;
        let now = self.now();
        let doc = RegistryDoc {
            kind: RESELLER_TOKEN.into(),
            id: token.id.clone(),
            version: 1,
            body: serde_json::json!({"account_id": r.account_id}).to_string(),
            created_at: now,
            updated_at: now,
        };
        let audit = self.audit_event(by, ctx, Purpose::Audit, "reseller.token_bind", RESELLER, &r.account_id);
        self.store.put_registry(&doc, None, "bound", &by.token_id, &audit).await?;
        Ok(token)
    }

    /// The reseller account a caller may act for at `id`: a reseller token's own account, and
    /// only it. Any other id is "not found" (it does not reveal whether the account exists).
    async fn reseller_scope(&self, by: &Principal, id: &str) -> Result<lessee_domain::AccountId> {
        by.require(Permission::SubLessees)?;
        let account = crate::accounts::parse_account_id(id)?;
        let binding = self.store.registry_doc(RESELLER_TOKEN, &by.token_id).await?;
        let bound = binding
            .and_then(|d| serde_json::from_str::<serde_json::Value>(&d.body).ok())
            .and_then(|v| v.get("account_id").and_then(|a| a.as_str()).map(str::to_owned));
        match bound {
            Some(b) if b == account.to_string() => Ok(account),
            _ => Err(Error::not_found("reseller")),
        }
    }

    /// A reseller registers a sub-lessee: opened like any account (validated, classified,
    /// screened and decided, measures applied) and linked to the reseller's account.
    pub async fn register_sub_lessee(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        app: lessee_domain::Application,
        idempotency_key: Option<&str>,
    ) -> Result<crate::Opened> {
        let reseller = self.reseller_scope(by, id).await?;
        let opened = self.open_account_authorized(by, ctx, app, idempotency_key).await?;
        match self.store.sub_lessee_reseller(opened.account.id).await? {
            Some(owner) if owner != reseller => return Err(Error::not_found("sub-lessee")),
            Some(_) => {}
            None => self.store.link_sub_lessee(opened.account.id, reseller, self.now()).await?,
        }
        Ok(opened)
    }

    /// The sub-lessee `sub` of the reseller at `id`, or "not found".
    async fn own_sub_lessee(&self, by: &Principal, id: &str, sub: &str) -> Result<lessee_domain::AccountId> {
        let reseller = self.reseller_scope(by, id).await?;
        let sub = crate::accounts::parse_account_id(sub)?;
        match self.store.sub_lessee_reseller(sub).await? {
            Some(owner) if owner == reseller => Ok(sub),
            _ => Err(Error::not_found("sub-lessee")),
        }
    }

    /// A reseller updates one of its sub-lessees (decided again).
    pub async fn update_sub_lessee(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        sub: &str,
        app: lessee_domain::Application,
    ) -> Result<lessee_domain::Account> {
        let sub = self.own_sub_lessee(by, id, sub).await?;
        self.resubmit_authorized(by, ctx, &sub.to_string(), app).await
    }

    /// One of the reseller's sub-lessees (its account view: no personal data).
    pub async fn sub_lessee(&self, by: &Principal, id: &str, sub: &str) -> Result<lessee_domain::Account> {
        let sub = self.own_sub_lessee(by, id, sub).await?;
        self.store.account(sub).await?.ok_or_else(|| Error::not_found("sub-lessee"))
    }

    /// The reseller's sub-lessees (account views).
    pub async fn list_sub_lessees(&self, by: &Principal, id: &str) -> Result<Vec<lessee_domain::Account>> {
        let reseller = self.reseller_scope(by, id).await?;
        let ids = self.store.sub_lessees_of(reseller).await?;
        Ok(self.store.accounts(&ids).await?)
    }

    /// A registered reseller's sub-lessees for an analyst or admin (account views).
    pub async fn list_reseller_sub_lessees(&self, by: &Principal, id: &str) -> Result<Vec<lessee_domain::Account>> {
        by.require(Permission::MeasuresRead)?;
        let (r, _) = self.reseller_doc(id).await?;
        let account = crate::accounts::parse_account_id(&r.account_id)?;
        let ids = self.store.sub_lessees_of(account).await?;
        Ok(self.store.accounts(&ids).await?)
    }

    /// The reminder job: records the day's reminder once; on the deadline with no outcome,
    /// records `deadline_passed`. Idempotent (a day already recorded is skipped).
    pub(crate) async fn job_reseller_reminder(&self, payload: &serde_json::Value) -> Result<()> {
        let bad = || Error::new(ErrorCode::InvalidBody, "a reseller reminder needs account_id, since and day");
        let id = payload.get("account_id").and_then(|v| v.as_str()).ok_or_else(bad)?;
        let day = payload.get("day").and_then(serde_json::Value::as_u64).ok_or_else(bad)?;
        let since: NaiveDate =
            payload.get("since").and_then(|v| v.as_str()).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let (mut r, doc) = self.reseller_doc(id).await?;
        let Some(n) = r.non_compliance.as_mut().filter(|n| n.since == since && n.outcome.is_none()) else {
            return Ok(()); // resolved, or a later finding: nothing to remind
        };
        if n.reminders.contains(&day) {
            return Ok(());
        }
        n.reminders.push(day);
        if day >= TERMINATION_DAYS {
            n.outcome = Some("deadline_passed".into());
            n.outcome_date = Some(self.now().date_naive());
            tracing::warn!(reseller = %id, "A non-compliant foreign reseller's termination deadline passed with no outcome.");
        } else {
            tracing::info!(reseller = %id, day, "Reminder: a non-compliant foreign reseller's termination deadline is near.");
        }
        let system = Principal::local_operator();
        self.put_reseller(&system, &RequestContext::local(), &r, Some(&doc), "reminder").await.map(|_| ())
    }
}
