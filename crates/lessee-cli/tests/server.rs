//! One integration binary that drives the real `lessee` executable: servers over HTTP and
//! the CLI, on SQLite and on a real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::type_complexity)] // tests report by panicking

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_lessee");

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/applications")
}

fn fixtures() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(fixtures_dir())
        .expect("shared fixtures present at ../shared/data/applications")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(out.len(), 8, "expected the 8 shared application fixtures");
    out
}

/// Where a test's data lives: a data directory, and a PostgreSQL database for that backend.
struct Db {
    dir: tempfile::TempDir,
    url: Option<String>,
}

impl Db {
    async fn new(postgres: bool) -> Db {
        let url = if postgres { Some(lessee_store::testing::fresh_postgres_url().await.unwrap()) } else { None };
        Db { dir: tempfile::tempdir().unwrap(), url }
    }

    fn args(&self) -> Vec<String> {
        let mut a = vec!["--data-dir".to_owned(), self.dir.path().display().to_string()];
        if let Some(u) = &self.url {
            a.push("--database-url".into());
            a.push(u.clone());
        }
        a
    }

    /// Runs a CLI command; returns (exit code, stdout, stderr).
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

    async fn token(&self, role: &str) -> String {
        let (code, out, err) = self.cli(&["tokens", "create", "--role", role, "--name", &format!("test {role}")]).await;
        assert_eq!(code, 0, "tokens create: {err}");
        let t = out.trim().to_owned();
        assert!(t.starts_with("lessee_") && !t.contains('\n'), "token alone on stdout: {out:?}");
        t
    }

    async fn serve(&self) -> Server {
        self.serve_with(&[], &[]).await
    }

    async fn serve_with(&self, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let log = self.dir.path().join(format!("server-{}.log", uuid_suffix()));
        let mut child = Command::new(BIN)
            .args(self.args())
            .args(["serve", "--listen", "127.0.0.1:0", "--max-body-bytes", "65536"])
            .args(extra)
            .envs(env.iter().copied())
            .env("LESSEE_LOG", "debug")
            .env_remove("LESSEE_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("server did not start within 60 s")
            .unwrap()
            .expect("server exited before listening");
        let base = line.strip_prefix("listening on ").expect("listening line").to_owned();
        Server { child, base, log, http: reqwest::Client::new() }
    }
}

fn uuid_suffix() -> String {
    format!("{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

struct Server {
    child: Child,
    base: String,
    log: PathBuf,
    http: reqwest::Client,
}

struct Resp {
    status: u16,
    ctype: String,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Server {
    async fn req(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut r = self.http.request(method.parse().unwrap(), format!("{}{}", self.base, path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.header("content-type", "application/json").body(b);
        }
        for (k, v) in extra {
            r = r.header(*k, *v);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let ctype = headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let bytes = resp.bytes().await.unwrap();
        let body =
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Resp { status, ctype, headers, body }
    }

    async fn open(&self, token: &str, app: &Value, key: Option<&str>) -> Resp {
        let extra: Vec<(&str, &str)> = key.map(|k| vec![("idempotency-key", k)]).unwrap_or_default();
        self.req("POST", "/v1/accounts", Some(token), Some(serde_json::to_vec(app).unwrap()), &extra).await
    }

    async fn get(&self, token: &str, path: &str) -> Resp {
        self.req("GET", path, Some(token), None, &[]).await
    }

    /// Stops the process: gracefully (SIGTERM) or as a crash (SIGKILL).
    async fn stop(mut self, crash: bool) -> PathBuf {
        if crash {
            self.child.start_kill().unwrap();
        } else if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
        let status =
            tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.expect("server stops").unwrap();
        if !crash {
            assert!(status.success(), "graceful stop exits 0, got {status:?}");
        }
        self.log.clone()
    }
}

/// What the shipped default policy concludes for each fixture at opening (email and phone
/// ownership not yet confirmed): (classification, outcome, reason codes in order).
fn expected(name: &str) -> (&'static str, &'static str, &'static [&'static str]) {
    match name {
        "individual_us_person" | "individual_foreign_located_in_us" => {
            ("us_person", "approve", &["risk_tier", "us_person_no_cip_required"])
        }
        "entity_foreign_with_owners" => (
            "foreign_person",
            "approve_with_conditions",
            &["risk_tier", "verification_pending", "document_verified", "verified", "us_person_no_cip_required"],
        ),
        "reseller_with_sublessees" => (
            "foreign_person",
            "approve_with_conditions",
            &["risk_tier", "verification_pending", "document_verified", "verified", "reseller_adopts_provider_cip"],
        ),
        "individual_foreign_passport" => {
            ("foreign_person", "approve_with_conditions", &["risk_tier", "document_verified", "verification_pending"])
        }
        "individual_bad_mrz" => (
            "foreign_person",
            "manual_review",
            &["risk_tier", "document_check_digit_failed", "document_check_digit_failed", "evidence_failed"],
        ),
        "individual_expired_passport_geo_mismatch" => (
            "foreign_person",
            "manual_review",
            &["risk_tier", "document_expired", "verification_failed", "location_inconsistent"],
        ),
        "individual_sanctioned" => (
            "foreign_person",
            "manual_review",
            &[
                "risk_tier",
                "document_name_transliteration_variant",
                "document_verified",
                "payment_method_not_evidence",
                "verification_pending",
            ],
        ),
        other => panic!("no expectation for fixture {other}"),
    }
}

async fn fixtures_open_and_survive_restart(postgres: bool) {
    let db = Db::new(postgres).await;
    let cp = db.token("control_plane").await;
    let analyst = db.token("analyst").await;
    let server = db.serve().await;
    let mut opened = Vec::new();
    for (name, app) in fixtures() {
        let r = server.open(&cp, &app, None).await;
        assert_eq!(r.status, 201, "{name}: {}", r.body);
        let (status, outcome, reasons) = expected(&name);
        assert_eq!(r.body["classification"]["status"], status, "{name}");
        assert_eq!(r.body["decision"]["outcome"], outcome, "{name}");
        let codes: Vec<&str> =
            r.body["decision"]["reasons"].as_array().unwrap().iter().map(|x| x["code"].as_str().unwrap()).collect();
        // No list is imported here: screening was not possible, recorded last, no effect.
        let mut reasons = reasons.to_vec();
        reasons.push("screening_not_possible");
        assert_eq!(codes, reasons, "{name}");
        let policy = r.body["decision"]["policy_version"].as_str().unwrap();
        assert!(policy.starts_with("default@1+sha256:"), "decided under the installed default: {policy}");
        assert_eq!(r.body["external_id"], app["external_id"]);
        assert!(r.headers.get("location").is_some());
        opened.push((name, r.body));
    }
    // Evidence and rules behind the notable classifications.
    let by = |n: &str| opened.iter().find(|(name, _)| name == n).map(|(_, b)| b.clone()).unwrap();
    let in_us = by("individual_foreign_located_in_us");
    assert_eq!(in_us["classification"]["basis"]["rule"], "located_in_us");
    let kinds: Vec<&str> = in_us["classification"]["basis"]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["address_country", "ip_geolocation"]);
    assert_eq!(by("individual_us_person")["classification"]["basis"]["rule"], "us_citizen");
    // Each reason carries its evidence; an approval with conditions names them.
    let passport = by("individual_foreign_passport");
    let d = &passport["decision"];
    assert_eq!(d["tier"], "standard");
    let conditions: Vec<&str> = d["conditions"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(conditions, ["quota_cap", "no_gpu", "enhanced_monitoring"]);
    let doc = d["reasons"].as_array().unwrap().iter().find(|r| r["code"] == "document_verified").unwrap();
    let kinds: Vec<&str> = doc["evidence"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"document"), "{doc}");
    for pii in ["Müller", "MULLER", "C01X00T47", "Friedrichstraße", "1989-04-12"] {
        assert!(!d.to_string().contains(pii), "no personal data in a decision: {pii}");
    }
    let entity = by("entity_foreign_with_owners");
    let owners: Vec<(&str, &str)> = entity["classification"]["beneficial_owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["status"].as_str().unwrap(), o["basis"]["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(owners, [("foreign_person", "no_us_nexus"), ("us_person", "us_citizen")]);
    let reseller = by("reseller_with_sublessees");
    let subs: Vec<&str> = reseller["classification"]["sub_lessees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(subs, ["lcc-sub-77", "lcc-sub-78"]);

    // Reads: by id, by external id, decision history; analysts may read.
    for (name, body) in &opened {
        let id = body["id"].as_str().unwrap();
        let r = server.get(&analyst, &format!("/v1/accounts/{id}")).await;
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(&r.body, body, "{name}: read equals what was returned at opening");
        let ext = body["external_id"].as_str().unwrap();
        let l = server.get(&analyst, &format!("/v1/accounts?external_id={ext}")).await;
        assert_eq!(l.body["items"].as_array().unwrap().len(), 1);
        let d = server.get(&analyst, &format!("/v1/accounts/{id}/decisions")).await;
        assert_eq!(d.body["decisions"].as_array().unwrap().len(), 1);
        assert_eq!(d.body["decisions"][0], body["decision"]);
    }
    // Pagination walks every account once.
    let mut seen = Vec::new();
    let mut path = "/v1/accounts?limit=3".to_owned();
    loop {
        let page = server.get(&analyst, &path).await;
        assert_eq!(page.status, 200);
        seen.extend(page.body["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/accounts?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8);
    let filtered = server.get(&analyst, "/v1/accounts?classification=us_person&outcome=approve").await;
    assert_eq!(filtered.body["items"].as_array().unwrap().len(), 2);

    // Restart: nothing is lost.
    let log = server.stop(false).await;
    let server = db.serve().await;
    for (name, body) in &opened {
        let r = server.get(&analyst, &format!("/v1/accounts/{}", body["id"].as_str().unwrap())).await;
        assert_eq!(&r.body, body, "{name} after restart");
    }
    let log2 = server.stop(false).await;

    // No personal data in the logs, even at debug level.
    let logs = std::fs::read_to_string(&log).unwrap() + &std::fs::read_to_string(&log2).unwrap();
    assert!(logs.contains("Account opened."), "the server did log");
    for secret in [
        "Müller",
        "MUELLER",
        "k.mueller@example.de",
        "C01X00T47",
        "Okafor",
        "rachel.okafor",
        "Bogachev",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "GB82WEST12345698765432",
        "+49 30 23125000",
        "Friedrichstraße",
        &cp,
        &analyst,
    ] {
        assert!(!logs.contains(secret), "log leaks {secret}");
    }
}

async fn errors_are_problems_and_write_nothing(postgres: bool) {
    let db = Db::new(postgres).await;
    let cp = db.token("control_plane").await;
    let analyst = db.token("analyst").await;
    let server = db.serve().await;
    let base = fixtures().into_iter().find(|(n, _)| n == "individual_foreign_passport").unwrap().1;
    let first = server.open(&cp, &base, Some("key-1")).await;
    assert_eq!(first.status, 201);
    let id = first.body["id"].as_str().unwrap().to_owned();

    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        v["external_id"] = json!("acct-new");
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let huge = with(&|v| v["customer"]["address"]["lines"] = json!(["x".repeat(70_000)]));
    let cases: Vec<(&str, &str, &str, Option<&str>, Option<Vec<u8>>, Vec<(&str, &str)>, u16, &str)> = vec![
        (
            "malformed JSON",
            "POST",
            "/v1/accounts",
            Some(&cp),
            Some(b"{\"external_id\": ".to_vec()),
            vec![],
            400,
            "malformed_json",
        ),
        (
            "wrong type",
            "POST",
            "/v1/accounts",
            Some(&cp),
            Some(with(&|v| v["products"] = json!("gpu"))),
            vec![],
            400,
            "invalid_body",
        ),
        (
            "unknown field",
            "POST",
            "/v1/accounts",
            Some(&cp),
            Some(with(&|v| v["customer"]["nationality"] = json!("DE"))),
            vec![],
            400,
            "unknown_field",
        ),
        (
            "missing field",
            "POST",
            "/v1/accounts",
            Some(&cp),
            Some(with(&|v| {
                v.as_object_mut().unwrap().remove("customer");
            })),
            vec![],
            400,
            "invalid_body",
        ),
        (
            "bad country",
            "POST",
            "/v1/accounts",
            Some(&cp),
            Some(with(&|v| v["customer"]["citizenships"] = json!(["XX"]))),
            vec![],
            422,
            "validation_failed",
        ),
        (
            "bad date",
            "POST",
            "/v1/accounts",
            Some(&cp),
            Some(with(&|v| v["customer"]["date_of_birth"] = json!("1989-13-01"))),
            vec![],
            422,
            "validation_failed",
        ),
        (
            "full card number",
            "POST",
            "/v1/accounts",
            Some(&cp),
            Some(with(&|v| v["payment"]["card"]["number"] = json!("4111111111111111"))),
            vec![],
            422,
            "validation_failed",
        ),
        ("too large", "POST", "/v1/accounts", Some(&cp), Some(huge), vec![], 413, "payload_too_large"),
        ("no token", "POST", "/v1/accounts", None, Some(with(&|_| {})), vec![], 401, "unauthenticated"),
        (
            "bad token",
            "GET",
            "/v1/accounts",
            Some("lessee_0123456789abcdef_nope"),
            None,
            vec![],
            401,
            "unauthenticated",
        ),
        ("garbage token", "GET", "/v1/accounts", Some("hello"), None, vec![], 401, "unauthenticated"),
        ("analyst may not open", "POST", "/v1/accounts", Some(&analyst), Some(with(&|_| {})), vec![], 403, "forbidden"),
        (
            "unknown id",
            "GET",
            "/v1/accounts/01a20973-64a6-7089-9ef9-28ba95c49fbf",
            Some(&analyst),
            None,
            vec![],
            404,
            "not_found",
        ),
        ("not an id", "GET", "/v1/accounts/nope", Some(&analyst), None, vec![], 404, "not_found"),
        ("unknown route", "GET", "/v2/things", Some(&analyst), None, vec![], 404, "not_found"),
        ("wrong method", "DELETE", "/v1/accounts", Some(&cp), None, vec![], 405, "method_not_allowed"),
        (
            "external id taken",
            "POST",
            "/v1/accounts",
            Some(&cp),
            Some(serde_json::to_vec(&base).unwrap()),
            vec![],
            409,
            "external_id_conflict",
        ),
        (
            "key reused, other body",
            "POST",
            "/v1/accounts",
            Some(&cp),
            Some(with(&|_| {})),
            vec![("idempotency-key", "key-1")],
            422,
            "idempotency_key_mismatch",
        ),
        (
            "bad key",
            "POST",
            "/v1/accounts",
            Some(&cp),
            Some(with(&|_| {})),
            vec![("idempotency-key", "has space")],
            400,
            "invalid_idempotency_key",
        ),
        ("unknown filter", "GET", "/v1/accounts?colour=red", Some(&analyst), None, vec![], 400, "invalid_query"),
        ("bad outcome filter", "GET", "/v1/accounts?outcome=maybe", Some(&analyst), None, vec![], 400, "invalid_query"),
        ("bad limit", "GET", "/v1/accounts?limit=0", Some(&analyst), None, vec![], 400, "invalid_query"),
        ("bad cursor", "GET", "/v1/accounts?cursor=zzz", Some(&analyst), None, vec![], 400, "invalid_query"),
    ];
    for (name, method, path, token, body, extra, status, code) in cases {
        let r = server.req(method, path, token, body, &extra).await;
        assert_eq!(r.status, status, "{name}: {}", r.body);
        assert_eq!(r.ctype, "application/problem+json", "{name}");
        assert_eq!(r.body["code"], code, "{name}");
        assert_eq!(r.body["status"], status, "{name}");
        assert_eq!(r.body["type"], format!("urn:lessee:problem:{code}"), "{name}");
        assert!(!r.body["detail"].as_str().unwrap().is_empty(), "{name}");
        let rid = r.body["request_id"].as_str().unwrap();
        assert_eq!(r.headers.get("x-request-id").unwrap().to_str().unwrap(), rid, "{name}");
    }
    // Wrong content type.
    let r = server
        .http
        .post(format!("{}/v1/accounts", server.base))
        .bearer_auth(&cp)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    // Validation reports every problem with its pointer.
    let r = server
        .open(
            &cp,
            &serde_json::from_slice(&with(&|v| {
                v["customer"]["citizenships"] = json!(["XX"]);
                v["signup"]["ip"] = json!("999.1.1.1");
            }))
            .unwrap(),
            None,
        )
        .await;
    let ptrs: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    assert_eq!(ptrs, ["/customer/citizenships/0", "/signup/ip"]);
    // The conflict names the account that holds the id.
    let r = server.open(&cp, &base, None).await;
    assert_eq!(r.body["existing_account_id"], id.as_str());
    // Nothing above wrote anything.
    let all = server.get(&analyst, "/v1/accounts").await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 1);
    // The same key and body replays the first account.
    let again = server.open(&cp, &base, Some("key-1")).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], id.as_str());
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    // Operations endpoints.
    assert_eq!(server.req("GET", "/healthz", None, None, &[]).await.status, 200);
    assert_eq!(server.req("GET", "/readyz", None, None, &[]).await.status, 200);
    let m = server.req("GET", "/metrics", None, None, &[]).await;
    assert!(m.body.as_str().unwrap().contains("lessee_accounts_opened_total"));
    let doc = server.req("GET", "/openapi.json", None, None, &[]).await;
    assert_eq!(doc.body["openapi"], "3.1.0");
    server.stop(false).await;
}

async fn acknowledged_write_survives_kill_9(postgres: bool) {
    let db = Db::new(postgres).await;
    let cp = db.token("control_plane").await;
    let server = db.serve().await;
    let mut ids = Vec::new();
    for (_, app) in fixtures() {
        let r = server.open(&cp, &app, None).await;
        assert_eq!(r.status, 201);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    server.stop(true).await;
    let server = db.serve().await;
    for id in &ids {
        assert_eq!(server.get(&cp, &format!("/v1/accounts/{id}")).await.status, 200, "{id} lost after kill -9");
    }
    server.stop(false).await;
}

async fn cli_mirrors_the_api(postgres: bool) {
    let db = Db::new(postgres).await;
    let file = fixtures_dir().join("individual_us_person.json");
    let (code, out, err) = db.cli(&["accounts", "open", file.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");
    let acc: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(acc["decision"]["outcome"], "approve");
    let id = acc["id"].as_str().unwrap();
    let (code, out, _) = db.cli(&["accounts", "show", id]).await;
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(out.trim()).unwrap(), acc);
    let (code, out, _) = db.cli(&["accounts", "list", "--external-id", "acct-1002"]).await;
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1);
    let (code, out, _) = db.cli(&["accounts", "decisions", id]).await;
    assert_eq!((code, out.lines().count()), (0, 1));
    // Exit codes a script can rely on.
    let (code, _, err) = db.cli(&["accounts", "open", file.to_str().unwrap()]).await;
    assert_eq!(code, 5, "conflict: {err}");
    assert!(err.contains("external_id_conflict") && err.contains(id), "{err}");
    let (code, _, err) = db.cli(&["accounts", "show", "01a20973-64a6-7089-9ef9-28ba95c49fbf"]).await;
    assert_eq!(code, 3, "{err}");
    let bad = db.dir.path().join("bad.json");
    std::fs::write(&bad, br#"{"external_id": "x", "account_type": "standard", "opening_method": "self_service", "customer": {"kind": "individual", "name": {"given": "A"}, "citizenships": ["XX"]}}"#).unwrap();
    let (code, _, err) = db.cli(&["accounts", "open", bad.to_str().unwrap()]).await;
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("/customer/citizenships/0"), "{err}");
    let (code, _, _) = db.cli(&["accounts", "open", "/nonexistent/file.json"]).await;
    assert_eq!(code, 8);
    let (code, _, err) = db.cli(&["tokens", "create", "--role", "emperor", "--name", "x"]).await;
    assert_eq!(code, 2, "{err}");
    // Tokens: listed without secrets, revoked tokens stop working.
    let cp = db.token("control_plane").await;
    let (code, out, _) = db.cli(&["tokens", "list"]).await;
    assert_eq!(code, 0);
    let secret = cp.splitn(3, '_').nth(2).unwrap(); // lessee_<id>_<secret>; the secret may hold '_'
    assert!(secret.len() >= 40, "{secret}");
    assert!(!out.contains(secret), "token list must not print secrets");
    let token_id = cp.split('_').nth(1).unwrap();
    assert!(out.contains(token_id));
    let server = db.serve().await;
    assert_eq!(server.get(&cp, "/v1/accounts").await.status, 200);
    let (code, _, _) = db.cli(&["tokens", "revoke", token_id]).await;
    assert_eq!(code, 0);
    let r = server.get(&cp, "/v1/accounts").await;
    assert_eq!(r.status, 401);
    let (code, _, _) = db.cli(&["tokens", "revoke", token_id]).await;
    assert_eq!(code, 3, "revoking twice: not found");
    server.stop(false).await;
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(false).await } )*
        }
        mod postgres_backend {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(true).await } )*
        }
    };
}

async fn access_events_answer_the_investigators_question(postgres: bool) {
    let db = Db::new(postgres).await;
    let cp = db.token("control_plane").await;
    let legal = db.token("legal").await;
    let server = db.serve().await;
    let mut ids = std::collections::HashMap::new();
    for (_, app) in fixtures() {
        let r = server.open(&cp, &app, None).await;
        ids.insert(app["external_id"].as_str().unwrap().to_owned(), r.body["id"].as_str().unwrap().to_owned());
    }
    let text = std::fs::read_to_string(fixtures_dir().join("access_events.ndjson")).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let count = |f: &dyn Fn(&Value) -> bool| lines.iter().filter(|e| f(e)).count();
    let post = |body: String, ctype: &'static str, mode: &'static str| {
        let req = server
            .http
            .post(format!("{}/v1/access-events?mode={mode}", server.base))
            .bearer_auth(&cp)
            .header("content-type", ctype)
            .body(body);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (status, serde_json::from_str::<Value>(&text).unwrap_or_else(|_| panic!("{status}: {text}")))
        }
    };
    // A batch with a bad line is refused whole by default, with the line number.
    let bad = format!(
        "{}\n{}\n{}\n",
        lines[0],
        r#"{"account": "acct-1002", "ip": "999.1.1.1", "at": "2026-11-22T01:00:00Z", "action": "x", "kind": "access"}"#,
        r#"{"account": "acct-none", "ip": "1.1.1.1", "at": "2026-11-22T01:00:00Z", "action": "x", "kind": "access"}"#
    );
    let (status, body) = post(bad.clone(), "application/x-ndjson", "atomic").await;
    assert_eq!(status, 422, "{body}");
    let ptrs: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    assert_eq!(ptrs, ["/2/ip", "/3/account"]);
    let acct1002 = ids["acct-1002"].clone();
    let path = |id: &str| {
        format!("/v1/accounts/{id}/access-events?from=2026-11-21T00:00:00Z&to=2026-11-24T00:00:00Z&limit=1000")
    };
    const LEGAL: &[(&str, &str)] = &[("lessee-purpose", "legal_process")];
    let legal_get = |p: String| {
        let (s, l) = (&server, &legal);
        async move { s.req("GET", &p, Some(l), None, LEGAL).await }
    };
    assert_eq!(legal_get(path(&acct1002)).await.body["items"].as_array().unwrap().len(), 0, "nothing written");
    // Partial mode keeps the good line and reports the others.
    let (status, body) = post(bad, "application/x-ndjson", "partial").await;
    assert_eq!(status, 200);
    assert_eq!(body["accepted"], 1);
    assert_eq!(
        body["rejected"].as_array().unwrap().iter().map(|r| r["line"].as_u64().unwrap()).collect::<Vec<_>>(),
        [2, 3]
    );
    // The whole day, as a JSON array this time.
    let array = serde_json::to_string(&lines[1..]).unwrap();
    let (status, body) = post(array, "application/json", "atomic").await;
    assert_eq!((status, body["accepted"].as_u64()), (200, Some(599)), "{body}");
    // Ongoing verification: access from a country none of an account's evidence names opens a
    // review; access from the customer's own country does not.
    let analyst = db.token("analyst").await;
    let cases = |ext: &str| {
        let (s, a, id) = (&server, analyst.clone(), ids[ext].clone());
        async move { s.get(&a, &format!("/v1/reviews?status=all&account_id={id}")).await.body }
    };
    let ru = cases("acct-2001").await;
    let reasons: Vec<&str> = ru.as_array().unwrap().iter().map(|c| c["reason"].as_str().unwrap()).collect();
    assert!(reasons.iter().any(|r| r.starts_with("access from a new jurisdiction") && r.contains("RU")), "{ru}");
    let de = cases("acct-1001").await;
    assert!(
        !de.as_array().unwrap().iter().any(|c| c["reason"].as_str().unwrap().contains("jurisdiction")),
        "home-country access opens nothing: {de}"
    );

    // One account's events, paged.
    let acct2001 = ids["acct-2001"].clone();
    let mut seen = 0;
    let mut p =
        format!("/v1/accounts/{acct2001}/access-events?from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z&limit=50");
    loop {
        let r = legal_get(p.clone()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        seen += r.body["items"].as_array().unwrap().len();
        match r.body["next_cursor"].as_str() {
            Some(c) => {
                p = format!(
                    "/v1/accounts/{acct2001}/access-events?from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z&limit=50&cursor={c}"
                )
            }
            None => break,
        }
    }
    assert_eq!(seen, count(&|e| e["account"] == "acct-2001"));
    // The investigator's question: which accounts were seen from an address or a range.
    let cases: Vec<(&str, usize, Vec<&str>)> = vec![
        ("81.2.69.160", count(&|e| e["ip"] == "81.2.69.160"), vec!["acct-2001"]),
        ("80.133.10.0/24", count(&|e| e["ip"].as_str().unwrap().starts_with("80.133.10.")), vec!["acct-1001"]),
        ("80.133.10.8/29", count(&|e| e["ip"] == "80.133.10.9"), vec!["acct-1001"]),
        ("95.24.0.0/16", count(&|e| e["ip"].as_str().unwrap().starts_with("95.24.")), vec!["acct-2001"]),
        ("2003:e1::/32", count(&|e| e["ip"].as_str().unwrap().starts_with("2003:e1:")), vec!["acct-1001"]),
        ("10.0.0.0/8", 0, vec![]),
    ];
    for (q, n, accounts) in cases {
        let r = legal_get(format!(
            "/v1/access-events?ip={}&from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z&limit=1000",
            q.replace('/', "%2F")
        ))
        .await;
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        assert_eq!(r.body["items"].as_array().unwrap().len(), n, "{q}");
        let want: Vec<String> = accounts.iter().map(|a| ids[*a].clone()).collect();
        let got: Vec<String> =
            r.body["accounts"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect();
        assert_eq!(got, want, "{q}");
        assert!(n > 0 || q == "10.0.0.0/8");
    }
    // Reading events is purpose-bound.
    let r = server
        .req("GET", "/v1/access-events?ip=81.2.69.160", Some(&cp), None, &[("lessee-purpose", "legal_process")])
        .await;
    assert_eq!(r.status, 403);
    let r = server
        .req("GET", "/v1/access-events?ip=not-an-ip", Some(&legal), None, &[("lessee-purpose", "legal_process")])
        .await;
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("invalid_query")));
    server.stop(false).await;
    // The CLI imports the same format.
    let (code, out, err) =
        db.cli(&["events", "import", fixtures_dir().join("access_events.ndjson").to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Value>(out.trim()).unwrap()["accepted"], 600);
}

async fn holds_and_closure_over_http_and_cli(postgres: bool) {
    let db = Db::new(postgres).await;
    let cp = db.token("control_plane").await;
    let legal = db.token("legal").await;
    let server = db.serve().await;
    let app = fixtures().into_iter().find(|(n, _)| n == "individual_us_person").unwrap().1;
    let id = server.open(&cp, &app, None).await.body["id"].as_str().unwrap().to_owned();
    assert_eq!(server.req("POST", &format!("/v1/accounts/{id}/close"), Some(&cp), None, &[]).await.status, 204);
    assert_eq!(
        server.req("POST", &format!("/v1/accounts/{id}/close"), Some(&cp), None, &[]).await.status,
        404,
        "closed twice"
    );
    let hold = |body: Value| serde_json::to_vec(&body).unwrap();
    let r = server
        .req(
            "POST",
            "/v1/legal-holds",
            Some(&cp),
            Some(hold(json!({"account_id": id, "reason": "r", "reference": "x"}))),
            &[],
        )
        .await;
    assert_eq!(r.status, 403, "only legal (and admin) place holds");
    let r = server
        .req(
            "POST",
            "/v1/legal-holds",
            Some(&legal),
            Some(hold(json!({"account_id": id, "ip": "1.2.3.4", "reason": "r", "reference": "x"}))),
            &[],
        )
        .await;
    assert_eq!((r.status, r.body["code"].as_str()), (422, Some("validation_failed")));
    let r = server
        .req(
            "POST",
            "/v1/legal-holds",
            Some(&legal),
            Some(hold(json!({"ip": "81.2.69.0/24", "reason": "subpoena", "reference": "23-cr-7"}))),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let hid = r.body["id"].as_str().unwrap().to_owned();
    let list = server.req("GET", "/v1/legal-holds", Some(&legal), None, &[]).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(
        server.req("POST", &format!("/v1/legal-holds/{hid}/release"), Some(&legal), None, &[]).await.status,
        204
    );
    assert_eq!(server.req("GET", "/v1/legal-holds", Some(&legal), None, &[]).await.body.as_array().unwrap().len(), 0);
    server.stop(false).await;
    // Nothing is due today: the account was closed just now.
    let (code, out, err) = db.cli(&["retention", "run"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Value>(out.trim()).unwrap()["destroyed"], json!([]));
    let (code, _, err) = db.cli(&["--retention-days", "30", "retention", "run"]).await;
    assert_eq!(code, 2, "less than two years is refused: {err}");
}

/// Reads a tar bundle into (path, bytes) pairs, in order.
fn untar(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut a = tar::Archive::new(bytes);
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let p = e.path().unwrap().to_string_lossy().into_owned();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            (p, b)
        })
        .collect()
}

fn retar(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, d) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(d.len() as u64);
        h.set_mode(0o600);
        b.append_data(&mut h, p, d.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

async fn legal_exports_verify_without_the_server(postgres: bool) {
    let db = Db::new(postgres).await;
    let cp = db.token("control_plane").await;
    let legal = db.token("legal").await;
    let server = db.serve().await;
    let mut ids = std::collections::HashMap::new();
    for (_, app) in fixtures() {
        let r = server.open(&cp, &app, None).await;
        ids.insert(app["external_id"].as_str().unwrap().to_owned(), r.body["id"].as_str().unwrap().to_owned());
    }
    let events = std::fs::read_to_string(fixtures_dir().join("access_events.ndjson")).unwrap();
    let r = server
        .http
        .post(format!("{}/v1/access-events", server.base))
        .bearer_auth(&cp)
        .header("content-type", "application/x-ndjson")
        .body(events.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let lines: Vec<Value> = events.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let id = ids["acct-2001"].clone();
    // A read before the production: it must show up in the bundle's audit trail.
    let r = server
        .req(
            "GET",
            &format!("/v1/accounts/{id}/application"),
            Some(&legal),
            None,
            &[("lessee-purpose", "legal_process")],
        )
        .await;
    assert_eq!(r.status, 200);
    let export = |token: &str, purpose: &str, body: Value| {
        let req = server
            .http
            .post(format!("{}/v1/exports", server.base))
            .bearer_auth(token)
            .header("lessee-purpose", purpose)
            .header("content-type", "application/json")
            .body(body.to_string());
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let ctype = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            (status, ctype, r.bytes().await.unwrap().to_vec())
        }
    };
    let period = json!({"account_id": id, "from": "2026-11-22T00:00:00Z", "to": "2026-11-23T00:00:00Z",
        "reference": "GJ-2026-118"});
    // Purpose and role are checked; bad requests are problems.
    let (status, ctype, body) = export(&legal, "review", period.clone()).await;
    assert_eq!((status, ctype.as_str()), (400, "application/problem+json"), "{}", String::from_utf8_lossy(&body));
    assert_eq!(export(&cp, "legal_process", period.clone()).await.0, 403);
    let (status, _, body) =
        export(&legal, "legal_process", json!({"account_id": id, "ip": "1.2.3.4", "reference": "x"})).await;
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
    let (status, _, _) = export(&legal, "legal_process", json!({"account_id": id, "reference": "x", "extra": 1})).await;
    assert_eq!(status, 400);
    let missing = "0190a0a0-0000-7000-8000-000000000000";
    assert_eq!(export(&legal, "legal_process", json!({"account_id": missing, "reference": "x"})).await.0, 404);

    let (status, ctype, bundle) = export(&legal, "legal_process", period).await;
    assert_eq!((status, ctype.as_str()), (200, "application/x-tar"), "{}", String::from_utf8_lossy(&bundle));
    let files = untar(&bundle);
    let get = |p: &str| files.iter().find(|(n, _)| n == p).map(|(_, b)| b.clone()).unwrap_or_else(|| panic!("{p}"));
    let dir = format!("accounts/{id}");
    let app: Value = serde_json::from_slice(&get(&format!("{dir}/application.json"))).unwrap();
    assert_eq!(app["external_id"], "acct-2001");
    let want = lines
        .iter()
        .filter(|e| e["account"] == "acct-2001" && e["at"].as_str().unwrap().starts_with("2026-11-22"))
        .count();
    let got = String::from_utf8(get(&format!("{dir}/access_events.ndjson"))).unwrap();
    assert_eq!(got.lines().count(), want);
    assert!(want > 0);
    let audit = String::from_utf8(get(&format!("{dir}/audit_records.ndjson"))).unwrap();
    let actions: Vec<String> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["record"]["event"]["action"].as_str().unwrap().to_owned())
        .collect();
    for a in ["account.open", "account.application.read", "export.account"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    let manifest: Value = serde_json::from_slice(&get("manifest.json")).unwrap();
    assert_eq!(manifest["reference"], "GJ-2026-118");
    assert_eq!(manifest["accounts"][0]["access_events"].as_u64(), Some(want as u64));

    // Verified without the server, against the pinned key.
    let (_, key, _) = db.cli(&["audit", "public-key"]).await;
    let path = db.dir.path().join("bundle.tar");
    std::fs::write(&path, &bundle).unwrap();
    let verify = |p: PathBuf, key: String| {
        let db = &db;
        async move { db.cli(&["export", "verify", p.to_str().unwrap(), "--public-key", key.trim()]).await }
    };
    let (code, out, err) = verify(path.clone(), key.clone()).await;
    assert_eq!(code, 0, "{out} {err}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((report["ok"].as_bool(), report["key_pinned"].as_bool()), (Some(true), Some(true)));
    assert_eq!(report["audit_records"].as_u64(), Some(actions.len() as u64));

    // Tampering, each kind caught (exit 9).
    let tamper = |f: &dyn Fn(&mut Vec<(String, Vec<u8>)>)| {
        let mut files = files.clone();
        f(&mut files);
        retar(&files)
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "edited application",
            tamper(&|fs| {
                let f = fs.iter_mut().find(|(n, _)| n.ends_with("application.json")).unwrap();
                f.1 = String::from_utf8(f.1.clone()).unwrap().replace("acct-2001", "acct-2002").into_bytes();
            }),
            "does not match its hash",
        ),
        (
            "removed events file",
            tamper(&|fs| fs.retain(|(n, _)| !n.ends_with("access_events.ndjson"))),
            "listed but missing",
        ),
        ("added file", tamper(&|fs| fs.push(("accounts/extra.json".into(), b"{}".to_vec()))), "not in the manifest"),
        (
            "re-hashed manifest",
            tamper(&|fs| {
                let m = fs.iter_mut().find(|(n, _)| n == "manifest.json").unwrap();
                m.1 = String::from_utf8(m.1.clone()).unwrap().replace("GJ-2026-118", "GJ-2026-119").into_bytes();
            }),
            "signs a different manifest",
        ),
        (
            "forged audit record",
            tamper(&|fs| {
                let f = fs.iter_mut().find(|(n, _)| n.ends_with("audit_records.ndjson")).unwrap();
                f.1 =
                    String::from_utf8(f.1.clone()).unwrap().replacen("\"legal_process\"", "\"review\"", 1).into_bytes();
            }),
            "does not match its hash",
        ),
    ];
    for (what, bytes, want) in cases {
        let p = db.dir.path().join("tampered.tar");
        std::fs::write(&p, bytes).unwrap();
        let (code, out, _) = verify(p, key.clone()).await;
        assert_eq!(code, 9, "{what}: {out}");
        assert!(out.contains(want), "{what}: {out}");
    }
    // A key that is not the provider's.
    let other = "lessee/audit+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (code, _, _) = verify(path.clone(), other.into()).await;
    assert_ne!(code, 0);
    let (code, _, err) = db.cli(&["export", "verify", db.dir.path().join("nope.tar").to_str().unwrap()]).await;
    assert_eq!(code, 8, "{err}");

    // Every account seen from a range, in one bundle.
    let (status, _, bundle) = export(
        &legal,
        "legal_process",
        json!({"ip": "95.24.0.0/16", "from": "2026-11-22T00:00:00Z", "to": "2026-11-23T00:00:00Z", "reference": "W-7"}),
    )
    .await;
    assert_eq!(status, 200);
    let files = untar(&bundle);
    let m: Value = serde_json::from_slice(&files.iter().find(|(n, _)| n == "manifest.json").unwrap().1).unwrap();
    assert_eq!(m["scope"]["ip"], "95.24.0.0/16");
    let accounts: Vec<&str> = m["accounts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(accounts, [id.as_str()]);
    let top = &files.iter().find(|(n, _)| n == "access_events.ndjson").unwrap().1;
    let want_ip = lines.iter().filter(|e| e["ip"].as_str().unwrap().starts_with("95.24.")).count();
    assert_eq!(String::from_utf8_lossy(top).lines().count(), want_ip);
    server.stop(false).await;

    // The CLI produces the same, and refuses an incomplete request.
    let out = db.dir.path().join("cli.tar");
    let (code, _, err) = db
        .cli(&[
            "export",
            "--account",
            &id,
            "--from",
            "2026-11-22T00:00:00Z",
            "--to",
            "2026-11-23T00:00:00Z",
            "--reference",
            "GJ-2026-118",
            "--out",
            out.to_str().unwrap(),
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    let (code, report, _) = verify(out, key.clone()).await;
    assert_eq!(code, 0, "{report}");
    let (code, _, err) = db.cli(&["export", "--account", &id, "--reference", "x"]).await;
    assert_eq!(code, 2, "{err}");
}

fn default_policy_source() -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lessee-policy/policies/default.toml"))
        .unwrap()
}

async fn policy_versions_are_audited_and_exported(postgres: bool) {
    let db = Db::new(postgres).await;
    let admin = db.token("admin").await;
    let cp = db.token("control_plane").await;
    let auditor = db.token("auditor").await;
    let server = db.serve().await;
    let r = server.get(&auditor, "/v1/policy").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["version"], 1);
    assert!(r.body["policy_id"].as_str().unwrap().starts_with("default@1+sha256:"));
    assert_eq!(r.body["source"].as_str().unwrap(), default_policy_source(), "the shipped default, as shipped");
    let post = |token: &str, body: Value| {
        let (s, t) = (&server, token.to_owned());
        async move { s.req("POST", "/v1/policy", Some(&t), Some(body.to_string().into_bytes()), &[]).await }
    };
    let v2 = default_policy_source().replace("version = 1", "version = 2");
    assert_eq!(post(&cp, json!({"source": v2, "note": "x"})).await.status, 403, "admin only");
    // An invalid policy is refused with its line and column, and nothing changes.
    let r = post(&admin, json!({"source": "[policy]\nname = 1\n", "note": "broken"})).await;
    assert_eq!((r.status, r.body["code"].as_str()), (422, Some("validation_failed")), "{}", r.body);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().starts_with("2:"), "{}", r.body);
    assert_eq!(post(&admin, json!({"source": v2, "note": " "})).await.status, 422, "a note is required");
    assert_eq!(server.get(&auditor, "/v1/policy/history").await.body.as_array().unwrap().len(), 1);
    // A new version: decisions record it.
    let r = post(&admin, json!({"source": v2, "note": "raise the version for the annual review"})).await;
    assert_eq!((r.status, r.body["version"].as_i64()), (200, Some(2)), "{}", r.body);
    let r = post(&admin, json!({"source": v2, "note": "again"})).await;
    assert_eq!(r.body["version"], 2, "the same policy changes nothing");
    let app = fixtures().into_iter().find(|(n, _)| n == "individual_foreign_passport").unwrap().1;
    let opened = server.open(&cp, &app, None).await;
    assert!(opened.body["decision"]["policy_version"].as_str().unwrap().starts_with("default@2+"), "{}", opened.body);
    // A version installed through the CLI (as by another server) is picked up by the server.
    let v3 = default_policy_source().replace("version = 1", "version = 3");
    let file = db.dir.path().join("v3.toml");
    std::fs::write(&file, &v3).unwrap();
    let (code, out, err) = db.cli(&["policy", "set", file.to_str().unwrap(), "--note", "from the CLI"]).await;
    assert_eq!(code, 0, "{out} {err}");
    let mut picked = false;
    for i in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let app = with_external(&app, &format!("policy-refresh-{i}"));
        let v = server.open(&cp, &app, None).await.body["decision"]["policy_version"].as_str().unwrap().to_owned();
        if v.starts_with("default@3+") {
            picked = true;
            break;
        }
    }
    assert!(picked, "the server picks up a version installed elsewhere within seconds");
    let history = server.get(&auditor, "/v1/policy/history").await.body;
    let notes: Vec<&str> = history.as_array().unwrap().iter().map(|v| v["note"].as_str().unwrap()).collect();
    assert_eq!(notes.len(), 3);
    assert_eq!(&notes[1..], ["raise the version for the annual review", "from the CLI"]);
    // The copy of the CIP, over HTTP: signed, with every version and the audited changes.
    assert_eq!(server.req("POST", "/v1/exports/cip", Some(&cp), None, &[]).await.status, 403);
    let resp = server.http.post(format!("{}/v1/exports/cip", server.base)).bearer_auth(&auditor).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let bundle = resp.bytes().await.unwrap().to_vec();
    let files = untar(&bundle);
    let get = |p: &str| files.iter().find(|(n, _)| n == p).map(|(_, b)| b.clone()).unwrap_or_else(|| panic!("{p}"));
    assert_eq!(String::from_utf8(get("policy.toml")).unwrap(), v3);
    assert_eq!(String::from_utf8(get("history/v1.toml")).unwrap(), default_policy_source());
    let hist: Value = serde_json::from_slice(&get("history.json")).unwrap();
    assert_eq!(hist.as_array().unwrap().len(), 3);
    let actions: Vec<String> = String::from_utf8(get("policy/audit_records.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["record"]["event"]["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["policy.install", "policy.change", "policy.change", "export.cip"]);
    let (_, key, _) = db.cli(&["audit", "public-key"]).await;
    let path = db.dir.path().join("cip.tar");
    std::fs::write(&path, &bundle).unwrap();
    let (code, out, _) = db.cli(&["export", "verify", path.to_str().unwrap(), "--public-key", key.trim()]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"audit_records\":4"), "{out}");
    server.stop(false).await;
    // The CLI: check with precise errors, test cases, show, and the CIP copy.
    let bad = db.dir.path().join("bad.toml");
    std::fs::write(&bad, "[policy]\nname = \"x\"\nversion = \"one\"\n").unwrap();
    let (code, _, err) = db.cli(&["policy", "check", bad.to_str().unwrap()]).await;
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("bad.toml:3:"), "line of the problem: {err}");
    let (code, out, _) = db.cli(&["policy", "check", file.to_str().unwrap()]).await;
    assert_eq!(code, 0);
    assert!(out.contains("default@3+sha256:"));
    let (code, out, err) = db
        .cli(&[
            "policy",
            "test",
            file.to_str().unwrap(),
            "--cases",
            fixtures_dir().to_str().unwrap(),
            "--at",
            "2026-11-23T12:00:00Z",
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), fixtures().len());
    for l in &lines {
        let name = l["case"].as_str().unwrap().trim_end_matches(".json");
        assert_eq!(l["outcome"], expected(name).1, "{name}");
    }
    let (code, out, _) = db.cli(&["policy", "show"]).await;
    assert_eq!((code, out.as_str()), (0, v3.as_str()));
    let cip = db.dir.path().join("cip-cli.tar");
    let (code, _, err) = db.cli(&["export", "cip", "--out", cip.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = db.cli(&["export", "verify", cip.to_str().unwrap(), "--public-key", key.trim()]).await;
    assert_eq!(code, 0, "{out}");
}

/// `lessee mrz check`: parsed fields and checks as JSON; exit 0 valid, 1 not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mrz_check_reports_each_check() {
    use tokio::io::AsyncWriteExt;
    async fn run(input: &str, args: &[&str]) -> (i32, String) {
        let mut child = Command::new(BIN)
            .args(["mrz", "check"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).await.unwrap();
        let out = child.wait_with_output().await.unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap())
    }
    // ICAO 9303-4 specimen.
    let good = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10\n";
    let (code, out) = run(good, &["--reference", "2010-01-01"]).await;
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((v["surname"].as_str(), v["document_number"].as_str()), (Some("ERIKSSON"), Some("L898902C3")));
    assert_eq!(v["checks"].as_array().unwrap().len(), 8);
    let bad = good.replace("<<<<<10", "<<<<<11");
    let (code, out) = run(&bad, &["--reference", "2010-01-01"]).await;
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let failed: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["composite_check_digit"]);
    let (code, out) = run("not an mrz\n", &[]).await;
    assert_eq!(code, 1);
    assert!(out.contains("\"error\""), "{out}");
    let (code, out) = run(&format!("{good}\n{bad}"), &["--batch", "--reference", "2010-01-01"]).await;
    assert_eq!((code, out.lines().count()), (1, 2), "{out}");
    assert_eq!(run(good, &["--reference", "yesterday"]).await.0, 2);
}

/// Fixes the document-number check digit (and the composite) of a TD3 MRZ.
fn fix_td3(mrz: &str) -> String {
    use lessee_domain::mrz::check_digit;
    let (l1, l2) = mrz.split_once('\n').unwrap();
    let mut l2: Vec<u8> = l2.as_bytes().to_vec();
    l2[9] = b'0' + check_digit(std::str::from_utf8(&l2[0..9]).unwrap()).unwrap();
    let composite: String =
        [&l2[0..10], &l2[13..20], &l2[21..43]].iter().map(|p| std::str::from_utf8(p).unwrap()).collect();
    l2[43] = b'0' + check_digit(&composite).unwrap();
    format!("{l1}\n{}", String::from_utf8(l2).unwrap())
}

async fn resubmission_is_decided_again(postgres: bool) {
    let db = Db::new(postgres).await;
    let cp = db.token("control_plane").await;
    let analyst = db.token("analyst").await;
    let legal = db.token("legal").await;
    let server = db.serve().await;
    let app = fixtures().into_iter().find(|(n, _)| n == "individual_bad_mrz").unwrap().1;
    let r = server.open(&cp, &app, None).await;
    assert_eq!(r.body["decision"]["outcome"], "manual_review");
    let id = r.body["id"].as_str().unwrap().to_owned();
    // An event sealed before the resubmission stays readable after it (same data key).
    let ev = json!([{"account_id": id, "ip": "24.114.0.8", "at": "2026-11-22T10:00:00Z", "action": "console.login", "kind": "access"}]);
    assert_eq!(
        server.req("POST", "/v1/access-events", Some(&cp), Some(ev.to_string().into_bytes()), &[]).await.status,
        200
    );
    let mut fixed = app.clone();
    let mrz = fixed["documents"][0]["mrz"].as_str().unwrap().to_owned();
    fixed["documents"][0]["mrz"] = Value::String(fix_td3(&mrz));
    let put = |token: &str, body: &Value, path: String| {
        let (s, t, b) = (&server, token.to_owned(), body.to_string().into_bytes());
        async move { s.req("PUT", &path, Some(&t), Some(b), &[]).await }
    };
    let path = format!("/v1/accounts/{id}/application");
    assert_eq!(put(&analyst, &fixed, path.clone()).await.status, 403);
    let mut other = fixed.clone();
    other["external_id"] = json!("someone-else");
    let r = put(&cp, &other, path.clone()).await;
    assert_eq!((r.status, r.body["errors"][0]["code"].as_str()), (422, Some("external_id_changed")), "{}", r.body);
    let missing = "/v1/accounts/0190a0a0-0000-7000-8000-000000000000/application".to_owned();
    assert_eq!(put(&cp, &fixed, missing).await.status, 404);
    let r = put(&cp, &fixed, path.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["decision"]["outcome"], "approve_with_conditions", "{}", r.body);
    assert_eq!(r.body["decision"]["trigger"], "resubmission");
    let codes: Vec<&str> =
        r.body["decision"]["reasons"].as_array().unwrap().iter().map(|x| x["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"document_verified") && !codes.contains(&"document_check_digit_failed"), "{codes:?}");
    let history = server.get(&analyst, &format!("/v1/accounts/{id}/decisions")).await.body;
    let outcomes: Vec<&str> =
        history["decisions"].as_array().unwrap().iter().map(|d| d["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["manual_review", "approve_with_conditions"]);
    assert_eq!(
        server.get(&analyst, &format!("/v1/accounts/{id}")).await.body["decision"]["outcome"],
        "approve_with_conditions"
    );
    const LEGAL: &[(&str, &str)] = &[("lessee-purpose", "legal_process")];
    let stored = server.req("GET", &path, Some(&legal), None, LEGAL).await;
    assert_eq!(stored.body["documents"][0]["mrz"], fixed["documents"][0]["mrz"]);
    assert_eq!(stored.body, fixed, "the resubmitted application comes back as it was sent");
    let events = server
        .req(
            "GET",
            &format!("/v1/accounts/{id}/access-events?from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z"),
            Some(&legal),
            None,
            LEGAL,
        )
        .await;
    assert_eq!(events.body["items"][0]["ip"], "24.114.0.8", "{}", events.body);
    server.stop(false).await;
    // The CLI does the same.
    let file = db.dir.path().join("again.json");
    std::fs::write(&file, serde_json::to_vec(&app).unwrap()).unwrap();
    let (code, out, err) = db.cli(&["accounts", "resubmit", &id, file.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Value>(out.trim()).unwrap()["decision"]["outcome"], "manual_review");
}

/// A real SMTP server (aiosmtpd from the project venv) writing to a maildir; killed on drop.
struct SmtpSink {
    child: std::process::Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl SmtpSink {
    fn start(dir: &Path) -> SmtpSink {
        let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/test.sh (it creates the venv with aiosmtpd)",
            python.display()
        );
        let port = free_port();
        let maildir = dir.join("maildir");
        let child = std::process::Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd (run scripts/test.sh to create the venv)");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "aiosmtpd did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpSink { child, port, maildir }
    }

    /// The six-digit code of the newest message to `to`.
    fn code_for(&self, to: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mut msgs: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(self.maildir.join("new"))
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| {
                            (e.metadata().unwrap().modified().unwrap(), std::fs::read_to_string(e.path()).unwrap())
                        })
                        .filter(|(_, m)| m.contains(to))
                        .collect()
                })
                .unwrap_or_default();
            msgs.sort();
            if let Some((_, m)) = msgs.last() {
                // The body follows the headers; the default template says "code is NNNNNN".
                let body = m.split_once("\n\n").map_or(m.as_str(), |(_, b)| b);
                return six_digits(body).unwrap_or_else(|| panic!("no code in {m}"));
            }
            assert!(std::time::Instant::now() < deadline, "no message to {to}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn six_digits(text: &str) -> Option<String> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(5)).find_map(|i| {
        let w = &b[i..i + 6];
        let edge = |j: Option<&u8>| j.is_none_or(|c| !c.is_ascii_digit());
        (w.iter().all(u8::is_ascii_digit) && edge(i.checked_sub(1).and_then(|k| b.get(k))) && edge(b.get(i + 6)))
            .then(|| String::from_utf8(w.to_vec()).unwrap())
    })
}

/// A local SMS gateway: records each signed webhook body.
async fn sms_gateway() -> (String, std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>) {
    use axum::routing::post;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/sms",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let s = s.clone();
            async move {
                let sig = headers.get("lessee-signature").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
                s.lock().unwrap().push((sig, serde_json::from_str(&body).unwrap()));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn contact_ownership_by_one_time_code(postgres: bool) {
    let db = Db::new(postgres).await;
    let cp = db.token("control_plane").await;
    let analyst = db.token("analyst").await;
    let sink = SmtpSink::start(db.dir.path());
    let (sms_url, sms) = sms_gateway().await;
    let port = sink.port.to_string();
    let secret = "sms-gateway-secret-0123456789";
    let server = db
        .serve_with(
            &["--smtp-host", "127.0.0.1", "--smtp-port", &port, "--smtp-tls", "none", "--sms-webhook-url", &sms_url],
            &[("LESSEE_SMS_WEBHOOK_SECRET", secret)],
        )
        .await;
    let app = fixtures().into_iter().find(|(n, _)| n == "individual_foreign_passport").unwrap().1;
    let email = app["customer"]["email"].as_str().unwrap().to_owned();
    let opened = server.open(&cp, &app, None).await;
    assert_eq!(opened.body["decision"]["outcome"], "approve_with_conditions");
    let id = opened.body["id"].as_str().unwrap().to_owned();
    let post = |path: String, body: Option<Value>, token: String| {
        let s = &server;
        async move { s.req("POST", &path, Some(&token), body.map(|b| b.to_string().into_bytes()), &[]).await }
    };
    let v = |ch: &str| format!("/v1/accounts/{id}/verifications/{ch}");
    assert_eq!(post(v("email"), None, analyst.clone()).await.status, 403);
    assert_eq!(post(v("fax"), None, cp.clone()).await.status, 404);
    assert_eq!(
        post(format!("{}/confirm", v("email")), Some(json!({"code": "123456"})), cp.clone()).await.status,
        404,
        "nothing sent yet"
    );
    // Email: a real message through SMTP; the code is read from it.
    let r = post(v("email"), None, cp.clone()).await;
    assert_eq!((r.status, r.body["max_attempts"].as_u64()), (202, Some(5)), "{}", r.body);
    let code = sink.code_for(&email);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = post(format!("{}/confirm", v("email")), Some(json!({"code": wrong})), cp.clone()).await;
    assert_eq!((r.status, r.body["errors"][0]["code"].as_str()), (422, Some("code_wrong")), "{}", r.body);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("4 attempt(s) left"));
    let r = post(format!("{}/confirm", v("email")), Some(json!({"code": code})), cp.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["decision"]["trigger"], "email_confirmed");
    // The code is single-use.
    assert_eq!(post(format!("{}/confirm", v("email")), Some(json!({"code": code})), cp.clone()).await.status, 404);
    // Phone: a signed webhook to the SMS gateway.
    let r = post(v("phone"), None, cp.clone()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let (sig, body) = sms.lock().unwrap().last().cloned().unwrap();
    assert!(sig.starts_with("t=") && sig.contains(",v1="), "{sig}");
    assert!(body["to"].as_str().unwrap().starts_with('+'));
    let code = body["code"].as_str().unwrap().to_owned();
    let r = post(format!("{}/confirm", v("phone")), Some(json!({"code": code})), cp.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["decision"]["outcome"], "approve", "both contacts confirmed: {}", r.body);
    assert_eq!(r.body["decision"]["trigger"], "phone_confirmed");
    // Attempts are limited.
    assert_eq!(post(v("email"), None, cp.clone()).await.status, 202);
    for _ in 0..5 {
        post(format!("{}/confirm", v("email")), Some(json!({"code": "99999x"})), cp.clone()).await;
    }
    let code = sink.code_for(&email);
    let r = post(format!("{}/confirm", v("email")), Some(json!({"code": code})), cp.clone()).await;
    assert_eq!(r.body["errors"][0]["code"], "code_locked", "{}", r.body);
    let history = server.get(&analyst, &format!("/v1/accounts/{id}/decisions")).await.body;
    let triggers: Vec<Value> = history["decisions"].as_array().unwrap().iter().map(|d| d["trigger"].clone()).collect();
    assert_eq!(triggers, [Value::Null, json!("email_confirmed"), json!("phone_confirmed")]);
    // No code or address in the server log.
    let log = server.stop(false).await;
    let text = std::fs::read_to_string(log).unwrap();
    assert!(!text.contains(&email) && !text.contains(&code), "no code or address in the log");
    // Without a sender configured, verification is unavailable, not a crash.
    let server = db.serve().await;
    assert_eq!(post2(&server, &v("email"), &cp).await, 503);
    server.stop(false).await;
}

/// The provider's decision receiver: refuses each event's first delivery (500), accepts the
/// next; records (event id, body, signature verified) of every delivery.
async fn decision_receiver(
    secret: &'static str,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<(String, Value, bool)>>>) {
    use axum::routing::post;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, Value, bool)>::new()));
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/decisions",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let s = s.clone();
            async move {
                let id = headers.get("lessee-event-id").unwrap().to_str().unwrap().to_owned();
                let sig = headers.get("lessee-signature").unwrap().to_str().unwrap().to_owned();
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
                let ok = lessee_notify::verify_signature(&sig, body.as_bytes(), &[secret.as_bytes()], now, 300).is_ok();
                let mut g = s.lock().unwrap();
                let first = !g.iter().any(|(i, _, _)| *i == id);
                g.push((id, serde_json::from_str(&body).unwrap(), ok));
                if first { axum::http::StatusCode::INTERNAL_SERVER_ERROR } else { axum::http::StatusCode::NO_CONTENT }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/decisions", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn decision_events_are_delivered_with_retries(postgres: bool) {
    let db = Db::new(postgres).await;
    let cp = db.token("control_plane").await;
    const SECRET: &str = "decision-webhook-secret-0123456789";
    let (url, seen) = decision_receiver(SECRET).await;
    let server = db.serve_with(&["--decision-webhook-url", &url], &[("LESSEE_DECISION_WEBHOOK_SECRET", SECRET)]).await;
    let mut ids = Vec::new();
    for (_, app) in fixtures().into_iter().take(3) {
        ids.push(server.open(&cp, &app, None).await.body["id"].as_str().unwrap().to_owned());
    }
    let want: Vec<String> = ids.iter().map(|id| format!("{id}:1")).collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let accepted: usize = {
            let g = seen.lock().unwrap();
            want.iter().filter(|w| g.iter().filter(|(i, _, _)| i == *w).count() >= 2).count()
        };
        if accepted == want.len() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every decision event was delivered: {:?}",
            seen.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop(false).await;
    let g = seen.lock().unwrap();
    for w in &want {
        let tries: Vec<&(String, Value, bool)> = g.iter().filter(|(i, _, _)| i == w).collect();
        assert_eq!(tries.len(), 2, "refused once, delivered once, never again: {w}");
        assert!(tries.iter().all(|(_, _, ok)| *ok), "every delivery is signed with the shared secret");
        let body = &tries[1].1;
        assert_eq!((body["id"].as_str(), body["type"].as_str()), (Some(w.as_str()), Some("decision.made")));
        assert!(body["decision"]["outcome"].is_string());
    }
    assert_eq!(g.len(), 2 * want.len(), "no stray deliveries");
}

async fn vendor_results_by_signed_webhook(postgres: bool) {
    let db = Db::new(postgres).await;
    let cp = db.token("control_plane").await;
    let analyst = db.token("analyst").await;
    const OLD: &str = "vendor-secret-old-0123456789";
    const NEW: &str = "vendor-secret-new-0123456789";
    let server = db
        .serve_with(&[], &[("LESSEE_VENDOR_WEBHOOK_SECRET", NEW), ("LESSEE_VENDOR_WEBHOOK_SECRET_PREVIOUS", OLD)])
        .await;
    let app = fixtures().into_iter().find(|(n, _)| n == "individual_foreign_passport").unwrap().1;
    let id = server.open(&cp, &app, None).await.body["id"].as_str().unwrap().to_owned();
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let send = |secret: &str, t: i64, body: Value, tamper: bool| {
        let bytes = body.to_string().into_bytes();
        let sig = format!("t={t},v1={}", hex_of(&lessee_notify::webhook::sign(secret.as_bytes(), t, &bytes)));
        let sent = if tamper { body.to_string().replace("confirmed", "failed").into_bytes() } else { bytes };
        let (s, sig) = (&server, sig);
        async move {
            s.req("POST", "/v1/webhooks/vendors/generic", None, Some(sent), &[("lessee-signature", sig.as_str())]).await
        }
    };
    let result = |delivery: &str, state: &str| json!({"id": delivery, "account_id": id, "subject": "customer", "result": state, "reference": "chk_1"});
    // Refused: no signature, stale, from the future, wrong secret, tampered body.
    let r = server
        .req(
            "POST",
            "/v1/webhooks/vendors/generic",
            None,
            Some(result("d0", "confirmed").to_string().into_bytes()),
            &[],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(send(NEW, now() - 900, result("d1", "confirmed"), false).await.status, 401, "stale");
    assert_eq!(send(NEW, now() + 900, result("d1", "confirmed"), false).await.status, 401, "future");
    assert_eq!(send("not-the-secret-0123456789", now(), result("d1", "confirmed"), false).await.status, 401);
    assert_eq!(send(NEW, now(), result("d1", "confirmed"), true).await.status, 401, "tampered");
    let before =
        server.get(&analyst, &format!("/v1/accounts/{id}/decisions")).await.body["decisions"].as_array().unwrap().len();
    assert_eq!(before, 1, "nothing refused changed the account");
    // A failed check, signed with the old secret during a rotation.
    let r = send(OLD, now(), result("d1", "failed"), false).await;
    assert_eq!((r.status, r.body["applied"].as_bool()), (200, Some(true)), "{}", r.body);
    assert_ne!(r.body["outcome"], "approve", "a failed vendor check never approves");
    // A confirmed check; its retry (same delivery id) changes nothing.
    let r = send(NEW, now(), result("d2", "confirmed"), false).await;
    assert_eq!((r.status, r.body["applied"].as_bool()), (200, Some(true)), "{}", r.body);
    let confirmed_outcome = r.body["outcome"].clone();
    let r = send(NEW, now(), result("d2", "confirmed"), false).await;
    assert_eq!((r.status, r.body["applied"].as_bool()), (200, Some(false)), "{}", r.body);
    assert_eq!(r.body["outcome"], confirmed_outcome);
    let history = server.get(&analyst, &format!("/v1/accounts/{id}/decisions")).await.body;
    let triggers: Vec<Value> = history["decisions"].as_array().unwrap().iter().map(|d| d["trigger"].clone()).collect();
    assert_eq!(triggers, [Value::Null, json!("id_vendor_result"), json!("id_vendor_result")]);
    // Bad payloads with a good signature are problems, not crashes.
    let r = send(NEW, now(), json!({"id": "d3", "account_id": id, "subject": "cousin", "result": "confirmed"}), false)
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = send(NEW, now(), json!({"id": "d4", "account_id": "0190a0a0-0000-7000-8000-000000000000", "subject": "customer", "result": "confirmed"}), false).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(send(NEW, now(), json!({"nope": 1}), false).await.status, 400);
    server.stop(false).await;
    // Without a secret configured the route is not there.
    let server = db.serve().await;
    let r = server
        .req("POST", "/v1/webhooks/vendors/generic", None, Some(b"{}".to_vec()), &[("lessee-signature", "t=1,v1=00")])
        .await;
    assert_eq!(r.status, 404);
    server.stop(false).await;
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn review_queue_with_four_eyes(postgres: bool) {
    let db = Db::new(postgres).await;
    let cp = db.token("control_plane").await;
    let a = db.token("analyst").await;
    let b = db.token("analyst").await;
    let server = db.serve().await;
    let open = |name: &str| {
        let app = fixtures().into_iter().find(|(n, _)| n == name).unwrap().1;
        let (s, cp) = (&server, cp.clone());
        async move { s.open(&cp, &app, None).await.body["id"].as_str().unwrap().to_owned() }
    };
    let post = |token: &str, path: String, body: Option<Value>| {
        let (s, t) = (&server, token.to_owned());
        async move { s.req("POST", &path, Some(&t), body.map(|b| b.to_string().into_bytes()), &[]).await }
    };
    let case_of = |account: String| {
        let (s, a) = (&server, a.clone());
        async move {
            let r = s.get(&a, &format!("/v1/reviews?status=all&account_id={account}")).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body.as_array().unwrap().last().cloned().unwrap()
        }
    };
    // A manual-review decision opens a case in its own transaction.
    let bad_mrz = open("individual_bad_mrz").await;
    let case = case_of(bad_mrz.clone()).await;
    assert_eq!((case["status"].as_str(), case["engine_outcome"].as_str()), (Some("open"), Some("manual_review")));
    let cid = case["id"].as_str().unwrap().to_owned();
    let queue = server.get(&a, "/v1/reviews").await.body;
    assert!(queue.as_array().unwrap().iter().any(|c| c["id"] == cid.as_str()));
    assert_eq!(server.get(&cp, "/v1/reviews").await.status, 403, "the queue is for reviewers");
    assert_eq!(server.get(&a, "/v1/reviews?status=maybe").await.status, 400);
    // Claim; another reviewer cannot take it; deciding needs the claim.
    assert_eq!(
        post(&b, format!("/v1/reviews/{cid}/decision"), Some(json!({"outcome": "approve", "note": "x"}))).await.status,
        409
    );
    assert_eq!(post(&a, format!("/v1/reviews/{cid}/claim"), None).await.status, 200);
    assert_eq!(post(&b, format!("/v1/reviews/{cid}/claim"), None).await.status, 409);
    // Approving what the engine held for review needs one reviewer.
    let r = post(
        &a,
        format!("/v1/reviews/{cid}/decision"),
        Some(json!({"outcome": "approve", "note": "passport seen on video call"})),
    )
    .await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("closed")), "{}", r.body);
    let acc = server.get(&a, &format!("/v1/accounts/{bad_mrz}")).await.body;
    assert_eq!(acc["decision"]["outcome"], "approve");
    assert_eq!(acc["decision"]["trigger"], "review");
    assert_eq!(acc["decision"]["decided_by"].as_array().unwrap().len(), 1);
    // A deny needs a second reviewer, who must be someone else.
    let sanctioned = open("individual_sanctioned").await;
    let cid = case_of(sanctioned.clone()).await["id"].as_str().unwrap().to_owned();
    post(&a, format!("/v1/reviews/{cid}/claim"), None).await;
    let r =
        post(&a, format!("/v1/reviews/{cid}/decision"), Some(json!({"outcome": "deny", "note": "matches SDN entry"})))
            .await;
    assert_eq!(r.body["status"], "awaiting_second", "{}", r.body);
    assert_eq!(
        server.get(&a, &format!("/v1/accounts/{sanctioned}")).await.body["decision"]["outcome"],
        "manual_review"
    );
    let r = post(&a, format!("/v1/reviews/{cid}/second"), Some(json!({"confirm": true, "note": "me again"}))).await;
    assert_eq!(r.status, 403, "four eyes: {}", r.body);
    let r = post(&b, format!("/v1/reviews/{cid}/second"), Some(json!({"confirm": true, "note": "agree"}))).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("closed")), "{}", r.body);
    let d = server.get(&a, &format!("/v1/accounts/{sanctioned}")).await.body["decision"].clone();
    assert_eq!(d["outcome"], "deny");
    assert_eq!(d["decided_by"].as_array().unwrap().len(), 2);
    // An override of an engine approval: opened by hand, proposed, sent back.
    let us = open("individual_us_person").await;
    let r = post(&a, format!("/v1/accounts/{us}/reviews"), Some(json!({"reason": "tip from abuse team"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(post(&a, format!("/v1/accounts/{us}/reviews"), Some(json!({"reason": "again"}))).await.status, 409);
    let cid = r.body["id"].as_str().unwrap().to_owned();
    post(&a, format!("/v1/reviews/{cid}/claim"), None).await;
    let r = post(&a, format!("/v1/reviews/{cid}/decision"), Some(json!({"outcome": "manual_review", "note": "hold"})))
        .await;
    assert_eq!(r.body["status"], "awaiting_second", "an override needs four eyes: {}", r.body);
    let r = post(&b, format!("/v1/reviews/{cid}/second"), Some(json!({"confirm": false, "note": "no basis"}))).await;
    assert_eq!((r.body["status"].as_str(), r.body["claimed_by"].is_string()), (Some("claimed"), true), "{}", r.body);
    assert_eq!(server.get(&a, &format!("/v1/accounts/{us}")).await.body["decision"]["outcome"], "approve");
    let r =
        post(&a, format!("/v1/reviews/{cid}/decision"), Some(json!({"outcome": "approve", "note": "no action"}))).await;
    assert_eq!(r.body["status"], "closed", "agreeing with the engine needs one reviewer: {}", r.body);
    let r =
        post(&a, format!("/v1/reviews/{cid}/decision"), Some(json!({"outcome": "approve", "note": "x", "extra": 1})))
            .await;
    assert_eq!(r.status, 400);
    server.stop(false).await;
}

async fn post2(server: &Server, path: &str, token: &str) -> u16 {
    server.req("POST", path, Some(token), None, &[]).await.status
}

fn with_external(app: &Value, id: &str) -> Value {
    let mut app = app.clone();
    app["external_id"] = Value::String(id.to_owned());
    app
}

on_both_backends!(
    legal_exports_verify_without_the_server,
    policy_versions_are_audited_and_exported,
    resubmission_is_decided_again,
    contact_ownership_by_one_time_code,
    decision_events_are_delivered_with_retries,
    vendor_results_by_signed_webhook,
    review_queue_with_four_eyes,
    fixtures_open_and_survive_restart,
    errors_are_problems_and_write_nothing,
    acknowledged_write_survives_kill_9,
    cli_mirrors_the_api,
    no_personal_data_at_rest,
    personal_data_reads_are_purpose_bound_and_audited,
    keys_rotate_without_losing_data,
    access_events_answer_the_investigators_question,
    holds_and_closure_over_http_and_cli,
);

/// Scale-out: two `lessee serve` processes on one PostgreSQL database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_postgres() {
    let db = Db::new(true).await;
    let cp = db.token("control_plane").await;
    let a = db.serve().await;
    let b = db.serve().await;
    assert_ne!(a.base, b.base);
    let app = fixtures().into_iter().find(|(n, _)| n == "entity_foreign_with_owners").unwrap().1;
    let opened = a.open(&cp, &app, None).await;
    assert_eq!(opened.status, 201);
    let read = b.get(&cp, &format!("/v1/accounts/{}", opened.body["id"].as_str().unwrap())).await;
    assert_eq!(read.body, opened.body, "opened through A, read through B");

    // Concurrent replays of one key through both servers create one account.
    let mut app2 = fixtures().into_iter().find(|(n, _)| n == "individual_foreign_passport").unwrap().1;
    app2["external_id"] = json!("acct-race");
    let body = serde_json::to_vec(&app2).unwrap();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
        let (http, cp, body) = (a.http.clone(), cp.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{base}/v1/accounts"))
                .bearer_auth(&cp)
                .header("content-type", "application/json")
                .header("idempotency-key", "race-key")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            (status, v["id"].as_str().unwrap_or_default().to_owned())
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let (status, id) = t.await.unwrap();
        assert_eq!(status, 201);
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1, "one account for one key: {ids:?}");
    let list = b.get(&cp, "/v1/accounts?external_id=acct-race").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    a.stop(false).await;
    b.stop(false).await;
}

/// When the database goes away, readiness and reads answer 503 `unavailable`, not 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_loss_is_unavailable_not_internal() {
    let db = Db::new(true).await;
    let cp = db.token("control_plane").await;
    let server = db.serve().await;
    assert_eq!(server.req("GET", "/readyz", None, None, &[]).await.status, 200);
    let url = db.url.clone().unwrap();
    lessee_store::SqlStore::drop_postgres_database(&lessee_store::testing::admin_url(), &url).await.unwrap();
    let r = server.req("GET", "/readyz", None, None, &[]).await;
    assert_eq!((r.status, r.body["code"].as_str()), (503, Some("unavailable")), "{}", r.body);
    let r = server.get(&cp, "/v1/accounts").await;
    assert_eq!((r.status, r.body["code"].as_str()), (503, Some("unavailable")), "{}", r.body);
    assert!(!r.body["detail"].as_str().unwrap().contains("3D000"), "no internals in the body");
    // The process is still alive and answers liveness.
    assert_eq!(server.req("GET", "/healthz", None, None, &[]).await.status, 200);
    server.stop(false).await;
}

/// Personal data of the fixtures, as it must never appear in the clear at rest.
const FIXTURE_PII: &[&str] = &[
    "Katharina",
    "Müller",
    "k.mueller@example.de",
    "C01X00T47",
    "Friedrichstraße",
    "+49 30 23125000",
    "Okafor",
    "rachel.okafor@example.com",
    "1200 Pine St",
    "Ananya",
    "Z4821937",
    "ananya.sharma@example.edu",
    "Bogachev",
    "RU0313455",
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    "e.bogachev@example.ru",
    "Tremblay",
    "AB123456",
    "Sainte-Catherine",
    "João Pedro",
    "FZ482913",
    "Paulista",
    "Northgate Analytics",
    "GB82WEST12345698765432",
    "LH4829175",
    "Oliver James",
    "Farringdon",
    "Lion City Cloud",
    "K1234567Q",
    "Raffles Place",
    "Zor Security",
    "Harbor Robotics",
    "0123456789",
    "1989-04-12",
    "1977-02-03",
    "80.133.10.7",
    "73.158.22.9",
    "tok_9f2c41d7",
    // The party an extra account is held on behalf of (`no_personal_data_at_rest`).
    "Quartermaine",
    "w.quartermaine@example.org",
    "QX7731904",
    "Lindenallee",
];

async fn no_personal_data_at_rest(postgres: bool) {
    let db = Db::new(postgres).await;
    let cp = db.token("control_plane").await;
    let server = db.serve().await;
    for (name, app) in fixtures() {
        assert_eq!(server.open(&cp, &app, None).await.status, 201, "{name}");
    }
    // An account held on behalf of another party: the party's data is sealed like the customer's.
    let mut held = fixtures().into_iter().find(|(n, _)| n == "individual_us_person").unwrap().1;
    held["external_id"] = json!("held-pii");
    held["on_behalf_of"] = json!([{"relationship": "principal", "party": {"kind": "individual",
        "name": {"given": "Wilhelmina", "family": "Quartermaine"}, "citizenships": ["AT"],
        "address": {"lines": ["Lindenallee 42"], "city": "Wien", "country": "AT"},
        "national_id": {"type": "passport", "number": "QX7731904", "issuing_country": "AT"},
        "email": "w.quartermaine@example.org"}}]);
    let r = server.open(&cp, &held, None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["classification"]["on_behalf_of"][0]["status"], "foreign_person", "{}", r.body);
    let events = std::fs::read(fixtures_dir().join("access_events.ndjson")).unwrap();
    let r = server
        .http
        .post(format!("{}/v1/access-events", server.base))
        .bearer_auth(&cp)
        .header("content-type", "application/x-ndjson")
        .body("\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "an empty batch is refused");
    let r = server
        .http
        .post(format!("{}/v1/access-events", server.base))
        .bearer_auth(&cp)
        .header("content-type", "application/x-ndjson")
        .body(events)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    server.stop(false).await;
    let mut haystack: Vec<u8> = Vec::new();
    if let Some(url) = &db.url {
        // Every row of every table, as PostgreSQL prints it.
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
        let tables: Vec<String> =
            sqlx::query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect();
        assert!(tables.contains(&"accounts".to_owned()) && tables.contains(&"audit_records".to_owned()), "{tables:?}");
        for t in tables {
            for r in sqlx::query(&format!("SELECT t::text FROM {t} t")).fetch_all(&mut conn).await.unwrap() {
                haystack.extend(r.get::<String, _>(0).into_bytes());
            }
        }
    } else {
        for entry in std::fs::read_dir(db.dir.path()).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "log") {
                continue; // server logs are checked by their own test
            }
            haystack.extend(std::fs::read(&p).unwrap());
        }
    }
    assert!(haystack.len() > 10_000, "read the stored data ({} bytes)", haystack.len());
    for pii in FIXTURE_PII {
        let needle = pii.as_bytes();
        assert!(!haystack.windows(needle.len()).any(|w| w == needle), "`{pii}` is stored in the clear");
    }
}

async fn personal_data_reads_are_purpose_bound_and_audited(postgres: bool) {
    let db = Db::new(postgres).await;
    let cp = db.token("control_plane").await;
    let analyst = db.token("analyst").await;
    let auditor = db.token("auditor").await;
    let server = db.serve().await;
    let app = fixtures().into_iter().find(|(n, _)| n == "individual_foreign_passport").unwrap().1;
    let id = server.open(&cp, &app, None).await.body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/accounts/{id}/application");
    let r = server.req("GET", &path, Some(&analyst), None, &[]).await;
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("invalid_purpose")));
    let r = server.req("GET", &path, Some(&analyst), None, &[("lessee-purpose", "legal_process")]).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("forbidden")));
    let r = server.req("GET", &path, Some(&analyst), None, &[("lessee-purpose", "review")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, app, "the application comes back as it was sent");
    // Search by email through the blind index, differently cased and spaced.
    let body = serde_json::to_vec(&json!({"kind": "email", "value": "  K.Mueller@Example.DE "})).unwrap();
    let r =
        server.req("POST", "/v1/accounts/search", Some(&analyst), Some(body), &[("lessee-purpose", "review")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["items"][0]["id"], id.as_str());
    // The audit log holds the opening, the refused read, the read and the search, in order.
    let r = server.req("GET", "/v1/audit/export", Some(&auditor), None, &[]).await;
    assert_eq!(r.status, 200);
    let text = r.body.as_str().unwrap().to_owned();
    let actions: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["event"]["action"].as_str().unwrap().to_owned(), v["event"]["outcome"].as_str().unwrap().to_owned())
        })
        .collect();
    let reads: Vec<(&str, &str)> =
        actions.iter().map(|(a, o)| (a.as_str(), o.as_str())).filter(|(a, _)| a.starts_with("account.")).collect();
    assert_eq!(
        reads,
        [
            ("account.open", "allowed"),
            ("account.application.read", "denied"),
            ("account.application.read", "allowed"),
            ("account.search", "allowed")
        ]
    );
    assert!(!text.contains("Mueller") && !text.contains("k.mueller"), "audit records hold no personal data");
    // Proofs: the first record is in the tree, and the tree only grew since it had one record.
    let cp = server.req("POST", "/v1/audit/checkpoints", Some(&auditor), None, &[]).await;
    assert_eq!(cp.status, 200, "{}", cp.body);
    let size = cp.body["tree_size"].as_u64().unwrap();
    assert!(size >= 4);
    let hex = |v: &Value| lessee_audit::Hash::from_hex(v.as_str().unwrap()).unwrap();
    let inc = server
        .req("GET", &format!("/v1/audit/proofs/inclusion?seq=0&tree_size={size}"), Some(&auditor), None, &[])
        .await;
    assert_eq!(inc.status, 200, "{}", inc.body);
    assert_eq!(inc.body["root"], cp.body["root"], "the proof is against the signed head");
    let path: Vec<lessee_audit::Hash> = inc.body["hashes"].as_array().unwrap().iter().map(hex).collect();
    lessee_audit::verify_inclusion(&hex(&inc.body["leaf_hash"]), 0, size, &path, &hex(&cp.body["root"])).unwrap();
    assert!(
        lessee_audit::verify_inclusion(&hex(&inc.body["leaf_hash"]), 1, size, &path, &hex(&cp.body["root"])).is_err(),
        "the same path does not prove another position"
    );
    let con =
        server.req("GET", &format!("/v1/audit/proofs/consistency?from=1&to={size}"), Some(&auditor), None, &[]).await;
    assert_eq!(con.status, 200, "{}", con.body);
    let chashes: Vec<lessee_audit::Hash> = con.body["hashes"].as_array().unwrap().iter().map(hex).collect();
    assert_eq!(con.body["from_root"], inc.body["leaf_hash"], "a one-record tree's head is its leaf");
    lessee_audit::verify_consistency(1, size, &hex(&con.body["from_root"]), &hex(&con.body["to_root"]), &chashes)
        .unwrap();
    assert_eq!(con.body["to_root"], cp.body["root"]);
    let bad =
        server.req("GET", &format!("/v1/audit/proofs/inclusion?seq={}", size + 100), Some(&auditor), None, &[]).await;
    assert_eq!((bad.status, bad.body["code"].as_str()), (400, Some("invalid_query")));
    // Only auditors (and admins) read the log.
    assert_eq!(server.req("GET", "/v1/audit/export", Some(&analyst), None, &[]).await.status, 403);
    // The export verifies offline against the pinned key, and a tampered copy does not.
    let file = db.dir.path().join("audit.ndjson");
    std::fs::write(&file, &text).unwrap();
    let (code, key, _) = db.cli(&["audit", "public-key"]).await;
    assert_eq!(code, 0);
    let (code, out, err) = db.cli(&["audit", "verify", file.to_str().unwrap(), "--public-key", key.trim()]).await;
    assert_eq!(code, 0, "{out} {err}");
    let tampered = text.replacen("\"denied\"", "\"allowed\"", 1);
    assert_ne!(tampered, text);
    std::fs::write(&file, &tampered).unwrap();
    let (code, out, _) = db.cli(&["audit", "verify", file.to_str().unwrap(), "--public-key", key.trim()]).await;
    assert_eq!(code, 9, "an altered record is caught: {out}");
    let dropped: String = text.lines().enumerate().filter(|(i, _)| *i != 2).map(|(_, l)| format!("{l}\n")).collect();
    std::fs::write(&file, &dropped).unwrap();
    let (code, _, _) = db.cli(&["audit", "verify", file.to_str().unwrap(), "--public-key", key.trim()]).await;
    assert_eq!(code, 9, "a removed record is caught");
    server.stop(false).await;
    // The live log verifies; then a record altered in the database is caught.
    let (code, out, err) = db.cli(&["audit", "verify"]).await;
    assert_eq!(code, 0, "{out} {err}");
    if db.url.is_none() {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}", db.dir.path().join("lessee.db").display());
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query(
            "UPDATE audit_records SET record = replace(record, 'denied', 'allowed') WHERE record LIKE '%denied%'",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        let (code, out, _) = db.cli(&["audit", "verify"]).await;
        assert_eq!(code, 9, "{out}");
    }
}

async fn keys_rotate_without_losing_data(postgres: bool) {
    let db = Db::new(postgres).await;
    let file = fixtures_dir().join("entity_foreign_with_owners.json");
    let (code, out, err) = db.cli(&["accounts", "open", file.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");
    let id = serde_json::from_str::<Value>(out.trim()).unwrap()["id"].as_str().unwrap().to_owned();
    let (code, _, err) = db.cli(&["keys", "rotate"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("version 2") && err.contains("1 customer data keys rewrapped"), "{err}");
    let legal = db.token("legal").await;
    let server = db.serve().await;
    let r = server
        .req(
            "GET",
            &format!("/v1/accounts/{id}/application"),
            Some(&legal),
            None,
            &[("lessee-purpose", "legal_process")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["customer"]["legal_name"], "Northgate Analytics Ltd");
    server.stop(false).await;
}

/// Special measures, exemptions (issue 7) through the real server.
mod measures {
    use super::*;

    fn russian(external_id: &str, account_type: &str) -> Value {
        let mut v: Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures_dir().join("individual_foreign_passport.json")).unwrap(),
        )
        .unwrap();
        v["external_id"] = json!(external_id);
        v["account_type"] = json!(account_type);
        v["customer"]["citizenships"] = json!(["RU"]);
        v["customer"]["address"]["country"] = json!("RU");
        v
    }

    /// The German passport fixture, opened on behalf of a Russian party.
    fn on_behalf_of_russian(external_id: &str) -> Value {
        let mut v = russian(external_id, "standard");
        let party = v["customer"].clone();
        let german: Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures_dir().join("individual_foreign_passport.json")).unwrap(),
        )
        .unwrap();
        v["customer"] = german["customer"].clone();
        v["on_behalf_of"] = json!([{"relationship": "principal", "party": party}]);
        v
    }

    async fn post(server: &Server, token: &str, path: &str, body: Value) -> Resp {
        server.req("POST", path, Some(token), Some(serde_json::to_vec(&body).unwrap()), &[]).await
    }

    fn reason_codes(account: &Value) -> Vec<String> {
        account["decision"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn ru_measure_denies_and_flags_existing_accounts(postgres: bool) {
        let db = Db::new(postgres).await;
        let admin = db.token("admin").await;
        let cp = db.token("control_plane").await;
        let analyst = db.token("analyst").await;
        let server = db.serve().await;
        let mut ids = std::collections::BTreeMap::new();
        for (_, app) in fixtures() {
            let r = server.open(&cp, &app, None).await;
            assert_eq!(r.status, 201, "{}", r.body);
            ids.insert(app["external_id"].as_str().unwrap().to_owned(), r.body["id"].as_str().unwrap().to_owned());
        }
        let events = std::fs::read_to_string(fixtures_dir().join("access_events.ndjson")).unwrap();
        let r = server
            .http
            .post(format!("{}/v1/access-events", server.base))
            .bearer_auth(&cp)
            .header("content-type", "application/x-ndjson")
            .body(events)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
        // Held on behalf of a Russian party: before any measure, decided like its German customer.
        let r = server.open(&cp, &on_behalf_of_russian("ob-existing"), None).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_ne!(r.body["decision"]["outcome"], "deny", "{}", r.body);
        assert_eq!(r.body["classification"]["on_behalf_of"][0]["status"], "foreign_person", "{}", r.body);
        ids.insert("ob-existing".into(), r.body["id"].as_str().unwrap().to_owned());
        let today = chrono::Utc::now().date_naive().to_string();
        let measure = json!({"id": "m-ru", "kind": "jurisdiction", "target": {"country": "RU"},
            "effect": {"type": "prohibit"}, "scope": ["opening", "maintaining", "reseller_accounts", "on_behalf_of"],
            "citation": "91 FR 1234", "effective": today, "expedited": {"citation": "EO 13984 § 2(d)(iv)"}});

        // Bad input: problems, nothing written.
        let r = post(&server, &analyst, "/v1/measures", measure.clone()).await;
        assert_eq!(r.status, 403, "{}", r.body);
        let mut unknown = measure.clone();
        unknown["target"] = json!({"country": "XX"});
        let r = post(&server, &admin, "/v1/measures", unknown).await;
        assert_eq!((r.status, r.ctype.as_str()), (400, "application/problem+json"), "{}", r.body);
        let mut early = measure.clone();
        early["determination"] = json!("2030-01-01");
        let r = post(&server, &admin, "/v1/measures", early).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["errors"][0]["code"], "effective_before_determination", "{}", r.body);
        let mut no_lead = measure.clone();
        no_lead.as_object_mut().unwrap().remove("expedited");
        let r = post(&server, &admin, "/v1/measures", no_lead).await;
        assert_eq!(r.body["errors"][0]["code"], "effective_too_soon", "{}", r.body);
        let mut stray = measure.clone();
        stray["colour"] = json!("red");
        assert_eq!(post(&server, &admin, "/v1/measures", stray).await.status, 400);
        assert_eq!(server.get(&analyst, "/v1/measures").await.body, json!([]));

        // The measure: created, listed, readable by analysts.
        let r = post(&server, &admin, "/v1/measures", measure.clone()).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["status"]["status"], "in_effect");
        assert_eq!(post(&server, &admin, "/v1/measures", measure.clone()).await.status, 409);
        let r = server.get(&analyst, "/v1/measures/m-ru").await;
        assert_eq!(r.body["history"][0]["change"], "created", "{}", r.body);

        // A new RU applicant is denied with a reason citing the measure.
        let r = server.open(&cp, &russian("ru-new", "standard"), None).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["decision"]["outcome"], "deny", "{}", r.body);
        let reason = r.body["decision"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["code"] == "measure_blocks_opening")
            .unwrap()
            .clone();
        let msg = reason["message"].as_str().unwrap();
        assert!(msg.contains("`m-ru`") && msg.contains("91 FR 1234"), "{msg}");
        // So is one held on behalf of a Russian party, the reason naming the link.
        let r = server.open(&cp, &on_behalf_of_russian("ob-new"), None).await;
        assert_eq!(r.body["decision"]["outcome"], "deny", "{}", r.body);
        let blocks: Vec<&Value> = r.body["decision"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["code"] == "measure_blocks_opening")
            .collect();
        assert!(!blocks.is_empty() && blocks.iter().all(|x| x["subject"] == "on_behalf_of:0"), "{}", r.body);
        // Others are not.
        let mut us = fixtures().into_iter().find(|(n, _)| n == "individual_us_person").unwrap().1;
        us["external_id"] = json!("us-new");
        let r = server.open(&cp, &us, None).await;
        assert_eq!(r.body["decision"]["outcome"], "approve", "{}", r.body);

        // Existing accounts linked to Russia are flagged and given a closing deadline.
        let r = server.req("POST", "/v1/measures/reevaluate", Some(&admin), None, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let impact = server.get(&analyst, "/v1/measures/m-ru/impact").await;
        assert_eq!(impact.status, 200, "{}", impact.body);
        let flagged: std::collections::BTreeMap<String, Value> = impact.body["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["account_id"].as_str().unwrap().to_owned(), a.clone()))
            .collect();
        // The reseller whose sub-lessee is Russian, the Russian customer, the account accessed
        // from Russia, the one that signed up from a Russian IP address.
        for ext in ["acct-3001", "acct-1004", "acct-2001", "acct-1006", "ob-existing"] {
            let id = &ids[ext];
            let a = flagged.get(id).unwrap_or_else(|| panic!("{ext} not flagged: {}", impact.body));
            assert_eq!((a["state"].as_str(), a["verdict"].as_str()), (Some("applied"), Some("close")), "{a}");
            let account = server.get(&analyst, &format!("/v1/accounts/{id}")).await.body;
            assert_eq!(account["decision"]["outcome"], "deny", "{ext}: {account}");
            assert_eq!(account["decision"]["trigger"], "measure:m-ru");
            assert!(reason_codes(&account).contains(&"measure_requires_closure".to_owned()));
        }
        let reseller = &flagged[&ids["acct-3001"]];
        assert_eq!(reseller["outcome"]["findings"][0]["link"], "sub_lessee:1", "{reseller}");
        let held = &flagged[&ids["ob-existing"]];
        assert_eq!(held["outcome"]["findings"][0]["link"], "on_behalf_of:0", "{held}");
        for ext in ["acct-1001", "acct-1002", "acct-1003", "acct-1005"] {
            assert!(!flagged.contains_key(&ids[ext]), "{ext} flagged: {}", impact.body);
        }
        let (code, out, err) = db.cli(&["measures", "impact", "m-ru"]).await;
        assert_eq!(code, 0, "{err}");
        assert_eq!(serde_json::from_str::<Value>(out.trim()).unwrap()["accounts"], impact.body["accounts"]);

        // An exemption for trial accounts changes the trial decision and no other.
        let x = json!({"id": "x-trial", "scope": {"type": "account_type", "account_type": "trial"},
            "reference": "ADP-2026-7", "effective": today, "exempts_from": {"type": "listed", "measures": ["m-ru"]}});
        assert_eq!(post(&server, &analyst, "/v1/exemptions", x.clone()).await.status, 403);
        let r = post(&server, &admin, "/v1/exemptions", x).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let trial = server.open(&cp, &russian("ru-trial", "trial"), None).await.body;
        assert_ne!(trial["decision"]["outcome"], "deny", "{trial}");
        assert!(reason_codes(&trial).contains(&"measure_exempted".to_owned()), "{trial}");
        let standard = server.open(&cp, &russian("ru-standard", "standard"), None).await.body;
        assert_eq!(standard["decision"]["outcome"], "deny", "{standard}");
        let r = server.req("POST", "/v1/measures/reevaluate", Some(&admin), None, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let trial_existing = server.get(&analyst, &format!("/v1/accounts/{}", ids["acct-1006"])).await.body;
        assert_ne!(trial_existing["decision"]["outcome"], "deny", "{trial_existing}");
        assert!(reason_codes(&trial_existing).contains(&"measure_exempted".to_owned()));
        let standard_existing = server.get(&analyst, &format!("/v1/accounts/{}", ids["acct-1004"])).await.body;
        assert_eq!(standard_existing["decision"]["outcome"], "deny");

        // An exemption from a requirement the policy cannot waive is refused (422, one error per
        // code, by pointer) and nothing is recorded.
        let before = server.get(&analyst, "/v1/exemptions").await.body;
        let bad = json!({"id": "x-bad", "scope": {"type": "provider"}, "reference": "ADP-2026-8", "effective": today,
            "exempts_from": {"type": "listed", "requirements": ["record_keeping"]}});
        let r = post(&server, &admin, "/v1/exemptions", bad).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["errors"][0]["pointer"], "/exempts_from/requirements/0", "{}", r.body);
        assert_eq!(r.body["errors"][0]["code"], "unknown_requirement", "{}", r.body);
        assert_eq!(server.get(&analyst, "/v1/exemptions").await.body, before);
        // The copy of the CIP carries the exemptions with their history.
        let cip = db.dir.path().join("cip-exemptions.tar");
        let (code, _, err) = db.cli(&["export", "cip", "--out", cip.to_str().unwrap()]).await;
        assert_eq!(code, 0, "{err}");
        let files = untar(&std::fs::read(&cip).unwrap());
        let (_, body) = files.iter().find(|(p, _)| p == "exemptions.json").expect("exemptions.json in the CIP copy");
        let listed: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(listed[0]["exemption"]["exemption"]["id"], "x-trial", "{listed}");
        assert_eq!(listed[0]["history"][0]["change"], "created", "{listed}");
        let (code, out, _) = db.cli(&["export", "verify", cip.to_str().unwrap()]).await;
        assert_eq!(code, 0, "{out}");
        // The CLI never exempts from everything by default: it must be said.
        let (code, _, err) =
            db.cli(&["exemptions", "add", "--scope", "provider", "--reference", "ADP-X", "--effective", &today]).await;
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("--all"), "{err}");
        assert_eq!(server.get(&analyst, "/v1/exemptions").await.body, before);
        // A requirement code the policy cannot waive: exit 4 (invalid input) with the problem,
        // nothing written.
        let add = |req: &'static str| {
            ["exemptions", "add", "--scope", "country:NZ", "--reference", "ADP-NZ", "--requirement", req, "--effective"]
        };
        let (code, _, err) = db.cli(&[&add("record_keeping")[..], &[today.as_str()]].concat()).await;
        assert_eq!(code, 4, "{err}");
        assert!(err.contains("record_keeping"), "{err}");
        assert_eq!(server.get(&analyst, "/v1/exemptions").await.body, before);
        // A known one is recorded, with what it waives.
        let (code, _, err) = db.cli(&[&add("reseller_cip")[..], &[today.as_str()]].concat()).await;
        assert_eq!(code, 0, "{err}");
        let listed = server.get(&analyst, "/v1/exemptions").await.body;
        let nz = listed.as_array().unwrap().iter().find(|x| x["exemption"]["reference"] == "ADP-NZ").unwrap();
        assert_eq!(nz["exemption"]["exempts_from"]["requirements"], json!(["reseller_cip"]), "{nz}");

        // An expired measure (determined and lapsed in the past) stops applying.
        let old = json!({"id": "m-sg-old", "kind": "jurisdiction", "target": {"country": "SG"},
            "effect": {"type": "prohibit"}, "scope": ["opening", "maintaining", "reseller_accounts"],
            "citation": "90 FR 1", "determination": "2025-01-01", "effective": "2025-07-01", "expiry": "2026-07-01"});
        let r = post(&server, &admin, "/v1/measures", old).await;
        assert_eq!((r.status, r.body["status"]["status"].as_str()), (201, Some("expired")), "{}", r.body);
        let mut sg = fixtures().into_iter().find(|(n, _)| n == "reseller_with_sublessees").unwrap().1;
        sg["external_id"] = json!("sg-new");
        sg["sub_lessees"] = json!([]);
        let r = server.open(&cp, &sg, None).await;
        assert!(!reason_codes(&r.body).iter().any(|c| c.starts_with("measure_")), "{}", r.body);

        // Revoked: the flagged accounts are decided again without it.
        let r = post(&server, &admin, "/v1/measures/m-ru/revoke", json!({"reason": "91 FR 9999"})).await;
        assert_eq!((r.status, r.body["status"]["status"].as_str()), (200, Some("revoked")), "{}", r.body);
        assert_eq!(post(&server, &admin, "/v1/measures/m-ru/revoke", json!({"reason": "again"})).await.status, 409);
        let r = server.req("POST", "/v1/measures/reevaluate", Some(&admin), None, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let account = server.get(&analyst, &format!("/v1/accounts/{}", ids["acct-3001"])).await.body;
        assert_eq!(account["decision"]["trigger"], "measure_lifted:m-ru", "{account}");
        assert_ne!(account["decision"]["outcome"], "deny");
        let history = server.get(&analyst, "/v1/measures/m-ru").await.body;
        let changes: Vec<&str> =
            history["history"].as_array().unwrap().iter().map(|c| c["change"].as_str().unwrap()).collect();
        assert_eq!(changes, vec!["created", "revoked"]);
        let lifted = server.get(&analyst, "/v1/measures/m-ru/impact").await.body;
        assert!(lifted["accounts"].as_array().unwrap().iter().all(|a| a["state"] == "lifted"), "{lifted}");
        server.stop(false).await;
    }

    async fn reseller_register(postgres: bool) {
        let db = Db::new(postgres).await;
        let admin = db.token("admin").await;
        let cp = db.token("control_plane").await;
        let analyst = db.token("analyst").await;
        let server = db.serve().await;
        let mut ids = std::collections::BTreeMap::new();
        for (_, app) in fixtures() {
            let r = server.open(&cp, &app, None).await;
            ids.insert(app["external_id"].as_str().unwrap().to_owned(), r.body["id"].as_str().unwrap().to_owned());
        }
        let reseller = &ids["acct-3001"];
        let put = |id: &str, body: Value, token: &str| {
            let path = format!("/v1/resellers/{id}");
            let token = token.to_owned();
            let server = &server;
            async move { server.req("PUT", &path, Some(&token), Some(serde_json::to_vec(&body).unwrap()), &[]).await }
        };
        let reg = json!({"location": "foreign", "cip_basis": "adopts_provider_cip", "agreement_signed": "2026-10-01"});
        assert_eq!(put(reseller, reg.clone(), &analyst).await.status, 403);
        // Only a reseller account is registered; adopting the CIP needs the agreement's date.
        let r = put(&ids["acct-1001"], reg.clone(), &admin).await;
        assert_eq!((r.status, r.body["errors"][0]["code"].as_str()), (422, Some("not_a_reseller_account")));
        let r = put(reseller, json!({"location": "foreign", "cip_basis": "adopts_provider_cip"}), &admin).await;
        assert_eq!(r.body["errors"][0]["code"], "agreement_required", "{}", r.body);
        assert_eq!(put(reseller, json!({"location": "mars", "cip_basis": "own_cip"}), &admin).await.status, 400);
        let r = put(reseller, reg, &admin).await;
        assert_eq!((r.status, r.body["status"].as_str()), (200, Some("compliant")), "{}", r.body);
        // Its own CIP instead: missing until filed, then versioned.
        let r = put(reseller, json!({"location": "foreign", "cip_basis": "own_cip"}), &admin).await;
        assert_eq!(r.body["status"], "cip_missing", "{}", r.body);
        for text in ["CIP v1", "CIP v2"] {
            let r =
                post(&server, &admin, &format!("/v1/resellers/{reseller}/cip-documents"), json!({"text": text})).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let r = server.get(&analyst, &format!("/v1/resellers/{reseller}")).await;
        assert_eq!(r.body["status"], "compliant");
        assert_eq!(r.body["cip_documents"][1]["version"], 2);
        // Non-compliance: a 30-day deadline; a report attached by digest.
        let path = format!("/v1/resellers/{reseller}/non-compliance");
        let r = post(&server, &admin, &path, json!({"reason": "refused to produce CIP records"})).await;
        assert_eq!((r.status, r.body["status"].as_str()), (200, Some("non_compliant")), "{}", r.body);
        let due = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
        assert_eq!(r.body["non_compliance"]["terminate_by"], json!(due));
        assert_eq!(post(&server, &admin, &path, json!({"reason": "again"})).await.status, 409);
        let rpath = format!("/v1/resellers/{reseller}/reports");
        assert_eq!(post(&server, &admin, &rpath, json!({"reference": "SAR-1", "sha256": "zz"})).await.status, 422);
        let digest = "ab".repeat(32);
        let r = post(&server, &admin, &rpath, json!({"reference": "SAR-1", "sha256": digest})).await;
        assert_eq!(r.body["reports"][0]["reference"], "SAR-1", "{}", r.body);
        let (code, out, err) = db.cli(&["jobs", "status"]).await;
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("resellers.reminder"), "{out}");
        let r =
            post(&server, &admin, &format!("/v1/resellers/{reseller}/outcome"), json!({"outcome": "terminated"})).await;
        assert_eq!(r.body["status"], "terminated", "{}", r.body);
        let list = server.get(&analyst, "/v1/resellers").await;
        assert_eq!(list.body.as_array().unwrap().len(), 1);
        assert_eq!(server.get(&analyst, &format!("/v1/resellers/{}", ids["acct-1001"])).await.status, 404);

        // The same register from the CLI: what it shows is what the API shows; its changes are
        // seen by the API; bad input is a usage error or not found, and changes nothing.
        let (code, out, err) = db.cli(&["resellers", "show", reseller]).await;
        assert_eq!(code, 0, "{err}");
        let api = server.get(&analyst, &format!("/v1/resellers/{reseller}")).await.body;
        assert_eq!(serde_json::from_str::<Value>(out.trim()).unwrap(), api);
        let (code, out, err) = db.cli(&["resellers", "list"]).await;
        assert_eq!((code, out.lines().count()), (0, 1), "{err}");
        let cip = db.dir.path().join("cip-v3.txt");
        std::fs::write(&cip, "CIP v3, filed from the CLI").unwrap();
        let (code, out, err) = db.cli(&["resellers", "cip", reseller, "--file", cip.to_str().unwrap()]).await;
        assert_eq!(code, 0, "{err}");
        assert_eq!(serde_json::from_str::<Value>(out.trim()).unwrap()["cip_documents"][2]["version"], 3);
        let today = chrono::Utc::now().date_naive().to_string();
        let (code, _, err) = db.cli(&["resellers", "attest", reseller, "--date", &today, "--reference", "ATT-1"]).await;
        assert_eq!(code, 0, "{err}");
        let api = server.get(&analyst, &format!("/v1/resellers/{reseller}")).await.body;
        assert_eq!(api["attestations"][0]["reference"], "ATT-1", "{api}");
        let before = api;
        let (code, _, err) =
            db.cli(&["resellers", "register", reseller, "--location", "mars", "--cip-basis", "own-cip"]).await;
        assert_eq!(code, 2, "{err}");
        let (code, _, err) = db.cli(&["resellers", "show", &ids["acct-1001"]]).await;
        assert_eq!(code, 3, "{err}");
        let (code, _, err) = db.cli(&["resellers", "report", reseller, "--reference", "SAR-2", "--sha256", "zz"]).await;
        assert_ne!(code, 0, "{err}");
        assert_eq!(code, 4, "a refused change is invalid input: {err}");
        assert!(err.contains("sha256"), "{err}");
        let missing = db.dir.path().join("absent.txt");
        let (code, _, err) = db.cli(&["resellers", "cip", reseller, "--file", missing.to_str().unwrap()]).await;
        assert_eq!(code, 8, "{err}");
        assert_eq!(server.get(&analyst, &format!("/v1/resellers/{reseller}")).await.body, before);
        // A reseller token made from the CLI registers a sub-lessee; the CLI lists it.
        let (code, out, err) = db.cli(&["resellers", "token", reseller, "--name", "res-cli"]).await;
        assert_eq!(code, 0, "{err}");
        let token = serde_json::from_str::<Value>(out.trim()).unwrap()["token"].as_str().unwrap().to_owned();
        let r = post(&server, &token, &format!("/v1/resellers/{reseller}/sub-lessees"), russian("cli-sub", "standard"))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let (code, out, err) = db.cli(&["resellers", "sub-lessees", reseller]).await;
        assert_eq!(code, 0, "{err}");
        let subs: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(subs.len(), 1, "{out}");
        assert_eq!(subs[0]["id"], r.body["id"]);
        server.stop(false).await;
    }

    /// Two resellers, each with a bound token: each registers, updates and lists its own
    /// sub-lessees; every route tried with the other reseller's ids answers 403 or 404, and no
    /// other route of the API answers a reseller token with data.
    async fn resellers_see_only_their_own_sub_lessees(postgres: bool) {
        let db = Db::new(postgres).await;
        let admin = db.token("admin").await;
        let cp = db.token("control_plane").await;
        let server = db.serve().await;
        let base = fixtures().into_iter().find(|(n, _)| n == "reseller_with_sublessees").unwrap().1;
        let mut resellers = Vec::new();
        for ext in ["res-a", "res-b"] {
            let mut app = base.clone();
            app["external_id"] = json!(ext);
            let id = server.open(&cp, &app, None).await.body["id"].as_str().unwrap().to_owned();
            let reg =
                json!({"location": "foreign", "cip_basis": "adopts_provider_cip", "agreement_signed": "2026-10-01"});
            let r = server
                .req("PUT", &format!("/v1/resellers/{id}"), Some(&admin), Some(serde_json::to_vec(&reg).unwrap()), &[])
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            let r = post(&server, &admin, &format!("/v1/resellers/{id}/tokens"), json!({"name": ext})).await;
            assert_eq!(r.status, 201, "{}", r.body);
            resellers.push((id, r.body["token"].as_str().unwrap().to_owned()));
        }
        let (a, ta) = resellers[0].clone();
        let (b, tb) = resellers[1].clone();
        // A registers a Russian sub-lessee: decided like a customer (measures would apply).
        let sub = russian("a-sub-1", "standard");
        let r = post(&server, &ta, &format!("/v1/resellers/{a}/sub-lessees"), sub.clone()).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["classification"]["status"], "foreign_person");
        let a_sub = r.body["id"].as_str().unwrap().to_owned();
        let r = post(&server, &tb, &format!("/v1/resellers/{b}/sub-lessees"), russian("b-sub-1", "standard")).await;
        let b_sub = r.body["id"].as_str().unwrap().to_owned();
        let list = server.get(&ta, &format!("/v1/resellers/{a}/sub-lessees")).await;
        let ids: Vec<&str> = list.body.as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![a_sub.as_str()]);
        let mut updated = sub.clone();
        updated["customer"]["address"]["country"] = json!("DE");
        updated["customer"]["citizenships"] = json!(["DE"]);
        let r = server
            .req(
                "PUT",
                &format!("/v1/resellers/{a}/sub-lessees/{a_sub}"),
                Some(&ta),
                Some(serde_json::to_vec(&updated).unwrap()),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["decision"]["trigger"], "resubmission");
        assert_eq!(server.get(&ta, &format!("/v1/resellers/{a}/sub-lessees/{a_sub}")).await.status, 200);

        // A's token against B's ids, and against B's sub-lessee under A's id: not found.
        let body = serde_json::to_vec(&russian("x-1", "standard")).unwrap();
        let cross: Vec<(&str, String, Option<Vec<u8>>)> = vec![
            ("GET", format!("/v1/resellers/{b}/sub-lessees"), None),
            ("POST", format!("/v1/resellers/{b}/sub-lessees"), Some(body.clone())),
            ("GET", format!("/v1/resellers/{b}/sub-lessees/{b_sub}"), None),
            ("PUT", format!("/v1/resellers/{b}/sub-lessees/{b_sub}"), Some(body.clone())),
            ("GET", format!("/v1/resellers/{a}/sub-lessees/{b_sub}"), None),
            ("PUT", format!("/v1/resellers/{a}/sub-lessees/{b_sub}"), Some(body.clone())),
        ];
        for (method, path, body) in cross {
            let r = server.req(method, &path, Some(&ta), body, &[]).await;
            assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
        }
        // Every other route refuses a reseller token (403), whatever the ids, with bodies that
        // would be accepted from a role allowed to call them.
        let app = russian("x-2", "standard");
        let measure = json!({"kind": "jurisdiction", "target": {"country": "RU"}, "effect": {"type": "prohibit"},
            "scope": ["opening"], "citation": "c", "effective": "2030-01-01"});
        let reg = json!({"location": "foreign", "cip_basis": "own_cip"});
        let others: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", "/v1/accounts".into(), None),
            ("POST", "/v1/accounts".into(), Some(app.clone())),
            ("GET", format!("/v1/accounts/{b_sub}"), None),
            ("GET", format!("/v1/accounts/{b_sub}/decisions"), None),
            ("GET", format!("/v1/accounts/{b_sub}/application"), None),
            ("PUT", format!("/v1/accounts/{b_sub}/application"), Some(app.clone())),
            ("GET", format!("/v1/accounts/{a_sub}"), None),
            ("GET", format!("/v1/resellers/{a}"), None),
            ("GET", format!("/v1/resellers/{b}"), None),
            ("PUT", format!("/v1/resellers/{b}"), Some(reg)),
            ("GET", "/v1/resellers".into(), None),
            ("POST", format!("/v1/resellers/{b}/non-compliance"), Some(json!({"reason": "x"}))),
            ("POST", format!("/v1/resellers/{b}/outcome"), Some(json!({"outcome": "terminated"}))),
            ("POST", format!("/v1/resellers/{b}/attestations"), Some(json!({"date": "2026-01-01", "reference": "r"}))),
            ("POST", format!("/v1/resellers/{b}/cip-documents"), Some(json!({"text": "t"}))),
            ("POST", format!("/v1/resellers/{b}/reports"), Some(json!({"reference": "r", "sha256": "ab".repeat(32)}))),
            ("POST", format!("/v1/resellers/{b}/tokens"), Some(json!({"name": "n"}))),
            ("POST", format!("/v1/resellers/{a}/tokens"), Some(json!({"name": "n"}))),
            ("GET", "/v1/measures".into(), None),
            ("POST", "/v1/measures".into(), Some(measure)),
            ("GET", "/v1/exemptions".into(), None),
            ("GET", "/v1/reviews".into(), None),
            ("GET", "/v1/legal-holds".into(), None),
            (
                "POST",
                "/v1/accounts/search".into(),
                Some(json!({"kind": "email", "value": "ops@harbor-robotics.example"})),
            ),
        ];
        for (method, path, body) in others {
            let body = body.map(|b| serde_json::to_vec(&b).unwrap());
            let extra: &[(&str, &str)] = &[("lessee-purpose", "verification")];
            let r = server.req(method, &path, Some(&ta), body, extra).await;
            assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
            assert_eq!(r.ctype, "application/problem+json", "{method} {path}");
        }
        // B's own view is untouched.
        let list = server.get(&tb, &format!("/v1/resellers/{b}/sub-lessees")).await;
        assert_eq!(list.body.as_array().unwrap().len(), 1);
        server.stop(false).await;
    }

    on_both_backends!(
        ru_measure_denies_and_flags_existing_accounts,
        reseller_register,
        resellers_see_only_their_own_sub_lessees
    );
}
