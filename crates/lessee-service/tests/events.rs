//! Access-event ingestion across batches and across processes sharing one database, on SQLite
//! and PostgreSQL: what each process remembers between batches (external ids' accounts, the
//! countries the jurisdiction watch has noted) never hides a new fact from it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::net::IpAddr;
use std::sync::Arc;

use lessee_domain::AccountId;
use lessee_service::events::parse_batch;
use lessee_service::{
    AuditKeys, BatchMode, Config, EmbeddedGeoIp, GeoIp, IngestReport, Principal, Purpose, RequestContext, Service,
    SystemClock, Vault,
};
use lessee_store::Store;

fn fixture(name: &str) -> lessee_domain::Application {
    let p =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../../shared/data/applications/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn event(account: &str, ip: &str) -> String {
    let at = chrono::Utc::now() - chrono::Duration::minutes(5);
    format!(
        r#"{{"account": "{account}", "ip": "{ip}", "at": "{}", "action": "console.login", "kind": "access"}}"#,
        at.to_rfc3339()
    )
}

async fn ingest(svc: &Service, lines: Vec<String>, mode: BatchMode) -> lessee_service::Result<IngestReport> {
    let batch = parse_batch(lines.join("\n").as_bytes()).unwrap();
    svc.ingest_events(&Principal::local_operator(), &RequestContext::local(), batch, mode).await
}

/// The account's "new jurisdiction" review cases.
async fn cases(svc: &Service, id: AccountId) -> usize {
    let reviews =
        svc.list_reviews(&Principal::local_operator(), Some("all"), Some(&id.to_string()), 100).await.unwrap();
    reviews.iter().filter(|c| c.reason.starts_with("access from a new jurisdiction")).count()
}

async fn run(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = lessee_store::testing::migrated_store(postgres, dir.path()).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let keyring = Arc::new(lessee_crypto::LocalKeyring::open_or_create(dir.path()).unwrap());
    // Two services on one database: two `serve` processes, each with its own memory.
    let service = || {
        let vault = Arc::new(Vault::new(keyring.clone()).unwrap());
        let (keys, _, _) = AuditKeys::open_or_create(dir.path()).unwrap();
        Service::new(
            store.clone(),
            Arc::new(SystemClock),
            Arc::new(EmbeddedGeoIp),
            vault,
            Arc::new(keys),
            Config::default(),
        )
    };
    let (one, two) = (service(), service());
    let op = Principal::local_operator();
    let ctx = RequestContext::local();
    let country = |ip: &str| EmbeddedGeoIp.country(ip.parse::<IpAddr>().unwrap()).map(|c| c.to_string());
    let (home, abroad, further) = ("73.158.22.9", "80.133.10.7", "24.114.0.8");
    assert_eq!(
        (country(home).as_deref(), country(abroad).as_deref(), country(further).as_deref()),
        (Some("US"), Some("DE"), Some("CA")),
        "the embedded geolocation's answers this test is built on"
    );
    let countries = |id: AccountId| {
        let store = store.clone();
        async move {
            let mut c: Vec<String> = store.access_countries(&[id]).await.unwrap().into_iter().map(|(_, c)| c).collect();
            c.sort();
            c
        }
    };
    // An external id no account has yet is refused; it is not remembered as unknown.
    let r = ingest(&one, vec![event("acct-1005", home)], BatchMode::Partial).await.unwrap();
    assert_eq!((r.accepted, r.rejected.len()), (0, 1));
    let us = one.open_account(&op, &ctx, fixture("individual_us_person"), None).await.unwrap().account.id;
    let late = one.open_account(&op, &ctx, fixture("individual_bad_mrz"), None).await.unwrap().account.id;
    let r = ingest(&one, vec![event("acct-1005", home), event("acct-1002", home)], BatchMode::Atomic).await.unwrap();
    assert_eq!((r.accepted, r.rejected.len()), (2, 0), "{r:?}");
    let page =
        one.account_events(&op, &ctx, Purpose::LegalProcess, &late.to_string(), None, None, None, 100).await.unwrap();
    assert_eq!(page.items.len(), 1, "the account opened after its first refusal has its event");
    assert_eq!(page.items[0].ip, home);

    // Home: nothing to review; the pair is noted.
    assert_eq!(countries(us).await, ["US"]);
    assert_eq!(cases(&one, us).await, 0);
    // Abroad, first seen by process one: a case, and the note.
    ingest(&one, vec![event("acct-1002", abroad)], BatchMode::Atomic).await.unwrap();
    assert_eq!(countries(us).await, ["DE", "US"]);
    assert_eq!(cases(&one, us).await, 1);
    // Process two has never seen the account: it learns from the database that DE is noted,
    // and that CA is new, which it notes.
    ingest(&two, vec![event("acct-1002", abroad), event("acct-1002", further)], BatchMode::Atomic).await.unwrap();
    assert_eq!(countries(us).await, ["CA", "DE", "US"]);
    // Process one remembers US and DE, not CA: it finds CA noted and writes nothing twice.
    ingest(&one, vec![event("acct-1002", further), event("acct-1002", home)], BatchMode::Atomic).await.unwrap();
    assert_eq!(countries(us).await, ["CA", "DE", "US"]);
    // One case is open for the account, so the later countries add no second one.
    assert_eq!(cases(&two, us).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingestion_memory_never_hides_a_new_fact_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingestion_memory_never_hides_a_new_fact_postgres() {
    run(true).await;
}
