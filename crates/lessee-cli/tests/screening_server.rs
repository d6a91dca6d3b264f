//! Screening through the real binary and HTTP server, on SQLite and PostgreSQL: the shared
//! lists imported by content, a hostile file refused, `lessee screen` and `--batch`,
//! `lessee lists update` from a local HTTP server serving the shared files, and the API
//! (`/v1/lists`, `/v1/screen`, alerts at opening and their disposition).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_lessee");

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

struct Db {
    dir: tempfile::TempDir,
    url: Option<String>,
}

impl Db {
    fn args(&self) -> Vec<String> {
        let mut a = vec!["--data-dir".to_owned(), self.dir.path().display().to_string()];
        if let Some(u) = &self.url {
            a.push("--database-url".into());
            a.push(u.clone());
        }
        a
    }

    async fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(BIN)
            .args(self.args())
            .args(args)
            .env_remove("LESSEE_DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn lines(out: &str) -> Vec<Value> {
    out.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A local HTTP server serving the shared list files (never the internet).
async fn file_server() -> String {
    let dir = shared().join("lists");
    let app = axum::Router::new().route(
        "/{name}",
        axum::routing::get(move |axum::extract::Path(name): axum::extract::Path<String>| {
            let dir = dir.clone();
            async move {
                match std::fs::read(dir.join(&name)) {
                    Ok(b) if !name.contains("..") => (axum::http::StatusCode::OK, b),
                    _ => (axum::http::StatusCode::NOT_FOUND, Vec::new()),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn run(postgres: bool) {
    let url = if postgres { Some(lessee_store::testing::fresh_postgres_url().await.unwrap()) } else { None };
    let db = Db { dir: tempfile::tempdir().unwrap(), url };
    let lists_dir = shared().join("lists").display().to_string();

    // Nothing imported yet: screening says so (exit 3, `no_lists`).
    let (code, _, err) = db.cli(&["screen", "Evgeniy Bogachev"]).await;
    assert_eq!(code, 3, "{err}");

    let (code, out, err) = db.cli(&["lists", "import", &lists_dir]).await;
    assert_eq!(code, 0, "{err}");
    let imported = lines(&out);
    assert_eq!(imported.len(), 4, "{out}");
    let ofac = imported.iter().find(|r| r["version"]["list"] == "ofac_sdn").unwrap();
    assert_eq!(ofac["version"]["version"], 1);
    assert!(ofac["version"]["source"].as_str().unwrap().contains("ofac_sdn.csv"));

    // A hostile file is refused (exit 4) and the versions stay as they were.
    let bomb = db.dir.path().join("bomb.xml");
    std::fs::write(
        &bomb,
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;\">]><CONSOLIDATED_LIST>&b;</CONSOLIDATED_LIST>",
    )
    .unwrap();
    let (code, _, err) = db.cli(&["lists", "import", "--format", "un", &bomb.display().to_string()]).await;
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    let (_, out, _) = db.cli(&["lists", "show"]).await;
    assert_eq!(lines(&out).len(), 4);

    // One name, and a batch.
    let (code, out, err) = db.cli(&["screen", "Yevgeniy Bogachev", "--dob", "1983-10-28"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().next().unwrap().contains("ofac_sdn\t21326"), "{out}");
    let csv = db.dir.path().join("batch.csv");
    std::fs::write(
        &csv,
        "id,name,type,date_of_birth,country\nr1,Yevgeniy Bogachev,individual,1983-10-28,RU\nr2,Rachel Okafor,,,\n",
    )
    .unwrap();
    let (code, out, err) = db.cli(&["screen", "--batch", &csv.display().to_string()]).await;
    assert_eq!(code, 0, "{err}");
    let rows = lines(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], "r1");
    assert_eq!(rows[0]["matches"][0]["entity_id"], "21326");
    assert_eq!(rows[0]["matches"][0]["list"], "ofac_sdn");
    assert!(rows[0]["matches"][0]["score"].as_f64().unwrap() >= 0.81);
    assert_eq!(rows[1]["matches"], json!([]));

    // `lists update` from a local HTTP server: a new version of each list with its provenance;
    // a failed download imports nothing (exit 7).
    let base = file_server().await;
    let u = |f: &str| format!("{base}/{f}");
    let (sdn, alt, add, un, bis, csl) = (
        u("ofac_sdn.csv"),
        u("ofac_alt.csv"),
        u("ofac_add.csv"),
        u("un_consolidated.xml"),
        u("bis_dpl.txt"),
        u("trade_csl_sample.csv"),
    );
    let missing = u("missing.xml");
    let update = |un_url: String| {
        let args: Vec<String> = [
            "lists",
            "update",
            "--ofac-sdn-url",
            &sdn,
            "--ofac-alt-url",
            &alt,
            "--ofac-add-url",
            &add,
            "--un-url",
            &un_url,
            "--bis-dpl-url",
            &bis,
            "--csl-url",
            &csl,
            "--timeout",
            "30",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args
    };
    let args = update(missing);
    let (code, _, err) = db.cli(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(code, 7, "{err}");
    let (_, out, _) = db.cli(&["lists", "show"]).await;
    assert_eq!(lines(&out).len(), 4, "nothing imported after a failed download");
    let args = update(un.clone());
    let (code, out, err) = db.cli(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(code, 0, "{err}");
    let updated = lines(&out);
    assert_eq!(updated.len(), 4);
    for r in &updated {
        assert_eq!(r["version"]["version"], 2);
        assert_eq!((r["added"].as_u64(), r["removed"].as_u64()), (Some(0), Some(0)), "{r}");
        let source = r["version"]["source"].as_str().unwrap();
        assert!(source.starts_with(&base) && source.contains("sha256:"), "{source}");
    }
    let (code, out, err) = db.cli(&["lists", "diff", "--list", "un", "1", "2"]).await;
    assert_eq!(code, 0, "{err}");
    let diff: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((diff["from"].as_i64(), diff["to"].as_i64()), (Some(1), Some(2)));
    assert_eq!(diff["added"], json!([]));

    // The API.
    let (code, token, err) = db.cli(&["tokens", "create", "--role", "admin", "--name", "screening"]).await;
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_owned();
    let (code, analyst, _) = db.cli(&["tokens", "create", "--role", "analyst", "--name", "analyst"]).await;
    assert_eq!(code, 0);
    let analyst = analyst.trim().to_owned();
    let log = db.dir.path().join("server.log");
    let mut child = Command::new(BIN)
        .args(db.args())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("LESSEE_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), out.next_line()).await.unwrap().unwrap().unwrap();
    let api = line.strip_prefix("listening on ").unwrap().to_owned();
    let http = reqwest::Client::new();
    let get = |path: &str, t: &str| http.get(format!("{api}{path}")).bearer_auth(t).send();
    let post = |path: &str, t: &str, body: Value| http.post(format!("{api}{path}")).bearer_auth(t).json(&body).send();

    let lists: Value = get("/v1/lists", &analyst).await.unwrap().json().await.unwrap();
    assert_eq!(lists.as_array().unwrap().len(), 8);
    let r = post(
        "/v1/screen",
        &analyst,
        json!({"items": [{"id": "a", "name": "Yevgeniy Bogachev", "type": "individual"}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["results"][0]["matches"][0]["entity_id"], "21326");
    assert_eq!(body["lists"].as_array().unwrap().len(), 4, "the versions scored against");
    let bad = post("/v1/screen", &analyst, json!({"items": [{"name": "x", "type": "robot"}]})).await.unwrap();
    assert_eq!(bad.status(), 422);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");

    let app: Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("applications/individual_sanctioned.json")).unwrap(),
    )
    .unwrap();
    let opened: Value = post("/v1/accounts", &token, app).await.unwrap().json().await.unwrap();
    let outcome = opened["decision"]["outcome"].as_str().unwrap();
    assert!(outcome == "deny" || outcome == "manual_review", "{opened}");
    let id = opened["id"].as_str().unwrap();
    let alerts: Value = get(&format!("/v1/accounts/{id}/alerts"), &analyst).await.unwrap().json().await.unwrap();
    let alert = alerts.as_array().unwrap().iter().find(|a| a["entity_id"] == "21326").unwrap().clone();
    assert_eq!(alert["subject"], "customer");
    let open: Value = get("/v1/alerts?status=open", &analyst).await.unwrap().json().await.unwrap();
    assert!(!open.as_array().unwrap().is_empty());
    let aid = alert["id"].as_str().unwrap();
    let r = post(&format!("/v1/alerts/{aid}/disposition"), &analyst, json!({"disposition": "false_positive"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "a false positive needs a reason");
    let r =
        post(&format!("/v1/alerts/{aid}/disposition"), &analyst, json!({"disposition": "true_match"})).await.unwrap();
    assert_eq!(r.status(), 200);
    let account: Value = get(&format!("/v1/accounts/{id}"), &token).await.unwrap().json().await.unwrap();
    assert_eq!(account["decision"]["outcome"], "deny");
    let again =
        post(&format!("/v1/alerts/{aid}/disposition"), &analyst, json!({"disposition": "escalate"})).await.unwrap();
    assert_eq!(again.status(), 409);
    child.start_kill().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screening_through_cli_and_api_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screening_through_cli_and_api_postgres() {
    run(true).await;
}
