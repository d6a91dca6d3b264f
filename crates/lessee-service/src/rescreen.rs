//! The full re-screen: every stored customer (and its beneficial owners and sub-lessees)
//! against every current list version, as after a change of the matcher or its settings,
//! where a list diff (`rescreen.list`) does not say who may be affected.

use std::collections::BTreeSet;

use lessee_domain::{AccountId, Application};
use lessee_screening::Match;
use lessee_store::SealedApplication;

use crate::Service;
use crate::audit::{Allowed, RequestContext};
use crate::auth::{Principal, Purpose};
use crate::error::{Error, Result};
use crate::screening::{Subject, screen_expanded, subject_material, subjects};

/// Accounts read per page.
const PAGE: u32 = 2000;
/// Connections a page is read over.
const FETCHERS: usize = 8;

/// What a full re-screen did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FullRescreen {
    /// Accounts whose sealed application was read.
    pub accounts: usize,
    /// Subjects screened (customers, beneficial owners, sub-lessees).
    pub subjects: usize,
    /// Matches found (before deduplication against stored alerts).
    pub matches: usize,
    /// New alerts stored.
    pub alerts: usize,
    /// Accounts decided again because of new alerts.
    pub redecided: usize,
    /// Accounts whose sealed application did not decrypt (a damaged row or a lost key
    /// version): not screened, counted and logged so that an operator sees them.
    pub unreadable: usize,
}

/// Per account: its subjects and their matches, or `None` when its application did not
/// decrypt.
type Screened = Vec<(AccountId, Option<Vec<(Subject, Vec<Match>)>>)>;

impl Service {
    /// Re-screens every stored account against the current lists: each sealed application is
    /// decrypted and its subjects screened (on every core), new matches become alerts
    /// (deduplicated against live alerts and decided false positives, so a second run raises
    /// nothing new) and the accounts with new alerts are decided again. With `screen: false`
    /// it only decrypts (the benchmark's baseline: what the scan costs without screening).
    /// Audited as one `screening.rescreen_all` event.
    pub async fn rescreen_all(&self, screen: bool) -> Result<FullRescreen> {
        let loaded = match screen {
            true => match self.screener().await? {
                Some(l) => Some(l),
                None => return Ok(FullRescreen::default()),
            },
            false => None,
        };
        let (op, ctx) = (Principal::local_operator(), RequestContext::local());
        self.audit(&op, &ctx, Purpose::Verification, "screening.rescreen_all", "screening", "all", Allowed).await?;
        let mut report = FullRescreen::default();
        let mut flagged = BTreeSet::new();
        let mut after = None;
        loop {
            let page = self.store.customer_keys(after, PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = Some(*last);
            let sealed = self.sealed_page(page.into_iter().map(|(id, _)| id).collect()).await?;
            report.accounts += sealed.len();
            let vault = self.vault.clone();
            let screener = loaded.as_ref().map(|l| l.screener.clone());
            let found: Screened = tokio::task::spawn_blocking(move || {
                par_filter_map(&sealed, |(id, sealed)| {
                    let Ok(app) = vault.unseal(*id, sealed) else { return Some((*id, None)) };
                    let screened = subjects(&app)
                        .into_iter()
                        .map(|sub| {
                            let m = match &screener {
                                Some(sc) => screen_expanded(sc, &sub.query),
                                None => Vec::new(),
                            };
                            (sub, m)
                        })
                        .collect();
                    Some((*id, Some(screened)))
                })
            })
            .await
            .map_err(Error::internal)??;
            for (id, _) in found.iter().filter(|(_, s)| s.is_none()) {
                report.unreadable += 1;
                tracing::warn!(account_id = %id, "The account's sealed application did not decrypt; not re-screened.");
            }
            let Some(loaded) = &loaded else {
                report.subjects += found.iter().filter_map(|(_, s)| s.as_ref()).map(Vec::len).sum::<usize>();
                continue;
            };
            let now = self.now();
            let mut alerts = Vec::new();
            for (id, subs) in found.iter().filter_map(|(id, s)| s.as_ref().map(|s| (id, s))) {
                for (sub, matches) in subs {
                    report.subjects += 1;
                    if matches.is_empty() {
                        continue;
                    }
                    report.matches += matches.len();
                    let hash = self.vault.screening_hash(&subject_material(&sub.query));
                    for m in matches {
                        alerts.push(self.alert_of(loaded, *id, &sub.label, &hash, m, now));
                    }
                }
            }
            if alerts.is_empty() {
                continue;
            }
            let added: BTreeSet<String> = self.store.add_alerts(&alerts).await?.into_iter().collect();
            report.alerts += added.len();
            flagged.extend(alerts.iter().filter(|a| added.contains(&a.id)).map(|a| a.account_id));
        }
        for id in &flagged {
            if let Some(account) = self.redecide_screened(*id, None, "rescreen").await? {
                let audit =
                    self.audit_event(&op, &ctx, Purpose::Verification, "account.rescreen", "account", &id.to_string());
                self.store.record_decision(&account, &audit).await?;
                report.redecided += 1;
            }
        }
        tracing::info!(
            accounts = report.accounts,
            subjects = report.subjects,
            alerts = report.alerts,
            redecided = report.redecided,
            unreadable = report.unreadable,
            screened = screen,
            "Full re-screen done."
        );
        Ok(report)
    }

    /// The sealed applications of `ids`, read over several connections at once, a few hundred
    /// per statement (any order; accounts without one are left out).
    pub(crate) async fn sealed_page(&self, ids: Vec<AccountId>) -> Result<Vec<(AccountId, SealedApplication)>> {
        let chunk = ids.len().div_ceil(FETCHERS).max(1);
        let mut tasks = tokio::task::JoinSet::new();
        for part in ids.chunks(chunk) {
            let (store, part) = (self.store.clone(), part.to_vec());
            tasks.spawn(async move { store.sealed_applications(&part).await });
        }
        let mut out = Vec::with_capacity(ids.len());
        while let Some(part) = tasks.join_next().await {
            out.extend(part.map_err(Error::internal)??);
        }
        Ok(out)
    }

    /// The applications of `ids`, read over several connections and decrypted on every core
    /// (an account whose application does not unseal is left out).
    pub(crate) async fn unsealed_page(&self, ids: Vec<AccountId>) -> Result<Vec<(AccountId, Application)>> {
        let sealed = self.sealed_page(ids).await?;
        let vault = self.vault.clone();
        tokio::task::spawn_blocking(move || {
            par_filter_map(&sealed, |(id, s)| vault.unseal(*id, s).ok().map(|app| (*id, app)))
        })
        .await
        .map_err(Error::internal)?
    }
}

/// `f` over `items` on every core (order kept), `None`s left out. A thread that panicked fails
/// the whole call: a silently lost share would skip customers.
fn par_filter_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> Option<R> + Sync) -> Result<Vec<R>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|part| s.spawn(move || part.iter().filter_map(f).collect::<Vec<R>>())).collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            out.extend(h.join().map_err(|_| Error::internal("a re-screening thread panicked"))?);
        }
        Ok(out)
    })
}
