//! `lessee`: the command line. Thin: parse, open the store, call one service function, print.
#![forbid(unsafe_code)]

mod bench;
mod exit;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use lessee_api::{ApiConfig, AppState};
use lessee_service::{ListQuery, Principal, Role, Service};
use lessee_store::{PoolConfig, SqlStore, Store};

use crate::exit::Failure;

/// Know-your-customer for US IaaS providers under Executive Order 13984.
#[derive(Parser)]
#[command(name = "lessee", version, about)]
struct Cli {
    /// Directory of the embedded database and local files.
    #[arg(
        long,
        global = true,
        env = "LESSEE_DATA_DIR",
        default_value = "./lessee-data"
    )]
    data_dir: PathBuf,
    /// Use this database instead of the embedded SQLite: `postgres://user@host/db`.
    #[arg(
        long,
        global = true,
        env = "LESSEE_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
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
    /// Measure performance against a baseline in the same run.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LESSEE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    max_body_bytes: usize,
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
enum AccountsCmd {
    /// Open an account from an application JSON file (`-` for stdin); prints the account.
    Open {
        file: PathBuf,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Print one account.
    Show { id: String },
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Creates the data directory, readable by its owner only.
fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create data directory {}", dir.display()))?;
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

/// Writes the bootstrap admin token to `<data-dir>/admin-token` with mode 0600.
fn write_secret_file(path: &Path, secret: &str) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(f, "{secret}")?;
    Ok(())
}

async fn serve(cli: &Cli, args: &ServeArgs) -> Result<(), Failure> {
    let store = open_store(cli).await?;
    store
        .migrate()
        .await
        .map_err(|e| Failure::from(lessee_service::Error::from(e)))?;
    let service = Arc::new(Service::with_defaults(store.clone()));
    if let Some(token) = service.bootstrap_admin().await? {
        ensure_data_dir(&cli.data_dir).map_err(Failure::io)?;
        let path = cli.data_dir.join("admin-token");
        match write_secret_file(&path, &token.token) {
            Ok(()) => {
                tracing::warn!(path = %path.display(), token_id = %token.id, "No API token existed: an admin token was created and written to this file (mode 0600).")
            }
            Err(e) => {
                tracing::error!(error = %e, "Could not write the bootstrap admin token; revoking it.");
                service
                    .revoke_token(&Principal::local_operator(), &token.id)
                    .await?;
            }
        }
    }
    let state = AppState::new(
        service,
        ApiConfig {
            max_body_bytes: args.max_body_bytes,
        },
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| {
            Failure::new(
                exit::UNAVAILABLE,
                format!("cannot listen on {}: {e}", args.listen),
            )
        })?;
    let addr = listener.local_addr().map_err(Failure::io)?;
    tracing::info!(%addr, backend = store.backend().as_str(), "lessee is serving.");
    // Machine-readable line for scripts and tests that start the server on port 0.
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
    axum::serve(listener, lessee_api::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(Failure::io)?;
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
    res.map_err(|e| {
        Failure::new(
            exit::NO_INPUT,
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    if buf.len() as u64 > LIMIT {
        return Err(Failure::new(
            exit::DATA,
            format!("{} is larger than {LIMIT} bytes", file.display()),
        ));
    }
    Ok(buf)
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let operator = Principal::local_operator();
    match &cli.command {
        Command::Serve(args) => serve(&cli, args).await,
        Command::Migrate => {
            let store = open_store(&cli).await?;
            store
                .migrate()
                .await
                .map_err(|e| Failure::from(lessee_service::Error::from(e)))?;
            eprintln!("migrations applied ({})", store.backend().as_str());
            Ok(())
        }
        Command::Tokens(cmd) => {
            let store = open_store(&cli).await?;
            store
                .migrate()
                .await
                .map_err(|e| Failure::from(lessee_service::Error::from(e)))?;
            let service = Service::with_defaults(store);
            match cmd {
                TokensCmd::Create { role, name } => {
                    let role = Role::parse(role).ok_or_else(|| {
                        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                        Failure::new(
                            exit::USAGE,
                            format!("unknown role `{role}`; roles: {}", all.join(", ")),
                        )
                    })?;
                    let t = service.create_token(&operator, name, role).await?;
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
                    service.revoke_token(&operator, id).await?;
                    eprintln!("token {id} revoked");
                    Ok(())
                }
            }
        }
        Command::Accounts(cmd) => {
            let store = open_store(&cli).await?;
            store
                .migrate()
                .await
                .map_err(|e| Failure::from(lessee_service::Error::from(e)))?;
            let service = Service::with_defaults(store);
            match cmd {
                AccountsCmd::Open {
                    file,
                    idempotency_key,
                } => {
                    let bytes = read_input(file)?;
                    let app = lessee_api::extract::parse_json(&bytes)?;
                    let opened = service
                        .open_account(&operator, app, idempotency_key.as_deref())
                        .await?;
                    print_json(&opened.account)
                }
                AccountsCmd::Show { id } => print_json(&service.account(&operator, id).await?),
                AccountsCmd::Decisions { id } => {
                    for d in service.decisions(&operator, id).await? {
                        print_json(&d)?;
                    }
                    Ok(())
                }
                AccountsCmd::List {
                    external_id,
                    outcome,
                    classification,
                    account_type,
                    limit,
                    cursor,
                } => {
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
        Command::Bench(cmd) => bench::run(cmd)
            .await
            .map_err(|e| Failure::new(exit::INTERNAL, format!("{e:#}"))),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
