//! Storage of the measures registry, impacts and sub-lessee links, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use lessee_audit::{Actor, AuditEvent, AuditHashKey, Outcome as AuditOutcome, Target};
use lessee_domain::classify::{ClassificationConfig, ExternalEvidence};
use lessee_domain::{Account, AccountId, Application, Outcome, classify, interim_decision};
use lessee_store::{
    BlindEntry, ImpactRecord, ImpactWrite, MeasureStore, PoolConfig, RegistryDoc, SealedApplication, SqlStore, Store,
};
use serde_json::json;

struct Fixture {
    store: Arc<SqlStore>,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_dir(dir.path(), &PoolConfig::default()).await.unwrap();
    store.migrate().await.unwrap();
    Fixture { store: Arc::new(store), _dir: Some(dir) }
}

async fn postgres() -> Fixture {
    let url = lessee_store::testing::fresh_postgres_url().await.unwrap_or_else(|e| panic!("{e}"));
    let store = SqlStore::connect(&url, &PoolConfig::default()).await.unwrap();
    store.migrate().await.unwrap();
    Fixture { store: Arc::new(store), _dir: None }
}

fn event(action: &str, target: &str) -> AuditEvent {
    AuditEvent {
        actor: Actor { token_id: "tok1".into(), role: "admin".into() },
        purpose: "audit".into(),
        action: action.into(),
        target: Target { kind: "measure".into(), id: target.into() },
        time: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).single().unwrap(),
        client_ip: AuditHashKey::from_bytes([3; 32]).hash_ip("127.0.0.1".parse().unwrap()),
        request_id: "req-1".into(),
        outcome: AuditOutcome::Allowed,
    }
}

fn doc(id: &str, version: i64, body: &str) -> RegistryDoc {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).single().unwrap() + Duration::seconds(version);
    RegistryDoc {
        kind: "measure".into(),
        id: id.into(),
        version,
        body: body.into(),
        created_at: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).single().unwrap(),
        updated_at: at,
    }
}

async fn audit_pending(s: &SqlStore) -> u64 {
    s.sequence_audit(10_000).await.unwrap();
    s.audit_size().await.unwrap()
}

async fn registry_is_versioned_with_history(s: Arc<SqlStore>) {
    assert!(
        s.put_registry(&doc("m1", 1, "{\"a\":1}"), None, "created", "tok1", &event("measure.create", "m1"))
            .await
            .unwrap()
    );
    // A second create of the same id is refused and writes nothing (no change row, no audit).
    assert!(
        !s.put_registry(&doc("m1", 1, "{\"a\":9}"), None, "created", "tok1", &event("measure.create", "m1"))
            .await
            .unwrap()
    );
    assert_eq!(audit_pending(&s).await, 1);
    // Compare-and-set on the version.
    assert!(
        s.put_registry(&doc("m1", 2, "{\"a\":2}"), Some(1), "extended", "tok2", &event("measure.extend", "m1"))
            .await
            .unwrap()
    );
    assert!(
        !s.put_registry(&doc("m1", 2, "{\"a\":3}"), Some(1), "revoked", "tok2", &event("measure.revoke", "m1"))
            .await
            .unwrap()
    );
    let current = s.registry_doc("measure", "m1").await.unwrap().unwrap();
    assert_eq!((current.version, current.body.as_str()), (2, "{\"a\":2}"));
    let history = s.registry_changes("measure", "m1").await.unwrap();
    let changes: Vec<(&str, i64, &str)> =
        history.iter().map(|c| (c.change.as_str(), c.version, c.changed_by.as_str())).collect();
    assert_eq!(changes, vec![("created", 1, "tok1"), ("extended", 2, "tok2")]);
    assert_eq!(history[0].body, "{\"a\":1}");
    assert!(
        s.put_registry(&doc("m0", 1, "{}"), None, "created", "tok1", &event("measure.create", "m0")).await.unwrap()
    );
    let all: Vec<String> = s.registry_docs("measure").await.unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(all, vec!["m0".to_owned(), "m1".to_owned()]);
    assert!(s.registry_docs("exemption").await.unwrap().is_empty());
    assert!(s.registry_doc("exemption", "m1").await.unwrap().is_none());
    assert_eq!(audit_pending(&s).await, 3);
}

fn application(external_id: &str) -> Application {
    serde_json::from_value(json!({
        "external_id": external_id, "account_type": "standard", "opening_method": "self_service",
        "customer": {"kind": "individual", "name": {"given": "Ada", "family": "L"},
                     "citizenships": ["RU"], "address": {"country": "RU"}}
    }))
    .unwrap()
}

async fn stored_account(s: &SqlStore, n: u8) -> Account {
    let app = application(&format!("acct-{n}"));
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, n.into()).single().unwrap();
    let classification = classify(&app, ExternalEvidence::default(), &ClassificationConfig::default());
    let account = Account {
        id: AccountId::new(now, [n; 10]),
        external_id: app.external_id.clone(),
        account_type: app.account_type,
        opening_method: app.opening_method,
        customer_kind: app.customer.kind(),
        products: vec![],
        notice_version: None,
        created_at: now,
        decision: interim_decision(&classification, now),
        classification,
    };
    let sealed = SealedApplication { ciphertext: b"x".to_vec(), wrapped_key: vec![7; 74] };
    let idx: Vec<BlindEntry> = vec![];
    s.create_account(&account, &sealed, &idx, &event("account.open", "a"), None).await.unwrap();
    account
}

fn impact(account: AccountId, state: &str, close_by: Option<&str>, day: u32) -> ImpactRecord {
    let at = Utc.with_ymd_and_hms(2026, 12, day, 0, 0, 0).single().unwrap();
    ImpactRecord {
        measure_id: "m1".into(),
        account_id: account,
        measure_version: 1,
        state: state.into(),
        verdict: "close".into(),
        close_by: close_by.map(str::to_owned),
        outcome: "{}".into(),
        first_at: at,
        updated_at: at,
    }
}

async fn impacts_keep_first_deadline_and_decide(s: Arc<SqlStore>) {
    let a = stored_account(&s, 1).await;
    let b = stored_account(&s, 2).await;
    let mut denied = a.clone();
    denied.decision.outcome = Outcome::Deny;
    denied.decision.trigger = Some("measure:m1".into());
    s.record_impacts(&[
        ImpactWrite {
            impact: impact(a.id, "applied", Some("2026-12-31"), 1),
            decision: Some(denied),
            audit: event("measure.apply", "a"),
        },
        ImpactWrite { impact: impact(b.id, "upcoming", None, 1), decision: None, audit: event("measure.apply", "b") },
    ])
    .await
    .unwrap();
    assert_eq!(s.account(a.id).await.unwrap().unwrap().decision.outcome, Outcome::Deny);
    assert_eq!(s.decisions(a.id).await.unwrap().len(), 2);
    assert_eq!(s.decisions(b.id).await.unwrap().len(), 1);
    // A later evaluation keeps the first deadline and the first time.
    s.record_impacts(&[ImpactWrite {
        impact: impact(a.id, "applied", Some("2027-02-01"), 5),
        decision: None,
        audit: event("measure.apply", "a"),
    }])
    .await
    .unwrap();
    let rows = s.measure_impacts("m1").await.unwrap();
    assert_eq!(rows.len(), 2);
    let ra = rows.iter().find(|r| r.account_id == a.id).unwrap();
    assert_eq!(ra.close_by.as_deref(), Some("2026-12-31"));
    assert_eq!(ra.first_at, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap());
    // Nothing else changed, so nothing is written (a concurrent run finding the same outcome
    // leaves the row as it was).
    assert_eq!(ra.updated_at, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap());
    // A changed outcome is written, the first deadline still kept.
    let mut changed = impact(a.id, "applied", Some("2027-03-01"), 6);
    changed.outcome = r#"{"findings":[]}"#.into();
    s.record_impacts(&[ImpactWrite { impact: changed, decision: None, audit: event("measure.apply", "a") }])
        .await
        .unwrap();
    let ra = s.account_impacts(a.id).await.unwrap().remove(0);
    assert_eq!(ra.close_by.as_deref(), Some("2026-12-31"));
    assert_eq!(ra.outcome, r#"{"findings":[]}"#);
    assert_eq!(ra.updated_at, Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).single().unwrap());
    assert_eq!(s.account_impacts(b.id).await.unwrap()[0].state, "upcoming");
    assert!(s.measure_impacts("m2").await.unwrap().is_empty());
    // A decision for a missing account fails the whole batch: nothing partial.
    let mut ghost = a.clone();
    ghost.id = AccountId::new(Utc::now(), [9; 10]);
    let failed = s
        .record_impacts(&[
            ImpactWrite { impact: impact(b.id, "lifted", None, 9), decision: None, audit: event("measure.apply", "b") },
            ImpactWrite { impact: impact(ghost.id, "applied", None, 9), decision: Some(ghost), audit: event("x", "g") },
        ])
        .await;
    assert!(failed.is_err());
    assert_eq!(s.account_impacts(b.id).await.unwrap()[0].state, "upcoming");
}

async fn sub_lessee_links(s: Arc<SqlStore>) {
    let r = AccountId::new(Utc::now(), [1; 10]);
    let x = AccountId::new(Utc::now(), [2; 10]);
    let y = AccountId::new(Utc::now(), [3; 10]);
    let at = Utc::now();
    s.link_sub_lessee(x, r, at).await.unwrap();
    s.link_sub_lessee(y, r, at).await.unwrap();
    // A sub-lessee has one reseller: a second link is ignored.
    s.link_sub_lessee(x, y, at).await.unwrap();
    assert_eq!(s.sub_lessee_reseller(x).await.unwrap(), Some(r));
    assert_eq!(s.sub_lessee_reseller(r).await.unwrap(), None);
    let mut expected = vec![x, y];
    expected.sort();
    assert_eq!(s.sub_lessees_of(r).await.unwrap(), expected);
    assert!(s.sub_lessees_of(x).await.unwrap().is_empty());
    // Several resellers at once: only those with registered sub-lessees appear.
    let other = AccountId::new(Utc::now(), [4; 10]);
    let mut many = s.sub_lessees_of_many(&[x, r, other]).await.unwrap();
    many.sort();
    assert_eq!(many, vec![(r, expected[0]), (r, expected[1])]);
    assert!(s.sub_lessees_of_many(&[]).await.unwrap().is_empty());
}

/// The re-evaluation's scan reads the rows `list_accounts` reads, page by page, with the
/// decisions recorded since (the account view as it is).
async fn scan_matches_list(s: Arc<SqlStore>) {
    let mut stored = Vec::new();
    for n in 1..=5 {
        stored.push(stored_account(&s, n).await);
    }
    let mut denied = stored[2].clone();
    denied.decision.outcome = Outcome::Deny;
    s.record_impacts(&[ImpactWrite {
        impact: impact(denied.id, "applied", None, 1),
        decision: Some(denied.clone()),
        audit: event("measure.apply", "c"),
    }])
    .await
    .unwrap();
    for limit in [1, 2, 5, 10] {
        let (mut after, mut scanned, mut listed) = (None, Vec::new(), Vec::new());
        loop {
            let page = s.scan_accounts(&lessee_store::Page { after, limit }).await.unwrap();
            let list = s
                .list_accounts(&lessee_store::AccountFilter::default(), &lessee_store::Page { after, limit })
                .await
                .unwrap();
            assert_eq!(page, list);
            let Some(last) = page.last() else { break };
            assert!(page.len() <= limit as usize);
            after = Some(last.id);
            scanned.extend(page);
            listed.extend(list);
        }
        assert_eq!(scanned.len(), 5);
        assert_eq!(scanned, listed);
        let found = scanned.iter().find(|a| a.id == denied.id).unwrap();
        assert_eq!(found.decision.outcome, Outcome::Deny);
    }
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
    registry_is_versioned_with_history,
    impacts_keep_first_deadline_and_decide,
    sub_lessee_links,
    scan_matches_list
);
