//! The service's job runner on SQLite and PostgreSQL: a job nothing can run is parked as dead
//! at once (not retried forever), and a worker finds nothing to do afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::sync::Arc;

use lessee_service::{AuditKeys, Service, Vault};
use lessee_store::Store;
use serde_json::json;

async fn run(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = lessee_store::testing::migrated_store(postgres, dir.path()).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let vault =
        Arc::new(Vault::new(Arc::new(lessee_crypto::LocalKeyring::open_or_create(dir.path()).unwrap())).unwrap());
    let (keys, _, _) = AuditKeys::open_or_create(dir.path()).unwrap();
    let svc = Service::with_defaults(store, vault, Arc::new(keys));

    let jobs =
        [svc.job("no.such.kind", Some("x".into()), json!({})), svc.job("no.such.kind", Some("x".into()), json!({}))];
    assert_eq!(svc.enqueue_jobs(&jobs).await.unwrap(), 1, "the duplicate is absorbed");
    let run = svc.run_jobs_until_empty("w").await.unwrap();
    assert_eq!((run.completed, run.retried, run.dead), (0, 0, 1));
    assert_eq!(svc.run_jobs("w", 10).await.unwrap().claimed(), 0);
    let counts = svc.job_counts().await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!((counts[0].kind.as_str(), counts[0].state.as_str(), counts[0].count), ("no.such.kind", "dead", 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_jobs_are_parked_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_jobs_are_parked_postgres() {
    run(true).await;
}
