//! Decision events to the provider: every decision (at opening, on confirmation, on
//! resubmission, by review) is an event `decision.made` posted as a signed webhook. The
//! decisions table is the outbox: a decision is written undelivered in the transaction that
//! makes it, so a crash loses none; a deliverer claims due ones, posts them, and marks them
//! delivered or reschedules them with exponential backoff. Delivery is at least once: the
//! event id `<account_id>:<seq>` (header `Lessee-Event-Id` and `"id"` in the signed body) lets
//! receivers drop duplicates.

use chrono::Duration;
use lessee_notify::{DeliveryResult, WebhookSender};
use serde::Serialize;

use crate::Service;
use crate::error::{Error, Result};

/// What one delivery round did.
#[derive(Debug, Default, Serialize)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Backoff after `attempts` failures: 2^attempts seconds, at most an hour.
fn backoff(attempts: i32) -> Duration {
    Duration::seconds(1i64 << attempts.clamp(0, 12)).min(Duration::hours(1))
}

impl Service {
    /// Delivers the decisions that are due (at most `limit`).
    pub async fn deliver_decisions(&self, sender: &WebhookSender, limit: u32) -> Result<DeliveryReport> {
        let now = self.now();
        let claimed = self.store.claim_deliveries(now, 60_000, limit).await?;
        let mut report = DeliveryReport::default();
        for p in claimed {
            let id = format!("{}:{}", p.account_id, p.seq);
            let body = serde_json::json!({
                "id": id,
                "type": "decision.made",
                "account_id": p.account_id.to_string(),
                "external_id": p.external_id,
                "seq": p.seq,
                "decision": p.decision,
            });
            let bytes = serde_json::to_vec(&body).map_err(Error::internal)?;
            let result = sender.deliver(&id, "decision.made", &bytes).await;
            match result {
                Ok(DeliveryResult::Delivered { .. }) => {
                    self.store.mark_delivered(p.account_id, p.seq, self.now()).await?;
                    report.delivered += 1;
                }
                Ok(DeliveryResult::Retry { cause, .. }) => {
                    let next = self.now() + backoff(p.attempts);
                    self.store.mark_undelivered(p.account_id, p.seq, Some(next), &format!("{cause:?}")).await?;
                    report.retrying += 1;
                }
                Ok(DeliveryResult::Permanent { status }) => {
                    tracing::error!(event_id = %id, status, "The decision webhook was refused for good; not retried.");
                    self.store.mark_undelivered(p.account_id, p.seq, None, &format!("HTTP {status}")).await?;
                    report.failed += 1;
                }
                Err(e) => {
                    tracing::error!(event_id = %id, error = %e, "A decision event could not be built.");
                    self.store.mark_undelivered(p.account_id, p.seq, None, "event not deliverable").await?;
                    report.failed += 1;
                }
            }
        }
        let (waiting, given_up) = self.store.delivery_backlog().await?;
        metrics::gauge!("lessee_decision_events_pending").set(waiting as f64);
        metrics::gauge!("lessee_decision_events_failed").set(given_up as f64);
        Ok(report)
    }
}
