//! `lessee bench measures`: re-evaluating stored accounts against a new jurisdiction measure
//! (issue 7: 1,000,000 accounts, target under 60 s on 2 cores on SQLite), beside a plain scan of
//! the same rows in the same run.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use lessee_service::{Principal, RequestContext, Vault};
use lessee_store::{AccountFilter, MeasureStore, Page, Store};

use serde_json::Value;

use super::{Bed, Common, Keys, Row, cores, drive, load_fixtures, prepared_range, store_rows};

#[derive(Args)]
pub struct MeasuresArgs {
    /// Accounts stored before the measure is added (the fixture mix, cycled).
    #[arg(long, default_value_t = 10_000)]
    accounts: usize,
    /// Store the accounts one `create_account` call per row (16 at a time) instead of the bulk
    /// path: the loader as it was, for comparison.
    #[arg(long)]
    one_by_one: bool,
    #[command(flatten)]
    common: Common,
}

/// Rows `range` of the fixture mix, sealed on every core.
fn seal_range(fixtures: &[Value], range: Range<usize>, vault: &Vault) -> anyhow::Result<Vec<Row>> {
    let parts = cores().max(1);
    let size = range.len().div_ceil(parts).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (range.start..range.end)
            .step_by(size)
            .map(|a| {
                let b = (a + size).min(range.end);
                s.spawn(move || prepared_range(fixtures, a..b, "bm", vault))
            })
            .collect();
        let mut out = Vec::with_capacity(range.len());
        for h in handles {
            out.extend(h.join().map_err(|_| anyhow::anyhow!("a sealing thread panicked"))??);
        }
        Ok(out)
    })
}

pub async fn run(args: &MeasuresArgs) -> anyhow::Result<()> {
    let fixtures = Arc::new(load_fixtures(&args.common.fixtures)?);
    println!(
        "bench measures: {} accounts from {} fixture applications, a new RU prohibition, {} cores",
        args.accounts,
        fixtures.len(),
        cores()
    );
    println!(
        "{:<9} {:<44} {:>9} {:>10} {:>10} {:>10} {:>9}",
        "backend", "mode", "seconds", "scanned", "decrypted", "flagged", "ratio"
    );
    let keys = Keys::new()?;
    for backend in &args.common.backends {
        let bed = Bed::open(backend, &args.common.postgres_admin_url).await?;
        // Stored in chunks so memory stays bounded at a million accounts: each chunk sealed on
        // every core, then written through the store's bulk path (or, with `--one-by-one`, one
        // `create_account` per row, 16 at a time, as before the bulk path existed).
        let started = Instant::now();
        let mut stored = 0;
        while stored < args.accounts {
            let n = (args.accounts - stored).min(50_000);
            let (f2, v2) = (fixtures.clone(), keys.vault.clone());
            let rows = tokio::task::spawn_blocking(move || seal_range(&f2, stored..stored + n, &v2)).await??;
            if args.one_by_one {
                let rows = Arc::new(rows);
                let s = bed.store.clone();
                let f = drive(n, 16, move |i| {
                    let s = s.clone();
                    let r = rows.clone();
                    async move {
                        match r.get(i) {
                            Some(row) => s
                                .create_account(&row.account, &row.sealed, &row.indexes, &row.audit, None)
                                .await
                                .is_ok(),
                            None => false,
                        }
                    }
                })
                .await;
                if f.errors > 0 {
                    bail!("{} of {n} accounts could not be stored", f.errors);
                }
            } else {
                store_rows(&bed.store, rows).await?;
            }
            stored += n;
            if stored.is_multiple_of(100_000) || stored == args.accounts {
                eprintln!(
                    "  {backend}: stored {stored} accounts ({:.0}/s, sealing included)",
                    stored as f64 / started.elapsed().as_secs_f64()
                );
            }
        }
        let load = started.elapsed().as_secs_f64();
        eprintln!(
            "  {backend}: loading took {load:.1} s ({:.0} accounts/s, sealing included; not a measured figure)",
            args.accounts as f64 / load
        );
        let service = keys.service(bed.store.clone())?;

        // Baseline: the same rows read page by page through `list_accounts` (pages of 500), as
        // the re-evaluation read them until it used `scan_accounts`; kept so that figures compare
        // across versions.
        let started = Instant::now();
        let mut after = None;
        let mut scanned = 0u64;
        loop {
            let page = bed.store.list_accounts(&AccountFilter::default(), &Page { after, limit: 500 }).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            scanned += page.len() as u64;
        }
        let base = started.elapsed().as_secs_f64();
        // For reference, not the baseline: the rows read as the re-evaluation reads them now
        // (`scan_accounts`, pages of 1,000 aggregated into one row each).
        let started = Instant::now();
        let mut after = None;
        let mut rescanned = 0u64;
        loop {
            let page = bed.store.scan_accounts(&Page { after, limit: 1000 }).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            rescanned += page.len() as u64;
        }
        let scan = started.elapsed().as_secs_f64();

        let today = chrono::Utc::now().date_naive().to_string();
        let measure = serde_json::json!({"id": "bench-ru", "kind": "jurisdiction", "target": {"country": "RU"},
            "effect": {"type": "prohibit"}, "scope": ["opening", "maintaining", "reseller_accounts"],
            "citation": "bench", "effective": today, "expedited": {"citation": "bench"}});
        service.add_measure(&Principal::local_operator(), &RequestContext::local(), measure).await?;
        let started = Instant::now();
        let r = service.reevaluate_measures().await?;
        let secs = started.elapsed().as_secs_f64();
        let flagged = bed.store.measure_impacts("bench-ru").await?.len();
        bed.close(&args.common.postgres_admin_url).await?;
        println!(
            "{:<9} {:<44} {:>9.2} {:>10} {:>10} {:>10} {:>8.2}x",
            backend, "baseline: plain scan of the account rows", base, scanned, 0, 0, 1.0
        );
        println!(
            "{:<9} {:<44} {:>9.2} {:>10} {:>10} {:>10} {:>8.2}x",
            backend,
            "reference: the re-evaluation's own scan",
            scan,
            rescanned,
            0,
            0,
            scan / base.max(f64::MIN_POSITIVE)
        );
        println!(
            "{:<9} {:<44} {:>9.2} {:>10} {:>10} {:>10} {:>8.2}x",
            backend,
            "re-evaluation (candidates, decrypt, record)",
            secs,
            r.scanned,
            r.decrypted,
            flagged,
            secs / base.max(f64::MIN_POSITIVE)
        );
    }
    println!("ratio = seconds / baseline seconds");
    Ok(())
}
