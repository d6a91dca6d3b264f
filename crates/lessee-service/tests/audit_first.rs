//! No audit, no data: when the audit record of a read cannot be written, the read fails and
//! returns nothing, even though the data itself is read while the record commits. On SQLite
//! and PostgreSQL, with a trigger that makes every audit insert fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::sync::Arc;

use lessee_service::{AuditKeys, Principal, Purpose, RequestContext, Service, Vault};
use lessee_store::Store;

fn fixture(name: &str) -> lessee_domain::Application {
    let p =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../../shared/data/applications/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

async fn run(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = lessee_store::testing::migrated_store(postgres, dir.path()).await.unwrap();
    let store = Arc::new(store);
    let vault =
        Arc::new(Vault::new(Arc::new(lessee_crypto::LocalKeyring::open_or_create(dir.path()).unwrap())).unwrap());
    let (keys, _, _) = AuditKeys::open_or_create(dir.path()).unwrap();
    let svc = Service::with_defaults(store.clone() as Arc<dyn Store>, vault, Arc::new(keys));
    let op = Principal::local_operator();
    let ctx = RequestContext::local();
    let opened = svc.open_account(&op, &ctx, fixture("individual_us_person"), None).await.unwrap();
    let id = opened.account.id.to_string();
    svc.sequence_audit().await.unwrap();
    let before = store.audit_size().await.unwrap();

    let app: lessee_domain::Application =
        serde_json::from_slice(&svc.application(&op, &ctx, &id, Purpose::Verification).await.unwrap()).unwrap();
    assert_eq!(app.external_id, opened.account.external_id);

    let pool = store.audit_append_pool();
    if postgres {
        sqlx::query(
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$ LANGUAGE plpgsql",
        )
        .execute(pool)
        .await
        .unwrap();
        sqlx::query("CREATE TRIGGER refuse BEFORE INSERT ON audit_pending FOR EACH ROW EXECUTE FUNCTION refuse()")
            .execute(pool)
            .await
            .unwrap();
    } else {
        sqlx::query(
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_pending BEGIN SELECT RAISE(ABORT, 'audit refused'); END",
        )
        .execute(pool)
        .await
        .unwrap();
    }
    let Err(err) = svc.application(&op, &ctx, &id, Purpose::Verification).await else {
        panic!("a read returned data without its audit record");
    };
    assert!(matches!(err.code, lessee_service::ErrorCode::Internal | lessee_service::ErrorCode::Unavailable), "{err}");
    sqlx::query(if postgres { "DROP TRIGGER refuse ON audit_pending" } else { "DROP TRIGGER refuse" })
        .execute(pool)
        .await
        .unwrap();
    svc.application(&op, &ctx, &id, Purpose::Verification).await.unwrap();
    svc.sequence_audit().await.unwrap();
    // Two successful reads audited after the opening; the refused one left nothing.
    assert_eq!(store.audit_size().await.unwrap(), before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_audit_no_data_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_audit_no_data_postgres() {
    run(true).await;
}
