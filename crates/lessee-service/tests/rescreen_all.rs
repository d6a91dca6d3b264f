//! The full re-screen (`Service::rescreen_all`) on SQLite and PostgreSQL: every stored customer
//! and beneficial owner decrypted and screened, new matches raised as alerts and the account
//! decided again, a second run raising nothing, the decrypt-only scan raising nothing, and an
//! account that does not decrypt counted, not skipped silently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::path::PathBuf;
use std::sync::Arc;

use lessee_domain::{Application, Outcome};
use lessee_service::screening::parse_list;
use lessee_service::{AuditKeys, Principal, RequestContext, Service, Vault};
use lessee_store::{PoolConfig, SqlStore, Store};

fn app(name: &str) -> Application {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/applications").join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

async fn run(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let url = if postgres {
        lessee_store::testing::fresh_postgres_url().await.unwrap()
    } else {
        format!("sqlite://{}?mode=rwc", dir.path().join("lessee.db").display())
    };
    let store = SqlStore::connect(&url, &PoolConfig::default()).await.unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let vault =
        Arc::new(Vault::new(Arc::new(lessee_crypto::LocalKeyring::open_or_create(dir.path()).unwrap())).unwrap());
    let (keys, _, _) = AuditKeys::open_or_create(dir.path()).unwrap();
    let svc = Service::with_defaults(store.clone(), vault, Arc::new(keys));
    let (op, ctx) = (Principal::local_operator(), RequestContext::local());

    // No list: nothing to screen against.
    let us = svc.open_account(&op, &ctx, app("individual_us_person.json"), None).await.unwrap().account;
    let firm = svc.open_account(&op, &ctx, app("entity_foreign_with_owners.json"), None).await.unwrap().account;
    assert_eq!(svc.rescreen_all(true).await.unwrap().accounts, 0);

    // A list naming the approved customer, imported without running its job: the full
    // re-screen finds her (the customer, and the company's second owner, the same person).
    let list =
        b"id,name,type,aliases,date_of_birth,country,identifiers\nC-1,\"OKAFOR, Rachel\",individual,,1991-06-30,US,\n";
    svc.import_list(&op, &ctx, parse_list(Some("custom"), list).unwrap(), Some("internal"), "file:l.csv")
        .await
        .unwrap();
    let scan = svc.rescreen_all(false).await.unwrap();
    assert_eq!((scan.accounts, scan.subjects, scan.matches, scan.alerts), (2, 4, 0, 0), "{scan:?}");
    assert!(svc.account_alerts(&op, &us.id.to_string()).await.unwrap().is_empty());

    let full = svc.rescreen_all(true).await.unwrap();
    assert_eq!((full.accounts, full.subjects, full.alerts, full.redecided), (2, 4, 2, 2), "{full:?}");
    let alerts = svc.account_alerts(&op, &us.id.to_string()).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!((alerts[0].subject.as_str(), alerts[0].entity_id.as_str()), ("customer", "C-1"));
    let owner = svc.account_alerts(&op, &firm.id.to_string()).await.unwrap();
    assert_eq!(owner.len(), 1, "{owner:?}");
    assert_eq!(owner[0].subject, "beneficial_owner:1");
    let now = svc.account(&op, &us.id.to_string()).await.unwrap();
    assert_eq!(now.decision.outcome, Outcome::Deny);
    assert_eq!(now.decision.trigger.as_deref(), Some("rescreen"));

    // Idempotent: a second run and the import's own job raise nothing new.
    let again = svc.rescreen_all(true).await.unwrap();
    assert_eq!((again.matches, again.alerts, again.redecided), (2, 0, 0), "{again:?}");
    svc.run_jobs_until_empty("test-worker").await.unwrap();
    assert_eq!(svc.account_alerts(&op, &us.id.to_string()).await.unwrap().len(), 1);
    assert_eq!(again.unreadable, 0);

    // An account whose data key no longer unwraps is not skipped silently: counted, and the
    // others are still screened.
    let mut again = app("individual_us_person.json");
    again.external_id = "rescreen-third".into();
    let third = svc.open_account(&op, &ctx, again, None).await.unwrap().account;
    let keys = store.customer_keys(None, 100).await.unwrap();
    let (_, wrapped) = keys.iter().find(|(id, _)| *id == third.id).unwrap();
    assert!(store.replace_customer_key(third.id, wrapped, b"not a wrapped key").await.unwrap());
    let damaged = svc.rescreen_all(true).await.unwrap();
    assert_eq!((damaged.accounts, damaged.unreadable, damaged.subjects), (3, 1, 4), "{damaged:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescreen_all_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescreen_all_postgres() {
    run(true).await;
}
