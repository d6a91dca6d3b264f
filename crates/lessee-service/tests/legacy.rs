//! Rows written before encryption existed hold the application in plaintext; `serve` seals
//! them at start. This test makes such a row and checks it is sealed, readable and gone in the
//! clear, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::sync::Arc;

use lessee_service::{AuditKeys, Principal, Purpose, RequestContext, Service, Vault};
use lessee_store::{PoolConfig, SqlStore, Store};
use sqlx::Connection;

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
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/applications/individual_foreign_passport.json");
    let json = std::fs::read_to_string(path).unwrap();
    let app: lessee_domain::Application = serde_json::from_str(&json).unwrap();
    let id = svc.open_account(&op, &ctx, app, None).await.unwrap().account.id.to_string();

    // Turn the row into what the first schema wrote: plaintext JSON, no key, no indexes.
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let plain = serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&json).unwrap()).unwrap();
    sqlx::query("UPDATE accounts SET application = $1, sealed = NULL WHERE id = $2")
        .bind(&plain)
        .bind(&id)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("DELETE FROM customer_keys WHERE account_id = $1").bind(&id).execute(&mut conn).await.unwrap();
    sqlx::query("DELETE FROM blind_indexes WHERE account_id = $1").bind(&id).execute(&mut conn).await.unwrap();
    assert!(svc.application(&op, &ctx, &id, Purpose::Audit).await.is_err(), "unreadable until sealed");

    assert_eq!(svc.seal_legacy_applications().await.unwrap(), 1);
    assert_eq!(svc.seal_legacy_applications().await.unwrap(), 0, "sealing is done once");
    let read: serde_json::Value =
        serde_json::from_slice(&svc.application(&op, &ctx, &id, Purpose::Audit).await.unwrap()).unwrap();
    assert_eq!(read["external_id"], "acct-1001");
    let found = svc.find_accounts(&op, &ctx, "email", "k.mueller@example.de", Purpose::Audit).await.unwrap();
    assert_eq!(found.len(), 1, "indexes were rebuilt");
    let left: String = sqlx::query_scalar("SELECT application FROM accounts WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, "", "no plaintext left in the row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_rows_are_sealed_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_rows_are_sealed_postgres() {
    run(true).await;
}
