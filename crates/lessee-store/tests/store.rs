//! The storage test suite. Every test runs against SQLite and against a real PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests report by panicking

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use lessee_domain::classify::{ClassificationConfig, ExternalEvidence};
use lessee_domain::{Account, AccountId, Application, Outcome, classify, interim_decision};
use lessee_store::PoolConfig;
use lessee_store::{
    AccountFilter, Created, IdempotencyKey, Page, SqlStore, Store, StoreError, TokenRecord,
};
use serde_json::json;

struct Fixture {
    store: Arc<SqlStore>,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let store = SqlStore::open_dir(dir.path(), &PoolConfig::default())
        .await
        .unwrap_or_else(|e| panic!("open sqlite: {e}"));
    store
        .migrate()
        .await
        .unwrap_or_else(|e| panic!("migrate: {e}"));
    Fixture {
        store: Arc::new(store),
        _dir: Some(dir),
    }
}

async fn postgres() -> Fixture {
    let url = lessee_store::testing::fresh_postgres_url()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store = SqlStore::connect(&url, &PoolConfig::default())
        .await
        .unwrap_or_else(|e| panic!("connect postgres: {e}"));
    store
        .migrate()
        .await
        .unwrap_or_else(|e| panic!("migrate: {e}"));
    Fixture {
        store: Arc::new(store),
        _dir: None,
    }
}

fn application(external_id: &str, citizenship: &str) -> Application {
    serde_json::from_value(json!({
        "external_id": external_id, "account_type": "standard", "opening_method": "self_service",
        "products": ["compute"],
        "customer": {"kind": "individual", "name": {"given": "Ada", "family": "Lovelace"},
                     "citizenships": [citizenship], "address": {"country": citizenship},
                     "email": "ada@example.com"}
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

fn account(app: &Application, n: u8) -> Account {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 23, 12, 0, n.into())
        .single()
        .unwrap_or_default();
    let classification = classify(
        app,
        ExternalEvidence::default(),
        &ClassificationConfig::default(),
    );
    let decision = interim_decision(&classification, now);
    Account {
        id: AccountId::new(now, [n; 10]),
        external_id: app.external_id.clone(),
        account_type: app.account_type,
        opening_method: app.opening_method,
        customer_kind: app.customer.kind(),
        products: app.products.clone(),
        notice_version: None,
        created_at: now,
        classification,
        decision,
    }
}

fn key(k: &str, hash: &str) -> IdempotencyKey {
    IdempotencyKey {
        scope: "tok1".into(),
        key: k.into(),
        request_hash: hash.into(),
    }
}

async fn create_and_read(s: Arc<SqlStore>) {
    let app = application("acct-1", "US");
    let acc = account(&app, 1);
    let created = s
        .create_account(&acc, &app, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(created, Created::New(_)));
    let read = s.account(acc.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read.as_ref(), Some(&acc));
    let decisions = s.decisions(acc.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(decisions, vec![acc.decision.clone()]);
    let stored = s
        .application(acc.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stored = serde_json::to_value(stored).unwrap_or_default();
    assert_eq!(stored["customer"]["email"], "ada@example.com");
    let missing = AccountId::new(Utc::now(), [9; 10]);
    assert!(
        s.account(missing)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    assert!(
        s.decisions(missing)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
}

async fn idempotent_replay(s: Arc<SqlStore>) {
    let app = application("acct-2", "DE");
    let first = account(&app, 2);
    let k = key("k-1", "h1");
    let a = s
        .create_account(&first, &app, Some(&k))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A replay builds a new candidate account with a new id; the store returns the first.
    let second = account(&app, 3);
    let b = s
        .create_account(&second, &app, Some(&k))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(b, Created::Replayed(_)));
    assert_eq!(a.account().id, b.account().id);
    let other = s
        .create_account(&second, &app, Some(&key("k-1", "h2")))
        .await;
    assert!(
        matches!(other, Err(StoreError::IdempotencyMismatch)),
        "{other:?}"
    );
    let all = s
        .list_accounts(
            &AccountFilter::default(),
            &Page {
                after: None,
                limit: 100,
            },
        )
        .await
        .unwrap_or_default();
    assert_eq!(all.len(), 1);
}

async fn concurrent_replays_create_one(s: Arc<SqlStore>) {
    let app = application("acct-3", "GB");
    let mut tasks = Vec::new();
    for n in 0..16u8 {
        let s = s.clone();
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let acc = account(&app, n);
            s.create_account(&acc, &app, Some(&key("same", "h"))).await
        }));
    }
    let mut ids = Vec::new();
    let mut new = 0;
    for t in tasks {
        let r = t
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        if matches!(r, Created::New(_)) {
            new += 1;
        }
        ids.push(r.account().id);
    }
    assert_eq!(new, 1);
    ids.dedup();
    assert_eq!(ids.len(), 1);
}

async fn external_id_is_unique_and_nothing_partial(s: Arc<SqlStore>) {
    let app = application("acct-4", "FR");
    let first = account(&app, 4);
    s.create_account(&first, &app, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dup = account(&app, 5);
    let r = s.create_account(&dup, &app, Some(&key("k-dup", "h"))).await;
    match r {
        Err(StoreError::ExternalIdTaken { existing }) => assert_eq!(existing, Some(first.id)),
        other => panic!("expected ExternalIdTaken, got {other:?}"),
    }
    // The failed request left neither an account nor its idempotency key behind.
    assert!(
        s.account(dup.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    let again = s.create_account(&dup, &app, Some(&key("k-dup", "h"))).await;
    assert!(
        matches!(again, Err(StoreError::ExternalIdTaken { .. })),
        "{again:?}"
    );
}

async fn list_filters_and_pages(s: Arc<SqlStore>) {
    let mut ids = Vec::new();
    for n in 0..7u8 {
        let country = if n % 2 == 0 { "US" } else { "DE" };
        let app = application(&format!("acct-l{n}"), country);
        let acc = account(&app, n);
        s.create_account(&acc, &app, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        ids.push(acc.id);
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .list_accounts(&AccountFilter::default(), &Page { after, limit: 3 })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if page.is_empty() {
            break;
        }
        after = page.last().map(|a| a.id);
        seen.extend(page.into_iter().map(|a| a.id));
    }
    assert_eq!(seen, ids);
    let approved = s
        .list_accounts(
            &AccountFilter {
                outcome: Some("approve".into()),
                ..Default::default()
            },
            &Page {
                after: None,
                limit: 100,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(approved.len(), 4);
    assert!(
        approved
            .iter()
            .all(|a| a.decision.outcome == Outcome::Approve)
    );
    let one = s
        .list_accounts(
            &AccountFilter {
                external_id: Some("acct-l3".into()),
                ..Default::default()
            },
            &Page {
                after: None,
                limit: 100,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        one.iter()
            .map(|a| a.external_id.as_str())
            .collect::<Vec<_>>(),
        vec!["acct-l3"]
    );
    let foreign_us = s
        .list_accounts(
            &AccountFilter {
                classification: Some("foreign_person".into()),
                outcome: Some("approve".into()),
                ..Default::default()
            },
            &Page {
                after: None,
                limit: 100,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(foreign_us.is_empty());
}

async fn tokens(s: Arc<SqlStore>) {
    let t = TokenRecord {
        id: "abc".into(),
        name: "ops".into(),
        role: "admin".into(),
        secret_hash: "00ff".into(),
        created_at: Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
        revoked_at: None,
    };
    s.create_token(&t).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.token("abc").await.unwrap_or_default(), Some(t.clone()));
    assert_eq!(s.live_token_count().await.unwrap_or_default(), 1);
    assert!(
        s.create_token(&t).await.is_err(),
        "duplicate token id must be refused"
    );
    assert!(s.revoke_token("abc", Utc::now()).await.unwrap_or_default());
    assert!(!s.revoke_token("abc", Utc::now()).await.unwrap_or(true));
    assert!(!s.revoke_token("nope", Utc::now()).await.unwrap_or(true));
    assert_eq!(s.live_token_count().await.unwrap_or(-1), 0);
    let listed = s.list_tokens().await.unwrap_or_default();
    assert_eq!(listed.len(), 1);
    assert!(listed.first().and_then(|t| t.revoked_at).is_some());
}

async fn migrate_is_repeatable(s: Arc<SqlStore>) {
    s.migrate()
        .await
        .unwrap_or_else(|e| panic!("second migrate: {e}"));
    s.ping().await.unwrap_or_else(|e| panic!("ping: {e}"));
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { let f = super::sqlite().await; super::$name(f.store.clone()).await; } )*
        }
        mod postgres_backend {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { let f = super::postgres().await; super::$name(f.store.clone()).await; } )*
        }
    };
}

on_both_backends!(
    create_and_read,
    idempotent_replay,
    concurrent_replays_create_one,
    external_id_is_unique_and_nothing_partial,
    list_filters_and_pages,
    tokens,
    migrate_is_repeatable,
);
