//! `lessee bench measures`: re-evaluating stored accounts against a new jurisdiction measure
//! (issue 7: 1,000,000 accounts, target under 60 s on 2 cores on SQLite), beside a plain scan of
//! the same rows in the same run.

use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use lessee_service::{Principal, RequestContext};
use lessee_store::{AccountFilter, MeasureStore, Page, Store};

use super::{Bed, Common, Keys, cores, drive, load_fixtures, prepared_rows};

#[derive(Args)]
pub struct MeasuresArgs {
    /// Accounts stored before the measure is added (the fixture mix, cycled).
    #[arg(long, default_value_t = 10_000)]
    accounts: usize,
    #[command(flatten)]
    common: Common,
}

pub async fn run(args: &MeasuresArgs) -> anyhow::Result<()> {
    let fixtures = load_fixtures(&args.common.fixtures)?;
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
        // Stored in chunks so memory stays bounded at a million accounts.
        let mut stored = 0;
        let mut chunk_no = 0;
        while stored < args.accounts {
            let n = (args.accounts - stored).min(50_000);
            let rows = Arc::new(prepared_rows(&fixtures, n, &format!("bm{chunk_no}"), &keys.vault)?);
            let s = bed.store.clone();
            let f = drive(n, 16, move |i| {
                let s = s.clone();
                let r = rows.clone();
                async move {
                    match r.get(i) {
                        Some(row) => {
                            s.create_account(&row.account, &row.sealed, &row.indexes, &row.audit, None).await.is_ok()
                        }
                        None => false,
                    }
                }
            })
            .await;
            if f.errors > 0 {
                bail!("{} of {n} accounts could not be stored", f.errors);
            }
            stored += n;
            chunk_no += 1;
        }
        let service = keys.service(bed.store.clone())?;

        // Baseline: the same rows read page by page, as the re-evaluation reads them.
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
