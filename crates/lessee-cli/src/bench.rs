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

mod decisions;
mod measures;
mod rescreen;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Open accounts from the fixtures through the HTTP API with concurrency, beside a
    /// baseline of the same rows written straight to the same database.
    Open(OpenArgs),
    /// Ingest synthetic access events through `POST /v1/access-events` (NDJSON batches),
    /// beside a baseline of the same events pre-sealed and written straight through the store.
    Events(EventsArgs),
    /// Query stored events by address and range through `GET /v1/access-events`, beside a
    /// baseline of the same indexed lookups through the store (no HTTP, decryption or audit).
    IpQuery(IpQueryArgs),
    /// Read applications through `GET /v1/accounts/{id}/application` (unwrap, decrypt, audit),
    /// beside the same HTTP path returning the sealed row with no decryption and no audit.
    Reads(ReadsArgs),
    /// Decide the fixture mix with the engine alone (one core) and open accounts through the
    /// API, each under the default policy beside an empty policy, in the same run.
    Decisions(decisions::DecisionsArgs),
    /// Re-evaluate stored accounts against a new jurisdiction measure, beside a plain scan of
    /// the same rows in the same run.
    Measures(measures::MeasuresArgs),
    /// Import the shared lists, store N synthetic customers as sealed accounts, then time a full
    /// re-screen (beside a decrypting scan with no screening) and the `rescreen.list` job after
    /// a new OFAC version with 100 entries edited (beside the full re-screen).
    Rescreen(rescreen::RescreenArgs),
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
        BenchCmd::Events(args) => events(args).await,
        BenchCmd::IpQuery(args) => ip_query(args).await,
        BenchCmd::Reads(args) => reads(args).await,
        BenchCmd::Decisions(args) => decisions::run(args).await,
        BenchCmd::Measures(args) => measures::run(args).await,
        BenchCmd::Rescreen(args) => rescreen::run(args).await,
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
    max_ms: f64,
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
    let max_ms = lat.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0);
    Figures {
        ops_per_sec: lat.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
        max_ms,
        errors,
    }
}

/// Runs `n` jobs with `c` workers; each job returns Ok(()) or an error count.
async fn drive<F, Fut>(n: usize, c: usize, job: F) -> Figures
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let run = drive_samples(n, c, job).await;
    figures(run.latencies, run.elapsed, run.errors)
}

/// The raw outcome of [`drive`]: latencies of the jobs that succeeded, wall time, failures.
#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    elapsed: Duration,
    errors: usize,
    /// Busy CPU time of the whole machine during the run (client, server and database
    /// alike), in clock ticks; `None` where `/proc/stat` cannot be read.
    busy_ticks: Option<u64>,
    /// Runs added together.
    runs: usize,
}

impl Samples {
    /// Adds another run of the same mode.
    fn add(&mut self, other: Samples) {
        // The first run's figure, or the sum while every run has one.
        self.busy_ticks =
            if self.runs == 0 { other.busy_ticks } else { self.busy_ticks.zip(other.busy_ticks).map(|(a, b)| a + b) };
        self.runs += other.runs.max(1);
        self.latencies.extend(other.latencies);
        self.elapsed += other.elapsed;
        self.errors += other.errors;
    }

    /// Machine CPU time per successful operation, in microseconds (`/proc/stat` counts in
    /// `USER_HZ`, 100 a second on Linux whatever the kernel's tick).
    fn cpu_us_per_op(&self) -> Option<f64> {
        let ops = self.latencies.len();
        self.busy_ticks.filter(|_| ops > 0).map(|t| t as f64 * 10_000.0 / ops as f64)
    }
}

/// Busy ticks of all CPUs so far (the `cpu` line of `/proc/stat` less idle and iowait).
fn busy_ticks() -> Option<u64> {
    parse_busy_ticks(&std::fs::read_to_string("/proc/stat").ok()?)
}

fn parse_busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let fields: Vec<u64> = line.split_whitespace().map(str::parse).collect::<Result<_, _>>().ok()?;
    // user nice system idle iowait irq softirq: this machine's work; steal (time the host gave
    // to others) is not, and guest time is within user already.
    let total: u64 = fields.iter().take(7).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    fields.get(7)?;
    Some(total - idle)
}

async fn drive_samples<F, Fut>(n: usize, c: usize, job: F) -> Samples
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let busy_before = busy_ticks();
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
    let busy_ticks = busy_before.zip(busy_ticks()).map(|(a, b)| b.saturating_sub(a));
    Samples { latencies: lat, elapsed: started.elapsed(), errors, busy_ticks, runs: 1 }
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
    prepared_range(fixtures, 0..n, prefix, vault)
}

/// Rows `range` of the fixture mix (row `i` is fixture `i % len`, external id `{prefix}-{i}`):
/// ranges of one prefix can be prepared on several threads and stored together.
fn prepared_range(
    fixtures: &[Value],
    range: std::ops::Range<usize>,
    prefix: &str,
    vault: &Vault,
) -> anyhow::Result<Vec<Row>> {
    let cfg = ClassificationConfig::default();
    let now = Utc::now();
    range
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

/// Rows written at once by [`store_rows`]: one transaction each.
const BULK_ROWS: usize = 5_000;

/// Writes prepared rows as new accounts through the store's bulk path
/// ([`SqlStore::create_accounts_bulk`]: the rows `create_account` writes, many per transaction).
async fn store_rows(store: &SqlStore, rows: Vec<Row>) -> anyhow::Result<()> {
    let rows: Vec<lessee_store::NewAccount> = rows
        .into_iter()
        .map(|r| lessee_store::NewAccount { account: r.account, sealed: r.sealed, indexes: r.indexes, audit: r.audit })
        .collect();
    for chunk in rows.chunks(BULK_ROWS) {
        store.create_accounts_bulk(chunk).await.context("cannot store the accounts")?;
    }
    Ok(())
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

// ---------------------------------------------------------------------------------------------
// Shared by `events`, `ip-query` and `reads`.

#[derive(Args)]
pub struct Common {
    /// Directory of application JSON files (the accounts are opened from them).
    #[arg(long, default_value = "../shared/data/applications")]
    fixtures: PathBuf,
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// PostgreSQL server on which a throwaway database is created (and dropped).
    #[arg(long, env = "LESSEE_BENCH_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_admin_url: String,
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// A keyring, vault and audit signing key in a temporary directory.
struct Keys {
    dir: tempfile::TempDir,
    vault: Arc<Vault>,
}

impl Keys {
    fn new() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let vault = Arc::new(Vault::new(Arc::new(lessee_crypto::LocalKeyring::open_or_create(dir.path())?))?);
        Ok(Keys { dir, vault })
    }

    fn service(&self, store: Arc<SqlStore>) -> anyhow::Result<Arc<Service>> {
        let (audit_keys, _, _) = AuditKeys::open_or_create(self.dir.path())?;
        Ok(Arc::new(Service::with_defaults(store, self.vault.clone(), Arc::new(audit_keys))))
    }
}

/// A database opened for one measurement, dropped by [`Bed::close`].
struct Bed {
    store: Arc<SqlStore>,
    dir: Option<tempfile::TempDir>,
    pg_url: Option<String>,
}

impl Bed {
    async fn open(backend: &str, admin: &str) -> anyhow::Result<Self> {
        let (store, dir, pg_url) = open_store(backend, admin).await?;
        Ok(Bed { store, dir, pg_url })
    }

    async fn close(self, admin: &str) -> anyhow::Result<()> {
        self.store.close().await;
        drop(self.dir);
        if let Some(url) = self.pg_url {
            SqlStore::drop_postgres_database(admin, &url).await?;
        }
        Ok(())
    }
}

/// An account opened for a benchmark: its id, external id and data key (wrapped).
struct BenchAccount {
    id: AccountId,
    external_id: String,
    wrapped_key: Vec<u8>,
}

/// Opens `n` accounts from the fixtures straight through the store (sealed, indexed, audited
/// like an opening, but without HTTP): the accounts the measured requests refer to.
async fn open_accounts(
    store: &Arc<SqlStore>,
    vault: &Vault,
    fixtures: &[Value],
    n: usize,
) -> anyhow::Result<Arc<Vec<BenchAccount>>> {
    let rows = Arc::new(prepared_rows(fixtures, n, "bench-acct", vault)?);
    let s = store.clone();
    let r = rows.clone();
    let f = drive(n, 16, move |i| {
        let s = s.clone();
        let r = r.clone();
        async move {
            match r.get(i) {
                Some(row) => s.create_account(&row.account, &row.sealed, &row.indexes, &row.audit, None).await.is_ok(),
                None => false,
            }
        }
    })
    .await;
    if f.errors > 0 {
        bail!("{} of {n} accounts could not be opened", f.errors);
    }
    Ok(Arc::new(
        rows.iter()
            .map(|r| BenchAccount {
                id: r.account.id,
                external_id: r.account.external_id.clone(),
                wrapped_key: r.sealed.wrapped_key.clone(),
            })
            .collect(),
    ))
}

/// Starts the API in-process on a loopback port (optionally with extra bench-only routes).
async fn start_server(
    service: Arc<Service>,
    extra: Option<axum::Router<AppState>>,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = AppState::new(service, ApiConfig::default());
    // Behind the product's middleware, like the routes they are compared with.
    let app = lessee_api::router_with(state, extra.unwrap_or_default());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
    });
    Ok((addr, server))
}

async fn token(service: &Service, role: Role) -> anyhow::Result<String> {
    Ok(service.create_token(&Principal::local_operator(), &RequestContext::local(), "bench", role).await?.token)
}

fn bench_audit(vault: &Vault, action: &str, n: usize) -> lessee_audit::AuditEvent {
    lessee_audit::AuditEvent {
        actor: lessee_audit::Actor { token_id: "bench".into(), role: "control_plane".into() },
        purpose: "verification".into(),
        action: action.into(),
        target: lessee_audit::Target { kind: "access_events".into(), id: format!("batch-{n}") },
        time: Utc::now(),
        client_ip: vault.ip_hash(None),
        request_id: format!("bench-{n}"),
        outcome: lessee_audit::Outcome::Allowed,
    }
}

/// SplitMix64: a small deterministic generator (the bench needs spread, not secrecy).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A public-looking address from a realistic spread: 80 % IPv4 in 3,000 provider and ISP /16s
/// (clustered in a quarter of each /16), 20 % IPv6 in 400 /32s (a few /48s and /64s each).
fn random_ip(rng: &mut Rng) -> std::net::IpAddr {
    use std::net::{Ipv4Addr, Ipv6Addr};
    if rng.chance(80) {
        let mut net = Rng(rng.below(3000) as u64 * 7919);
        let a = [
            3u8, 13, 18, 23, 24, 34, 45, 52, 54, 63, 66, 68, 71, 73, 76, 81, 82, 84, 86, 88, 91, 95, 99, 104, 107, 108,
            142, 151, 172, 176, 185, 188, 193, 195, 203, 209, 212, 217,
        ];
        let first = a.get(net.below(a.len())).copied().unwrap_or(73);
        let second = net.below(256) as u8;
        let third = (net.below(4) * 64 + rng.below(64)) as u8;
        let fourth = (1 + rng.below(254)) as u8;
        std::net::IpAddr::V4(Ipv4Addr::new(first, second, third, fourth))
    } else {
        let net = rng.below(400) as u16;
        let site = rng.below(16) as u16;
        let subnet = rng.below(4) as u16;
        let host = rng.next();
        std::net::IpAddr::V6(Ipv6Addr::new(
            0x2600 + net / 16,
            (net % 16) * 0x1000,
            site,
            subnet,
            (host >> 48) as u16,
            (host >> 32) as u16,
            (host >> 16) as u16,
            host as u16,
        ))
    }
}

const ACTIONS: [&str; 6] =
    ["console.login", "instance.create", "instance.delete", "iam.create_key", "api.call", "billing.update"];

/// One synthetic event.
struct SynthEvent {
    account: usize,
    ip: std::net::IpAddr,
    at: chrono::DateTime<Utc>,
    action: &'static str,
    administrative: bool,
    principal: String,
}

/// Generates events: random accounts, each seen mostly (85 %) from one of its three usual
/// addresses and otherwise from anywhere, at times over the 30 days before `now`.
struct Synth {
    rng: Rng,
    homes: Vec<[std::net::IpAddr; 3]>,
    now: chrono::DateTime<Utc>,
}

impl Synth {
    fn new(accounts: usize, seed: u64, now: chrono::DateTime<Utc>) -> Self {
        let mut home_rng = Rng(0xACC0_u64);
        let homes = (0..accounts)
            .map(|_| [random_ip(&mut home_rng), random_ip(&mut home_rng), random_ip(&mut home_rng)])
            .collect();
        Synth { rng: Rng(seed), homes, now }
    }

    fn event(&mut self) -> SynthEvent {
        let account = self.rng.below(self.homes.len());
        let ip = if self.rng.chance(85) {
            self.homes.get(account).and_then(|h| h.get(self.rng.below(3))).copied()
        } else {
            None
        };
        let ip = ip.unwrap_or_else(|| random_ip(&mut self.rng));
        let back = chrono::Duration::milliseconds((60_000 + self.rng.below(30 * 86_400_000)) as i64);
        let administrative = self.rng.chance(20);
        SynthEvent {
            account,
            ip,
            at: self.now - back,
            action: ACTIONS.get(self.rng.below(ACTIONS.len())).copied().unwrap_or("api.call"),
            administrative,
            principal: format!("user-{}", self.rng.below(5)),
        }
    }

    fn ndjson_line(&self, e: &SynthEvent, accounts: &[BenchAccount], out: &mut Vec<u8>) {
        let ext = accounts.get(e.account).map(|a| a.external_id.as_str()).unwrap_or("");
        let line = serde_json::json!({
            "account": ext,
            "ip": e.ip.to_string(),
            "at": e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "action": e.action,
            "kind": if e.administrative { "administrative" } else { "access" },
            "principal": format!("{}@{ext}", e.principal),
        });
        let _ = serde_json::to_writer(&mut *out, &line);
        out.push(b'\n');
    }
}

/// Seals events as `Service::ingest_events` does (same associated data, same four prefix
/// indexes, same plaintext form), on every core: rows for the store's fast path.
fn seal_events(
    vault: &Vault,
    accounts: &[BenchAccount],
    keys: &[lessee_crypto::DataKey],
    events: &[SynthEvent],
    seed: u64,
) -> anyhow::Result<Vec<lessee_store::StoredEvent>> {
    let threads = cores();
    let per = events.len().div_ceil(threads).max(1);
    let parts: Vec<anyhow::Result<Vec<lessee_store::StoredEvent>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = events
            .chunks(per)
            .enumerate()
            .map(|(t, chunk)| {
                scope.spawn(move || {
                    let mut rng = Rng(seed ^ ((t as u64 + 1) << 40));
                    chunk
                        .iter()
                        .map(|e| {
                            let acc = accounts.get(e.account).context("account")?;
                            let key = keys.get(e.account).context("key")?;
                            let eid = (e.at.timestamp_millis().max(0) << 16) | (rng.next() & 0xFFFF) as i64;
                            let ext = &acc.external_id;
                            let secret = serde_json::to_vec(&serde_json::json!({
                                "ip": e.ip.to_string(),
                                "principal": format!("{}@{ext}", e.principal),
                            }))?;
                            let sealed = vault.seal_event(key, acc.id, eid, &secret)?;
                            let p = lessee_domain::access::index_prefixes(e.ip);
                            let ip = [0, 1, 2, 3]
                                .map(|i| p.get(i).map(|(l, len, pre)| vault.prefix_index(*l, *pre, *len)).unwrap_or(0));
                            Ok(lessee_store::StoredEvent {
                                id: eid,
                                account_id: acc.id,
                                at: e.at,
                                kind: if e.administrative { 2 } else { 1 },
                                action: e.action.to_owned(),
                                sealed,
                                ip,
                                seq: 0,
                            })
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a sealing thread failed"))))
            .collect()
    });
    let mut out = Vec::with_capacity(events.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

fn data_keys(vault: &Vault, accounts: &[BenchAccount]) -> anyhow::Result<Vec<lessee_crypto::DataKey>> {
    accounts.iter().map(|a| Ok(vault.data_key(a.id, &a.wrapped_key)?)).collect()
}

// ---------------------------------------------------------------------------------------------
// `lessee bench events`

#[derive(Args)]
pub struct EventsArgs {
    /// Events per measured mode.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Events per batch (one POST, or one `insert_events` call for the baseline).
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Batches in flight at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Accounts the events are spread over.
    #[arg(long, default_value_t = 5000)]
    accounts: usize,
    #[command(flatten)]
    common: Common,
}

/// Runs the compactor until it has nothing to merge; its time in seconds.
async fn catch_up(store: &SqlStore) -> anyhow::Result<f64> {
    let max = lessee_service::Config::default().event_segment_events;
    let t = Instant::now();
    while store.compact_events(max).await?.merged > 0 {}
    Ok(t.elapsed().as_secs_f64())
}

/// The access-event compactor as `serve` runs it (every second), for the duration of a run.
fn spawn_compactor(store: Arc<SqlStore>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let max = lessee_service::Config::default().event_segment_events;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            while let Ok(c) = store.compact_events(max).await {
                if c.merged == 0 {
                    break;
                }
            }
        }
    })
}

async fn events(args: &EventsArgs) -> anyhow::Result<()> {
    let fixtures = load_fixtures(&args.common.fixtures)?;
    let batch = args.batch.clamp(1, lessee_service::events::MAX_BATCH);
    let batches = args.events.div_ceil(batch);
    let n = batches * batch;
    println!(
        "bench events: {n} events per mode in batches of {batch}, concurrency {}, {} accounts, {} cores",
        args.concurrency,
        args.accounts,
        cores()
    );
    println!(
        "{:<9} {:<46} {:>11} {:>13} {:>13} {:>7} {:>7}",
        "backend", "mode", "events/s", "batch p50 ms", "batch p99 ms", "errors", "ratio"
    );
    let keys = Keys::new()?;
    let now = Utc::now();
    for backend in &args.common.backends {
        // Baseline: the same events, sealed beforehand, written straight through the store.
        let bed = Bed::open(backend, &args.common.postgres_admin_url).await?;
        let accounts = open_accounts(&bed.store, &keys.vault, &fixtures, args.accounts).await?;
        let dks = data_keys(&keys.vault, &accounts)?;
        let mut synth = Synth::new(accounts.len(), 1, now);
        let evs: Vec<SynthEvent> = (0..n).map(|_| synth.event()).collect();
        let rows = Arc::new(seal_events(&keys.vault, &accounts, &dks, &evs, 7)?);
        let s = bed.store.clone();
        let vault = keys.vault.clone();
        let compactor = spawn_compactor(bed.store.clone());
        let base = drive(batches, args.concurrency, move |i| {
            let s = s.clone();
            let rows = rows.clone();
            let audit = bench_audit(&vault, "events.ingest", i);
            async move {
                match rows.get(i * batch..(i + 1) * batch) {
                    Some(chunk) => s.insert_events(chunk, &audit).await.is_ok(),
                    None => false,
                }
            }
        })
        .await;
        compactor.abort();
        let base_drain = catch_up(&bed.store).await?;
        let base_segments = bed.store.event_segments().await?;
        bed.close(&args.common.postgres_admin_url).await?;

        // The product: NDJSON batches through the HTTP API into a fresh database holding the
        // same accounts (parse, validate, resolve accounts, unwrap keys, seal, index, insert,
        // move last_accessed_at, audit).
        let bed = Bed::open(backend, &args.common.postgres_admin_url).await?;
        let accounts = open_accounts(&bed.store, &keys.vault, &fixtures, args.accounts).await?;
        let bodies: Vec<std::sync::Mutex<Vec<u8>>> = evs
            .chunks(batch)
            .map(|c| {
                let mut body = Vec::with_capacity(c.len() * 200);
                for e in c {
                    synth.ndjson_line(e, &accounts, &mut body);
                }
                std::sync::Mutex::new(body)
            })
            .collect();
        drop(evs);
        let bodies = Arc::new(bodies);
        let service = keys.service(bed.store.clone())?;
        let token = token(&service, Role::ControlPlane).await?;
        let (addr, server) = start_server(service, None).await?;
        let compactor = spawn_compactor(bed.store.clone());
        let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
        let url = format!("http://{addr}/v1/access-events");
        let api = drive(batches, args.concurrency, move |i| {
            let body =
                bodies.get(i).and_then(|m| m.lock().ok().map(|mut b| std::mem::take(&mut *b))).unwrap_or_default();
            let req = client.post(&url).bearer_auth(&token).header("content-type", "application/x-ndjson").body(body);
            async move { matches!(req.send().await, Ok(r) if r.status() == reqwest::StatusCode::OK) }
        })
        .await;
        server.abort();
        compactor.abort();
        let api_drain = catch_up(&bed.store).await?;
        let api_segments = bed.store.event_segments().await?;
        bed.close(&args.common.postgres_admin_url).await?;
        // A faster run leaves the compactor less time: what it still had to merge is timed
        // after the run and counted in a sustained rate.
        let sustained = |f: &Figures, drain: f64| {
            let events = (batches * batch) as f64;
            events / (events / (f.ops_per_sec * batch as f64).max(f64::MIN_POSITIVE) + drain)
        };
        println!(
            "{backend}: compaction left at the end took {base_drain:.2} s (baseline), {api_drain:.2} s (HTTP) to catch up; \
             events/s counting it: baseline {:.0}, HTTP {:.0}; segments then: {base_segments}, {api_segments}",
            sustained(&base, base_drain),
            sustained(&api, api_drain),
        );

        let row = |mode: &str, f: &Figures, ratio: f64| {
            println!(
                "{:<9} {:<46} {:>11.0} {:>13.1} {:>13.1} {:>7} {:>6.2}x",
                backend,
                mode,
                f.ops_per_sec * batch as f64,
                f.p50_ms,
                f.p99_ms,
                f.errors,
                ratio
            );
        };
        row("baseline: pre-sealed rows, Store::insert_events", &base, 1.0);
        row(
            "HTTP API: NDJSON, validate, seal, index, audit",
            &api,
            base.ops_per_sec / api.ops_per_sec.max(f64::MIN_POSITIVE),
        );
    }
    println!("ratio = baseline events/s / mode events/s (how much slower than the bare insert)");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// `lessee bench ip-query`

#[derive(Args)]
pub struct IpQueryArgs {
    /// Events stored before querying.
    #[arg(long, default_value_t = 10_000_000)]
    events: usize,
    /// Events stored on PostgreSQL, if different (loading is slower there).
    #[arg(long)]
    postgres_events: Option<usize>,
    /// Queries per measured mode.
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    /// Accounts the events are spread over.
    #[arg(long, default_value_t = 5000)]
    accounts: usize,
    /// Queries in flight at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    #[command(flatten)]
    common: Common,
}

/// What a query asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum QueryKind {
    Hit,
    Miss,
    Range24,
    Range16,
    Range48,
}

impl QueryKind {
    fn label(self) -> &'static str {
        match self {
            QueryKind::Hit => "one address, seen (hit)",
            QueryKind::Miss => "one address, never seen (miss)",
            QueryKind::Range24 => "IPv4 /24 range",
            QueryKind::Range16 => "IPv4 /16 range",
            QueryKind::Range48 => "IPv6 /48 range",
        }
    }
}

struct Query {
    kind: QueryKind,
    text: String,
    level: usize,
    values: Vec<i64>,
}

fn make_query(vault: &Vault, kind: QueryKind, text: String) -> anyhow::Result<Query> {
    let cidr = lessee_domain::access::Cidr::parse(&text).context("bad query")?;
    let plan = lessee_domain::access::plan(cidr).context("query too wide")?;
    let values = plan.prefixes.iter().map(|p| vault.prefix_index(plan.level, *p, plan.prefix_len)).collect();
    Ok(Query { kind, text, level: plan.level, values })
}

/// Loads `n` events through the store's fast path: sealed on every core (as the service seals
/// them) while the previous chunk is written, 50,000 rows per `insert_events` transaction.
async fn load_events(
    store: &Arc<SqlStore>,
    vault: &Arc<Vault>,
    accounts: &Arc<Vec<BenchAccount>>,
    n: usize,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Vec<std::net::IpAddr>> {
    const CHUNK: usize = 50_000;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<lessee_store::StoredEvent>>(2);
    let producer = {
        let vault = vault.clone();
        let accounts = accounts.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<std::net::IpAddr>> {
            let keys = data_keys(&vault, &accounts)?;
            let mut synth = Synth::new(accounts.len(), 11, now);
            let mut strays = Vec::new();
            let mut left = n;
            let mut seed = 100;
            while left > 0 {
                let k = left.min(CHUNK);
                let evs: Vec<SynthEvent> = (0..k).map(|_| synth.event()).collect();
                // Remember a few addresses seen once or twice (not an account's usual ones).
                for e in evs.iter().step_by(997) {
                    let usual = synth.homes.get(e.account).is_some_and(|h| h.contains(&e.ip));
                    if !usual && strays.len() < 5000 {
                        strays.push(e.ip);
                    }
                }
                let rows = seal_events(&vault, &accounts, &keys, &evs, seed)?;
                seed += 1;
                if tx.blocking_send(rows).is_err() {
                    break;
                }
                left -= k;
            }
            Ok(strays)
        })
    };
    let started = Instant::now();
    let mut written = 0usize;
    let mut next_report = 1_000_000;
    while let Some(rows) = rx.recv().await {
        store.insert_events(&rows, &bench_audit(vault, "events.ingest", written)).await?;
        written += rows.len();
        if written >= next_report {
            eprintln!("  loaded {written} events ({:.0}/s)", written as f64 / started.elapsed().as_secs_f64());
            next_report += 1_000_000;
        }
    }
    let strays = producer.await??;
    eprintln!(
        "  loaded {written} events in {:.1} s ({:.0}/s)",
        started.elapsed().as_secs_f64(),
        written as f64 / started.elapsed().as_secs_f64()
    );
    // Steady state: what `serve`'s compactor leaves behind.
    let started = Instant::now();
    let max = lessee_service::Config::default().event_segment_events;
    while store.compact_events(max).await?.merged > 0 {}
    eprintln!(
        "  compacted into {} segments in {:.1} s",
        store.event_segments().await?,
        started.elapsed().as_secs_f64()
    );
    Ok(strays)
}

async fn ip_query(args: &IpQueryArgs) -> anyhow::Result<()> {
    let fixtures = load_fixtures(&args.common.fixtures)?;
    println!(
        "bench ip-query: {} queries per mode, concurrency {}, {} accounts, {} cores",
        args.queries,
        args.concurrency,
        args.accounts,
        cores()
    );
    let keys = Keys::new()?;
    let now = Utc::now();
    let from = now - chrono::Duration::days(31);
    let to = now + chrono::Duration::minutes(1);
    let mut report = Vec::new();
    for backend in &args.common.backends {
        let n = if backend == "postgres" { args.postgres_events.unwrap_or(args.events) } else { args.events };
        eprintln!("{backend}: loading {n} events through the store (fast path: pre-sealed rows)");
        let bed = Bed::open(backend, &args.common.postgres_admin_url).await?;
        let accounts = open_accounts(&bed.store, &keys.vault, &fixtures, args.accounts).await?;
        let strays = load_events(&bed.store, &keys.vault, &accounts, n, now).await?;
        if backend == "postgres" {
            sqlx_analyze(&bed).await;
        }

        // The queries: 60 % an account's usual address (many events), 15 % an address seen
        // rarely, 15 % an address never seen, 10 % a range (/24, /16, IPv6 /48).
        let synth = Synth::new(accounts.len(), 11, now);
        let mut rng = Rng(42);
        let mut miss_rng = Rng(0xDEAD);
        let mut queries = Vec::with_capacity(args.queries);
        for _ in 0..args.queries {
            let roll = rng.below(100);
            let home = synth.homes.get(rng.below(synth.homes.len())).and_then(|h| h.get(rng.below(3))).copied();
            let q = if roll < 60 {
                home.map(|ip| (QueryKind::Hit, ip.to_string()))
            } else if roll < 75 {
                strays.get(rng.below(strays.len())).map(|ip| (QueryKind::Hit, ip.to_string()))
            } else if roll < 90 {
                // Documentation and unallocated space: never generated.
                let ip = if rng.chance(80) {
                    format!("198.51.{}.{}", miss_rng.below(256), 1 + miss_rng.below(254))
                } else {
                    format!("2001:db8:{:x}::{:x}", miss_rng.below(65536), 1 + miss_rng.below(65535))
                };
                Some((QueryKind::Miss, ip))
            } else {
                match home {
                    Some(std::net::IpAddr::V4(v4)) => {
                        let [a, b, c, _] = v4.octets();
                        if rng.chance(50) {
                            Some((QueryKind::Range24, format!("{a}.{b}.{c}.0/24")))
                        } else {
                            Some((QueryKind::Range16, format!("{a}.{b}.0.0/16")))
                        }
                    }
                    Some(std::net::IpAddr::V6(v6)) => {
                        let s = v6.segments();
                        let (a, b, c) = (s.first().copied(), s.get(1).copied(), s.get(2).copied());
                        match (a, b, c) {
                            (Some(a), Some(b), Some(c)) => {
                                Some((QueryKind::Range48, format!("{a:x}:{b:x}:{c:x}::/48")))
                            }
                            _ => None,
                        }
                    }
                    None => None,
                }
            };
            if let Some((kind, text)) = q {
                queries.push(make_query(&keys.vault, kind, text)?);
            }
        }
        let queries = Arc::new(queries);
        let nq = queries.len();

        // Baseline: the same indexed lookups (prefix index values computed beforehand) through
        // `Store::events`, same time range and page size: no HTTP, no audit, no decryption.
        let lat_base = Arc::new(std::sync::Mutex::new(vec![(QueryKind::Hit, Duration::ZERO, 0usize); nq]));
        let base = {
            let s = bed.store.clone();
            let q = queries.clone();
            let lat = lat_base.clone();
            drive(nq, args.concurrency, move |i| {
                let s = s.clone();
                let q = q.clone();
                let lat = lat.clone();
                async move {
                    let Some(q) = q.get(i) else { return false };
                    let t = Instant::now();
                    let r = s
                        .events(
                            &lessee_store::EventQuery::IpPrefixes { level: q.level, values: q.values.clone() },
                            from,
                            to,
                            None,
                            100,
                        )
                        .await;
                    let d = t.elapsed();
                    match r {
                        Ok(rows) => {
                            if let Ok(mut l) = lat.lock()
                                && let Some(slot) = l.get_mut(i)
                            {
                                *slot = (q.kind, d, rows.len());
                            }
                            true
                        }
                        Err(_) => false,
                    }
                }
            })
            .await
        };

        // The product: GET /v1/access-events?ip=…&from=…&to=… as the legal liaison, with
        // `Lessee-Purpose: legal_process` (auth, audit record written first, index lookup,
        // key unwrapping, decryption, exact filtering, JSON).
        let service = keys.service(bed.store.clone())?;
        let token = token(&service, Role::Legal).await?;
        let (addr, server) = start_server(service, None).await?;
        let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency.max(1)).build()?;
        let lat_api = Arc::new(std::sync::Mutex::new(vec![(QueryKind::Hit, Duration::ZERO, 0usize); nq]));
        let api = {
            let q = queries.clone();
            let lat = lat_api.clone();
            let url = format!("http://{addr}/v1/access-events");
            let (f, t) = (from.to_rfc3339(), to.to_rfc3339());
            drive(nq, args.concurrency, move |i| {
                let q = q.get(i).map(|q| (q.kind, q.text.clone()));
                let lat = lat.clone();
                let req = client
                    .get(&url)
                    .query(&[("ip", q.as_ref().map(|q| q.1.as_str()).unwrap_or("")), ("from", &f), ("to", &t)])
                    .bearer_auth(&token)
                    .header("lessee-purpose", "legal_process");
                async move {
                    let Some((kind, _)) = q else { return false };
                    let t0 = Instant::now();
                    let Ok(resp) = req.send().await else { return false };
                    if resp.status() != reqwest::StatusCode::OK {
                        return false;
                    }
                    let Ok(page) = resp.json::<Value>().await else { return false };
                    let d = t0.elapsed();
                    let items = page.get("items").and_then(Value::as_array).map(Vec::len).unwrap_or(0);
                    if let Ok(mut l) = lat.lock()
                        && let Some(slot) = l.get_mut(i)
                    {
                        *slot = (kind, d, items);
                    }
                    true
                }
            })
            .await
        };
        server.abort();
        bed.close(&args.common.postgres_admin_url).await?;

        let by_kind = |lat: &[(QueryKind, Duration, usize)], kind: Option<QueryKind>| -> (Figures, f64) {
            let sel: Vec<&(QueryKind, Duration, usize)> =
                lat.iter().filter(|(k, d, _)| !d.is_zero() && kind.is_none_or(|w| *k == w)).collect();
            let rows = sel.iter().map(|(_, _, r)| *r as f64).sum::<f64>() / (sel.len().max(1) as f64);
            let total: Duration = sel.iter().map(|(_, d, _)| *d).sum();
            (figures(sel.iter().map(|(_, d, _)| *d).collect(), total.max(Duration::from_nanos(1)), 0), rows)
        };
        let lat_base = lat_base.lock().map(|l| l.clone()).unwrap_or_default();
        let lat_api = lat_api.lock().map(|l| l.clone()).unwrap_or_default();
        for kind in [
            None,
            Some(QueryKind::Hit),
            Some(QueryKind::Miss),
            Some(QueryKind::Range24),
            Some(QueryKind::Range16),
            Some(QueryKind::Range48),
        ] {
            let (b, br) = by_kind(&lat_base, kind);
            let (a, ar) = by_kind(&lat_api, kind);
            report.push((
                backend.clone(),
                n,
                kind.map(QueryKind::label).unwrap_or("all queries"),
                lat_api.iter().filter(|(k, d, _)| !d.is_zero() && kind.is_none_or(|w| *k == w)).count(),
                b,
                br,
                a,
                ar,
            ));
        }
        println!(
            "{backend}: {n} events stored; baseline {:.0} queries/s ({} errors), HTTP {:.0} queries/s ({} errors)",
            base.ops_per_sec, base.errors, api.ops_per_sec, api.errors
        );
    }
    println!(
        "{:<9} {:>10} {:<31} {:>5} {:>8} {:>8} {:>8} {:>6} | {:>8} {:>8} {:>8} {:>6} {:>7}",
        "backend", "events", "query", "n", "base p50", "p99", "max", "rows", "HTTP p50", "p99", "max", "rows", "p99 ×"
    );
    for (backend, n, label, count, b, br, a, ar) in report {
        println!(
            "{:<9} {:>10} {:<31} {:>5} {:>8.2} {:>8.2} {:>8.2} {:>6.1} | {:>8.2} {:>8.2} {:>8.2} {:>6.1} {:>6.2}x",
            backend,
            n,
            label,
            count,
            b.p50_ms,
            b.p99_ms,
            b.max_ms,
            br,
            a.p50_ms,
            a.p99_ms,
            a.max_ms,
            ar,
            a.p99_ms / b.p99_ms.max(f64::MIN_POSITIVE)
        );
    }
    println!("times in ms; rows = mean rows (baseline) or events returned (HTTP) per query, page size 100");
    Ok(())
}

/// Refreshes PostgreSQL's planner statistics after the bulk load (as autovacuum would a minute
/// later), with `psql` if it is installed.
async fn sqlx_analyze(bed: &Bed) {
    let Some(url) = &bed.pg_url else { return };
    let ok = tokio::process::Command::new("psql")
        .arg(url)
        .args(["-q", "-c", "ANALYZE"])
        .status()
        .await
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("  (psql not available: planner statistics left to autovacuum)");
    }
}

// ---------------------------------------------------------------------------------------------
// `lessee bench reads`

#[derive(Args)]
pub struct ReadsArgs {
    /// Reads per measured mode.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Rounds: each mode is measured this many times, alternating, `requests / rounds` each.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Accounts read (each read picks one).
    #[arg(long, default_value_t = 2000)]
    accounts: usize,
    /// Modes measured beside the baseline (e.g. `--modes decrypted` to profile one alone).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "api,audited,decrypted")]
    modes: Vec<ReadMode>,
    #[command(flatten)]
    common: Common,
}

/// The modes of `bench reads` besides the baseline.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ReadMode {
    /// `GET /v1/accounts/{id}/application`: the product's read.
    Api,
    /// The baseline plus the audit record only.
    Audited,
    /// The baseline plus unwrapping, decryption and JSON only.
    Decrypted,
}

/// Bench-only routes (never in the production router), on the same request path as
/// `GET /v1/accounts/{id}/application` (request context, auth, purpose header, the same row
/// read through `Store::sealed_application`):
/// - `/bench/sealed/{id}`, the baseline: returns the stored ciphertext as it is, with no key
///   unwrapping, no decryption and no audit record;
/// - `/bench/audited/{id}`: the baseline plus the audit record, committed (beside the read, as
///   the product does) before the ciphertext is returned;
/// - `/bench/decrypted/{id}`: the baseline plus key unwrapping, decryption and the JSON
///   response, with no audit record.
///
/// The last two split the product's cost between auditing and encryption.
fn bench_routes(vault: Arc<Vault>) -> axum::Router<AppState> {
    use axum::extract::{Path as UrlPath, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    async fn sealed(
        State(state): State<AppState>,
        lessee_api::extract::Ctx(_ctx): lessee_api::extract::Ctx,
        lessee_api::extract::Auth(_principal): lessee_api::extract::Auth,
        lessee_api::extract::PurposeHeader(_purpose): lessee_api::extract::PurposeHeader,
        UrlPath(id): UrlPath<String>,
    ) -> Response {
        let Some(id) = AccountId::parse(&id) else { return StatusCode::NOT_FOUND.into_response() };
        match state.service.store().sealed_application(id).await {
            Ok(Some(s)) => {
                ([(axum::http::header::CONTENT_TYPE, "application/octet-stream")], s.ciphertext).into_response()
            }
            Ok(None) => StatusCode::NOT_FOUND.into_response(),
            Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
    async fn audited(
        State(state): State<AppState>,
        axum::Extension(vault): axum::Extension<Arc<Vault>>,
        lessee_api::extract::Ctx(_ctx): lessee_api::extract::Ctx,
        lessee_api::extract::Auth(_principal): lessee_api::extract::Auth,
        lessee_api::extract::PurposeHeader(_purpose): lessee_api::extract::PurposeHeader,
        UrlPath(id): UrlPath<String>,
    ) -> Response {
        let Some(id) = AccountId::parse(&id) else { return StatusCode::NOT_FOUND.into_response() };
        let mut event = bench_audit(&vault, "account.application.read", 0);
        event.target = lessee_audit::Target { kind: "account".into(), id: id.to_string() };
        let store = state.service.store();
        match tokio::join!(store.append_audit(&event), store.sealed_application(id)) {
            (Ok(()), Ok(Some(s))) => {
                ([(axum::http::header::CONTENT_TYPE, "application/octet-stream")], s.ciphertext).into_response()
            }
            (Ok(()), Ok(None)) => StatusCode::NOT_FOUND.into_response(),
            _ => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
    async fn decrypted(
        State(state): State<AppState>,
        axum::Extension(vault): axum::Extension<Arc<Vault>>,
        lessee_api::extract::Ctx(_ctx): lessee_api::extract::Ctx,
        lessee_api::extract::Auth(_principal): lessee_api::extract::Auth,
        lessee_api::extract::PurposeHeader(_purpose): lessee_api::extract::PurposeHeader,
        UrlPath(id): UrlPath<String>,
    ) -> Response {
        let Some(id) = AccountId::parse(&id) else { return StatusCode::NOT_FOUND.into_response() };
        match state.service.store().sealed_application(id).await {
            // As the product answers: the JSON as sealed (see `Vault::unseal_json`).
            Ok(Some(s)) => match vault.unseal_json(id, &s) {
                Ok(json) => ([(axum::http::header::CONTENT_TYPE, "application/json")], json).into_response(),
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            },
            Ok(None) => StatusCode::NOT_FOUND.into_response(),
            Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
    axum::Router::new()
        .route("/bench/sealed/{id}", axum::routing::get(sealed))
        .route("/bench/audited/{id}", axum::routing::get(audited))
        .route("/bench/decrypted/{id}", axum::routing::get(decrypted))
        .layer(axum::Extension(vault))
}

async fn reads(args: &ReadsArgs) -> anyhow::Result<()> {
    let fixtures = load_fixtures(&args.common.fixtures)?;
    println!(
        "bench reads: {} reads per mode, concurrency {}, {} accounts from {} fixture applications, {} cores",
        args.requests,
        args.concurrency,
        args.accounts,
        fixtures.len(),
        cores()
    );
    println!(
        "{:<9} {:<50} {:>9} {:>8} {:>8} {:>7} {:>7} {:>7}",
        "backend", "mode", "reads/s", "p50 ms", "p99 ms", "errors", "ratio", "cpu µs"
    );
    let keys = Keys::new()?;
    for backend in &args.common.backends {
        let bed = Bed::open(backend, &args.common.postgres_admin_url).await?;
        let accounts = open_accounts(&bed.store, &keys.vault, &fixtures, args.accounts).await?;
        let service = keys.service(bed.store.clone())?;
        let token = token(&service, Role::ControlPlane).await?;
        let (addr, server) = start_server(service, Some(bench_routes(keys.vault.clone()))).await?;
        let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
        let get = |path: &'static str| {
            let client = client.clone();
            let token = token.clone();
            let accounts = accounts.clone();
            move |i: usize| {
                let id = accounts.get((i * 7919) % accounts.len().max(1)).map(|a| a.id.to_string()).unwrap_or_default();
                let req = client
                    .get(format!("http://{addr}{}", path.replace("{id}", &id)))
                    .bearer_auth(&token)
                    .header("lessee-purpose", "verification");
                async move {
                    match req.send().await {
                        Ok(r) if r.status() == reqwest::StatusCode::OK => r.bytes().await.is_ok_and(|b| !b.is_empty()),
                        _ => false,
                    }
                }
            }
        };
        let all = [
            (None, "baseline: same path, sealed row, no decrypt/audit", "/bench/sealed/{id}"),
            (Some(ReadMode::Api), "HTTP API: unwrap key, decrypt, audit, JSON", "/v1/accounts/{id}/application"),
            (Some(ReadMode::Audited), "  split: baseline + audit record only", "/bench/audited/{id}"),
            (Some(ReadMode::Decrypted), "  split: baseline + unwrap, decrypt, JSON only", "/bench/decrypted/{id}"),
        ];
        let modes: Vec<(&str, &str)> = all
            .iter()
            .filter(|(m, _, _)| m.is_none_or(|m| args.modes.contains(&m)))
            .map(|(_, name, path)| (*name, *path))
            .collect();
        // Warm-up of each: connections, caches, prepared statements.
        for (_, path) in &modes {
            drive(500, args.concurrency, get(path)).await;
        }
        // Rounds alternate the modes, so that a drift of the machine's speed during the run
        // (other load, frequency, the database growing) falls on all of them alike; each
        // mode's figures are over all its rounds.
        let rounds = args.rounds.max(1);
        let per_round = args.requests.div_ceil(rounds).max(1);
        let mut runs: Vec<Samples> = modes.iter().map(|_| Samples::default()).collect();
        for _ in 0..rounds {
            for ((_, path), run) in modes.iter().zip(runs.iter_mut()) {
                run.add(drive_samples(per_round, args.concurrency, get(path)).await);
            }
        }
        server.abort();
        bed.close(&args.common.postgres_admin_url).await?;
        let cpu: Vec<Option<f64>> = runs.iter().map(Samples::cpu_us_per_op).collect();
        let figures: Vec<Figures> = runs.into_iter().map(|r| figures(r.latencies, r.elapsed, r.errors)).collect();
        let base = figures.first().map_or(f64::MIN_POSITIVE, |f| f.ops_per_sec.max(f64::MIN_POSITIVE));
        for (((mode, _), f), cpu) in modes.iter().zip(&figures).zip(&cpu) {
            println!(
                "{:<9} {:<50} {:>9.0} {:>8.2} {:>8.2} {:>7} {:>6.2}x {:>7}",
                backend,
                mode,
                f.ops_per_sec,
                f.p50_ms,
                f.p99_ms,
                f.errors,
                base / f.ops_per_sec.max(f64::MIN_POSITIVE),
                cpu.map_or_else(|| "-".to_owned(), |c| format!("{c:.0}"))
            );
        }
    }
    println!("ratio = baseline reads/s / mode reads/s (the cost of encryption and auditing)");
    println!("cpu µs = busy CPU time of the whole machine (client, server, database) per read, from /proc/stat");
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests report by panicking
mod tests {
    use std::time::Duration;

    use super::{Samples, parse_busy_ticks};

    #[test]
    fn busy_ticks_are_all_but_idle_and_iowait() {
        let stat = "cpu  100 5 50 1000 20 3 2 1 7 0\ncpu0 50 2 25 500 10 1 1 0 3 0\n";
        // user + nice + system + irq + softirq; not steal (1); guest (7) is within user already.
        assert_eq!(parse_busy_ticks(stat), Some(100 + 5 + 50 + 3 + 2));
        assert_eq!(parse_busy_ticks("cpu0 1 2 3 4 5\n"), None);
        assert_eq!(parse_busy_ticks("cpu  1 2 x 4 5 6 7 8\n"), None);
        assert_eq!(parse_busy_ticks("cpu  1 2 3\n"), None);
        assert_eq!(parse_busy_ticks(""), None);
    }

    fn run(ops: usize, busy: Option<u64>) -> Samples {
        Samples {
            latencies: vec![Duration::from_micros(100); ops],
            elapsed: Duration::from_secs(1),
            errors: 0,
            busy_ticks: busy,
            runs: 1,
        }
    }

    #[test]
    fn cpu_per_op_sums_the_rounds_and_is_unknown_if_one_round_lacks_it() {
        let mut all = Samples::default();
        all.add(run(1000, Some(30)));
        all.add(run(1000, Some(10)));
        // 40 ticks of 10 ms over 2,000 operations: 200 µs each.
        assert_eq!(all.cpu_us_per_op(), Some(200.0));
        all.add(run(1000, None));
        assert_eq!(all.cpu_us_per_op(), None);
        assert_eq!(Samples::default().cpu_us_per_op(), None);
    }
}
