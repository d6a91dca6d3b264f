//! `SqlStore::create_accounts_bulk` writes what `Store::create_account` writes: the same accounts
//! stored both ways (in two fresh databases of one backend) read back identically, with the
//! same decisions, sealed applications, blind indexes, review cases and audit log. Every test
//! runs against SQLite and against a real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use lessee_audit::{Actor, AuditEvent, AuditHashKey, Frontier, LogEntry, Outcome as AuditOutcome, Target};
use lessee_domain::classify::{ClassificationConfig, ExternalEvidence};
use lessee_domain::{Account, AccountId, Application, Outcome, classify, interim_decision};
use lessee_store::{
    AccountFilter, BlindEntry, NewAccount, Page, PoolConfig, SealedApplication, SqlStore, Store, StoreError,
};
use serde_json::json;

struct Fixture {
    store: Arc<SqlStore>,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let store =
        SqlStore::open_dir(dir.path(), &PoolConfig::default()).await.unwrap_or_else(|e| panic!("open sqlite: {e}"));
    store.migrate().await.unwrap_or_else(|e| panic!("migrate: {e}"));
    Fixture { store: Arc::new(store), _dir: Some(dir) }
}

async fn postgres() -> Fixture {
    let url = lessee_store::testing::fresh_postgres_url().await.unwrap_or_else(|e| panic!("{e}"));
    let store =
        SqlStore::connect(&url, &PoolConfig::default()).await.unwrap_or_else(|e| panic!("connect postgres: {e}"));
    store.migrate().await.unwrap_or_else(|e| panic!("migrate: {e}"));
    Fixture { store: Arc::new(store), _dir: None }
}

const COUNTRIES: [&str; 5] = ["US", "DE", "RU", "CN", "UA"];

fn application(i: usize) -> Application {
    let country = COUNTRIES[i % COUNTRIES.len()];
    serde_json::from_value(json!({
        "external_id": format!("bulk-{i}"), "account_type": "standard", "opening_method": "self_service",
        "products": ["compute"],
        "customer": {"kind": "individual", "name": {"given": "Ada", "family": format!("Lovelace{i}")},
                     "citizenships": [country], "address": {"country": country},
                     "email": format!("ada{i}@example.com")}
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Account `i`: a manual review every 7th (it opens a review case), else the interim decision.
fn new_account(i: usize) -> NewAccount {
    let app = application(i);
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap() + Duration::milliseconds(i as i64);
    let classification = classify(&app, ExternalEvidence::default(), &ClassificationConfig::default());
    let mut decision = interim_decision(&classification, at);
    if i % 7 == 3 {
        decision.outcome = Outcome::ManualReview;
    }
    let mut rnd = [0u8; 10];
    rnd[..8].copy_from_slice(&(i as u64).to_be_bytes());
    let account = Account {
        id: AccountId::new(at, rnd),
        external_id: app.external_id.clone(),
        account_type: app.account_type,
        opening_method: app.opening_method,
        customer_kind: app.customer.kind(),
        products: app.products.clone(),
        notice_version: None,
        created_at: at,
        classification,
        decision,
    };
    // The store keeps opaque bytes; no real encryption is needed here.
    let sealed =
        SealedApplication { ciphertext: serde_json::to_vec(&app).unwrap(), wrapped_key: vec![(i % 251) as u8; 74] };
    // Shared values too (every 10th account has the same phone index), and a varying count.
    let mut indexes = vec![
        BlindEntry { purpose: "email".into(), value: format!("{i:0>32}"), subject: "customer".into() },
        BlindEntry { purpose: "phone".into(), value: format!("{:0>32}", i % 10), subject: "customer".into() },
    ];
    if i.is_multiple_of(3) {
        indexes.push(BlindEntry {
            purpose: "national_id".into(),
            value: format!("{:x>32}", i % 50),
            subject: "beneficial_owner:0".into(),
        });
    }
    let audit = AuditEvent {
        actor: Actor { token_id: "tok1".into(), role: "control_plane".into() },
        purpose: "verification".into(),
        action: "account.open".into(),
        target: Target { kind: "account".into(), id: account.id.to_string() },
        time: at,
        client_ip: AuditHashKey::from_bytes([3; 32]).hash_ip("127.0.0.1".parse().unwrap()),
        request_id: format!("req-{i}"),
        outcome: AuditOutcome::Allowed,
    };
    NewAccount { account, sealed, indexes, audit }
}

async fn all_accounts(s: &SqlStore) -> Vec<Account> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = s.list_accounts(&AccountFilter::default(), &Page { after, limit: 500 }).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        out.extend(page);
    }
    out
}

async fn sequenced_log(s: &SqlStore) -> Vec<LogEntry> {
    while s.sequence_audit(1000).await.unwrap() > 0 {}
    let size = s.audit_size().await.unwrap();
    let mut out = Vec::new();
    while (out.len() as u64) < size {
        let page = s.audit_entries(out.len() as u64, 500).await.unwrap();
        assert!(!page.is_empty(), "audit entries end before the tree's size");
        out.extend(page);
    }
    out
}

/// More accounts than one multi-row statement holds, written in two bulk calls.
const N: usize = 1_234;

async fn bulk_reads_back_as_create_account(one: Arc<SqlStore>, bulk: Arc<SqlStore>) {
    let rows: Vec<NewAccount> = (0..N).map(new_account).collect();
    for r in &rows {
        one.create_account(&r.account, &r.sealed, &r.indexes, &r.audit, None).await.unwrap();
    }
    let (a, b) = rows.split_at(700);
    assert_eq!(bulk.create_accounts_bulk(a).await.unwrap(), 700);
    assert_eq!(bulk.create_accounts_bulk(b).await.unwrap(), (N - 700) as u64);
    assert_eq!(bulk.create_accounts_bulk(&[]).await.unwrap(), 0);

    // Accounts, in pages as the re-evaluation reads them, and one by one.
    let listed = all_accounts(&bulk).await;
    assert_eq!(listed.len(), N);
    assert_eq!(listed, all_accounts(&one).await);
    for r in rows.iter().step_by(97) {
        let id = r.account.id;
        assert_eq!(bulk.account(id).await.unwrap().as_ref(), Some(&r.account));
        assert_eq!(bulk.decisions(id).await.unwrap(), one.decisions(id).await.unwrap());
        assert_eq!(bulk.decisions(id).await.unwrap(), vec![r.account.decision.clone()]);
        let (x, y) =
            (bulk.sealed_application(id).await.unwrap().unwrap(), one.sealed_application(id).await.unwrap().unwrap());
        assert_eq!((&x.ciphertext, &x.wrapped_key), (&y.ciphertext, &y.wrapped_key));
        assert_eq!(x.ciphertext, r.sealed.ciphertext);
    }
    let ids: Vec<AccountId> = rows.iter().map(|r| r.account.id).collect();
    let (mut ka, mut kb) = (bulk.wrapped_keys(&ids).await.unwrap(), one.wrapped_keys(&ids).await.unwrap());
    ka.sort();
    kb.sort();
    assert_eq!(ka.len(), N);
    assert_eq!(ka, kb);
    let ext: Vec<String> = rows.iter().map(|r| r.account.external_id.clone()).collect();
    let mut by_ext = bulk.account_ids_by_external(&ext).await.unwrap();
    let mut by_ext_one = one.account_ids_by_external(&ext).await.unwrap();
    by_ext.sort();
    by_ext_one.sort();
    assert_eq!(by_ext.len(), N);
    assert_eq!(by_ext, by_ext_one);

    // Blind indexes: unique and shared values find the same accounts.
    for (purpose, value) in [
        ("email", format!("{:0>32}", 5)),
        ("email", format!("{:0>32}", N - 1)),
        ("phone", format!("{:0>32}", 4)),
        ("national_id", format!("{:x>32}", 9)),
    ] {
        let found = bulk.accounts_by_blind_index(purpose, &value).await.unwrap();
        assert!(!found.is_empty(), "{purpose} finds its accounts");
        assert_eq!(found, one.accounts_by_blind_index(purpose, &value).await.unwrap(), "{purpose}");
    }

    // Review cases of the manual reviews (the interim decision sends some there too).
    let reviewed: Vec<AccountId> =
        rows.iter().filter(|r| r.account.decision.outcome == Outcome::ManualReview).map(|r| r.account.id).collect();
    assert!(reviewed.len() >= (0..N).filter(|i| i % 7 == 3).count());
    let (mut oa, mut ob) =
        (bulk.open_review_accounts(&ids).await.unwrap(), one.open_review_accounts(&ids).await.unwrap());
    oa.sort();
    ob.sort();
    let mut expected = reviewed.clone();
    expected.sort();
    assert_eq!(oa, expected);
    assert_eq!(oa, ob);
    for id in reviewed.iter().step_by(13) {
        let (a, b) =
            (bulk.reviews(None, Some(*id), 10).await.unwrap(), one.reviews(None, Some(*id), 10).await.unwrap());
        assert_eq!(a.len(), 1);
        assert_eq!(a, b);
    }

    // The audit log: the same records in the same order, the same tree.
    let (la, lb) = (sequenced_log(&bulk).await, sequenced_log(&one).await);
    assert_eq!(la.len(), N);
    assert_eq!(la, lb);
    let size = N as u64;
    let nodes = Frontier::node_ids(size);
    let (na, nb) = (bulk.audit_nodes(&nodes).await.unwrap(), one.audit_nodes(&nodes).await.unwrap());
    let root = |n| lessee_audit::root_at(&lessee_audit::NodeMap::new(size, n), size).unwrap();
    assert_eq!(root(na), root(nb));
}

async fn bulk_is_all_or_nothing(s: Arc<SqlStore>) {
    let rows: Vec<NewAccount> = (0..10).map(new_account).collect();
    s.create_accounts_bulk(&rows[..5]).await.unwrap();
    // Accounts 5..10 plus account 2's external id again under a new id: nothing of it is kept.
    let mut dup = new_account(2);
    dup.account.id = AccountId::new(Utc::now(), [0xee; 10]);
    dup.audit.target.id = dup.account.id.to_string();
    let mut again: Vec<NewAccount> = rows[5..].to_vec();
    again.push(dup);
    let err = s.create_accounts_bulk(&again).await.unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "a unique violation: {err}");
    assert_eq!(all_accounts(&s).await.len(), 5);
    assert!(s.account(rows[7].account.id).await.unwrap().is_none());
    assert_eq!(sequenced_log(&s).await.len(), 5, "no audit record of the failed call");
    // The rest goes in afterwards.
    s.create_accounts_bulk(&rows[5..]).await.unwrap();
    assert_eq!(all_accounts(&s).await.len(), 10);
}

mod sqlite_backend {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bulk_reads_back_as_create_account() {
        let (a, b) = (super::sqlite().await, super::sqlite().await);
        super::bulk_reads_back_as_create_account(a.store.clone(), b.store.clone()).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bulk_is_all_or_nothing() {
        let f = super::sqlite().await;
        super::bulk_is_all_or_nothing(f.store.clone()).await;
    }
}

mod postgres_backend {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bulk_reads_back_as_create_account() {
        let (a, b) = (super::postgres().await, super::postgres().await);
        super::bulk_reads_back_as_create_account(a.store.clone(), b.store.clone()).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bulk_is_all_or_nothing() {
        let f = super::postgres().await;
        super::bulk_is_all_or_nothing(f.store.clone()).await;
    }
}
