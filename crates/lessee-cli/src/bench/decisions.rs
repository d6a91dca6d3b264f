//! `lessee bench decisions`: the verification engine alone (one core) and the whole opening
//! through the HTTP API, each under the shipped default policy beside the same work under an
//! empty policy (which requires nothing), in the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use lessee_domain::classify::ClassificationConfig;
use lessee_domain::{Application, classify};
use lessee_policy::{ExternalEvidence, Policy};
use lessee_service::{GeoIp, Role};
use serde_json::Value;

use super::{Keys, cores, drive, load_fixtures, start_server, token, with_external_id};

#[derive(Args)]
pub struct DecisionsArgs {
    /// Seconds per engine measurement.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Openings per API mode.
    #[arg(long, default_value_t = 3000)]
    requests: usize,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value = "../shared/data/applications")]
    fixtures: std::path::PathBuf,
}

/// Decisions per second of `policy` over the cases, on this thread, for `budget`.
fn engine(
    policy: &Policy,
    cases: &[(Application, lessee_domain::AccountClassification, ExternalEvidence)],
    budget: Duration,
) -> f64 {
    let now = chrono::Utc::now();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for (app, class, ext) in cases {
            std::hint::black_box(lessee_policy::evaluate(policy, app, class, ext, now));
            n += 1;
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

pub async fn run(args: &DecisionsArgs) -> anyhow::Result<()> {
    let fixtures = load_fixtures(&args.fixtures)?;
    let geo = lessee_service::EmbeddedGeoIp;
    let mut cases = Vec::new();
    for v in &fixtures {
        let app: Application = serde_json::from_value(v.clone())?;
        let country = app.signup.as_ref().and_then(|s| s.ip.trim().parse().ok()).and_then(|ip| geo.country(ip));
        let ext = ExternalEvidence { signup_ip_country: country, ..Default::default() };
        let class = classify(&app, ext.classification(), &ClassificationConfig::default());
        cases.push((app, class, ext));
    }
    let default = Policy::default_policy().map_err(|e| anyhow::anyhow!("default policy: {e:?}"))?;
    let budget = Duration::from_secs_f64(args.seconds);
    let base = engine(&Policy::empty(), &cases, budget);
    let full = engine(&default, &cases, budget);
    println!("bench decisions: {} fixture applications, {} cores", cases.len(), cores());
    println!("{:<44} {:>12} {:>9} {:>9} {:>7}", "mode", "decisions/s", "p50 ms", "p99 ms", "ratio");
    println!("{:<44} {:>12.0} {:>9} {:>9} {:>7}", "engine, empty policy (baseline), one core", base, "-", "-", "1.00x");
    println!("{:<44} {:>12.0} {:>9} {:>9} {:>6.2}x", "engine, default policy, one core", full, "-", "-", base / full);
    println!("  engine target >= 50,000 decisions/s: {}", if full >= 50_000.0 { "met" } else { "NOT met" });

    // Through the API (SQLite): the whole opening, under each policy.
    let mut api = Vec::new();
    for (label, policy) in
        [("API opening, empty policy (baseline)", Policy::empty()), ("API opening, default policy", default)]
    {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(lessee_store::SqlStore::open_dir(dir.path(), &lessee_store::PoolConfig::default()).await?);
        lessee_store::Store::migrate(store.as_ref()).await?;
        let keys = Keys::new()?;
        let service = keys.service(store.clone())?;
        let service = Arc::new(
            Arc::try_unwrap(service).map_err(|_| anyhow::anyhow!("service shared"))?.with_pinned_policy(policy),
        );
        let tok = token(&service, Role::ControlPlane).await?;
        let (addr, server) = start_server(service, None).await?;
        let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
        let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
            (0..args.requests)
                .map(|i| {
                    let v =
                        with_external_id(fixtures.get(i % fixtures.len()).unwrap_or(&Value::Null), &format!("dec-{i}"));
                    serde_json::to_vec(&v).unwrap_or_default()
                })
                .collect(),
        );
        let url = format!("http://{addr}/v1/accounts");
        let f = drive(args.requests, args.concurrency, move |i| {
            let (client, url, tok, bodies) = (client.clone(), url.clone(), tok.clone(), bodies.clone());
            async move {
                let Some(b) = bodies.get(i) else { return false };
                let r = client
                    .post(&url)
                    .bearer_auth(&tok)
                    .header("content-type", "application/json")
                    .body(b.clone())
                    .send()
                    .await;
                r.is_ok_and(|r| r.status().as_u16() == 201)
            }
        })
        .await;
        server.abort();
        store.close().await;
        api.push((label, f));
    }
    let base_api = api.first().map_or(1.0, |(_, f)| f.ops_per_sec);
    for (label, f) in &api {
        println!(
            "{:<44} {:>12.0} {:>9.2} {:>9.2} {:>6.2}x{}",
            label,
            f.ops_per_sec,
            f.p50_ms,
            f.p99_ms,
            base_api / f.ops_per_sec,
            if f.errors > 0 { format!("  ({} errors)", f.errors) } else { String::new() }
        );
    }
    Ok(())
}
