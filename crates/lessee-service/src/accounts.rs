//! Opening and reading accounts.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lessee_domain::classify::ExternalEvidence;
use lessee_domain::{Account, AccountId, Application, Decision, Outcome, classify, validate};
use lessee_store::{AccountFilter, Created, IdempotencyKey, Page};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::Service;
use crate::audit::RequestContext;
use crate::auth::{Permission, Principal, Purpose};
use crate::error::{Error, ErrorCode, Result};

/// The result of opening an account.
#[derive(Debug)]
pub struct Opened {
    pub account: Account,
    /// True when an idempotency key replayed an earlier request.
    pub replayed: bool,
}

/// Filters and paging of `GET /v1/accounts`, as the edges parse them.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub external_id: Option<String>,
    pub outcome: Option<String>,
    pub classification: Option<String>,
    pub account_type: Option<String>,
    pub customer_kind: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// One page of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountPage {
    pub items: Vec<Account>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 500;

fn check_idempotency_key(key: &str) -> Result<()> {
    let ok = !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::new(ErrorCode::InvalidIdempotencyKey, "an Idempotency-Key is 1 to 255 visible ASCII characters"))
    }
}

fn one_of(field: &str, value: &Option<String>, allowed: &[&str]) -> Result<()> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => {
            Err(Error::new(ErrorCode::InvalidQuery, format!("`{field}` must be one of {}", allowed.join(", "))))
        }
        _ => Ok(()),
    }
}

fn encode_cursor(id: AccountId) -> String {
    URL_SAFE_NO_PAD.encode(id.to_string())
}

fn decode_cursor(c: &str) -> Result<AccountId> {
    URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| AccountId::parse(&s))
        .ok_or_else(|| Error::new(ErrorCode::InvalidQuery, "`cursor` is not a cursor this server issued"))
}

/// Parses an account id from a path or argument; an id that cannot exist is "not found".
pub fn parse_account_id(id: &str) -> Result<AccountId> {
    AccountId::parse(id).ok_or_else(|| Error::not_found("account"))
}

impl Service {
    /// Opens an account: validate, classify, decide, store, in that order. With an
    /// idempotency key, a replay of the same request returns the first account.
    pub async fn open_account(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        app: Application,
        idempotency_key: Option<&str>,
    ) -> Result<Opened> {
        by.require(Permission::AccountsCreate)?;
        self.open_account_authorized(by, ctx, app, idempotency_key).await
    }

    /// `open_account` for a caller authorized otherwise (a reseller opening its sub-lessees).
    pub(crate) async fn open_account_authorized(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        app: Application,
        idempotency_key: Option<&str>,
    ) -> Result<Opened> {
        if let Some(k) = idempotency_key {
            check_idempotency_key(k)?;
        }
        let now = self.now();
        validate(&app, now).map_err(Error::validation)?;

        let canonical = serde_json::to_vec(&app).map_err(Error::internal)?;
        let idempotency = idempotency_key.map(|k| IdempotencyKey {
            scope: by.token_id.clone(),
            key: k.to_owned(),
            request_hash: hex::encode(Sha256::digest(&canonical)),
        });

        let mut random = [0u8; 10];
        rand::rng().fill_bytes(&mut random);
        let id = AccountId::new(now, random);
        // Screen the customer, beneficial owners and sub-lessees; hits become alerts the
        // decision weighs (stored once the account is).
        let screened = self.screen_application(id, &app).await?;
        let screening = match &screened {
            None => lessee_policy::Screening::NotPossible,
            Some((loaded, alerts)) => lessee_policy::Screening::Screened {
                lists: loaded.labels(),
                hits: alerts.iter().map(crate::screening::hit_of).collect(),
            },
        };
        let (classification, decision) = self.decide_with(None, &app, &[], screening, now).await?;
        let account = Account {
            id,
            external_id: app.external_id.trim().to_owned(),
            account_type: app.account_type,
            opening_method: app.opening_method,
            customer_kind: app.customer.kind(),
            products: app.products.clone(),
            notice_version: app.notice_version.clone(),
            created_at: now,
            classification,
            decision,
        };
        let (sealed, indexes) = self.vault.seal(account.id, &app)?;
        let audit =
            self.audit_event(by, ctx, Purpose::Verification, "account.open", "account", &account.id.to_string());
        let created = self.store.create_account(&account, &sealed, &indexes, &audit, idempotency.as_ref()).await?;
        let replayed = matches!(created, Created::Replayed(_));
        let account = match created {
            Created::New(a) | Created::Replayed(a) => a,
        };
        if !replayed && let Some((_, alerts)) = &screened {
            // Not in the account's transaction: a crash in between leaves the decision citing
            // alerts that are not stored; the next re-screen of the account raises them.
            self.store.add_alerts(alerts).await?;
        }
        if !replayed {
            metrics::counter!(
                "lessee_accounts_opened_total",
                "outcome" => account.decision.outcome.as_str(),
                "classification" => account.classification.status.as_str(),
            )
            .increment(1);
            tracing::info!(
                account_id = %account.id,
                outcome = account.decision.outcome.as_str(),
                classification = account.classification.status.as_str(),
                by = %by.token_id,
                "Account opened."
            );
        }
        Ok(Opened { account, replayed })
    }

    /// Classifies and decides with the evidence states gathered so far (`("email",
    /// "confirmed")`, …), the exemptions and the special measures in force: the decision of an
    /// opening (`account` is `None`) or of an existing account (stage maintaining). The
    /// exemptions are read once for both the policy and the measures.
    pub(crate) async fn decide_with(
        &self,
        account: Option<lessee_domain::AccountId>,
        app: &Application,
        states: &[(String, String)],
        screening: lessee_policy::Screening,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(lessee_domain::AccountClassification, Decision)> {
        let exemptions = self.exemptions_in_registry().await?;
        let signup_ip_country =
            app.signup.as_ref().and_then(|s| s.ip.trim().parse::<IpAddr>().ok()).and_then(|ip| self.geo.country(ip));
        let classification = classify(app, ExternalEvidence { signup_ip_country }, &self.config.classification);
        let state = |kind: &str| {
            states
                .iter()
                .find(|(k, _)| k == kind)
                .and_then(|(_, s)| serde_json::from_value(serde_json::Value::String(s.clone())).ok())
                .unwrap_or_default()
        };
        let id_vendor = states
            .iter()
            .filter_map(|(k, s)| {
                let subject = lessee_policy::Subject::parse(k.strip_prefix("id_vendor:")?)?;
                let state = serde_json::from_value(serde_json::Value::String(s.clone())).ok()?;
                Some(lessee_policy::VendorResult { subject, vendor: "generic".into(), state })
            })
            .collect();
        let evidence = lessee_policy::ExternalEvidence {
            signup_ip_country,
            email: state("email"),
            phone: state("phone"),
            id_vendor,
            screening,
            granted_exemptions: crate::measures::granted_exemptions(&exemptions, app, now.date_naive()),
            ..Default::default()
        };
        let policy = self.policy().await?;
        let decided = lessee_policy::evaluate(&policy.policy, app, &classification, &evidence, now);
        let mut decision = decided.to_decision();
        crate::measures::give_exemption_conditions(
            &mut decision,
            &evidence.granted_exemptions,
            &decided.exemptions_used,
        );
        let stage =
            if account.is_some() { lessee_measures::Stage::Maintaining } else { lessee_measures::Stage::Opening };
        self.apply_measures(account, app, stage, &mut decision, &exemptions).await?;
        Ok((classification, decision))
    }

    /// Redress: the customer resubmits its application (corrected identity data, a new
    /// document, new beneficial owners or payment instrument) through the provider; it is
    /// validated, sealed under the account's data key, classified and decided again, and the
    /// new decision is recorded with the trigger `resubmission`. The `external_id` cannot change.
    pub async fn resubmit(&self, by: &Principal, ctx: &RequestContext, id: &str, app: Application) -> Result<Account> {
        by.require(Permission::AccountsCreate)?;
        self.resubmit_authorized(by, ctx, id, app).await
    }

    /// `resubmit` for a caller authorized otherwise (a reseller updating its sub-lessees).
    pub(crate) async fn resubmit_authorized(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        app: Application,
    ) -> Result<Account> {
        let account_id = parse_account_id(id)?;
        let now = self.now();
        validate(&app, now).map_err(Error::validation)?;
        let current = self.store.account(account_id).await?.ok_or_else(|| Error::not_found("account"))?;
        if app.external_id.trim() != current.external_id {
            return Err(Error {
                errors: vec![lessee_domain::FieldError {
                    pointer: "/external_id".into(),
                    code: "external_id_changed".into(),
                    message: "a resubmission keeps the account's external_id".into(),
                }],
                ..Error::new(ErrorCode::ValidationFailed, "the resubmission is for another account")
            });
        }
        let sealed = self.store.sealed_application(account_id).await?.ok_or_else(|| Error::not_found("account"))?;
        // Contact ownership confirmed earlier still counts (a changed address is not
        // re-verified here: the policy weighs the states as recorded).
        let states = self.store.evidence_states(account_id).await?;
        // The customer's data changed: screen it again; new hits are stored as alerts before
        // the decision that weighs them.
        if let Some((_, alerts)) = self.screen_application(account_id, &app).await? {
            self.store.add_alerts(&alerts).await?;
        }
        let screening = self.screening_evidence(account_id, None).await?;
        let (classification, mut decision) = self.decide_with(Some(account_id), &app, &states, screening, now).await?;
        decision.trigger = Some("resubmission".into());
        let (ciphertext, indexes) = self.vault.reseal(account_id, &sealed.wrapped_key, &app)?;
        let account = Account {
            account_type: app.account_type,
            opening_method: app.opening_method,
            customer_kind: app.customer.kind(),
            products: app.products.clone(),
            notice_version: app.notice_version.clone(),
            classification,
            decision,
            ..current
        };
        let audit =
            self.audit_event(by, ctx, Purpose::Verification, "account.resubmit", "account", &account_id.to_string());
        self.store.replace_application(&account, &ciphertext, &indexes, &audit).await?;
        tracing::info!(
            account_id = %account.id,
            outcome = account.decision.outcome.as_str(),
            by = %by.token_id,
            "Application resubmitted and decided again."
        );
        Ok(account)
    }

    pub async fn account(&self, by: &Principal, id: &str) -> Result<Account> {
        by.require(Permission::AccountsRead)?;
        let id = parse_account_id(id)?;
        self.store.account(id).await?.ok_or_else(|| Error::not_found("account"))
    }

    /// The application of an account, as the JSON of `Application`: personal data. The
    /// caller's role must hold the purpose; the read is audited before anything is returned, and
    /// a refused read is audited too. An application sealed by this version is returned as it was
    /// written, without parsing it and writing it again (see [`crate::vault::SEALED_JSON_MARK`]).
    pub async fn application(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        purpose: Purpose,
    ) -> Result<Vec<u8>> {
        let account_id = parse_account_id(id)?;
        let target = account_id.to_string();
        // The row is read and decrypted while the audit record commits; nothing is returned
        // before it is durable.
        let read = async {
            let Some(sealed) = self.store.sealed_application(account_id).await? else {
                return Err(Error::not_found("account"));
            };
            self.vault.unseal_json(account_id, &sealed)
        };
        self.authorized_read(by, ctx, purpose, ("account.application.read", "account", &target), read).await
    }

    /// Accounts whose customer, owners or sub-lessees have this email, phone or national id
    /// (exact, after normalization), found through the blind indexes. Audited: the query itself
    /// is personal data.
    pub async fn find_accounts(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        kind: &str,
        value: &str,
        purpose: Purpose,
    ) -> Result<Vec<Account>> {
        let index = self.vault.lookup_index(kind, value).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidQuery,
                "search by `email`, `phone`, `national_id` or `ip_address` with a value that can be normalized",
            )
        })?;
        self.authorize_read(by, ctx, purpose, "account.search", "blind_index", kind).await?;
        let mut out = Vec::new();
        for id in self.store.accounts_by_blind_index(kind, &index).await? {
            if let Some(a) = self.store.account(id).await? {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Seals applications stored in plaintext before encryption existed. Run at start.
    pub async fn seal_legacy_applications(&self) -> Result<u64> {
        let mut n = 0;
        loop {
            let batch = self.store.legacy_applications(500).await?;
            if batch.is_empty() {
                return Ok(n);
            }
            for legacy in batch {
                let app: Application = serde_json::from_str(&legacy.json).map_err(Error::internal)?;
                let (sealed, indexes) = self.vault.seal(legacy.account_id, &app)?;
                self.store.seal_legacy(legacy.account_id, &sealed, &indexes, self.now()).await?;
                n += 1;
            }
        }
    }

    pub async fn decisions(&self, by: &Principal, id: &str) -> Result<Vec<Decision>> {
        by.require(Permission::AccountsRead)?;
        let id = parse_account_id(id)?;
        let decisions = self.store.decisions(id).await?;
        if decisions.is_empty() {
            return Err(Error::not_found("account"));
        }
        Ok(decisions)
    }

    pub async fn list_accounts(&self, by: &Principal, q: ListQuery) -> Result<AccountPage> {
        by.require(Permission::AccountsRead)?;
        let outcomes: Vec<&str> =
            [Outcome::Approve, Outcome::ApproveWithConditions, Outcome::ManualReview, Outcome::Deny]
                .iter()
                .map(|o| o.as_str())
                .collect();
        one_of("outcome", &q.outcome, &outcomes)?;
        one_of("classification", &q.classification, &["us_person", "foreign_person"])?;
        one_of("account_type", &q.account_type, &["trial", "standard", "reseller", "enterprise"])?;
        one_of("customer_kind", &q.customer_kind, &["individual", "entity"])?;
        let limit = q.limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(Error::new(ErrorCode::InvalidQuery, format!("`limit` must be between 1 and {MAX_PAGE}")));
        }
        let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
        let filter = AccountFilter {
            external_id: q.external_id,
            outcome: q.outcome,
            classification: q.classification,
            account_type: q.account_type,
            customer_kind: q.customer_kind,
        };
        // One extra row tells whether there is a next page.
        let mut items = self.store.list_accounts(&filter, &Page { after, limit: limit + 1 }).await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|a| encode_cursor(a.id))
        } else {
            None
        };
        Ok(AccountPage { items, next_cursor })
    }
}
