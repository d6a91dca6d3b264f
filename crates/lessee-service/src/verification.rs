//! Ownership of the customer's email address and phone number by one-time code (issue 5): a
//! code is sent (email by SMTP, phone through the provider's SMS gateway webhook), only its
//! keyed hash is stored, and a confirmation decides the account again with the evidence
//! confirmed, in one transaction with the new decision.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lessee_domain::{Account, Application, FieldError};
use lessee_notify::{Challenge, CodeHash, CodeSender, OneTimeCode, Verdict};
use lessee_store::ChallengeRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Service;
use crate::audit::{Denied, RequestContext};
use crate::auth::{Permission, Principal, Purpose};
use crate::error::{Error, ErrorCode, Result};

/// How codes reach customers. A channel without a sender cannot be verified (503).
#[derive(Clone)]
pub struct Messaging {
    pub email: Option<Arc<dyn CodeSender>>,
    pub phone: Option<Arc<dyn CodeSender>>,
    /// How long a code is valid.
    pub code_minutes: u32,
    /// Attempts allowed per code.
    pub max_attempts: u32,
}

impl Default for Messaging {
    fn default() -> Self {
        Messaging { email: None, phone: None, code_minutes: 10, max_attempts: 5 }
    }
}

/// A contact channel whose ownership is verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Phone,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Result<Channel> {
        match s {
            "email" => Ok(Channel::Email),
            "phone" => Ok(Channel::Phone),
            _ => Err(Error::not_found("verification channel (email, phone)")),
        }
    }

    fn purpose(self) -> lessee_notify::Purpose {
        match self {
            Channel::Email => lessee_notify::Purpose::EmailVerification,
            Channel::Phone => lessee_notify::Purpose::PhoneVerification,
        }
    }
}

/// A code was sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChallengeView {
    pub channel: Channel,
    pub expires_at: DateTime<Utc>,
    pub max_attempts: u32,
}

/// A presented code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeSubmission {
    pub code: String,
}

fn contact(app: &Application, channel: Channel) -> Option<String> {
    let (email, phone) = match &app.customer {
        lessee_domain::application::Customer::Individual(i) => (i.email.clone(), i.phone.clone()),
        lessee_domain::application::Customer::Entity(e) => (e.email.clone(), e.phone.clone()),
    };
    match channel {
        Channel::Email => email,
        Channel::Phone => phone.map(|p| p.chars().filter(|c| *c == '+' || c.is_ascii_digit()).collect()),
    }
    .filter(|v| !v.trim().is_empty())
}

fn code_error(code: &str, message: String, detail: &str) -> Error {
    Error {
        errors: vec![FieldError { pointer: "/code".into(), code: code.into(), message }],
        ..Error::new(ErrorCode::ValidationFailed, detail)
    }
}

impl Service {
    /// Sends a one-time code to the customer's email address or phone number.
    pub async fn start_verification(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        channel: Channel,
    ) -> Result<ChallengeView> {
        by.require(Permission::AccountsCreate)?;
        let account_id = crate::accounts::parse_account_id(id)?;
        let sender = match channel {
            Channel::Email => self.messaging.email.clone(),
            Channel::Phone => self.messaging.phone.clone(),
        }
        .ok_or_else(|| {
            Error::new(ErrorCode::Unavailable, format!("no {} sender is configured on this server", channel.as_str()))
        })?;
        let sealed = self.store.sealed_application(account_id).await?.ok_or_else(|| Error::not_found("account"))?;
        let app = self.vault.unseal(account_id, &sealed)?;
        let to = contact(&app, channel).ok_or_else(|| {
            Error::new(ErrorCode::ValidationFailed, format!("the application has no {}", channel.as_str()))
        })?;
        let now = self.now();
        let subject = account_id.to_string();
        let (code, hash) = OneTimeCode::generate(self.vault.otp_key(), channel.purpose(), &subject);
        let minutes = self.messaging.code_minutes;
        let record = ChallengeRecord {
            account_id,
            channel: channel.as_str().to_owned(),
            hash: hex::encode(hash.as_bytes()),
            expires_at: now + chrono::Duration::minutes(i64::from(minutes)),
            attempts: 0,
            max_attempts: i32::try_from(self.messaging.max_attempts).unwrap_or(5),
            created_at: now,
        };
        let audit = self.audit_event(by, ctx, Purpose::Verification, "verification.start", "account", &subject);
        self.store.put_challenge(&record, &audit).await?;
        sender.send_code(&to, &code, minutes).await.map_err(|e| Error {
            internal: Some(e.to_string()),
            ..Error::new(
                ErrorCode::Unavailable,
                format!("the {} code could not be sent; try again later", channel.as_str()),
            )
        })?;
        tracing::info!(account_id = %account_id, channel = channel.as_str(), "Verification code sent.");
        Ok(ChallengeView { channel, expires_at: record.expires_at, max_attempts: self.messaging.max_attempts })
    }

    /// Checks a presented code. Right: the evidence is confirmed and the account decided again
    /// (trigger `email_confirmed` / `phone_confirmed`). Wrong, expired or locked: 422 with the
    /// reason, and the attempt is counted and audited.
    pub async fn confirm_verification(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        channel: Channel,
        presented: &str,
    ) -> Result<Account> {
        by.require(Permission::AccountsCreate)?;
        let account_id = crate::accounts::parse_account_id(id)?;
        let subject = account_id.to_string();
        let record = self
            .store
            .challenge(account_id, channel.as_str())
            .await?
            .ok_or_else(|| Error::not_found("pending code for this channel (send one first)"))?;
        let mut hash = [0u8; 32];
        hex::decode_to_slice(&record.hash, &mut hash).map_err(Error::internal)?;
        let mut challenge = Challenge {
            purpose: channel.purpose(),
            subject: subject.clone(),
            hash: CodeHash::from_bytes(hash),
            expires_at: record.expires_at,
            attempts: u32::try_from(record.attempts).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(record.max_attempts).unwrap_or(0),
        };
        let verdict = challenge.check(self.vault.otp_key(), self.now(), presented);
        let action = "verification.confirm";
        match verdict {
            Verdict::Expired => {
                self.audit(by, ctx, Purpose::Verification, action, "account", &subject, Denied).await?;
                return Err(code_error("code_expired", "the code expired; send a new one".into(), "the code expired"));
            }
            Verdict::Locked => {
                self.audit(by, ctx, Purpose::Verification, action, "account", &subject, Denied).await?;
                return Err(code_error(
                    "code_locked",
                    "too many attempts; send a new code".into(),
                    "too many attempts for this code",
                ));
            }
            Verdict::Wrong { .. } | Verdict::Confirmed => {
                if !self.count(account_id, channel, &record).await? {
                    return Err(Error::new(
                        ErrorCode::Conflict,
                        "another attempt was made at the same time; try again",
                    ));
                }
            }
        }
        if let Verdict::Wrong { remaining } = verdict {
            self.audit(by, ctx, Purpose::Verification, action, "account", &subject, Denied).await?;
            return Err(code_error(
                "code_wrong",
                format!("wrong code; {remaining} attempt(s) left"),
                "the code is not the one sent",
            ));
        }
        let trigger = format!("{}_confirmed", channel.as_str());
        let account = self
            .redecide(account_id, Some((channel.as_str(), "confirmed")), &trigger)
            .await?
            .ok_or_else(|| Error::not_found("account"))?;
        let audit = self.audit_event(by, ctx, Purpose::Verification, action, "account", &subject);
        self.store.confirm_evidence(&account, channel.as_str(), "confirmed", &audit).await?;
        tracing::info!(
            account_id = %account_id,
            channel = channel.as_str(),
            outcome = account.decision.outcome.as_str(),
            "Contact ownership confirmed; account decided again."
        );
        Ok(account)
    }

    /// The account decided again under the policy in force with its recorded evidence states,
    /// `change` (kind, state) replacing one of them, and the decision's `trigger`; not yet
    /// stored. `None` when the account is gone or its personal data was destroyed.
    pub(crate) async fn redecide(
        &self,
        id: lessee_domain::AccountId,
        change: Option<(&str, &str)>,
        trigger: &str,
    ) -> Result<Option<Account>> {
        let Some(current) = self.store.account(id).await? else { return Ok(None) };
        let Some(sealed) = self.store.sealed_application(id).await? else { return Ok(None) };
        let app = self.vault.unseal(id, &sealed)?;
        let mut states = self.store.evidence_states(id).await?;
        if let Some((kind, state)) = change {
            states.retain(|(k, _)| k != kind);
            states.push((kind.to_owned(), state.to_owned()));
        }
        let screening = self.screening_evidence(id, None).await?;
        let (classification, mut decision) = self.decide_with(Some(id), &app, &states, screening, self.now()).await?;
        decision.trigger = Some(trigger.to_owned());
        Ok(Some(Account { classification, decision, ..current }))
    }

    /// Counts the attempt (compare-and-set on the attempt counter read with the challenge).
    async fn count(&self, id: lessee_domain::AccountId, channel: Channel, seen: &ChallengeRecord) -> Result<bool> {
        Ok(self.store.count_attempt(id, channel.as_str(), seen.attempts).await?)
    }
}

/// The generic vendor adapter's payload (`POST /v1/webhooks/vendors/{vendor}`), signed with
/// `Lessee-Signature`. A vendor integration maps its own result to this.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorPayload {
    /// The vendor's id of this delivery: applied once.
    pub id: String,
    pub account_id: String,
    /// `customer` or `beneficial_owner:N`.
    pub subject: String,
    /// `confirmed`, `failed`, `pending` or `expired`.
    pub result: String,
    /// The vendor's reference of the check (kept in the audit trail's request id, not parsed).
    #[serde(default)]
    pub reference: Option<String>,
}

/// What a vendor delivery did.
#[derive(Debug, Serialize, ToSchema)]
pub struct VendorAck {
    /// False when this delivery id was applied before (a retry): nothing changed.
    pub applied: bool,
    pub account_id: String,
    pub outcome: lessee_domain::Outcome,
}

/// Secrets that sign vendor webhooks: the current one, and during a rotation the previous one.
#[derive(Clone, Default)]
pub struct VendorSecrets(pub Vec<Vec<u8>>);

impl std::fmt::Debug for VendorSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VendorSecrets({} secret(s), redacted)", self.0.len())
    }
}

impl Service {
    /// Applies an identity-verification vendor's signed result: the signature must verify with
    /// a configured secret within 300 s; a delivery id is applied once; the account is decided
    /// again (trigger `id_vendor_result`).
    pub async fn vendor_result(
        &self,
        ctx: &RequestContext,
        vendor: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<VendorAck> {
        if vendor.is_empty()
            || vendor.len() > 32
            || !vendor.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(Error::not_found("vendor"));
        }
        if self.vendor_secrets.0.is_empty() {
            // Not enabled here: as if the route did not exist.
            return Err(Error::not_found("vendor webhook (none is configured on this server)"));
        }
        let secrets: Vec<&[u8]> = self.vendor_secrets.0.iter().map(Vec::as_slice).collect();
        let now = self.now().timestamp();
        lessee_notify::verify_signature(signature.unwrap_or_default(), body, &secrets, now, 300)
            .map_err(|e| Error::unauthenticated(format!("the Lessee-Signature does not verify: {e}")))?;
        let payload: VendorPayload = serde_json::from_slice(body)
            .map_err(|e| Error::new(ErrorCode::InvalidBody, format!("not a vendor result: {e}")))?;
        let subject = lessee_policy::Subject::parse(&payload.subject).ok_or_else(|| {
            Error::new(ErrorCode::ValidationFailed, "`subject` is `customer` or `beneficial_owner:N`")
        })?;
        let state = match payload.result.as_str() {
            "confirmed" | "failed" | "pending" | "expired" => payload.result.clone(),
            _ => {
                return Err(Error::new(
                    ErrorCode::ValidationFailed,
                    "`result` is `confirmed`, `failed`, `pending` or `expired`",
                ));
            }
        };
        if payload.id.is_empty() || payload.id.len() > 128 || payload.id.chars().any(char::is_control) {
            return Err(Error::new(ErrorCode::ValidationFailed, "`id` is 1 to 128 printable characters"));
        }
        let account_id = crate::accounts::parse_account_id(&payload.account_id)?;
        let kind = format!("id_vendor:{}", subject_label(subject));
        let account = self
            .redecide(account_id, Some((&kind, &state)), "id_vendor_result")
            .await?
            .ok_or_else(|| Error::not_found("account"))?;
        let by = crate::auth::Principal {
            token_id: format!("vendor-{vendor}"),
            name: vendor.to_owned(),
            role: crate::auth::Role::Vendor,
        };
        let audit = self.audit_event(
            &by,
            ctx,
            Purpose::Verification,
            "verification.vendor_result",
            "account",
            &payload.account_id,
        );
        let applied = self.store.apply_vendor_result(vendor, &payload.id, &account, &kind, &state, &audit).await?;
        let outcome = if applied {
            account.decision.outcome
        } else {
            self.store.account(account_id).await?.map_or(account.decision.outcome, |a| a.decision.outcome)
        };
        tracing::info!(account_id = %account_id, vendor, applied, "Vendor result received.");
        Ok(VendorAck { applied, account_id: account_id.to_string(), outcome })
    }
}

fn subject_label(s: lessee_policy::Subject) -> String {
    match s {
        lessee_policy::Subject::Customer => "customer".to_owned(),
        lessee_policy::Subject::BeneficialOwner(n) => format!("beneficial_owner:{n}"),
    }
}

/// What a re-verification run did.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ReverificationReport {
    /// Accounts whose email or phone confirmation lapsed, decided again (`evidence_expired`).
    pub evidence_expired: Vec<String>,
    /// Accounts decided again because their decision was older than the interval (`periodic`).
    pub periodic: Vec<String>,
}

impl Service {
    /// Ongoing verification: lapses email and phone confirmations older than
    /// `contact_evidence_days` and decides those accounts again (trigger `evidence_expired`),
    /// then decides again every open account whose decision is older than `reverify_days`
    /// (trigger `periodic`). Run by `serve` daily and by `lessee verification run`.
    pub async fn run_reverification(&self, by: &Principal, ctx: &RequestContext) -> Result<ReverificationReport> {
        by.require(Permission::AccountsCreate)?;
        let now = self.now();
        let mut report = ReverificationReport::default();
        let lapse = now - chrono::Duration::days(self.config.contact_evidence_days);
        for (id, kind) in self.store.evidence_confirmed_before(&["email", "phone"], lapse, 1000).await? {
            let Some(account) = self.redecide(id, Some((&kind, "expired")), "evidence_expired").await? else {
                continue;
            };
            let audit =
                self.audit_event(by, ctx, Purpose::Verification, "verification.expire", "account", &id.to_string());
            self.store.confirm_evidence(&account, &kind, "expired", &audit).await?;
            report.evidence_expired.push(id.to_string());
        }
        let stale = now - chrono::Duration::days(self.config.reverify_days);
        for id in self.store.accounts_decided_before(stale, 1000).await? {
            let Some(account) = self.redecide(id, None, "periodic").await? else { continue };
            let audit =
                self.audit_event(by, ctx, Purpose::Verification, "verification.periodic", "account", &id.to_string());
            self.store.record_decision(&account, &audit).await?;
            report.periodic.push(id.to_string());
        }
        if !report.evidence_expired.is_empty() || !report.periodic.is_empty() {
            tracing::info!(
                expired = report.evidence_expired.len(),
                periodic = report.periodic.len(),
                "Re-verification run decided accounts again."
            );
        }
        Ok(report)
    }
}
