//! The review queue (issue 5): cases opened when a decision sends an account to manual review
//! (in that decision's transaction) or by an analyst who wants to override the engine; claimed,
//! decided with a note; a deny, or an outcome other than the engine's, needs a second reviewer
//! (four eyes: another token). Every step is audited; the final decision is appended to the
//! account's history with the reviewers' token ids.

use chrono::{DateTime, Utc};
use lessee_domain::{Account, Decision, Outcome, Reason};
use lessee_store::ReviewRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Service;
use crate::audit::RequestContext;
use crate::auth::{Permission, Principal, Purpose};
use crate::error::{Error, ErrorCode, Result};

/// A review case as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub id: String,
    pub account_id: String,
    /// `open`, `claimed`, `awaiting_second`, `closed`.
    pub status: String,
    pub engine_outcome: String,
    pub reason: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed_outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<ReviewRecord> for ReviewView {
    fn from(r: ReviewRecord) -> Self {
        ReviewView {
            id: r.id,
            account_id: r.account_id.to_string(),
            status: r.status,
            engine_outcome: r.engine_outcome,
            reason: r.reason,
            opened_by: r.opened_by,
            opened_at: r.opened_at,
            claimed_by: r.claimed_by,
            proposed_outcome: r.proposed_outcome,
            proposed_by: r.proposed_by,
            proposed_note: r.proposed_note,
            second_by: r.second_by,
            decided_outcome: r.decided_outcome,
            closed_at: r.closed_at,
        }
    }
}

/// A reviewer's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecision {
    pub outcome: Outcome,
    /// Why (kept in the decision's reason and the case).
    pub note: String,
}

/// A second reviewer's answer to a proposed deny or override.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondOpinion {
    /// `true`: the proposal becomes the decision; `false`: the case goes back to its first
    /// reviewer.
    pub confirm: bool,
    pub note: String,
}

/// An analyst opening a case on an account (to override the engine).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenReview {
    pub reason: String,
}

fn note_ok(field: &str, v: &str) -> Result<()> {
    if v.trim().is_empty() || v.len() > 1000 || v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::new(ErrorCode::ValidationFailed, format!("`{field}` is 1 to 1000 printable characters")));
    }
    Ok(())
}

fn conflict(detail: &str) -> Error {
    Error::new(ErrorCode::Conflict, detail)
}

/// Whether a reviewer's outcome needs a second reviewer.
pub fn needs_second(outcome: Outcome, engine: &str) -> bool {
    outcome == Outcome::Deny || (engine != Outcome::ManualReview.as_str() && engine != outcome.as_str())
}

impl Service {
    async fn case(&self, id: &str) -> Result<ReviewRecord> {
        self.store.review(id).await?.ok_or_else(|| Error::not_found("review"))
    }

    /// Review cases, oldest first, by status (default `open`) and account.
    pub async fn list_reviews(
        &self,
        by: &Principal,
        status: Option<&str>,
        account: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ReviewView>> {
        by.require(Permission::Review)?;
        let status = match status.unwrap_or("open") {
            "all" => None,
            s @ ("open" | "claimed" | "awaiting_second" | "closed") => Some(s),
            _ => {
                return Err(Error::new(
                    ErrorCode::InvalidQuery,
                    "`status` is open, claimed, awaiting_second, closed or all",
                ));
            }
        };
        let account = account.map(crate::accounts::parse_account_id).transpose()?;
        Ok(self.store.reviews(status, account, limit).await?.into_iter().map(Into::into).collect())
    }

    /// Opens a case on an account to override the engine (one open case per account).
    pub async fn open_review(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        account: &str,
        req: OpenReview,
    ) -> Result<ReviewView> {
        by.require(Permission::Review)?;
        note_ok("reason", &req.reason)?;
        let id = crate::accounts::parse_account_id(account)?;
        let audit = self.audit_event(by, ctx, Purpose::Review, "review.open", "account", &id.to_string());
        if !self.store.open_review(id, req.reason.trim(), &by.token_id, self.now(), &audit).await? {
            return Err(conflict("a review of this account is already open"));
        }
        let open = self.store.reviews(None, Some(id), 1000).await?;
        open.into_iter().rev().find(|r| r.status != "closed").map(Into::into).ok_or_else(|| Error::internal("case"))
    }

    /// Claims an open case (or re-claims one's own).
    pub async fn claim_review(&self, by: &Principal, ctx: &RequestContext, id: &str) -> Result<ReviewView> {
        by.require(Permission::Review)?;
        let mut r = self.case(id).await?;
        let expected = r.status.clone();
        match (r.status.as_str(), r.claimed_by.as_deref()) {
            ("open", _) => {}
            ("claimed", Some(me)) if me == by.token_id => return Ok(r.into()),
            _ => return Err(conflict("the case is not open")),
        }
        r.status = "claimed".into();
        r.claimed_by = Some(by.token_id.clone());
        let audit = self.audit_event(by, ctx, Purpose::Review, "review.claim", "account", &r.account_id.to_string());
        if !self.store.update_review(&r, &expected, None, &audit).await? {
            return Err(conflict("the case changed meanwhile; read it again"));
        }
        Ok(r.into())
    }

    /// Decides a claimed case. A deny or an override is proposed and waits for a second
    /// reviewer; anything else is decided now.
    pub async fn decide_review(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        d: ReviewDecision,
    ) -> Result<ReviewView> {
        by.require(Permission::Review)?;
        note_ok("note", &d.note)?;
        let mut r = self.case(id).await?;
        if r.status != "claimed" || r.claimed_by.as_deref() != Some(by.token_id.as_str()) {
            return Err(conflict("claim the case before deciding it"));
        }
        let account_id = r.account_id.to_string();
        if needs_second(d.outcome, &r.engine_outcome) {
            r.status = "awaiting_second".into();
            r.proposed_outcome = Some(d.outcome.as_str().to_owned());
            r.proposed_by = Some(by.token_id.clone());
            r.proposed_note = Some(d.note.trim().to_owned());
            let audit = self.audit_event(by, ctx, Purpose::Review, "review.propose", "account", &account_id);
            if !self.store.update_review(&r, "claimed", None, &audit).await? {
                return Err(conflict("the case changed meanwhile; read it again"));
            }
            return Ok(r.into());
        }
        let account = self.reviewed_account(&r, d.outcome, d.note.trim(), vec![by.token_id.clone()]).await?;
        r.status = "closed".into();
        r.decided_outcome = Some(d.outcome.as_str().to_owned());
        r.proposed_note = Some(d.note.trim().to_owned());
        r.closed_at = Some(self.now());
        let audit = self.audit_event(by, ctx, Purpose::Review, "review.decide", "account", &account_id);
        if !self.store.update_review(&r, "claimed", Some(&account), &audit).await? {
            return Err(conflict("the case changed meanwhile; read it again"));
        }
        Ok(r.into())
    }

    /// The second reviewer (another token) confirms or sends back a proposed deny or override.
    pub async fn second_review(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        s: SecondOpinion,
    ) -> Result<ReviewView> {
        by.require(Permission::Review)?;
        note_ok("note", &s.note)?;
        let mut r = self.case(id).await?;
        if r.status != "awaiting_second" {
            return Err(conflict("the case awaits no second review"));
        }
        if r.proposed_by.as_deref() == Some(by.token_id.as_str()) {
            return Err(Error::forbidden("four eyes: the second review must come from another reviewer"));
        }
        let account_id = r.account_id.to_string();
        if !s.confirm {
            r.status = "claimed".into();
            r.proposed_outcome = None;
            r.proposed_by = None;
            r.proposed_note = Some(format!("sent back: {}", s.note.trim()));
            let audit = self.audit_event(by, ctx, Purpose::Review, "review.send_back", "account", &account_id);
            if !self.store.update_review(&r, "awaiting_second", None, &audit).await? {
                return Err(conflict("the case changed meanwhile; read it again"));
            }
            return Ok(r.into());
        }
        let outcome = r
            .proposed_outcome
            .as_deref()
            .and_then(Outcome::parse)
            .ok_or_else(|| Error::internal("a proposal without an outcome"))?;
        let proposer = r.proposed_by.clone().unwrap_or_default();
        let note = format!("{} / second review: {}", r.proposed_note.clone().unwrap_or_default(), s.note.trim());
        let account = self.reviewed_account(&r, outcome, &note, vec![proposer, by.token_id.clone()]).await?;
        r.status = "closed".into();
        r.second_by = Some(by.token_id.clone());
        r.decided_outcome = Some(outcome.as_str().to_owned());
        r.closed_at = Some(self.now());
        let audit = self.audit_event(by, ctx, Purpose::Review, "review.confirm", "account", &account_id);
        if !self.store.update_review(&r, "awaiting_second", Some(&account), &audit).await? {
            return Err(conflict("the case changed meanwhile; read it again"));
        }
        Ok(r.into())
    }

    /// The account with the reviewers' decision: the engine's reasons stay, a `review_decision`
    /// reason carries the note, conditions are kept only for `approve_with_conditions`.
    async fn reviewed_account(
        &self,
        r: &ReviewRecord,
        outcome: Outcome,
        note: &str,
        reviewers: Vec<String>,
    ) -> Result<Account> {
        let current = self.store.account(r.account_id).await?.ok_or_else(|| Error::not_found("account"))?;
        let mut reasons = current.decision.reasons.clone();
        reasons.push(Reason::new("review_decision", note, "customer"));
        let mut decision = Decision::new(outcome, reasons, current.decision.policy_version.clone(), self.now());
        if outcome == Outcome::ApproveWithConditions {
            decision.conditions = current.decision.conditions.clone();
        }
        decision.tier = current.decision.tier.clone();
        decision.risk_score = current.decision.risk_score;
        decision.decided_by = reviewers;
        decision.trigger = Some("review".into());
        Ok(Account { decision, ..current })
    }
}
