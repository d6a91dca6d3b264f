//! Retention (EO 13984 § 1(a)(ii); proposed rule: at least two years after the account is
//! closed or last accessed, the later of the two), legal holds, and destruction by
//! crypto-shredding: deleting a customer's data key makes its sealed records unreadable.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use lessee_domain::AccountId;
use lessee_domain::access::Cidr;
use lessee_store::{EventQuery, LegalHold};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Service;
use crate::audit::RequestContext;
use crate::auth::{Permission, Principal, Purpose};
use crate::error::{Error, ErrorCode, Result};

/// A request for a legal hold: exactly one of `account_id` or `ip` (an address or CIDR range).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    pub account_id: Option<String>,
    pub ip: Option<String>,
    /// Why (e.g. "grand jury subpoena").
    pub reason: String,
    /// The legal process reference (docket, case number).
    pub reference: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub reason: String,
    pub reference: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<DateTime<Utc>>,
}

impl From<LegalHold> for HoldView {
    fn from(h: LegalHold) -> Self {
        HoldView {
            id: h.id,
            account_id: h.account_id.map(|a| a.to_string()),
            ip: h.cidr,
            reason: h.reason,
            reference: h.reference,
            created_by: h.created_by,
            created_at: h.created_at,
            released_at: h.released_at,
        }
    }
}

/// What a retention run did.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct RetentionReport {
    /// Records of accounts closed and last accessed before this time are due.
    pub cutoff: Option<DateTime<Utc>>,
    /// Accounts whose personal data was destroyed.
    pub destroyed: Vec<String>,
    /// Accounts due but kept by a legal hold.
    pub held: Vec<String>,
}

fn text(field: &str, v: &str, max: usize) -> Result<()> {
    if v.trim().is_empty() || v.len() > max || v.chars().any(char::is_control) {
        return Err(Error::new(ErrorCode::ValidationFailed, format!("`{field}` is 1 to {max} printable characters")));
    }
    Ok(())
}

impl Service {
    /// Closes an account (the provider ended the relationship); starts its retention period.
    pub async fn close_account(&self, by: &Principal, ctx: &RequestContext, id: &str) -> Result<()> {
        by.require(Permission::AccountsCreate)?;
        let account_id = crate::accounts::parse_account_id(id)?;
        let audit =
            self.audit_event(by, ctx, Purpose::CustomerSupport, "account.close", "account", &account_id.to_string());
        if self.store.close_account(account_id, self.now(), &audit).await? {
            Ok(())
        } else {
            Err(Error::not_found("open account"))
        }
    }

    pub async fn place_hold(&self, by: &Principal, ctx: &RequestContext, req: HoldRequest) -> Result<HoldView> {
        by.require(Permission::LegalHolds)?;
        text("reason", &req.reason, 500)?;
        text("reference", &req.reference, 200)?;
        let (account_id, cidr) = match (&req.account_id, &req.ip) {
            (Some(a), None) => (Some(crate::accounts::parse_account_id(a)?), None),
            (None, Some(ip)) => {
                let c = Cidr::parse(ip).ok_or_else(|| {
                    Error::new(ErrorCode::ValidationFailed, "`ip` must be an address or a CIDR range")
                })?;
                (None, Some(format!("{}/{}", c.network, c.len)))
            }
            _ => return Err(Error::new(ErrorCode::ValidationFailed, "give exactly one of `account_id` or `ip`")),
        };
        if let Some(a) = account_id
            && self.store.account(a).await?.is_none()
        {
            return Err(Error::not_found("account"));
        }
        let mut b = [0u8; 8];
        rand::rng().fill_bytes(&mut b);
        let hold = LegalHold {
            id: format!("hold_{}", hex::encode(b)),
            account_id,
            cidr,
            reason: req.reason.trim().to_owned(),
            reference: req.reference.trim().to_owned(),
            created_by: by.token_id.clone(),
            created_at: self.now(),
            released_at: None,
        };
        let audit = self.audit_event(by, ctx, Purpose::LegalProcess, "legal_hold.place", "legal_hold", &hold.id);
        self.store.create_hold(&hold, &audit).await?;
        Ok(hold.into())
    }

    pub async fn release_hold(&self, by: &Principal, ctx: &RequestContext, id: &str) -> Result<()> {
        by.require(Permission::LegalHolds)?;
        let audit = self.audit_event(by, ctx, Purpose::LegalProcess, "legal_hold.release", "legal_hold", id);
        if self.store.release_hold(id, self.now(), &audit).await? {
            Ok(())
        } else {
            Err(Error::not_found("active hold"))
        }
    }

    pub async fn list_holds(&self, by: &Principal, include_released: bool) -> Result<Vec<HoldView>> {
        by.require(Permission::LegalHolds)?;
        Ok(self.store.holds(include_released).await?.into_iter().map(HoldView::from).collect())
    }

    /// Whether an account is under a hold: on the account, or on a range it was seen from.
    async fn is_held(&self, id: AccountId, holds: &[LegalHold]) -> Result<bool> {
        if holds.iter().any(|h| h.account_id == Some(id)) {
            return Ok(true);
        }
        let ranges: Vec<Cidr> = holds.iter().filter_map(|h| h.cidr.as_deref()).filter_map(Cidr::parse).collect();
        if ranges.is_empty() {
            return Ok(false);
        }
        let from = DateTime::<Utc>::from_timestamp_millis(0).unwrap_or_default();
        let to = self.now() + chrono::Duration::days(1);
        let mut after = None;
        loop {
            let rows = self.store.events(&EventQuery::Account(id), from, to, after, 1000).await?;
            let Some(last) = rows.last() else { return Ok(false) };
            after = Some((last.at.timestamp_millis(), last.seq));
            let full = rows.len() == 1000;
            let hit = self.open_event_ips(rows).await?.into_iter().any(|ip| ranges.iter().any(|r| r.contains(ip)));
            if hit {
                return Ok(true);
            }
            if !full {
                return Ok(false);
            }
        }
    }

    /// Destroys the personal data of every account past retention and not held. Run by `serve`
    /// daily and by `lessee retention run`.
    pub async fn run_retention(&self, by: &Principal, ctx: &RequestContext) -> Result<RetentionReport> {
        by.require(Permission::TokensManage)?;
        let cutoff = self.now() - chrono::Duration::days(self.config.retention_days);
        let holds = self.store.holds(false).await?;
        let mut report = RetentionReport { cutoff: Some(cutoff), ..Default::default() };
        let mut seen = HashSet::new();
        loop {
            let candidates = self.store.retention_candidates(cutoff, 500).await?;
            let fresh: Vec<AccountId> = candidates.into_iter().filter(|c| seen.insert(*c)).collect();
            if fresh.is_empty() {
                break;
            }
            for id in fresh {
                if self.is_held(id, &holds).await? {
                    report.held.push(id.to_string());
                    continue;
                }
                let audit = self.audit_event(by, ctx, Purpose::Audit, "retention.destroy", "account", &id.to_string());
                // Forgotten first: a batch that reads the key meanwhile cannot keep it.
                self.facts.forget_key(id);
                self.store.destroy_account(id, self.now(), &audit).await?;
                tracing::info!(account_id = %id, "Personal data destroyed at the end of retention.");
                report.destroyed.push(id.to_string());
            }
        }
        Ok(report)
    }
}
