//! `lessee bench`: figures measured beside a baseline taken in the same run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Args, Subcommand};
use lessee_api::{ApiConfig, AppState};
use lessee_domain::classify::{ClassificationConfig, ExternalEvidence};
use lessee_domain::{Account, AccountId, Application, classify, interim_decision};
use lessee_service::{AuditKeys, Principal, RequestContext, Role, Service, Vault};
use lessee_store::{PoolConfig, SqlStore, Store};
use serde_json::Value;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Open accounts from the fixtures through the HTTP API with concurrency, beside a
    /// baseline of the same rows written straight to the same database.
    Open(OpenArgs),
}

#[derive(Args)]
pub struct OpenArgs {
    /// Openings per measured mode.
    #[arg(long, default_value_t = 5000)]
    requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Directory of application JSON files to cycle through.
    #[arg(long, default_value = "../shared/data/applications")]
    fixtures: PathBuf,
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// PostgreSQL server on which a throwaway database is created (and dropped).
    #[arg(long, env = "LESSEE_BENCH_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_admin_url: String,
}

pub async fn run(cmd: &BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Open(args) => open(args).await,
    }
}

fn load_fixtures(dir: &Path) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read fixtures in {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p)?;
        out.push(serde_json::from_str(&text).with_context(|| format!("{} is not JSON", p.display()))?);
    }
    if out.is_empty() {
        bail!("no *.json applications in {}", dir.display());
    }
    Ok(out)
}

fn with_external_id(v: &Value, id: &str) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert("external_id".into(), Value::String(id.to_owned()));
    }
    v
}

struct Figures {
    ops_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
}

fn figures(mut lat: Vec<Duration>, elapsed: Duration, errors: usize) -> Figures {
    lat.sort_unstable();
    let pick = |q: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() as f64 - 1.0) * q).round() as usize;
        lat.get(i).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
    };
    Figures { ops_per_sec: lat.len() as f64 / elapsed.as_secs_f64(), p50_ms: pick(0.50), p99_ms: pick(0.99), errors }
}

/// Runs `n` jobs with `c` workers; each job returns Ok(()) or an error count.
async fn drive<F, Fut>(n: usize, c: usize, job: F) -> Figures
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..c.max(1) {
        let job = job.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                if job(i).await {
                    lat.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::with_capacity(n);
    let mut errors = 0;
    for w in workers {
        if let Ok((l, e)) = w.await {
            lat.extend(l);
            errors += e;
        }
    }
    figures(lat, started.elapsed(), errors)
}

async fn open_store(
    backend: &str,
    admin: &str,
) -> anyhow::Result<(Arc<SqlStore>, Option<tempfile::TempDir>, Option<String>)> {
    let cfg = PoolConfig { max_connections: 16, ..PoolConfig::default() };
    match backend {
        "sqlite" => {
            let dir = tempfile::tempdir()?;
            let store = SqlStore::open_dir(dir.path(), &cfg).await?;
            store.migrate().await?;
            Ok((Arc::new(store), Some(dir), None))
        }
        "postgres" => {
            let url = SqlStore::create_postgres_database(admin, "lessee_bench")
                .await
                .context("cannot create the benchmark database")?;
            let store = SqlStore::connect(&url, &cfg).await?;
            store.migrate().await?;
            Ok((Arc::new(store), None, Some(url)))
        }
        other => bail!("unknown backend `{other}` (sqlite, postgres)"),
    }
}

/// A row as the store takes it, prepared outside the measured loop.
struct Row {
    account: Account,
    sealed: lessee_store::SealedApplication,
    indexes: Vec<lessee_store::BlindEntry>,
    audit: lessee_audit::AuditEvent,
}

fn prepared_rows(fixtures: &[Value], n: usize, prefix: &str, vault: &Vault) -> anyhow::Result<Vec<Row>> {
    let cfg = ClassificationConfig::default();
    let now = Utc::now();
    (0..n)
        .map(|i| {
            let v =
                with_external_id(fixtures.get(i % fixtures.len()).unwrap_or(&Value::Null), &format!("{prefix}-{i}"));
            let app: Application = serde_json::from_value(v)?;
            let c = classify(&app, ExternalEvidence::default(), &cfg);
            let d = interim_decision(&c, now);
            let mut rnd = [0u8; 10];
            for (k, b) in (i as u64).to_be_bytes().iter().enumerate() {
                if let Some(slot) = rnd.get_mut(k) {
                    *slot = *b;
                }
            }
            let acc = Account {
                id: AccountId::new(now, rnd),
                external_id: app.external_id.clone(),
                account_type: app.account_type,
                opening_method: app.opening_method,
                customer_kind: app.customer.kind(),
                products: app.products.clone(),
                notice_version: app.notice_version.clone(),
                created_at: now,
                classification: c,
                decision: d,
            };
            let (sealed, indexes) = vault.seal(acc.id, &app)?;
            let audit = lessee_audit::AuditEvent {
                actor: lessee_audit::Actor { token_id: "bench".into(), role: "control_plane".into() },
                purpose: "verification".into(),
                action: "account.open".into(),
                target: lessee_audit::Target { kind: "account".into(), id: acc.id.to_string() },
                time: now,
                client_ip: vault.ip_hash(None),
                request_id: format!("bench-{i}"),
                outcome: lessee_audit::Outcome::Allowed,
            };
            Ok(Row { account: acc, sealed, indexes, audit })
        })
        .collect()
}

async fn open(args: &OpenArgs) -> anyhow::Result<()> {
    let fixtures = Arc::new(load_fixtures(&args.fixtures)?);
    println!(
        "bench open: {} openings per mode, concurrency {}, {} fixture applications, {} cores",
        args.requests,
        args.concurrency,
        fixtures.len(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    println!(
        "{:<9} {:<34} {:>10} {:>9} {:>9} {:>8} {:>7}",
        "backend", "mode", "ops/s", "p50 ms", "p99 ms", "errors", "ratio"
    );
    for backend in &args.backends {
        let (store, dir, pg_url) = open_store(backend, &args.postgres_admin_url).await?;

        // Baseline: the same rows written straight to the same database, no HTTP, no logic.
        let keydir = tempfile::tempdir()?;
        let vault = Arc::new(Vault::new(Arc::new(lessee_crypto::LocalKeyring::open_or_create(keydir.path())?))?);
        let (audit_keys, _, _) = AuditKeys::open_or_create(keydir.path())?;
        let rows = Arc::new(prepared_rows(&fixtures, args.requests, "bench-base", &vault)?);
        let s = store.clone();
        let r = rows.clone();
        let base = drive(args.requests, args.concurrency, move |i| {
            let s = s.clone();
            let r = r.clone();
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

        // The product: full opening through the HTTP API (auth, parse, validate, geolocate,
        // classify, decide, idempotency, store).
        let service = Arc::new(Service::with_defaults(store.clone(), vault.clone(), Arc::new(audit_keys)));
        let token = service
            .create_token(&Principal::local_operator(), &RequestContext::local(), "bench", Role::ControlPlane)
            .await?
            .token;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app_state = AppState::new(service, ApiConfig::default());
        let server = tokio::spawn(async move { lessee_api::serve(listener, app_state, std::future::pending()).await });
        let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
        let url = format!("http://{addr}/v1/accounts");
        let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
            (0..args.requests + 200)
                .map(|i| {
                    let v = with_external_id(
                        fixtures.get(i % fixtures.len()).unwrap_or(&Value::Null),
                        &format!("bench-http-{i}"),
                    );
                    serde_json::to_vec(&v).unwrap_or_default()
                })
                .collect(),
        );
        let post = {
            let client = client.clone();
            let url = url.clone();
            let token = token.clone();
            let bodies = bodies.clone();
            move |i: usize| {
                let req = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .header("idempotency-key", format!("bench-{i}"))
                    .body(bodies.get(i).cloned().unwrap_or_default());
                async move { matches!(req.send().await, Ok(r) if r.status() == reqwest::StatusCode::CREATED) }
            }
        };
        // Warm-up: connections, caches, prepared statements.
        let warm = post.clone();
        let first_warm = args.requests;
        drive(200, args.concurrency, move |i| warm(first_warm + i)).await;
        let measured = post.clone();
        let api = drive(args.requests, args.concurrency, measured).await;
        server.abort();

        let row = |mode: &str, f: &Figures, ratio: f64| {
            println!(
                "{:<9} {:<34} {:>10.0} {:>9.2} {:>9.2} {:>8} {:>6.2}x",
                backend, mode, f.ops_per_sec, f.p50_ms, f.p99_ms, f.errors, ratio
            );
        };
        row("baseline: store insert, no HTTP", &base, 1.0);
        row("HTTP API: full opening", &api, base.ops_per_sec / api.ops_per_sec.max(f64::MIN_POSITIVE));
        store.close().await;
        drop(dir);
        if let Some(url) = pg_url {
            SqlStore::drop_postgres_database(&args.postgres_admin_url, &url).await?;
        }
    }
    println!("ratio = baseline ops/s / mode ops/s (how much slower than the bare insert)");
    Ok(())
}
