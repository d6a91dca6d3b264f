//! `lessee`: the command line. Thin: parse, open the store, call one service function, print.
#![forbid(unsafe_code)]

mod bench;
mod exit;
mod measures_cmd;
mod resellers_cmd;
mod screening_cmd;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use lessee_api::{ApiConfig, AppState};
use lessee_service::{AuditKeys, ListQuery, Principal, RequestContext, Role, Service, Vault};
use lessee_store::{PoolConfig, SqlStore, Store};

use crate::exit::Failure;

/// mimalloc instead of the C library's allocator: the server allocates many small, short-lived
/// objects across threads (JSON values, rows, request state), where glibc's malloc spends its
/// time consolidating and locking arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Know-your-customer for US IaaS providers under Executive Order 13984.
#[derive(Parser)]
#[command(name = "lessee", version, about)]
struct Cli {
    /// Directory of the embedded database and local files.
    #[arg(long, global = true, env = "LESSEE_DATA_DIR", default_value = "./lessee-data")]
    data_dir: PathBuf,
    /// Use this database instead of the embedded SQLite: `postgres://user@host/db`.
    #[arg(long, global = true, env = "LESSEE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Where key-encryption keys live: `local` (a 0600 key file in the data directory) or
    /// `pkcs11` (an HSM; set LESSEE_PKCS11_MODULE, LESSEE_PKCS11_TOKEN_LABEL, LESSEE_PKCS11_PIN).
    #[arg(long, global = true, env = "LESSEE_KEYRING", default_value = "local")]
    keyring: String,
    /// Keep records this many days after the later of closure and last access (at least 730:
    /// the proposed rule's two years).
    #[arg(long, global = true, env = "LESSEE_RETENTION_DAYS", default_value_t = 730)]
    retention_days: i64,
    /// Verify accounts again when their decision is older than this many days.
    #[arg(long, global = true, env = "LESSEE_REVERIFY_DAYS", default_value_t = 365)]
    reverify_days: i64,
    /// Email and phone confirmations lapse after this many days.
    #[arg(long, global = true, env = "LESSEE_CONTACT_EVIDENCE_DAYS", default_value_t = 365)]
    contact_evidence_days: i64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (applies migrations first).
    Serve(ServeArgs),
    /// Apply database schema migrations.
    Migrate,
    /// Manage API tokens.
    #[command(subcommand)]
    Tokens(TokensCmd),
    /// Open and inspect accounts.
    #[command(subcommand)]
    Accounts(AccountsCmd),
    /// Access and administrative events.
    #[command(subcommand)]
    Events(EventsCmd),
    /// Legal holds.
    #[command(subcommand)]
    Holds(HoldsCmd),
    /// Retention.
    #[command(subcommand)]
    Retention(RetentionCmd),
    /// The background job queue (re-screening, re-evaluation, reminders).
    #[command(subcommand)]
    Jobs(JobsCmd),
    /// Ongoing verification.
    #[command(subcommand)]
    Verification(VerificationCmd),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Key management.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Productions for legal process: `export --account ID` or `export --ip RANGE` writes a
    /// signed bundle; `export verify FILE` checks one without the server.
    Export(ExportArgs),
    /// Machine-readable zones of identity documents (ICAO 9303).
    #[command(subcommand)]
    Mrz(MrzCmd),
    /// The verification policy (the written CIP): check, test, install, show, history.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Special measures (EO 13984 § 2(d)): add, list, show, extend, revoke, impact.
    #[command(subcommand)]
    Measures(measures_cmd::MeasuresCmd),
    /// Exemptions (EO 13984 § 1(c)) and the ADP description.
    #[command(subcommand)]
    Exemptions(measures_cmd::ExemptionsCmd),
    /// The reseller register: foreign and domestic resellers, their CIP basis, attestations,
    /// non-compliance and its 30-day deadline, activity reports, reseller tokens.
    #[command(subcommand)]
    Resellers(resellers_cmd::ResellersCmd),
    /// Measure performance against a baseline in the same run.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// Screening lists: import, update, show, diff.
    #[command(subcommand)]
    Lists(screening_cmd::ListsCmd),
    /// Screen a name (or a CSV batch) against the imported lists.
    Screen(screening_cmd::ScreenArgs),
    /// Screening alerts: list, dispose.
    #[command(subcommand)]
    Alerts(screening_cmd::AlertsCmd),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LESSEE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Largest batch of access events accepted, in bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_batch_bytes: usize,
    /// SMTP relay for email verification codes. Without it, email verification answers 503.
    /// The password, if any, comes from LESSEE_SMTP_PASSWORD only.
    #[arg(long, env = "LESSEE_SMTP_HOST")]
    smtp_host: Option<String>,
    #[arg(long, env = "LESSEE_SMTP_PORT", default_value_t = 587)]
    smtp_port: u16,
    /// `starttls` (required, no downgrade), `tls` (SMTPS) or `none` (a relay on this host only).
    #[arg(long, env = "LESSEE_SMTP_TLS", default_value = "starttls")]
    smtp_tls: String,
    #[arg(long, env = "LESSEE_SMTP_FROM", default_value = "lessee <no-reply@localhost>")]
    smtp_from: String,
    #[arg(long, env = "LESSEE_SMTP_USERNAME")]
    smtp_username: Option<String>,
    /// The provider's SMS gateway: phone codes are POSTed to it as signed webhooks. The signing
    /// secret (at least 16 bytes) comes from LESSEE_SMS_WEBHOOK_SECRET.
    #[arg(long, env = "LESSEE_SMS_WEBHOOK_URL")]
    sms_webhook_url: Option<String>,
    /// Where decision events are posted (signed webhooks with retries from the outbox). The
    /// secret comes from LESSEE_DECISION_WEBHOOK_SECRET; during a rotation the old one from
    /// LESSEE_DECISION_WEBHOOK_SECRET_PREVIOUS (every delivery is signed with both).
    #[arg(long, env = "LESSEE_DECISION_WEBHOOK_URL")]
    decision_webhook_url: Option<String>,
}

/// The decision-event sender `serve` is configured with, if any.
fn decision_sender(args: &ServeArgs) -> Result<Option<lessee_notify::WebhookSender>, Failure> {
    let Some(url) = &args.decision_webhook_url else { return Ok(None) };
    let secret = |var: &str| -> Result<Option<lessee_notify::WebhookSecret>, Failure> {
        std::env::var(var)
            .ok()
            .map(|s| {
                lessee_notify::WebhookSecret::new(s.into_bytes())
                    .map_err(|e| Failure::new(exit::USAGE, format!("{var}: {e}")))
            })
            .transpose()
    };
    let current = secret("LESSEE_DECISION_WEBHOOK_SECRET")?
        .ok_or_else(|| Failure::new(exit::USAGE, "--decision-webhook-url needs LESSEE_DECISION_WEBHOOK_SECRET"))?;
    let mut cfg = lessee_notify::WebhookConfig::new(url.clone(), current);
    if let Some(previous) = secret("LESSEE_DECISION_WEBHOOK_SECRET_PREVIOUS")? {
        cfg.secrets.push(previous);
    }
    lessee_notify::WebhookSender::new(cfg)
        .map(Some)
        .map_err(|e| Failure::new(exit::USAGE, format!("--decision-webhook-url: {e}")))
}

/// The code senders `serve` is configured with.
fn messaging(args: &ServeArgs) -> Result<lessee_service::verification::Messaging, Failure> {
    let mut m = lessee_service::verification::Messaging::default();
    if let Some(host) = &args.smtp_host {
        let tls = match args.smtp_tls.as_str() {
            "starttls" => lessee_notify::Tls::StartTls,
            "tls" => lessee_notify::Tls::Tls,
            "none" => lessee_notify::Tls::None,
            other => {
                return Err(Failure::new(exit::USAGE, format!("--smtp-tls is starttls, tls or none, not `{other}`")));
            }
        };
        let mut cfg = lessee_notify::SmtpConfig::new(host.clone(), args.smtp_port, tls, args.smtp_from.clone());
        cfg.username = args.smtp_username.clone();
        cfg.password = std::env::var("LESSEE_SMTP_PASSWORD").ok().map(lessee_crypto::SecretString::from);
        let sender =
            lessee_notify::SmtpSender::new(cfg).map_err(|e| Failure::new(exit::USAGE, format!("SMTP: {e}")))?;
        m.email = Some(Arc::new(sender));
    }
    if let Some(url) = &args.sms_webhook_url {
        let secret = std::env::var("LESSEE_SMS_WEBHOOK_SECRET")
            .map_err(|_| Failure::new(exit::USAGE, "--sms-webhook-url needs LESSEE_SMS_WEBHOOK_SECRET"))?;
        let secret = lessee_notify::WebhookSecret::new(secret.into_bytes())
            .map_err(|e| Failure::new(exit::USAGE, format!("LESSEE_SMS_WEBHOOK_SECRET: {e}")))?;
        let sender = lessee_notify::WebhookCodeSender::new(lessee_notify::WebhookConfig::new(url.clone(), secret))
            .map_err(|e| Failure::new(exit::USAGE, format!("--sms-webhook-url: {e}")))?;
        m.phone = Some(Arc::new(sender));
    }
    Ok(m)
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct ExportArgs {
    #[command(subcommand)]
    command: Option<ExportCmd>,
    /// The account to produce (lessee id).
    #[arg(long, conflicts_with = "ip")]
    account: Option<String>,
    /// An address or CIDR range: every account seen from it in the period.
    #[arg(long)]
    ip: Option<String>,
    /// Start of the period (RFC 3339; default 30 days before --to).
    #[arg(long)]
    from: Option<String>,
    /// End of the period, exclusive (RFC 3339; default now).
    #[arg(long)]
    to: Option<String>,
    /// The legal process (docket, subpoena or warrant number).
    #[arg(long)]
    reference: Option<String>,
    /// Where to write the bundle (`-` for stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ExportCmd {
    /// Check a bundle without the server: manifest signature, file hashes, checkpoint, and
    /// every audit record's inclusion proof. Exits 0 when it verifies, 9 when it does not.
    Verify {
        file: PathBuf,
        /// Trusted public key (note format, as `audit public-key` prints).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Write the copy of the CIP: the policy in force, every earlier version with who
    /// installed it, when and why, and the audit records of the changes, signed.
    Cip {
        #[arg(long)]
        out: PathBuf,
        /// Why it is produced (e.g. the Commerce request's reference).
        #[arg(long)]
        reference: Option<String>,
    },
}

#[derive(Subcommand)]
enum MrzCmd {
    /// Read an MRZ (TD1, TD2, TD3, MRV-A, MRV-B) on stdin; print the parsed fields and each
    /// check as JSON. Exits 0 when every check passes, 1 when one fails or it is not an MRZ.
    Check {
        /// Reference date for two-digit years (YYYY-MM-DD; default today, UTC).
        #[arg(long)]
        reference: Option<String>,
        /// Several MRZs separated by blank lines; one JSON line each.
        #[arg(long)]
        batch: bool,
    },
}

#[derive(Subcommand)]
enum PolicyCmd {
    /// Validate a policy file; prints its id, or each problem with line and column (exit 4).
    Check { file: PathBuf },
    /// Run the applications of a directory (`*.json`) through a policy file; one JSON line
    /// per case with the outcome, reasons, tier and conditions.
    Test {
        file: PathBuf,
        #[arg(long)]
        cases: PathBuf,
        /// Treat email and phone ownership as confirmed (default: not started, as at opening).
        #[arg(long)]
        contact_confirmed: bool,
        /// Decide as of this time (RFC 3339; default now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Install a policy file as the new version in force (audited).
    Set {
        file: PathBuf,
        /// Why it changes (kept in the history).
        #[arg(long)]
        note: String,
    },
    /// Print the policy file in force.
    Show,
    /// Every version as JSON lines, oldest first.
    History,
}

#[derive(Subcommand)]
enum TokensCmd {
    /// Create a token and print it, alone, on stdout. It is shown once.
    Create {
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
    },
    /// List tokens (never their secrets) as JSON lines.
    List,
    /// Revoke a token by id.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Verify an exported log (FILE) without the server, or the live log (no FILE). Exits 0
    /// when every record verifies against the signed checkpoint, 9 otherwise.
    Verify {
        file: Option<PathBuf>,
        /// Trusted public key (note format, as `audit public-key` prints). Without it, an
        /// export is checked against the key in its own header, which proves integrity only
        /// to someone who already trusts that key.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Write the log with a fresh signed checkpoint to FILE (`-` for stdout).
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a checkpoint of the log as it is now and print it.
    Checkpoint,
    /// Print the checkpoint verifying key (note format).
    PublicKey,
}

#[derive(Subcommand)]
enum EventsCmd {
    /// Import events from an NDJSON or JSON-array file (`-` for stdin), as `POST /v1/access-events`.
    Import {
        file: PathBuf,
        /// `atomic` (default): any bad line refuses the whole file; `partial`: keep the good lines.
        #[arg(long, default_value = "atomic")]
        mode: String,
    },
}

#[derive(Subcommand)]
enum HoldsCmd {
    /// Place a hold on an account (--account) or on every account seen from a range (--ip).
    Place {
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        ip: Option<String>,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        reference: String,
    },
    /// List holds as JSON lines.
    List {
        /// Include released holds.
        #[arg(long)]
        all: bool,
    },
    /// Release a hold.
    Release { id: String },
}

#[derive(Subcommand)]
enum RetentionCmd {
    /// Destroy the personal data of every closed account past retention and not held.
    Run,
}

#[derive(Subcommand)]
enum JobsCmd {
    /// Run due jobs in this process (beside or instead of `serve`'s worker); prints the totals.
    Run {
        /// Keep claiming until no job is due (otherwise one claim of up to --limit jobs).
        #[arg(long)]
        until_empty: bool,
        #[arg(long, default_value_t = 64)]
        limit: u32,
    },
    /// Jobs by kind and state (pending, running, done, dead).
    Status,
}

#[derive(Subcommand)]
enum VerificationCmd {
    /// Lapse old email/phone confirmations and decide again every account whose decision is
    /// older than --reverify-days; prints the report.
    Run,
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Add a key-encryption key version and rewrap every customer's data key under it.
    Rotate,
}

#[derive(Subcommand)]
enum AccountsCmd {
    /// Open an account from an application JSON file (`-` for stdin); prints the account.
    Open {
        file: PathBuf,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Print one account.
    Show { id: String },
    /// Resubmit an account's application (redress): decided again; prints the account.
    Resubmit { id: String, file: PathBuf },
    /// Close an account (starts its retention period).
    Close { id: String },
    /// Print an account's decision history.
    Decisions { id: String },
    /// List accounts as JSON lines, oldest first.
    List {
        #[arg(long)]
        external_id: Option<String>,
        #[arg(long)]
        outcome: Option<String>,
        #[arg(long)]
        classification: Option<String>,
        #[arg(long)]
        account_type: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        cursor: Option<String>,
    },
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LESSEE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let json = std::env::var("LESSEE_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Creates the data directory, readable by its owner only.
fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create data directory {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

async fn open_store(cli: &Cli) -> Result<Arc<SqlStore>, Failure> {
    let cfg = PoolConfig::default();
    let store = match &cli.database_url {
        Some(url) => SqlStore::connect(url, &cfg).await,
        None => {
            ensure_data_dir(&cli.data_dir).map_err(Failure::io)?;
            SqlStore::open_dir(&cli.data_dir, &cfg).await
        }
    }
    .map_err(|e| Failure::from(lessee_service::Error::from(e)))?;
    Ok(Arc::new(store))
}

/// Opens the keyring named by `--keyring`.
fn open_keyring(cli: &Cli) -> Result<Arc<dyn lessee_crypto::Keyring>, Failure> {
    match cli.keyring.as_str() {
        "local" => {
            ensure_data_dir(&cli.data_dir).map_err(Failure::io)?;
            let k = lessee_crypto::LocalKeyring::open_or_create(&cli.data_dir)
                .map_err(|e| Failure::new(exit::UNAVAILABLE, format!("key file: {e}")))?;
            if k.created() {
                tracing::warn!(path = %k.path().display(), "Created the key file (mode 0600). Back it up: without it, personal data cannot be decrypted.");
            }
            Ok(Arc::new(k))
        }
        "pkcs11" => {
            let var = |n: &str| {
                std::env::var(n).map_err(|_| Failure::new(exit::USAGE, format!("--keyring pkcs11 needs {n}")))
            };
            let cfg = lessee_crypto::Pkcs11Config::new(
                var("LESSEE_PKCS11_MODULE")?,
                var("LESSEE_PKCS11_TOKEN_LABEL")?,
                lessee_crypto::SecretString::from(var("LESSEE_PKCS11_PIN")?),
            );
            let k = lessee_crypto::Pkcs11Keyring::open(&cfg)
                .map_err(|e| Failure::new(exit::UNAVAILABLE, format!("PKCS#11: {e}")))?;
            Ok(Arc::new(k))
        }
        other => Err(Failure::new(exit::USAGE, format!("unknown keyring `{other}` (local, pkcs11)"))),
    }
}

/// The store (migrated), the vault and the audit keys: everything a command needs.
async fn open_service(cli: &Cli) -> Result<(Arc<SqlStore>, Service), Failure> {
    let store = open_store(cli).await?;
    store.migrate().await.map_err(|e| Failure::from(lessee_service::Error::from(e)))?;
    let keyring = open_keyring(cli)?;
    let vault = Arc::new(Vault::new(keyring)?);
    ensure_data_dir(&cli.data_dir).map_err(Failure::io)?;
    let (keys, path, created) = AuditKeys::open_or_create(&cli.data_dir)?;
    if created {
        tracing::warn!(path = %path.display(), "Created the audit checkpoint signing key (mode 0600).");
    }
    if cli.retention_days < 730 {
        return Err(Failure::new(exit::USAGE, "--retention-days must be at least 730 (two years)"));
    }
    if cli.reverify_days < 1 || cli.contact_evidence_days < 1 {
        return Err(Failure::new(exit::USAGE, "--reverify-days and --contact-evidence-days must be at least 1"));
    }
    let config = lessee_service::Config {
        retention_days: cli.retention_days,
        reverify_days: cli.reverify_days,
        contact_evidence_days: cli.contact_evidence_days,
        ..Default::default()
    };
    let service = Service::new(
        store.clone(),
        Arc::new(lessee_service::SystemClock),
        Arc::new(lessee_service::EmbeddedGeoIp),
        vault,
        Arc::new(keys),
        config,
    );
    Ok((store, service))
}

/// Writes the bootstrap admin token to `<data-dir>/admin-token` with mode 0600.
fn write_secret_file(path: &Path, secret: &str) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(f, "{secret}")?;
    Ok(())
}

async fn serve(cli: &Cli, args: &ServeArgs) -> Result<(), Failure> {
    let messaging = messaging(args)?;
    let vendor_secrets = lessee_service::verification::VendorSecrets(
        ["LESSEE_VENDOR_WEBHOOK_SECRET", "LESSEE_VENDOR_WEBHOOK_SECRET_PREVIOUS"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .filter(|s| !s.is_empty())
            .map(String::into_bytes)
            .collect(),
    );
    if vendor_secrets.0.iter().any(|s| s.len() < 16) {
        return Err(Failure::new(exit::USAGE, "vendor webhook secrets must be at least 16 bytes"));
    }
    let decisions_out = decision_sender(args)?;
    let (store, service) = open_service(cli).await?;
    let service = Arc::new(service.with_messaging(messaging).with_vendor_secrets(vendor_secrets));
    service.refresh_policy().await?;
    let sealed = service.seal_legacy_applications().await?;
    if sealed > 0 {
        tracing::warn!(count = sealed, "Sealed applications that were stored before encryption existed.");
    }
    if let Some(token) = service.bootstrap_admin().await? {
        let path = cli.data_dir.join("admin-token");
        match write_secret_file(&path, &token.token) {
            Ok(()) => {
                tracing::warn!(path = %path.display(), token_id = %token.id, "No API token existed: an admin token was created and written to this file (mode 0600).")
            }
            Err(e) => {
                tracing::error!(error = %e, "Could not write the bootstrap admin token; revoking it.");
                service.revoke_token(&Principal::local_operator(), &RequestContext::local(), &token.id).await?;
            }
        }
    }
    // Background work: the audit sequencer (pending records into the Merkle tree, four times a
    // second), a signed checkpoint every minute while the log grows, and retention every six
    // hours. All are safe with several servers on one database.
    let bg = service.clone();
    let checkpoints = tokio::spawn(async move {
        let mut last = u64::MAX;
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        let mut last_checkpoint = std::time::Instant::now();
        let mut last_retention: Option<std::time::Instant> = None;
        let mut last_policy_check = std::time::Instant::now();
        loop {
            tick.tick().await;
            if let Err(e) = bg.sequence_audit().await {
                tracing::error!(error = %e, "Could not sequence audit records.");
                continue;
            }
            // Decision events to the provider, from the outbox.
            if let Some(sender) = &decisions_out {
                match bg.deliver_decisions(sender, 200).await {
                    Ok(r) if r.retrying + r.failed > 0 => {
                        tracing::warn!(
                            delivered = r.delivered,
                            retrying = r.retrying,
                            failed = r.failed,
                            "Decision events not all delivered."
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "Could not deliver decision events."),
                }
            }
            // Pick up a policy version installed through another server (or the CLI).
            if last_policy_check.elapsed() > std::time::Duration::from_secs(2) {
                last_policy_check = std::time::Instant::now();
                if let Err(e) = bg.refresh_policy().await {
                    tracing::error!(error = %e, "Could not refresh the policy.");
                }
                // And the screener, when another process imported a list version.
                if let Err(e) = bg.refresh_screener().await {
                    tracing::error!(error = %e, "Could not refresh the screener.");
                }
            }
            if last_retention.is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(6 * 3600)) {
                last_retention = Some(std::time::Instant::now());
                match bg.run_reverification(&Principal::local_operator(), &RequestContext::local()).await {
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "Re-verification run failed."),
                }
                match bg.run_retention(&Principal::local_operator(), &RequestContext::local()).await {
                    Ok(r) if !r.destroyed.is_empty() || !r.held.is_empty() => {
                        tracing::info!(destroyed = r.destroyed.len(), held = r.held.len(), "Retention run finished.")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "Retention run failed."),
                }
            }
            if last_checkpoint.elapsed() < std::time::Duration::from_secs(60) {
                continue;
            }
            last_checkpoint = std::time::Instant::now();
            match bg.store().audit_size().await {
                Ok(size) if size != last => match bg.checkpoint().await {
                    Ok(cp) => last = cp.tree_size,
                    Err(e) => tracing::error!(error = %e, "Could not sign an audit checkpoint."),
                },
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "Could not read the audit log size."),
            }
        }
    });
    // A worker of the job queue. Other processes (`lessee jobs run`, more `serve`s) may run
    // workers on the same database; the queue's leases keep them apart.
    let jbg = service.clone();
    let jobs = tokio::spawn(async move {
        let worker = worker_id();
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        let mut last_prune: Option<std::time::Instant> = None;
        loop {
            tick.tick().await;
            if let Err(e) = jbg.run_jobs_until_empty(&worker).await {
                tracing::error!(error = %e, "The job worker could not claim jobs.");
            }
            if last_prune.is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(3600)) {
                last_prune = Some(std::time::Instant::now());
                if let Err(e) = jbg.prune_jobs(7).await {
                    tracing::error!(error = %e, "Could not prune finished jobs.");
                }
            }
        }
    });
    // The access-event compactor: its own task, so a long merge never delays the sequencer.
    let cbg = service.clone();
    let compactor = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(e) = cbg.compact_events().await {
                tracing::error!(error = %e, "Access-event compaction failed.");
            }
        }
    });
    let measures_scheduler = tokio::spawn(measures_cmd::schedule(service.clone()));
    let state = AppState::new(
        service.clone(),
        ApiConfig { max_body_bytes: args.max_body_bytes, max_batch_bytes: args.max_batch_bytes },
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::new(exit::UNAVAILABLE, format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener.local_addr().map_err(Failure::io)?;
    tracing::info!(%addr, backend = store.backend().as_str(), "lessee is serving.");
    // Machine-readable line for scripts and tests that start the server on port 0.
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
    lessee_api::serve(listener, state, shutdown_signal()).await.map_err(Failure::io)?;
    checkpoints.abort();
    compactor.abort();
    measures_scheduler.abort();
    jobs.abort();
    // A last checkpoint so the log's tail is anchored.
    if let Err(e) = service.checkpoint().await {
        tracing::error!(error = %e, "Could not sign the final audit checkpoint.");
    }
    store.close().await;
    tracing::info!("lessee stopped.");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Failure> {
    let s = serde_json::to_string(v).map_err(|e| Failure::new(exit::INTERNAL, e.to_string()))?;
    println!("{s}");
    Ok(())
}

fn read_input(file: &Path) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    const LIMIT: u64 = 64 * 1024 * 1024;
    let mut buf = Vec::new();
    let res = if file == Path::new("-") {
        std::io::stdin().take(LIMIT + 1).read_to_end(&mut buf)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(LIMIT + 1).read_to_end(&mut buf))
    };
    res.map_err(|e| Failure::new(exit::NO_INPUT, format!("cannot read {}: {e}", file.display())))?;
    if buf.len() as u64 > LIMIT {
        return Err(Failure::new(exit::DATA, format!("{} is larger than {LIMIT} bytes", file.display())));
    }
    Ok(buf)
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let operator = Principal::local_operator();
    match &cli.command {
        Command::Serve(args) => serve(&cli, args).await,
        Command::Migrate => {
            let store = open_store(&cli).await?;
            store.migrate().await.map_err(|e| Failure::from(lessee_service::Error::from(e)))?;
            eprintln!("migrations applied ({})", store.backend().as_str());
            Ok(())
        }
        Command::Tokens(cmd) => {
            let (_, service) = open_service(&cli).await?;
            let ctx = RequestContext::local();
            match cmd {
                TokensCmd::Create { role, name } => {
                    let role = Role::parse(role).ok_or_else(|| {
                        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                        Failure::new(exit::USAGE, format!("unknown role `{role}`; roles: {}", all.join(", ")))
                    })?;
                    let t = service.create_token(&operator, &ctx, name, role).await?;
                    println!("{}", t.token);
                    Ok(())
                }
                TokensCmd::List => {
                    for t in service.list_tokens(&operator).await? {
                        print_json(&t)?;
                    }
                    Ok(())
                }
                TokensCmd::Revoke { id } => {
                    service.revoke_token(&operator, &ctx, id).await?;
                    eprintln!("token {id} revoked");
                    Ok(())
                }
            }
        }
        Command::Accounts(cmd) => {
            let (_, service) = open_service(&cli).await?;
            let ctx = RequestContext::local();
            match cmd {
                AccountsCmd::Open { file, idempotency_key } => {
                    let bytes = read_input(file)?;
                    let app = lessee_api::extract::parse_json(&bytes)?;
                    let opened = service.open_account(&operator, &ctx, app, idempotency_key.as_deref()).await?;
                    print_json(&opened.account)
                }
                AccountsCmd::Resubmit { id, file } => {
                    let app = lessee_api::extract::parse_json(&read_input(file)?)?;
                    print_json(&service.resubmit(&operator, &ctx, id, app).await?)
                }
                AccountsCmd::Show { id } => print_json(&service.account(&operator, id).await?),
                AccountsCmd::Close { id } => {
                    service.close_account(&operator, &ctx, id).await?;
                    eprintln!("account {id} closed");
                    Ok(())
                }
                AccountsCmd::Decisions { id } => {
                    for d in service.decisions(&operator, id).await? {
                        print_json(&d)?;
                    }
                    Ok(())
                }
                AccountsCmd::List { external_id, outcome, classification, account_type, limit, cursor } => {
                    let page = service
                        .list_accounts(
                            &operator,
                            ListQuery {
                                external_id: external_id.clone(),
                                outcome: outcome.clone(),
                                classification: classification.clone(),
                                account_type: account_type.clone(),
                                customer_kind: None,
                                cursor: cursor.clone(),
                                limit: Some(*limit),
                            },
                        )
                        .await?;
                    for a in &page.items {
                        print_json(a)?;
                    }
                    if let Some(c) = page.next_cursor {
                        eprintln!("more: --cursor {c}");
                    }
                    Ok(())
                }
            }
        }
        Command::Audit(cmd) => audit_command(&cli, cmd).await,
        Command::Holds(cmd) => {
            let (_, service) = open_service(&cli).await?;
            let ctx = RequestContext::local();
            match cmd {
                HoldsCmd::Place { account, ip, reason, reference } => {
                    let req = lessee_service::retention::HoldRequest {
                        account_id: account.clone(),
                        ip: ip.clone(),
                        reason: reason.clone(),
                        reference: reference.clone(),
                    };
                    print_json(&service.place_hold(&operator, &ctx, req).await?)
                }
                HoldsCmd::List { all } => {
                    for h in service.list_holds(&operator, *all).await? {
                        print_json(&h)?;
                    }
                    Ok(())
                }
                HoldsCmd::Release { id } => {
                    service.release_hold(&operator, &ctx, id).await?;
                    eprintln!("hold {id} released");
                    Ok(())
                }
            }
        }
        Command::Verification(VerificationCmd::Run) => {
            let (_, service) = open_service(&cli).await?;
            print_json(&service.run_reverification(&operator, &RequestContext::local()).await?)
        }
        Command::Jobs(JobsCmd::Run { until_empty, limit }) => {
            let (_, service) = open_service(&cli).await?;
            let worker = worker_id();
            let run = if *until_empty {
                service.run_jobs_until_empty(&worker).await?
            } else {
                service.run_jobs(&worker, *limit).await?
            };
            print_json(&run)
        }
        Command::Jobs(JobsCmd::Status) => {
            let (_, service) = open_service(&cli).await?;
            print_json(&service.job_counts().await?)
        }
        Command::Retention(RetentionCmd::Run) => {
            let (_, service) = open_service(&cli).await?;
            print_json(&service.run_retention(&operator, &RequestContext::local()).await?)
        }
        Command::Events(EventsCmd::Import { file, mode }) => {
            let mode = match mode.as_str() {
                "atomic" => lessee_service::BatchMode::Atomic,
                "partial" => lessee_service::BatchMode::Partial,
                other => return Err(Failure::new(exit::USAGE, format!("--mode is atomic or partial, not `{other}`"))),
            };
            let (_, service) = open_service(&cli).await?;
            let bytes = read_input(file)?;
            let batch = lessee_service::events::parse_batch(&bytes)?;
            let report = service.ingest_events(&operator, &RequestContext::local(), batch, mode).await?;
            print_json(&report)?;
            if report.rejected.is_empty() {
                Ok(())
            } else {
                Err(Failure::new(exit::DATA, format!("{} line(s) rejected", report.rejected.len())))
            }
        }
        Command::Keys(KeysCmd::Rotate) => {
            let (_, service) = open_service(&cli).await?;
            let (version, rewrapped) = service.rotate_keys(&operator, &RequestContext::local()).await?;
            eprintln!("key-encryption key version {version} added; {rewrapped} customer data keys rewrapped");
            Ok(())
        }
        Command::Export(args) => export_command(&cli, args).await,
        Command::Policy(cmd) => policy_command(&cli, cmd).await,
        Command::Lists(cmd) => screening_cmd::lists(&open_service(&cli).await?.1, cmd).await,
        Command::Screen(args) => screening_cmd::screen(&open_service(&cli).await?.1, args).await,
        Command::Alerts(cmd) => screening_cmd::alerts(&open_service(&cli).await?.1, cmd).await,
        Command::Mrz(MrzCmd::Check { reference, batch }) => mrz_check(reference.as_deref(), *batch),
        Command::Measures(cmd) => {
            let (_, service) = open_service(&cli).await?;
            measures_cmd::measures(Arc::new(service), cmd).await
        }
        Command::Exemptions(cmd) => {
            let (_, service) = open_service(&cli).await?;
            measures_cmd::exemptions(Arc::new(service), cmd).await
        }
        Command::Resellers(cmd) => resellers_cmd::resellers(&open_service(&cli).await?.1, cmd).await,
        Command::Bench(cmd) => bench::run(cmd).await.map_err(|e| Failure::new(exit::INTERNAL, format!("{e:#}"))),
    }
}

async fn audit_command(cli: &Cli, cmd: &AuditCmd) -> Result<(), Failure> {
    let operator = Principal::local_operator();
    let trusted = |text: &str| {
        lessee_audit::VerifyingKey::from_note_string(text.trim())
            .map_err(|e| Failure::new(exit::USAGE, format!("--public-key: {e}")))
    };
    let report = match cmd {
        AuditCmd::Verify { file: Some(file), public_key } => {
            let key = public_key.as_deref().map(trusted).transpose()?;
            let f = std::fs::File::open(file)
                .map_err(|e| Failure::new(exit::NO_INPUT, format!("cannot read {}: {e}", file.display())))?;
            let mut reader = std::io::BufReader::new(f);
            lessee_service::audit::verify_export(&mut reader, key.as_ref())
                .map_err(|e| Failure::new(exit::DATA, format!("not an audit export: {e}")))?
        }
        AuditCmd::Verify { file: None, public_key } => {
            let (_, service) = open_service(cli).await?;
            if let Some(k) = public_key.as_deref().map(trusted).transpose()?
                && k != service.audit_public_key()
            {
                return Err(Failure::new(exit::TAMPERED, "the log's signing key is not the trusted public key"));
            }
            service.verify_audit().await?
        }
        AuditCmd::Export { out } => {
            let (_, service) = open_service(cli).await?;
            let mut buf = Vec::new();
            let n = service.export_audit(&operator, &RequestContext::local(), &mut buf).await?;
            let written =
                if out == Path::new("-") { std::io::stdout().write_all(&buf) } else { std::fs::write(out, buf) };
            written.map_err(|e| Failure::new(exit::INTERNAL, format!("cannot write {}: {e}", out.display())))?;
            eprintln!("{n} audit records exported");
            return Ok(());
        }
        AuditCmd::Checkpoint => {
            let (_, service) = open_service(cli).await?;
            return print_json(&service.checkpoint().await?);
        }
        AuditCmd::PublicKey => {
            let (_, service) = open_service(cli).await?;
            println!("{}", service.audit_public_key().to_note_string());
            return Ok(());
        }
    };
    let summary = serde_json::json!({
        "records": report.records,
        "tree_size": report.checkpoint.as_ref().map(|c| c.tree_size),
        "unanchored": report.unanchored.end.saturating_sub(report.unanchored.start),
        "problems": report.problems.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>(),
        "ok": report.problems.is_empty(),
    });
    print_json(&summary)?;
    if report.problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(
            exit::TAMPERED,
            format!("the audit log does not verify: {} problem(s)", report.problems.len()),
        ))
    }
}

async fn export_command(cli: &Cli, args: &ExportArgs) -> Result<(), Failure> {
    if let Some(ExportCmd::Cip { out, reference }) = &args.command {
        let (_, service) = open_service(cli).await?;
        let produced =
            service.export_cip(&Principal::local_operator(), &RequestContext::local(), reference.clone()).await?;
        write_output(out, &produced.bundle)?;
        eprintln!(
            "CIP copy ({} files, {} bytes) written to {}",
            produced.manifest.files.len() + 2,
            produced.bundle.len(),
            out.display()
        );
        return Ok(());
    }
    if let Some(ExportCmd::Verify { file, public_key }) = &args.command {
        let key = public_key
            .as_deref()
            .map(|t| {
                lessee_audit::VerifyingKey::from_note_string(t.trim())
                    .map_err(|e| Failure::new(exit::USAGE, format!("--public-key: {e}")))
            })
            .transpose()?;
        let mut f = std::fs::File::open(file)
            .map_err(|e| Failure::new(exit::NO_INPUT, format!("cannot read {}: {e}", file.display())))?;
        let report = lessee_service::export::verify_bundle(&mut f, key.as_ref())
            .map_err(|e| Failure::new(exit::DATA, format!("not an export bundle: {e}")))?;
        let summary = serde_json::json!({
            "ok": report.ok,
            "key_pinned": report.key_pinned,
            "scope": report.manifest.as_ref().map(|m| &m.scope),
            "reference": report.manifest.as_ref().map(|m| &m.reference),
            "accounts": report.manifest.as_ref().map(|m| m.accounts.len()),
            "files": report.files,
            "audit_records": report.audit_records,
            "problems": report.problems,
        });
        print_json(&summary)?;
        if !report.key_pinned {
            eprintln!("warning: checked against the bundle's own public key; pass --public-key to pin the provider's");
        }
        return if report.ok {
            Ok(())
        } else {
            Err(Failure::new(
                exit::TAMPERED,
                format!("the bundle does not verify: {} problem(s)", report.problems.len()),
            ))
        };
    }
    let (Some(reference), Some(out)) = (&args.reference, &args.out) else {
        return Err(Failure::new(exit::USAGE, "a production needs --reference and --out (and --account or --ip)"));
    };
    let (_, service) = open_service(cli).await?;
    let req = lessee_service::export::ExportRequest {
        account_id: args.account.clone(),
        ip: args.ip.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        reference: reference.clone(),
    };
    let produced = service
        .legal_export(
            &Principal::local_operator(),
            &RequestContext::local(),
            lessee_service::Purpose::LegalProcess,
            req,
        )
        .await?;
    write_output(out, &produced.bundle)?;
    eprintln!(
        "{} account(s), {} files, {} bytes written to {}",
        produced.manifest.accounts.len(),
        produced.manifest.files.len() + 2,
        produced.bundle.len(),
        out.display()
    );
    Ok(())
}

fn mrz_check(reference: Option<&str>, batch: bool) -> Result<(), Failure> {
    use lessee_domain::mrz::Mrz;
    let reference = match reference {
        Some(r) => chrono::NaiveDate::parse_from_str(r, "%Y-%m-%d")
            .map_err(|_| Failure::new(exit::USAGE, "--reference must be YYYY-MM-DD"))?,
        None => chrono::Utc::now().date_naive(),
    };
    let input = read_text(Path::new("-"))?;
    let blocks: Vec<String> = if batch {
        input
            .split("\n\n")
            .map(|b| b.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n"))
            .filter(|b| !b.is_empty())
            .collect()
    } else {
        vec![input.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n")]
    };
    let mut invalid = 0;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for block in &blocks {
        let line = match Mrz::parse(block, reference) {
            Ok(mrz) => {
                if !mrz.valid {
                    invalid += 1;
                }
                serde_json::to_value(&mrz).map_err(|e| Failure::new(exit::INTERNAL, e.to_string()))?
            }
            Err(e) => {
                invalid += 1;
                serde_json::json!({"valid": false, "error": e.to_string(), "checks": []})
            }
        };
        writeln!(out, "{line}").map_err(Failure::io)?;
    }
    out.flush().map_err(Failure::io)?;
    if invalid == 0 {
        Ok(())
    } else {
        Err(Failure::new(exit::NOT_VALID, format!("{invalid} of {} MRZ(s) not valid", blocks.len())))
    }
}

fn read_text(file: &Path) -> Result<String, Failure> {
    String::from_utf8(read_input(file)?)
        .map_err(|_| Failure::new(exit::DATA, format!("{} is not UTF-8 text", file.display())))
}

async fn policy_command(cli: &Cli, cmd: &PolicyCmd) -> Result<(), Failure> {
    let operator = Principal::local_operator();
    match cmd {
        PolicyCmd::Check { file } => {
            let policy = lessee_service::policy::compile(&read_text(file)?).map_err(|e| {
                let mut f = Failure::new(exit::DATA, format!("{}: {}", file.display(), e.detail));
                f.details = e.errors.iter().map(|x| format!("{}:{}", file.display(), x.message)).collect();
                f
            })?;
            let tiers: Vec<&str> = policy.tiers().iter().map(|t| t.name.as_str()).collect();
            print_json(&serde_json::json!({"ok": true, "policy_id": policy.id(), "tiers": tiers}))
        }
        PolicyCmd::Test { file, cases, contact_confirmed, at } => {
            let policy = lessee_service::policy::compile(&read_text(file)?)
                .map_err(|e| Failure::new(exit::DATA, format!("{}: {}", file.display(), e.detail)))?;
            let now = match at {
                Some(t) => chrono::DateTime::parse_from_rfc3339(t)
                    .map_err(|_| Failure::new(exit::USAGE, "--at must be an RFC 3339 date-time"))?
                    .with_timezone(&chrono::Utc),
                None => chrono::Utc::now(),
            };
            let geo = lessee_service::EmbeddedGeoIp;
            let state = if *contact_confirmed {
                lessee_policy::EvidenceState::Confirmed
            } else {
                lessee_policy::EvidenceState::NotStarted
            };
            let mut evidence = |app: &lessee_domain::Application| lessee_policy::ExternalEvidence {
                signup_ip_country: app
                    .signup
                    .as_ref()
                    .and_then(|s| s.ip.trim().parse().ok())
                    .and_then(|ip| lessee_service::GeoIp::country(&geo, ip)),
                email: state,
                phone: state,
                ..Default::default()
            };
            let results = lessee_policy::cases::run_cases(
                &policy,
                cases,
                now,
                &lessee_domain::ClassificationConfig::default(),
                &mut evidence,
            )
            .map_err(|e| Failure::new(exit::NO_INPUT, format!("cannot read {}: {e}", cases.display())))?;
            let mut failed = 0;
            for r in &results {
                let line = match &r.result {
                    Ok(d) => serde_json::json!({
                        "case": r.case, "outcome": d.outcome(), "codes": d.codes(), "tier": d.tier,
                        "risk_score": d.risk_score,
                        "conditions": d.conditions.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
                    }),
                    Err(e) => {
                        failed += 1;
                        serde_json::json!({"case": r.case, "error": e})
                    }
                };
                print_json(&line)?;
            }
            if failed > 0 {
                return Err(Failure::new(exit::DATA, format!("{failed} case(s) could not be decided")));
            }
            Ok(())
        }
        PolicyCmd::Set { file, note } => {
            let (_, service) = open_service(cli).await?;
            let change = lessee_service::policy::PolicyChange { source: read_text(file)?, note: note.clone() };
            print_json(&service.set_policy(&operator, &RequestContext::local(), change).await?)
        }
        PolicyCmd::Show => {
            let (_, service) = open_service(cli).await?;
            let current = service.current_policy(&operator).await?;
            print!("{}", current.source.unwrap_or_default());
            eprintln!("version {} ({})", current.version, current.policy_id);
            Ok(())
        }
        PolicyCmd::History => {
            let (_, service) = open_service(cli).await?;
            for v in service.policy_history(&operator, false).await? {
                print_json(&v)?;
            }
            Ok(())
        }
    }
}

/// Writes `data` to a file (mode 0600: it may hold personal data) or to stdout for `-`.
fn write_output(out: &Path, data: &[u8]) -> Result<(), Failure> {
    let res = if out == Path::new("-") {
        std::io::stdout().write_all(data)
    } else {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        opts.open(out).and_then(|mut f| f.write_all(data).and_then(|()| f.sync_all()))
    };
    res.map_err(|e| Failure::new(exit::INTERNAL, format!("cannot write {}: {e}", out.display())))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(if matches!(cli.command, Command::Serve(_)) { "info" } else { "warn" });
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            f.report();
            ExitCode::from(f.code)
        }
    }
}

/// This process's name on the job queue: host, process id and its start time (a restarted
/// process with a recycled pid is another worker).
fn worker_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{host}:{}:{}", std::process::id(), started.as_nanos())
}
