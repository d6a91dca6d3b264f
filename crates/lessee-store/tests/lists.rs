//! Storage of screening lists and alerts, on SQLite and on a real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use lessee_audit::{Actor, AuditEvent, AuditHashKey, Outcome as AuditOutcome, Target};
use lessee_domain::classify::{ClassificationConfig, ExternalEvidence};
use lessee_domain::{Account, AccountId, Application, classify, interim_decision};
use lessee_store::{
    AlertRecord, Disposition, NewListVersion, PoolConfig, ScreeningStore, SealedApplication, SqlStore, Store,
    StoredEntry,
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

fn event(action: &str) -> AuditEvent {
    AuditEvent {
        actor: Actor { token_id: "tok1".into(), role: "admin".into() },
        purpose: "audit".into(),
        action: action.into(),
        target: Target { kind: "list".into(), id: "x".into() },
        time: Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap(),
        client_ip: AuditHashKey::from_bytes([3; 32]).hash_ip("127.0.0.1".parse().unwrap()),
        request_id: "req-1".into(),
        outcome: AuditOutcome::Allowed,
    }
}

fn version(list: &str, sha: &str) -> NewListVersion {
    NewListVersion {
        list: list.into(),
        format: "custom".into(),
        imported_at: Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap(),
        imported_by: "tok1".into(),
        source: "file:test.csv".into(),
        sha256: sha.into(),
    }
}

fn entries(n: usize) -> Vec<StoredEntry> {
    (0..n).map(|i| StoredEntry { entity_id: format!("E{i}"), body: format!("{{\"n\":{i}}}") }).collect()
}

async fn list_versions_are_numbered_and_whole(s: Arc<SqlStore>) {
    assert!(s.current_list_versions().await.unwrap().is_empty());
    // More entries than one multi-row INSERT holds.
    let v1 = s.add_list_version(&version("ofac_sdn", "aa"), &entries(450), &event("lists.import")).await.unwrap();
    assert_eq!((v1.version, v1.entry_count), (1, 450));
    let un = s.add_list_version(&version("un", "bb"), &entries(3), &event("lists.import")).await.unwrap();
    let v2 = s.add_list_version(&version("ofac_sdn", "cc"), &entries(2), &event("lists.import")).await.unwrap();
    assert_eq!(v2.version, 2);
    assert!(v2.id > v1.id && un.id > v1.id);
    let current = s.current_list_versions().await.unwrap();
    assert_eq!(current.iter().map(|v| (v.list.as_str(), v.version)).collect::<Vec<_>>(), [("ofac_sdn", 2), ("un", 1)]);
    assert_eq!(s.list_versions(Some("ofac_sdn")).await.unwrap().len(), 2);
    assert_eq!(s.list_versions(None).await.unwrap().len(), 3);
    let old = s.list_entries(v1.id).await.unwrap();
    assert_eq!(old.len(), 450);
    assert_eq!(old[449], StoredEntry { entity_id: "E449".into(), body: "{\"n\":449}".into() });
    assert_eq!(s.list_entries(v2.id).await.unwrap().len(), 2);
    let read = s.list_version(v2.id).await.unwrap().unwrap();
    assert_eq!(read, v2);
    assert!(s.list_version(9999).await.unwrap().is_none());
}

fn account() -> (Account, Application) {
    let app: Application = serde_json::from_value(json!({
        "external_id": "acct-alerts", "account_type": "standard", "opening_method": "self_service",
        "products": ["compute"],
        "customer": {"kind": "individual", "name": {"given": "Ada", "family": "Lovelace"},
                     "citizenships": ["DE"], "address": {"country": "DE"}, "email": "ada@example.com"}
    }))
    .unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap();
    let classification = classify(&app, ExternalEvidence::default(), &ClassificationConfig::default());
    let decision = interim_decision(&classification, now);
    let account = Account {
        id: AccountId::new(now, [4; 10]),
        external_id: app.external_id.clone(),
        account_type: app.account_type,
        opening_method: app.opening_method,
        customer_kind: app.customer.kind(),
        products: app.products.clone(),
        notice_version: None,
        created_at: now,
        classification,
        decision,
    };
    (account, app)
}

fn alert(id: &str, account: AccountId, entity: &str, entry_hash: &str, subject_hash: &str) -> AlertRecord {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap();
    AlertRecord {
        id: id.into(),
        account_id: account,
        subject: "customer".into(),
        list: "ofac_sdn".into(),
        entity_id: entity.into(),
        list_version_id: 1,
        list_version: "aa".into(),
        score: 0.93,
        strong: true,
        explanation: "{}".into(),
        entry_hash: entry_hash.into(),
        subject_hash: subject_hash.into(),
        status: "open".into(),
        created_at: at,
        updated_at: at,
        disposed_by: None,
        disposition_reason: None,
    }
}

async fn alerts_dedupe_and_dispose(s: Arc<SqlStore>) {
    let (acc, app) = account();
    let sealed = SealedApplication { ciphertext: serde_json::to_vec(&app).unwrap(), wrapped_key: vec![7; 74] };
    s.create_account(&acc, &sealed, &[], &event("account.open"), None).await.unwrap();
    let added = s.add_alerts(&[alert("a1", acc.id, "100", "e1", "s1"), alert("a2", acc.id, "200", "e2", "s1")]).await;
    assert_eq!(added.unwrap(), ["a1", "a2"]);
    // A live alert for the same entry is not raised twice, even with other hashes.
    assert!(s.add_alerts(&[alert("a3", acc.id, "100", "e9", "s9")]).await.unwrap().is_empty());
    let open = s.alerts(Some(acc.id), Some("open"), 10).await.unwrap();
    assert_eq!(open.len(), 2);
    assert!((open[0].score - 0.93).abs() < 1e-9 && open[0].strong);
    let at = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).single().unwrap();
    let fp = Disposition { id: "a1", from: "open", to: "false_positive", by: "tok2", reason: Some("other person"), at };
    let mut redecided = acc.clone();
    redecided.decision.outcome = lessee_domain::Outcome::Approve;
    assert!(s.dispose_alert(&fp, Some(&redecided), &event("alert.dispose")).await.unwrap());
    // Compare-and-set: a second disposition from `open` loses.
    assert!(!s.dispose_alert(&fp, None, &event("alert.dispose")).await.unwrap());
    assert_eq!(s.decisions(acc.id).await.unwrap().len(), 2, "the new decision was written with the disposition");
    let a1 = s.alert("a1").await.unwrap().unwrap();
    assert_eq!((a1.status.as_str(), a1.disposition_reason.as_deref()), ("false_positive", Some("other person")));
    // Same entry content and customer data: suppressed. Either changed: alerts again.
    assert!(s.add_alerts(&[alert("a4", acc.id, "100", "e1", "s1")]).await.unwrap().is_empty());
    assert_eq!(s.add_alerts(&[alert("a5", acc.id, "100", "e1b", "s1")]).await.unwrap(), ["a5"]);
    assert_eq!(s.alerts(None, Some("open"), 10).await.unwrap().len(), 2);
    assert_eq!(s.alerts(Some(acc.id), None, 10).await.unwrap().len(), 3);
    assert!(s.alert("nope").await.unwrap().is_none());
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

/// The accounts holding any of `keys`, in id order (as re-screening reads them, per subject).
async fn holders(s: &SqlStore, keys: &[i64]) -> Vec<AccountId> {
    let mut ids: Vec<AccountId> = s.screening_key_hits(keys).await.unwrap().into_iter().map(|(id, _, _)| id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Screening keys: written with an account's indexes into their own table, found by any key,
/// replaced on resubmission, removed on destruction; the scheme marker; a backfill adds.
async fn screening_keys_follow_the_account(s: Arc<SqlStore>) {
    use lessee_store::{BlindEntry, SCREENING_KEY_PURPOSE};
    let key =
        |k: i64| BlindEntry { purpose: SCREENING_KEY_PURPOSE.into(), value: k.to_string(), subject: String::new() };
    let owner_key =
        |k: i64| BlindEntry { purpose: SCREENING_KEY_PURPOSE.into(), value: k.to_string(), subject: "2".into() };
    let email = BlindEntry { purpose: "email".into(), value: "ab12".into(), subject: "customer".into() };
    let (acc, app) = account();
    let sealed = SealedApplication { ciphertext: serde_json::to_vec(&app).unwrap(), wrapped_key: vec![7; 74] };
    s.create_account(
        &acc,
        &sealed,
        &[key(-5), key(42), key(i64::MAX), owner_key(42), owner_key(9), email.clone()],
        &event("account.open"),
        None,
    )
    .await
    .unwrap();
    // Hits tell the subject (the customer is 0) and the key.
    let mut hits = s.screening_key_hits(&[42, 9, 1]).await.unwrap();
    hits.sort_unstable();
    assert_eq!(hits, [(acc.id, 0, 42), (acc.id, 2, 9), (acc.id, 2, 42)]);
    let bad = BlindEntry { purpose: SCREENING_KEY_PURPOSE.into(), value: "3".into(), subject: "owner".into() };
    let (mut other, _) = account();
    other.id = AccountId::new(Utc::now(), [5; 10]);
    other.external_id = "acct-other".into();
    assert!(s.create_account(&other, &sealed, &[bad], &event("account.open"), None).await.is_err());
    assert!(s.account(other.id).await.unwrap().is_none(), "nothing of a refused account is written");
    assert_eq!(holders(&s, &[1, 42]).await, [acc.id]);
    assert_eq!(holders(&s, &[-5, i64::MAX, 42]).await, [acc.id]);
    assert!(holders(&s, &[1, 2, 3]).await.is_empty());
    assert!(holders(&s, &[]).await.is_empty());
    // Not blind-index rows; the other indexes are kept as before.
    assert!(s.accounts_by_blind_index(SCREENING_KEY_PURPOSE, "42").await.unwrap().is_empty());
    assert_eq!(s.accounts_by_blind_index("email", "ab12").await.unwrap(), [acc.id]);
    // Many keys in one lookup (several statements).
    let many: Vec<i64> = (1000..6000).chain([42]).collect();
    assert_eq!(holders(&s, &many).await, [acc.id]);

    // A resubmission replaces them.
    s.replace_application(&acc, b"new", &[key(7)], &event("account.resubmit")).await.unwrap();
    assert!(holders(&s, &[42]).await.is_empty());
    assert_eq!(holders(&s, &[7]).await, [acc.id]);
    // A backfill adds beside them.
    s.add_screening_keys(&[(acc.id, vec![(0, 8), (1, 7)])]).await.unwrap();
    assert_eq!(holders(&s, &[8]).await, [acc.id]);
    let mut hits = s.screening_key_hits(&[7]).await.unwrap();
    hits.sort_unstable();
    assert_eq!(hits, [(acc.id, 0, 7), (acc.id, 1, 7)]);

    assert_eq!(s.screening_key_scheme().await.unwrap(), None);
    s.set_screening_key_scheme(1).await.unwrap();
    s.set_screening_key_scheme(2).await.unwrap();
    assert_eq!(s.screening_key_scheme().await.unwrap(), Some(2));

    // Destroyed with the account's data.
    s.destroy_account(acc.id, Utc::now(), &event("account.destroy")).await.unwrap();
    assert!(holders(&s, &[7, 8]).await.is_empty());
    assert!(s.screening_key_hits(&[7, 8, 9, 42]).await.unwrap().is_empty());
}

on_both_backends!(list_versions_are_numbered_and_whole, alerts_dedupe_and_dispose, screening_keys_follow_the_account);
