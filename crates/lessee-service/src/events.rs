//! Access and administrative events: ingestion in batches and the two questions asked of them,
//! "what did this account do, from where" and "which accounts were seen from this address or
//! range". Addresses and principals are sealed under each account's data key; addresses are
//! found through blind indexes of their prefixes (see `lessee_domain::access`).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use lessee_crypto::DataKey;
use lessee_domain::access::{
    AccessEventInput, AccessKind, AccountRef, Cidr, ValidEvent, index_prefixes, plan, validate_event,
};
use lessee_domain::{AccountId, Country, FieldError};
use lessee_store::{EventQuery, StoredEvent};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Service;
use crate::audit::RequestContext;
use crate::auth::{Permission, Principal, Purpose};
use crate::error::{Error, ErrorCode, Result};
use crate::facts::Facts;

/// What ingestion remembers between batches (see [`crate::facts`]): the account each external
/// id names, the (account, country) pairs the jurisdiction watch has noted, and, for a minute,
/// accounts' unwrapped data keys. With them a batch from known accounts at known places reads
/// nothing from the database and unwraps no key (with an HSM, an unwrap is a round trip).
pub(crate) struct IngestFacts {
    accounts: Facts<String, AccountId>,
    countries: Facts<(AccountId, Country), ()>,
    keys: Facts<AccountId, Arc<DataKey>>,
    /// Accounts whose key this process destroyed in the last DATA_KEY_MAX_AGE: a batch that
    /// read the key just before it went must not put it back in `keys`.
    destroyed: std::sync::Mutex<HashMap<AccountId, std::time::Instant>>,
}

/// How long an unwrapped data key is kept for sealing events (see [`crate::facts`]).
pub(crate) const DATA_KEY_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);

impl Default for IngestFacts {
    fn default() -> Self {
        // About 100 bytes an entry (a key with its cipher state about 1 KB): at most some 25,
        // 40 and 64 MB.
        IngestFacts {
            accounts: Facts::new(262_144),
            countries: Facts::new(524_288),
            keys: Facts::with_max_age(65_536, DATA_KEY_MAX_AGE),
            destroyed: std::sync::Mutex::default(),
        }
    }
}

impl IngestFacts {
    fn destroyed(&self) -> std::sync::MutexGuard<'_, HashMap<AccountId, std::time::Instant>> {
        self.destroyed.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stops using an account's data key and refuses to learn it again (called before the key
    /// is destroyed, so a batch reading it meanwhile cannot put it back).
    pub(crate) fn forget_key(&self, id: AccountId) {
        let now = std::time::Instant::now();
        {
            let mut destroyed = self.destroyed();
            // After the maximum age no key learnt before the destruction can still be in use.
            destroyed.retain(|_, at| now.saturating_duration_since(*at) < DATA_KEY_MAX_AGE);
            destroyed.insert(id, now);
        }
        self.keys.forget(&id);
    }

    /// Remembers keys just unwrapped, except those of accounts being destroyed.
    fn learn_keys(&self, learnt: &[(AccountId, Arc<DataKey>)]) {
        let destroyed = self.destroyed();
        self.keys.insert_many(learnt.iter().filter(|(id, _)| !destroyed.contains_key(id)).cloned());
    }
}

/// Most events in one batch.
pub const MAX_BATCH: usize = 50_000;

/// What to do with a batch that has bad lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchMode {
    /// Refuse the whole batch (nothing is written) and report every bad line. The default.
    Atomic,
    /// Write the good lines and report the bad ones.
    Partial,
}

/// One rejected line of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineError {
    /// 1-based line (NDJSON) or array index + 1 (JSON array).
    pub line: usize,
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestReport {
    pub accepted: usize,
    pub rejected: Vec<LineError>,
}

/// An event as it is read back.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub account_id: String,
    pub at: DateTime<Utc>,
    pub kind: AccessKind,
    pub action: String,
    pub ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventView>,
    /// Distinct accounts among `items`, for the "who was seen from this address" question.
    pub accounts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The sealed part of an event.
#[derive(Serialize, Deserialize)]
struct Secret {
    ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<String>,
}

/// A parsed batch: each element's line number and its event, or why it did not parse.
pub type Batch = Vec<(usize, std::result::Result<AccessEventInput, FieldError>)>;

/// Parses a body of events: a JSON array, or NDJSON (one object per line). Each element gets
/// its own result so bad lines can be reported by number.
pub fn parse_batch(body: &[u8]) -> std::result::Result<Batch, Error> {
    let text = std::str::from_utf8(body).map_err(|_| Error::new(ErrorCode::MalformedJson, "the body is not UTF-8"))?;
    let trimmed = text.trim_start();
    let one = |line: usize, v: &str| {
        serde_json::from_str::<AccessEventInput>(v)
            .map_err(|e| FieldError {
                pointer: String::new(),
                code: if e.is_syntax() || e.is_eof() { "malformed_json".into() } else { "invalid_event".into() },
                message: e.to_string(),
            })
            .map(|ev| (line, ev))
    };
    let out: Vec<_> = if trimmed.starts_with('[') {
        let values: Vec<serde_json::Value> = serde_json::from_str(trimmed)
            .map_err(|e| Error::new(ErrorCode::MalformedJson, format!("the body is not a JSON array: {e}")))?;
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let r = serde_json::from_value::<AccessEventInput>(v).map_err(|e| FieldError {
                    pointer: String::new(),
                    code: "invalid_event".into(),
                    message: e.to_string(),
                });
                (i + 1, r)
            })
            .collect()
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| match one(i + 1, l) {
                Ok((n, ev)) => (n, Ok(ev)),
                Err(e) => (i + 1, Err(e)),
            })
            .collect()
    };
    if out.len() > MAX_BATCH {
        return Err(Error::new(ErrorCode::PayloadTooLarge, format!("at most {MAX_BATCH} events per batch")));
    }
    if out.is_empty() {
        return Err(Error::new(ErrorCode::InvalidBody, "the batch holds no events"));
    }
    Ok(out)
}

/// What the jurisdiction watch does for a batch (see [`Service::plan_watch`]).
#[derive(Default)]
struct WatchPlan {
    /// New (account, country) pairs that need no case: noted with the batch.
    note: Vec<(AccountId, Country)>,
    /// Accounts due a case, with their new foreign countries (noted once the case is open).
    review: Vec<(AccountId, Vec<Country>)>,
}

fn event_id(at: DateTime<Utc>) -> i64 {
    let mut r = [0u8; 2];
    rand::rng().fill_bytes(&mut r);
    (at.timestamp_millis().max(0) << 16) | i64::from(u16::from_be_bytes(r))
}

fn cursor(at: i64, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{at}.{id}"))
}

fn decode_cursor(c: &str) -> Result<(i64, i64)> {
    let bad = || Error::new(ErrorCode::InvalidQuery, "`cursor` is not a cursor this server issued");
    let text = URL_SAFE_NO_PAD.decode(c).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(bad)?;
    let (a, b) = text.split_once('.').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
}

/// Parses a time range; `to` defaults to now, `from` to 30 days before `to`.
pub fn time_range(from: Option<&str>, to: Option<&str>, now: DateTime<Utc>) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let parse = |s: &str, name: &str| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| Error::new(ErrorCode::InvalidQuery, format!("`{name}` must be an RFC 3339 date-time")))
    };
    let to = to.map(|t| parse(t, "to")).transpose()?.unwrap_or(now);
    let from = from.map(|f| parse(f, "from")).transpose()?.unwrap_or(to - chrono::Duration::days(30));
    if from >= to {
        return Err(Error::new(ErrorCode::InvalidQuery, "`from` must be before `to`"));
    }
    Ok((from, to))
}

impl Service {
    /// Ingests a batch of events (see [`BatchMode`]).
    pub async fn ingest_events(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        batch: Batch,
        mode: BatchMode,
    ) -> Result<IngestReport> {
        by.require(Permission::EventsWrite)?;
        let now = self.now();
        // When each step ended, for operators (`LESSEE_LOG=lessee_service::events=debug`).
        let t0 = std::time::Instant::now();
        let mut rejected = Vec::new();
        let mut valid: Vec<(usize, ValidEvent)> = Vec::new();
        for (line, parsed) in batch {
            match parsed.map_err(|e| vec![e]).and_then(|e| validate_event(&e, now)) {
                Ok(v) => valid.push((line, v)),
                Err(errors) => rejected.push(LineError { line, errors }),
            }
        }
        // Resolve accounts: external ids in one query; lessee ids as given.
        let externals: Vec<String> = valid
            .iter()
            .filter_map(|(_, v)| match &v.account {
                AccountRef::External(e) => Some(e.clone()),
                AccountRef::Id(_) => None,
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let t1 = std::time::Instant::now();
        let (mut by_external, missing) = self.facts.accounts.get_many(externals.iter());
        if !missing.is_empty() {
            let looked = self.store.account_ids_by_external(&missing).await?;
            self.facts.accounts.insert_many(looked.iter().cloned());
            by_external.extend(looked);
        }
        let mut resolved: Vec<(usize, AccountId, ValidEvent)> = Vec::new();
        for (line, v) in valid {
            let id = match &v.account {
                AccountRef::External(e) => by_external.get(e).copied(),
                AccountRef::Id(s) => AccountId::parse(s),
            };
            match id {
                Some(id) => resolved.push((line, id, v)),
                None => rejected.push(LineError {
                    line,
                    errors: vec![FieldError {
                        pointer: "/account".into(),
                        code: "unknown_account".into(),
                        message: "no such account".into(),
                    }],
                }),
            }
        }
        let ids: Vec<AccountId> = resolved.iter().map(|(_, id, _)| *id).collect::<HashSet<_>>().into_iter().collect();
        let (mut keys, missing) = self.facts.keys.get_many(ids.iter());
        if !missing.is_empty() {
            let mut learnt = Vec::with_capacity(missing.len());
            for (id, wrapped) in self.store.wrapped_keys(&missing).await? {
                learnt.push((id, Arc::new(self.vault.data_key(id, &wrapped)?)));
            }
            self.facts.learn_keys(&learnt);
            keys.extend(learnt);
        }
        let t2 = std::time::Instant::now();
        let mut by_address: HashMap<IpAddr, ([i64; 4], Option<Country>)> = HashMap::new();
        let mut stored = Vec::with_capacity(resolved.len());
        // Countries each account was seen from in this batch, for the jurisdiction watch.
        let mut seen: HashMap<AccountId, std::collections::BTreeSet<Country>> = HashMap::new();
        for (line, id, v) in resolved {
            // An account whose key is destroyed takes no more events.
            let Some(key) = keys.get(&id) else {
                rejected.push(LineError {
                    line,
                    errors: vec![FieldError {
                        pointer: "/account".into(),
                        code: "unknown_account".into(),
                        message: "no such account".into(),
                    }],
                });
                continue;
            };
            let eid = event_id(v.at);
            let secret = serde_json::to_vec(&Secret { ip: v.ip.to_string(), principal: v.principal.clone() })
                .map_err(Error::internal)?;
            let sealed = self.vault.seal_event(key, id, eid, &secret)?;
            // An account is seen mostly from a few addresses: each address's four indexes and
            // its country are computed once per batch.
            let (ip, country) = *by_address.entry(v.ip).or_insert_with(|| {
                let p = index_prefixes(v.ip);
                let ip = [0, 1, 2, 3]
                    .map(|i| p.get(i).map(|(l, len, pre)| self.vault.prefix_index(*l, *pre, *len)).unwrap_or(0));
                (ip, self.geo.country(v.ip))
            });
            if let Some(cc) = country {
                seen.entry(id).or_default().insert(cc);
            }
            stored.push(StoredEvent {
                id: eid,
                account_id: id,
                at: v.at,
                kind: if v.kind == AccessKind::Access { 1 } else { 2 },
                action: v.action,
                sealed,
                ip,
                seq: 0,
            });
        }
        let t3 = std::time::Instant::now();
        rejected.sort_by_key(|r| r.line);
        if !rejected.is_empty() && mode == BatchMode::Atomic {
            let n = rejected.len();
            let errors = rejected
                .into_iter()
                .flat_map(|r| {
                    r.errors.into_iter().map(move |mut e| {
                        e.pointer = format!("/{}{}", r.line, e.pointer);
                        e
                    })
                })
                .collect();
            return Err(Error {
                errors,
                ..Error::new(
                    ErrorCode::ValidationFailed,
                    format!(
                        "{n} line(s) are invalid; nothing was written (pointers are /<line>/<field>; send ?mode=partial to keep the good lines)"
                    ),
                )
            });
        }
        // The jurisdiction watch's reads, before the write: its notes that need no case go
        // into the batch's own transaction. A failure is logged, not returned: the events are
        // still stored, and the countries it missed are seen again.
        let watch_failed = |e: Error| {
            tracing::error!(
                error = %e,
                internal = e.internal.as_deref().unwrap_or(""),
                request_id = %ctx.request_id,
                "The jurisdiction watch failed."
            );
        };
        let plan = if stored.is_empty() {
            WatchPlan::default()
        } else {
            self.plan_watch(seen).await.unwrap_or_else(|e| {
                watch_failed(e);
                WatchPlan::default()
            })
        };
        let t4 = std::time::Instant::now();
        if !stored.is_empty() {
            let audit = self.audit_event(
                by,
                ctx,
                Purpose::Verification,
                "events.ingest",
                "access_events",
                &format!("batch-{}", stored.len()),
            );
            let notes: Vec<(AccountId, String)> = plan.note.iter().map(|(id, c)| (*id, c.to_string())).collect();
            self.store.insert_events_noting(&stored, &audit, &notes, now).await?;
            self.facts.countries.insert_many(plan.note.into_iter().map(|k| (k, ())));
        }
        let t5 = std::time::Instant::now();
        metrics::counter!("lessee_access_events_ingested_total").increment(stored.len() as u64);
        // The events are stored: a failure here is logged, not returned (a retry of the batch
        // would store the events twice), and the countries it missed are seen again.
        if let Err(e) = self.finish_watch(ctx, plan.review).await {
            watch_failed(e);
        }
        let t6 = std::time::Instant::now();
        let us = |from: std::time::Instant, to: std::time::Instant| to.saturating_duration_since(from).as_micros();
        tracing::debug!(
            events = stored.len(),
            total_us = us(t0, t6),
            validate_us = us(t0, t1),
            resolve_us = us(t1, t2),
            seal_us = us(t2, t3),
            watch_plan_us = us(t3, t4),
            insert_us = us(t4, t5),
            watch_cases_us = us(t5, t6),
            "Access-event batch ingested."
        );
        Ok(IngestReport { accepted: stored.len(), rejected })
    }

    /// Runs the access-event compactor until it has nothing to merge (or 64 steps): each step
    /// merges small segments into a larger sorted one, so queries visit few segments.
    pub async fn compact_events(&self) -> Result<lessee_store::Compaction> {
        let mut total = lessee_store::Compaction::default();
        for _ in 0..64 {
            let step = self.store.compact_events(self.config.event_segment_events).await?;
            if step.merged == 0 {
                break;
            }
            total.merged += step.merged;
            total.events += step.events;
        }
        Ok(total)
    }

    /// Ongoing verification: an account seen from a country it was never seen from, and that
    /// none of its classification evidence (address, citizenship, sign-up IP, owners,
    /// sub-lessees; not the parties it is held on behalf of) names, gets a review case ("access
    /// from a new jurisdiction").
    ///
    /// Planned before the batch is stored (reads only): the new (account, country) pairs that
    /// need no case (the account has one open, or the country is one of its own) are noted in
    /// the batch's own transaction; the rest are noted by [`Service::finish_watch`] only once
    /// their case is open, so a crash in between leaves them unnoted and seen again, never
    /// noted without their case.
    async fn plan_watch(&self, seen: HashMap<AccountId, std::collections::BTreeSet<Country>>) -> Result<WatchPlan> {
        let pairs: Vec<(AccountId, Country)> =
            seen.into_iter().flat_map(|(id, cs)| cs.into_iter().map(move |c| (id, c))).collect();
        // Pairs this process already knows are noted need no query.
        let (_, unknown) = self.facts.countries.get_many(pairs.iter());
        if unknown.is_empty() {
            return Ok(WatchPlan::default());
        }
        let ids: Vec<AccountId> = unknown.iter().map(|(id, _)| *id).collect::<HashSet<_>>().into_iter().collect();
        let mut known: HashSet<(AccountId, Country)> = HashSet::new();
        for (id, cc) in self.store.access_countries(&ids).await? {
            // A note that is not a country code was not written by this code; it cannot match.
            if let Ok(cc) = Country::parse(&cc) {
                known.insert((id, cc));
            }
        }
        self.facts.countries.insert_many(known.iter().map(|k| (*k, ())));
        let new: Vec<(AccountId, Country)> = unknown.into_iter().filter(|p| !known.contains(p)).collect();
        if new.is_empty() {
            return Ok(WatchPlan::default());
        }
        // Accounts with a case still open need no second one; the rest are read in one query.
        let mut fresh: Vec<AccountId> = new.iter().map(|(id, _)| *id).collect::<HashSet<_>>().into_iter().collect();
        let open: HashSet<AccountId> = self.store.open_review_accounts(&fresh).await?.into_iter().collect();
        fresh.retain(|id| !open.contains(id));
        let mut by_account: HashMap<AccountId, Vec<Country>> = HashMap::new();
        for (id, c) in &new {
            by_account.entry(*id).or_default().push(*c);
        }
        let mut foreign_of: HashMap<AccountId, Vec<Country>> = HashMap::new();
        for account in self.store.accounts(&fresh).await? {
            let mut home = HashSet::new();
            let mut evidence = serde_json::to_value(&account.classification).map_err(Error::internal)?;
            // The countries of the parties the account is held for are not where its holder is
            // expected to be: access from a principal's country is worth a review.
            if let Some(o) = evidence.as_object_mut() {
                o.remove("on_behalf_of");
            }
            collect_countries(&evidence, &mut home);
            let mut foreign: Vec<Country> = by_account
                .get(&account.id)
                .map(|cs| cs.iter().copied().filter(|c| !home.contains(&c.to_string())).collect())
                .unwrap_or_default();
            if !foreign.is_empty() {
                foreign.sort_unstable();
                foreign_of.insert(account.id, foreign);
            }
        }
        let note = new.into_iter().filter(|(id, c)| !foreign_of.get(id).is_some_and(|f| f.contains(c))).collect();
        Ok(WatchPlan { note, review: foreign_of.into_iter().collect() })
    }

    /// Opens the cases a [`WatchPlan`] found due and notes their countries, in one transaction.
    async fn finish_watch(&self, ctx: &RequestContext, review: Vec<(AccountId, Vec<Country>)>) -> Result<()> {
        if review.is_empty() {
            return Ok(());
        }
        let monitor = Principal::local_operator();
        let cases: Vec<(AccountId, String, lessee_audit::AuditEvent)> = review
            .iter()
            .map(|(id, foreign)| {
                let names: Vec<String> = foreign.iter().map(Country::to_string).collect();
                let reason = format!("access from a new jurisdiction: {}", names.join(", "));
                let audit = self.audit_event(&monitor, ctx, Purpose::Review, "review.open", "account", &id.to_string());
                (*id, reason, audit)
            })
            .collect();
        let pairs: Vec<(AccountId, Country)> =
            review.into_iter().flat_map(|(id, cs)| cs.into_iter().map(move |c| (id, c))).collect();
        let noted: Vec<(AccountId, String)> = pairs.iter().map(|(id, c)| (*id, c.to_string())).collect();
        for id in self.store.open_reviews_noting(&cases, "monitor", self.now(), &noted).await? {
            tracing::info!(account_id = %id, "Access from a new jurisdiction: review opened.");
        }
        self.facts.countries.insert_many(pairs.into_iter().map(|k| (k, ())));
        Ok(())
    }

    pub(crate) async fn open_events(
        &self,
        rows: Vec<StoredEvent>,
        keep: impl Fn(IpAddr) -> bool,
    ) -> Result<Vec<EventView>> {
        let ids: Vec<AccountId> = rows.iter().map(|e| e.account_id).collect::<HashSet<_>>().into_iter().collect();
        let keys: HashMap<AccountId, Vec<u8>> = self.store.wrapped_keys(&ids).await?.into_iter().collect();
        let mut unwrapped = HashMap::new();
        let mut out = Vec::new();
        for e in rows {
            // An account whose key was destroyed (crypto-shredded) has no readable events.
            let Some(wrapped) = keys.get(&e.account_id) else { continue };
            let key = match unwrapped.entry(e.account_id) {
                Entry::Occupied(o) => o.into_mut(),
                Entry::Vacant(v) => v.insert(self.vault.data_key(e.account_id, wrapped)?),
            };
            let plain = self.vault.open_event(key, e.account_id, e.id, &e.sealed)?;
            let secret: Secret = serde_json::from_slice(&plain).map_err(Error::internal)?;
            let ip: IpAddr = secret.ip.parse().map_err(Error::internal)?;
            if !keep(ip) {
                continue;
            }
            out.push(EventView {
                account_id: e.account_id.to_string(),
                at: e.at,
                kind: if e.kind == 1 { AccessKind::Access } else { AccessKind::Administrative },
                action: e.action,
                ip: secret.ip,
                principal: secret.principal,
            });
        }
        Ok(out)
    }

    /// The addresses of stored events (skipping accounts whose key is destroyed).
    pub(crate) async fn open_event_ips(&self, rows: Vec<StoredEvent>) -> Result<Vec<IpAddr>> {
        let views = self.open_events(rows, |_| true).await?;
        Ok(views.into_iter().filter_map(|v| v.ip.parse().ok()).collect())
    }

    fn page(items: Vec<EventView>, last: Option<&StoredEvent>, full: bool) -> EventPage {
        let mut accounts: Vec<String> =
            items.iter().map(|e| e.account_id.clone()).collect::<HashSet<_>>().into_iter().collect();
        accounts.sort();
        let next_cursor = if full { last.map(|e| cursor(e.at.timestamp_millis(), e.seq)) } else { None };
        EventPage { items, accounts, next_cursor }
    }

    /// An account's events in a time range (personal data: purpose-bound and audited).
    #[allow(clippy::too_many_arguments)] // one per query parameter
    pub async fn account_events(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        purpose: Purpose,
        id: &str,
        from: Option<&str>,
        to: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<EventPage> {
        let account_id = crate::accounts::parse_account_id(id)?;
        let (from, to) = time_range(from, to, self.now())?;
        let after = after.map(decode_cursor).transpose()?;
        let limit = limit.clamp(1, 1000);
        let read = async {
            let rows = self.store.events(&EventQuery::Account(account_id), from, to, after, limit).await?;
            let full = rows.len() == limit as usize;
            let last = rows.last().cloned();
            let items = self.open_events(rows, |_| true).await?;
            Ok(Self::page(items, last.as_ref(), full))
        };
        // Read while the audit record commits; returned only once it is durable.
        self.authorized_read(by, ctx, purpose, ("events.read", "account", &account_id.to_string()), read).await
    }

    /// All events (and so accounts) seen from an address or CIDR range in a time range.
    #[allow(clippy::too_many_arguments)] // one per query parameter
    pub async fn events_by_ip(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        purpose: Purpose,
        ip: &str,
        from: Option<&str>,
        to: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<EventPage> {
        let query = Cidr::parse(ip)
            .ok_or_else(|| Error::new(ErrorCode::InvalidQuery, "`ip` must be an address or a CIDR range"))?;
        let plan = plan(query).ok_or_else(|| {
            Error::new(ErrorCode::InvalidQuery, "the range is too wide to search; narrow it (IPv6: /16 or longer)")
        })?;
        let (from, to) = time_range(from, to, self.now())?;
        let after = after.map(decode_cursor).transpose()?;
        // The query names an address: audit it by its keyed hash, never in the clear.
        let target = format!("{}", self.vault.prefix_index(plan.level, query.network, query.len));
        let values: Vec<i64> =
            plan.prefixes.iter().map(|p| self.vault.prefix_index(plan.level, *p, plan.prefix_len)).collect();
        let limit = limit.clamp(1, 1000);
        let read = async {
            let rows = self
                .store
                .events(&EventQuery::IpPrefixes { level: plan.level, values }, from, to, after, limit)
                .await?;
            let full = rows.len() == limit as usize;
            let last = rows.last().cloned();
            // Truncated indexes can collide and coarse levels over-select: keep exact matches only.
            let items = self.open_events(rows, |addr| query.contains(addr)).await?;
            Ok(Self::page(items, last.as_ref(), full))
        };
        // Read while the audit record commits; returned only once it is durable.
        self.authorized_read(by, ctx, purpose, ("events.search_ip", "ip_prefix", &target), read).await
    }
}

/// Every string under a `country` key in a JSON tree.
fn collect_countries(v: &serde_json::Value, out: &mut HashSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if k == "country"
                    && let Some(s) = x.as_str()
                {
                    out.insert(s.to_owned());
                }
                collect_countries(x, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_countries(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests report by panicking
    use super::*;

    /// The race the retention run guards against: a batch reads an account's wrapped key, the
    /// run forgets and destroys it, and the batch then offers the unwrapped key to the memory.
    #[test]
    fn a_key_forgotten_for_destruction_is_not_learnt_again() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = Arc::new(lessee_crypto::LocalKeyring::open_or_create(dir.path()).unwrap());
        let envelope = lessee_crypto::Envelope::new(keyring);
        let key = Arc::new(envelope.create_data_key("test").unwrap().0);
        let id = |n: u8| AccountId::new(Utc::now(), [n; 10]);
        let (a, b, c) = (id(1), id(2), id(3));
        let facts = IngestFacts::default();
        facts.learn_keys(&[(a, key.clone())]);
        assert_eq!(facts.keys.get_many([a].iter()).0.len(), 1, "a key just unwrapped is remembered");
        facts.forget_key(a);
        facts.forget_key(b);
        assert_eq!(facts.keys.get_many([a].iter()).1, vec![a], "forgotten at once");
        facts.learn_keys(&[(a, key.clone()), (b, key.clone()), (c, key)]);
        let (found, mut missing) = facts.keys.get_many([a, b, c].iter());
        missing.sort();
        let mut refused = vec![a, b];
        refused.sort();
        assert_eq!(missing, refused, "neither account being destroyed is learnt again");
        assert!(found.contains_key(&c), "other accounts' keys still are");
    }
}
