//! The storage test suite. Every test runs against SQLite and against a real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use lessee_audit::{Actor, AuditEvent, AuditHashKey, Frontier, Outcome as AuditOutcome, Target};
use lessee_domain::classify::{ClassificationConfig, ExternalEvidence};
use lessee_domain::{Account, AccountId, Application, Outcome, classify, interim_decision};
use lessee_store::PoolConfig;
use lessee_store::{
    AccountFilter, BlindEntry, COMPACTION_FANOUT, Created, EventQuery, IdempotencyKey, NewJob, Page, SealedApplication,
    SqlStore, Store, StoreError, StoredEvent, TokenRecord,
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
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, n.into()).single().unwrap_or_default();
    let classification = classify(app, ExternalEvidence::default(), &ClassificationConfig::default());
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

fn sealed(app: &Application) -> SealedApplication {
    // The store keeps opaque bytes; these tests need no real encryption.
    SealedApplication { ciphertext: serde_json::to_vec(app).unwrap(), wrapped_key: vec![7; 74] }
}

fn event(action: &str, target: &str) -> AuditEvent {
    AuditEvent {
        actor: Actor { token_id: "tok1".into(), role: "control_plane".into() },
        purpose: "verification".into(),
        action: action.into(),
        target: Target { kind: "account".into(), id: target.into() },
        time: Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap(),
        client_ip: AuditHashKey::from_bytes([3; 32]).hash_ip("127.0.0.1".parse().unwrap()),
        request_id: "req-1".into(),
        outcome: AuditOutcome::Allowed,
    }
}

async fn create(
    s: &SqlStore,
    acc: &Account,
    app: &Application,
    k: Option<&IdempotencyKey>,
) -> Result<Created, StoreError> {
    let idx = vec![BlindEntry {
        purpose: "email".into(),
        value: format!("{:0>32}", app.external_id.len()),
        subject: "customer".into(),
    }];
    s.create_account(acc, &sealed(app), &idx, &event("account.open", &acc.id.to_string()), k).await
}

fn key(k: &str, hash: &str) -> IdempotencyKey {
    IdempotencyKey { scope: "tok1".into(), key: k.into(), request_hash: hash.into() }
}

async fn create_and_read(s: Arc<SqlStore>) {
    let app = application("acct-1", "US");
    let acc = account(&app, 1);
    let created = create(&s, &acc, &app, None).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(created, Created::New(_)));
    let read = s.account(acc.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read.as_ref(), Some(&acc));
    let decisions = s.decisions(acc.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(decisions, vec![acc.decision.clone()]);
    let stored = s.sealed_application(acc.id).await.unwrap().unwrap();
    assert_eq!(stored.ciphertext, sealed(&app).ciphertext);
    assert_eq!(stored.wrapped_key, vec![7; 74]);
    let by_index = s.accounts_by_blind_index("email", &format!("{:0>32}", 6)).await.unwrap();
    assert_eq!(by_index, vec![acc.id]);
    assert!(s.accounts_by_blind_index("phone", "x").await.unwrap().is_empty());
    let missing = AccountId::new(Utc::now(), [9; 10]);
    assert!(s.account(missing).await.unwrap_or_else(|e| panic!("{e}")).is_none());
    assert!(s.decisions(missing).await.unwrap_or_else(|e| panic!("{e}")).is_empty());
}

async fn idempotent_replay(s: Arc<SqlStore>) {
    let app = application("acct-2", "DE");
    let first = account(&app, 2);
    let k = key("k-1", "h1");
    let a = create(&s, &first, &app, Some(&k)).await.unwrap_or_else(|e| panic!("{e}"));
    // A replay builds a new candidate account with a new id; the store returns the first.
    let second = account(&app, 3);
    let b = create(&s, &second, &app, Some(&k)).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(b, Created::Replayed(_)));
    assert_eq!(a.account().id, b.account().id);
    let other = create(&s, &second, &app, Some(&key("k-1", "h2"))).await;
    assert!(matches!(other, Err(StoreError::IdempotencyMismatch)), "{other:?}");
    let all = s.list_accounts(&AccountFilter::default(), &Page { after: None, limit: 100 }).await.unwrap_or_default();
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
            create(&s, &acc, &app, Some(&key("same", "h"))).await
        }));
    }
    let mut ids = Vec::new();
    let mut new = 0;
    for t in tasks {
        let r = t.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        if matches!(r, Created::New(_)) {
            new += 1;
        }
        ids.push(r.account().id);
    }
    assert_eq!(new, 1);
    ids.dedup();
    assert_eq!(ids.len(), 1);
}

async fn concurrent_openings_of_one_external_id_create_one(s: Arc<SqlStore>) {
    // On SQLite these land in one group-commit batch; each must get the result it would alone.
    let app = application("acct-race", "NL");
    let mut tasks = Vec::new();
    for n in 0..12u8 {
        let s = s.clone();
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let acc = account(&app, n);
            let k = (n % 3 == 0).then(|| key(&format!("k{n}"), "h"));
            create(&s, &acc, &app, k.as_ref()).await
        }));
    }
    let mut new = Vec::new();
    let mut taken = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(Created::New(a)) => new.push(a.id),
            Err(StoreError::ExternalIdTaken { existing }) => taken.push(existing),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(new.len(), 1);
    assert_eq!(taken.len(), 11);
    assert!(taken.iter().all(|e| *e == Some(new[0])), "every loser names the winner");
    // Only the winner's idempotency key (if it had one) was kept: the losers' keys are free.
    let listed = s.list_accounts(&AccountFilter::default(), &Page { after: None, limit: 100 }).await.unwrap();
    assert_eq!(listed.len(), 1);
}

async fn external_id_is_unique_and_nothing_partial(s: Arc<SqlStore>) {
    let app = application("acct-4", "FR");
    let first = account(&app, 4);
    create(&s, &first, &app, None).await.unwrap_or_else(|e| panic!("{e}"));
    let dup = account(&app, 5);
    let r = create(&s, &dup, &app, Some(&key("k-dup", "h"))).await;
    match r {
        Err(StoreError::ExternalIdTaken { existing }) => assert_eq!(existing, Some(first.id)),
        other => panic!("expected ExternalIdTaken, got {other:?}"),
    }
    // The failed request left neither an account nor its idempotency key behind.
    assert!(s.account(dup.id).await.unwrap_or_else(|e| panic!("{e}")).is_none());
    let again = create(&s, &dup, &app, Some(&key("k-dup", "h"))).await;
    assert!(matches!(again, Err(StoreError::ExternalIdTaken { .. })), "{again:?}");
}

async fn list_filters_and_pages(s: Arc<SqlStore>) {
    let mut ids = Vec::new();
    for n in 0..7u8 {
        let country = if n % 2 == 0 { "US" } else { "DE" };
        let app = application(&format!("acct-l{n}"), country);
        let acc = account(&app, n);
        create(&s, &acc, &app, None).await.unwrap_or_else(|e| panic!("{e}"));
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
            &AccountFilter { outcome: Some("approve".into()), ..Default::default() },
            &Page { after: None, limit: 100 },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(approved.len(), 4);
    assert!(approved.iter().all(|a| a.decision.outcome == Outcome::Approve));
    let one = s
        .list_accounts(
            &AccountFilter { external_id: Some("acct-l3".into()), ..Default::default() },
            &Page { after: None, limit: 100 },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one.iter().map(|a| a.external_id.as_str()).collect::<Vec<_>>(), vec!["acct-l3"]);
    let foreign_us = s
        .list_accounts(
            &AccountFilter {
                classification: Some("foreign_person".into()),
                outcome: Some("approve".into()),
                ..Default::default()
            },
            &Page { after: None, limit: 100 },
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
        created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap_or_default(),
        revoked_at: None,
    };
    s.create_token(&t).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.token("abc").await.unwrap_or_default(), Some(t.clone()));
    assert_eq!(s.live_token_count().await.unwrap_or_default(), 1);
    assert!(s.create_token(&t).await.is_err(), "duplicate token id must be refused");
    assert!(s.revoke_token("abc", Utc::now()).await.unwrap_or_default());
    assert!(!s.revoke_token("abc", Utc::now()).await.unwrap_or(true));
    assert!(!s.revoke_token("nope", Utc::now()).await.unwrap_or(true));
    assert_eq!(s.live_token_count().await.unwrap_or(-1), 0);
    let listed = s.list_tokens().await.unwrap_or_default();
    assert_eq!(listed.len(), 1);
    assert!(listed.first().and_then(|t| t.revoked_at).is_some());
}

async fn audit_log_appends_and_proves(s: Arc<SqlStore>) {
    let mut mem = lessee_audit::MemoryAuditLog::new();
    for i in 0..37u32 {
        // Reads' records (the audit queue's file on SQLite) and changes' records (the database)
        // are sequenced merged by time: these reads precede the opening below.
        let mut e = event("account.read", &format!("acc-{i}"));
        e.time -= chrono::Duration::seconds(i64::from(100 - i));
        s.append_audit(&e).await.unwrap();
        if i % 10 == 9 {
            // The sequencer runs in batches, interleaved with appends.
            s.sequence_audit(7).await.unwrap();
        }
        mem.append(e).unwrap();
    }
    // Opening an account appends in the same transaction.
    let app = application("acct-audit", "DE");
    let acc = account(&app, 1);
    create(&s, &acc, &app, None).await.unwrap();
    mem.append(event("account.open", &acc.id.to_string())).unwrap();
    while s.sequence_audit(5).await.unwrap() > 0 {}
    assert_eq!(s.sequence_audit(5).await.unwrap(), 0, "nothing left pending");
    assert_eq!(s.audit_size().await.unwrap(), 38);
    let entries = s.audit_entries(0, 1000).await.unwrap();
    assert_eq!(entries.len(), 38);
    assert_eq!(entries.iter().map(|e| e.record.seq).collect::<Vec<_>>(), (0..38).collect::<Vec<u64>>());
    // The tree kept in SQL has the same head as the in-memory reference.
    let ids = Frontier::node_ids(38);
    let nodes = s.audit_nodes(&ids).await.unwrap();
    assert_eq!(nodes.len(), ids.len());
    let map = lessee_audit::NodeMap::new(38, nodes);
    assert_eq!(lessee_audit::root_at(&map, 38).unwrap(), mem.root());
    // Records about one target, found by index, bounded by a tree size.
    let about = s.audit_entries_for_target("acc-3", 0, 38, 100).await.unwrap();
    assert_eq!(about.iter().map(|e| e.record.seq).collect::<Vec<_>>(), vec![3]);
    let opened = s.audit_entries_for_target(&acc.id.to_string(), 0, 38, 100).await.unwrap();
    assert_eq!(opened.iter().map(|e| e.record.event.action.as_str()).collect::<Vec<_>>(), vec!["account.open"]);
    assert!(s.audit_entries_for_target(&acc.id.to_string(), 0, 37, 100).await.unwrap().is_empty(), "bounded by size");
    assert!(s.audit_entries_for_target("acc-3", 4, 38, 100).await.unwrap().is_empty(), "paged from a seq");
    // A failed opening (external id taken) leaves no audit record behind.
    let dup = account(&app, 2);
    assert!(create(&s, &dup, &app, None).await.is_err());
    assert_eq!(s.sequence_audit(100).await.unwrap(), 0, "a failed opening leaves no audit record");
    assert_eq!(s.audit_size().await.unwrap(), 38);
    s.save_checkpoint(38, "note", Utc::now()).await.unwrap();
    assert_eq!(s.latest_checkpoint().await.unwrap(), Some((38, "note".to_owned())));
}

async fn concurrent_audit_appends_keep_one_sequence(s: Arc<SqlStore>) {
    let mut tasks = Vec::new();
    for i in 0..24 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.append_audit(&event("account.read", &format!("a{i}"))).await.unwrap();
            // Sequencers race with appends and with each other.
            s.sequence_audit(3).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    while s.sequence_audit(10).await.unwrap() > 0 {}
    let entries = s.audit_entries(0, 100).await.unwrap();
    assert_eq!(entries.iter().map(|e| e.record.seq).collect::<Vec<_>>(), (0..24).collect::<Vec<u64>>());
    let mut mem = lessee_audit::MemoryAuditLog::new();
    for e in &entries {
        mem.append(e.record.event.clone()).unwrap();
    }
    let ids = Frontier::node_ids(24);
    let map = lessee_audit::NodeMap::new(24, s.audit_nodes(&ids).await.unwrap());
    assert_eq!(lessee_audit::root_at(&map, 24).unwrap(), mem.root());
}

async fn policies_are_versioned(s: Arc<SqlStore>) {
    assert_eq!(s.current_policy_version().await.unwrap(), None);
    assert!(s.current_policy().await.unwrap().is_none());
    let rec = |v: i64, src: &str| lessee_store::PolicyRecord {
        version: v,
        policy_id: format!("p@{v}+sha256:{v}"),
        sha256: format!("{v}"),
        source: src.to_owned(),
        note: format!("note {v}"),
        created_by: "tok".into(),
        created_at: Utc::now(),
    };
    assert!(s.add_policy(&rec(1, "a = 1"), &event("policy.change", "policy")).await.unwrap());
    assert!(s.add_policy(&rec(2, "a = 2"), &event("policy.change", "policy")).await.unwrap());
    // A version already taken (a race between servers) is refused and writes nothing.
    assert!(!s.add_policy(&rec(2, "a = 3"), &event("policy.change", "policy")).await.unwrap());
    assert_eq!(s.current_policy_version().await.unwrap(), Some(2));
    assert_eq!(s.current_policy().await.unwrap().unwrap().source, "a = 2");
    let all = s.policies().await.unwrap();
    assert_eq!(all.iter().map(|p| p.version).collect::<Vec<_>>(), [1, 2]);
    while s.sequence_audit(100).await.unwrap() > 0 {}
    assert_eq!(s.audit_entries_for_target("policy", 0, 100, 100).await.unwrap().len(), 2, "one record per install");
}

async fn decisions_are_appended(s: Arc<SqlStore>) {
    let app = application("acct-redecide", "DE");
    let mut acc = account(&app, 7);
    create(&s, &acc, &app, None).await.unwrap();
    acc.decision.outcome = lessee_domain::Outcome::Approve;
    acc.decision.trigger = Some("review".into());
    assert_eq!(s.record_decision(&acc, &event("account.decide", "x")).await.unwrap(), 2);
    let history = s.decisions(acc.id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].trigger.as_deref(), Some("review"));
    let view = s.account(acc.id).await.unwrap().unwrap();
    assert_eq!(view.decision.outcome, lessee_domain::Outcome::Approve);
    let filtered = s
        .list_accounts(
            &AccountFilter { outcome: Some("approve".into()), ..Default::default() },
            &Page { after: None, limit: 10 },
        )
        .await
        .unwrap();
    assert!(filtered.iter().any(|a| a.id == acc.id), "the outcome column follows the new decision");
    assert_eq!(s.replace_application(&acc, b"cipher", &[], &event("account.resubmit", "x")).await.unwrap(), 3);
    let mut ghost = acc.clone();
    ghost.id = account(&app, 8).id;
    assert!(matches!(s.record_decision(&ghost, &event("x", "y")).await, Err(lessee_store::StoreError::NotFound)));
}

async fn reviews_open_with_manual_review_and_are_cas(s: Arc<SqlStore>) {
    let app = application("acct-review", "DE");
    let mut acc = account(&app, 9);
    acc.decision.outcome = lessee_domain::Outcome::ManualReview;
    create(&s, &acc, &app, None).await.unwrap();
    let open = s.reviews(Some("open"), Some(acc.id), 10).await.unwrap();
    assert_eq!(open.len(), 1, "a manual-review decision opens a case in its transaction");
    let mut r = open[0].clone();
    assert_eq!((r.engine_outcome.as_str(), r.opened_by.as_str()), ("manual_review", "engine"));
    // One open case per account.
    assert!(!s.open_review(acc.id, "override", "tok", Utc::now(), &event("review.open", "x")).await.unwrap());
    // Compare-and-set on the status.
    r.status = "claimed".into();
    r.claimed_by = Some("tok-a".into());
    assert!(s.update_review(&r, "open", None, &event("review.claim", "x")).await.unwrap());
    assert!(!s.update_review(&r, "open", None, &event("review.claim", "x")).await.unwrap(), "claimed already");
    r.status = "closed".into();
    r.decided_outcome = Some("approve".into());
    r.closed_at = Some(Utc::now());
    acc.decision.outcome = lessee_domain::Outcome::Approve;
    assert!(s.update_review(&r, "claimed", Some(&acc), &event("review.decide", "x")).await.unwrap());
    assert_eq!(s.decisions(acc.id).await.unwrap().len(), 2);
    assert_eq!(s.review(&r.id).await.unwrap().unwrap().status, "closed");
    // Now a new case can be opened (an override).
    assert!(s.open_review(acc.id, "override", "tok", Utc::now(), &event("review.open", "x")).await.unwrap());
    assert_eq!(s.reviews(None, Some(acc.id), 10).await.unwrap().len(), 2);
}

/// Batch `b` of five events: accounts alternate; level-0 keys are unique per event, level-1
/// keys fall in four groups; times run backwards inside the batch (events arrive out of order).
fn event_batch(b: usize, accounts: &[AccountId]) -> Vec<StoredEvent> {
    let base = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().unwrap();
    (0..5)
        .map(|j| {
            let i = (b * 5 + j) as i64;
            StoredEvent {
                id: i,
                account_id: accounts[(b + j) % accounts.len()],
                at: base + chrono::Duration::seconds(b as i64 * 10 + (4 - j as i64)),
                kind: 1,
                action: "console.login".into(),
                sealed: vec![j as u8; 40],
                ip: [1000 + i, i % 4, 7, 9],
                seq: 0,
            }
        })
        .collect()
}

async fn all_events(s: &SqlStore, q: &EventQuery, page: u32) -> Vec<StoredEvent> {
    let (from, to) = (
        Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).single().unwrap(),
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap(),
    );
    let mut out: Vec<StoredEvent> = Vec::new();
    loop {
        let after = out.last().map(|e| (e.at.timestamp_millis(), e.seq));
        let rows = s.events(q, from, to, after, page).await.unwrap();
        let n = rows.len();
        out.extend(rows);
        if n < page as usize {
            return out;
        }
    }
}

fn keys(v: &[StoredEvent]) -> Vec<(i64, i64, i64)> {
    v.iter().map(|e| (e.at.timestamp_millis(), e.seq, e.id)).collect()
}

async fn events_are_segmented_paged_and_compacted(s: Arc<SqlStore>) {
    let app = application("seg-1", "US");
    let (a, b) = (account(&app, 1), account(&application("seg-2", "US"), 2));
    create(&s, &a, &app, None).await.unwrap();
    let accounts = [a.id, b.id];
    let batches = 2 * COMPACTION_FANOUT + 3;
    for i in 0..batches {
        s.insert_events(&event_batch(i, &accounts), &event("events.ingest", "batch")).await.unwrap();
    }
    assert_eq!(s.event_segments().await.unwrap(), batches as u64);
    let by_account = EventQuery::Account(a.id);
    let by_ip = EventQuery::IpPrefixes { level: 1, values: vec![1, 3] };
    let one_ip = EventQuery::IpPrefixes { level: 0, values: vec![1000 + 42] };
    let before = [
        all_events(&s, &by_account, 1000).await,
        all_events(&s, &by_ip, 1000).await,
        all_events(&s, &one_ip, 1000).await,
    ];
    let total = batches * 5;
    let of_a: usize = (0..batches).map(|b| (0..5).filter(|j| (b + j) % 2 == 0).count()).sum();
    assert_eq!(before[0].len(), of_a);
    assert!(before[0].iter().all(|e| e.account_id == a.id));
    assert_eq!(before[1].len(), total / 2);
    assert!(before[1].iter().all(|e| e.ip[1] == 1 || e.ip[1] == 3));
    assert_eq!(keys(&before[2]).iter().map(|k| k.2).collect::<Vec<_>>(), vec![42]);
    // Ordered by (at, seq), every event once, and paging by cursor gives the same rows.
    for rows in &before {
        let k = keys(rows);
        assert!(k.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)), "not in (at, seq) order");
    }
    assert_eq!(keys(&all_events(&s, &by_account, 7).await), keys(&before[0]));
    assert_eq!(keys(&all_events(&s, &by_ip, 3).await), keys(&before[1]));
    // Segments of five events are not "small" under a cap of 80 (80 / 16 = 5): nothing merges.
    assert_eq!(s.compact_events(80).await.unwrap().merged, 0);
    // Compaction: 35 segments become 2 of tier 1 and the 3 left over; the answers do not change.
    let mut steps = Vec::new();
    loop {
        let c = s.compact_events(1_000_000).await.unwrap();
        if c.merged == 0 {
            break;
        }
        steps.push(c);
    }
    assert_eq!(steps.len(), 2);
    assert!(steps.iter().all(|c| c.merged == COMPACTION_FANOUT && c.events == 5 * COMPACTION_FANOUT as u64));
    assert_eq!(s.event_segments().await.unwrap(), 5);
    for (q, was) in [&by_account, &by_ip, &one_ip].into_iter().zip(&before) {
        assert_eq!(keys(&all_events(&s, q, 1000).await), keys(was));
        assert_eq!(keys(&all_events(&s, q, 4).await), keys(was));
    }
    // A narrower time range visits fewer segments and still finds exactly its events.
    let (from, to) = (
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().unwrap() + chrono::Duration::seconds(100),
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().unwrap() + chrono::Duration::seconds(200),
    );
    let window = s.events(&by_ip, from, to, None, 1000).await.unwrap();
    let expect: Vec<_> = before[1].iter().filter(|e| e.at >= from && e.at < to).map(|e| e.id).collect();
    assert!(!expect.is_empty());
    assert_eq!(window.iter().map(|e| e.id).collect::<Vec<_>>(), expect);
    // Last access moved to each account's latest event.
    let latest = before[0].iter().map(|e| e.at).max();
    assert_eq!(s.last_accessed(a.id).await.unwrap(), latest);
}

/// Each batch's keys are copied from its rows by a contiguous range of sequence numbers:
/// concurrent batches (PostgreSQL) must get disjoint ranges, and a batch larger than one range
/// is split into segments, every event still found once.
async fn concurrent_and_oversized_batches_keep_every_event(s: Arc<SqlStore>) {
    let app = application("seg-4", "US");
    let a = account(&app, 4);
    create(&s, &a, &app, None).await.unwrap();
    let before = s.event_segments().await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.insert_events(&event_batch(1000 + i, &[a.id]), &event("events.ingest", "batch")).await.unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let rows = all_events(&s, &EventQuery::Account(a.id), 1000).await;
    let mut ids: Vec<i64> = rows.iter().map(|e| e.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, (5000..5040).collect::<Vec<i64>>(), "every event of the eight batches, once");
    let seqs: std::collections::HashSet<i64> = rows.iter().map(|e| e.seq).collect();
    assert_eq!(seqs.len(), 40, "sequence numbers are unique");
    // 70,000 events in one call: more than one block of sequence numbers, so two segments.
    let base = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).single().unwrap();
    let big: Vec<StoredEvent> = (0..70_000i64)
        .map(|i| StoredEvent {
            id: 1_000_000 + i,
            account_id: a.id,
            at: base + chrono::Duration::milliseconds(i),
            kind: 1,
            action: "console.login".into(),
            sealed: vec![1; 8],
            ip: [2_000_000 + i, 5, 6, 77],
            seq: 0,
        })
        .collect();
    s.insert_events(&big, &event("events.ingest", "big")).await.unwrap();
    assert_eq!(s.event_segments().await.unwrap(), before + 8 + 2);
    let found = all_events(&s, &EventQuery::IpPrefixes { level: 3, values: vec![77] }, 10_000).await;
    assert_eq!(found.len(), 70_000);
    assert!(found.iter().zip(&big).all(|(f, b)| f.id == b.id), "in time order, each once");
    let one = all_events(&s, &EventQuery::IpPrefixes { level: 0, values: vec![2_000_000 + 68_000] }, 10).await;
    assert_eq!(one.iter().map(|e| e.id).collect::<Vec<_>>(), vec![1_068_000]);
}

/// Keys spread over the whole 64-bit range (as blind indexes are) land in many buckets of a
/// segment; lookups of several keys at once, across segments cut into different numbers of
/// buckets, before and after a merge, find exactly what a scan of all events finds.
async fn keys_across_buckets_match_a_scan(s: Arc<SqlStore>) {
    let app = application("seg-5", "US");
    let (a, b) = (account(&app, 5), account(&application("seg-6", "US"), 6));
    create(&s, &a, &app, None).await.unwrap();
    let base = Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).single().unwrap();
    // A fixed scrambler so the keys cover the range, negatives included; level 2 has 50
    // distinct keys, so each is shared by many events.
    let spread = |x: i64| (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) as i64;
    let mut all: Vec<StoredEvent> = Vec::new();
    // Sixteen segments (one compaction run) of different sizes: 3,000 events (16 buckets),
    // 700 (4), 300 (2), 40 (1).
    for (n, size) in [3000i64, 700, 300, 40].repeat(COMPACTION_FANOUT / 4).into_iter().enumerate() {
        let batch: Vec<StoredEvent> = (0..size)
            .map(|i| {
                let x = n as i64 * 10_000 + i;
                StoredEvent {
                    id: 3_000_000 + x,
                    account_id: if x % 3 == 0 { b.id } else { a.id },
                    at: base + chrono::Duration::milliseconds((x * 7919) % 100_000),
                    kind: 1,
                    action: "console.login".into(),
                    sealed: vec![2; 8],
                    ip: [spread(x), spread(x % 500 + 1), spread(x % 50 + 2), 1],
                    seq: 0,
                }
            })
            .collect();
        s.insert_events(&batch, &event("events.ingest", "spread")).await.unwrap();
        all.extend(batch);
    }
    let (from, to) = (base + chrono::Duration::milliseconds(20_000), base + chrono::Duration::milliseconds(80_000));
    let check = |found: Vec<StoredEvent>, want: &dyn Fn(&StoredEvent) -> bool, what: &str| {
        let mut expect: Vec<i64> = all.iter().filter(|e| want(e) && e.at >= from && e.at < to).map(|e| e.id).collect();
        expect.sort_unstable();
        let mut got: Vec<i64> = found.iter().map(|e| e.id).collect();
        assert!(found.windows(2).all(|w| (w[0].at, w[0].seq) < (w[1].at, w[1].seq)), "{what}: order");
        got.sort_unstable();
        assert!(!expect.is_empty(), "{what}: the test must expect something");
        assert_eq!(got, expect, "{what}");
    };
    for round in 0..2 {
        let mut pages = Vec::new();
        let mut after = None;
        let level1: Vec<i64> = [1i64, 7, 250, 499].iter().map(|x| spread(*x + 1)).collect();
        let q = EventQuery::IpPrefixes { level: 1, values: level1.clone() };
        loop {
            let page = s.events(&q, from, to, after, 13).await.unwrap();
            let n = page.len();
            after = page.last().map(|e| (e.at.timestamp_millis(), e.seq));
            pages.extend(page);
            if n < 13 {
                break;
            }
        }
        check(pages, &|e: &StoredEvent| level1.contains(&e.ip[1]), &format!("round {round}: four level-1 keys, paged"));
        let level2 = vec![spread(2), spread(30)];
        let q2 = EventQuery::IpPrefixes { level: 2, values: level2.clone() };
        check(
            s.events(&q2, from, to, None, 10_000).await.unwrap(),
            &|e: &StoredEvent| level2.contains(&e.ip[2]),
            &format!("round {round}: level 2"),
        );
        let one = spread(10_000 + 123);
        let found =
            s.events(&EventQuery::IpPrefixes { level: 0, values: vec![one] }, base, to, None, 10).await.unwrap();
        assert_eq!(found.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3_010_123], "round {round}: one address");
        let by_b = s.events(&EventQuery::Account(b.id), from, to, None, 10_000).await.unwrap();
        check(by_b, &|e: &StoredEvent| e.account_id == b.id, &format!("round {round}: account"));
        // Merge the sixteen (all small under a cap of 1,000,000) into one and ask again.
        if round == 0 {
            assert_eq!(s.compact_events(1_000_000).await.unwrap().merged, COMPACTION_FANOUT);
        }
    }
}

/// Concurrent openings of a case for one account (as concurrent ingestion batches' jurisdiction
/// watches do) open exactly one and fail none.
async fn concurrent_review_openings_open_one(s: Arc<SqlStore>) {
    let app = application("rev-race", "US");
    let a = account(&app, 7);
    create(&s, &a, &app, None).await.unwrap();
    for round in 0..3 {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move {
                    s.open_review(
                        a.id,
                        "access from a new jurisdiction",
                        "monitor",
                        Utc::now(),
                        &event("review.open", "x"),
                    )
                    .await
                })
            })
            .collect();
        let mut opened = 0;
        for t in tasks {
            opened += usize::from(t.await.unwrap().unwrap());
        }
        assert_eq!(opened, 1, "round {round}: one case opened");
        let open: Vec<_> = s.reviews(Some("open"), Some(a.id), 10).await.unwrap();
        assert_eq!(open.len(), 1);
        // Close it, so the next round opens the next one.
        let mut r = open.into_iter().next().unwrap();
        r.status = "closed".into();
        r.closed_at = Some(Utc::now());
        assert!(s.update_review(&r, "open", None, &event("review.close", "x")).await.unwrap());
    }
    assert_eq!(s.reviews(None, Some(a.id), 10).await.unwrap().len(), 3);
}

/// Cases opened in one transaction with their countries' notes: a case per account not already
/// under review, notes for all; concurrent calls over the same accounts in opposite orders
/// (two ingestion batches on PostgreSQL) neither deadlock nor open a second case.
async fn review_cases_open_with_their_notes(s: Arc<SqlStore>) {
    let mut ids = Vec::new();
    for n in 0..6u8 {
        let app = application(&format!("watch-{n}"), "US");
        let a = account(&app, 40 + n);
        create(&s, &a, &app, None).await.unwrap();
        ids.push(a.id);
    }
    assert!(s.open_review(ids[0], "earlier", "analyst", Utc::now(), &event("review.open", "x")).await.unwrap());
    let cases = |order: &[usize]| -> Vec<(AccountId, String, lessee_audit::AuditEvent)> {
        order
            .iter()
            .map(|i| (ids[*i], format!("access from a new jurisdiction: DE ({i})"), event("review.open", "w")))
            .collect()
    };
    let noted: Vec<(AccountId, String)> = ids.iter().map(|id| (*id, "DE".to_string())).collect();
    let forward: Vec<usize> = (0..6).collect();
    let backward: Vec<usize> = (0..6).rev().collect();
    let tasks: Vec<_> = (0..8)
        .map(|k| {
            let (s, c, n) = (s.clone(), cases(if k % 2 == 0 { &forward } else { &backward }), noted.clone());
            tokio::spawn(async move { s.open_reviews_noting(&c, "monitor", Utc::now(), &n).await.unwrap() })
        })
        .collect();
    let mut opened: Vec<AccountId> = Vec::new();
    for t in tasks {
        opened.extend(t.await.unwrap());
    }
    opened.sort();
    let mut expect = ids[1..].to_vec();
    expect.sort();
    assert_eq!(opened, expect, "one case for each account not already under review, over all eight calls");
    for id in &ids {
        assert_eq!(s.reviews(Some("open"), Some(*id), 10).await.unwrap().len(), 1);
        let countries: Vec<String> = s.access_countries(&[*id]).await.unwrap().into_iter().map(|(_, c)| c).collect();
        assert_eq!(countries, ["DE"]);
    }
}

async fn queries_during_compaction_see_every_event(s: Arc<SqlStore>) {
    let app = application("seg-3", "US");
    let a = account(&app, 3);
    create(&s, &a, &app, None).await.unwrap();
    let batches = 4 * COMPACTION_FANOUT;
    for i in 0..batches {
        s.insert_events(&event_batch(i, &[a.id]), &event("events.ingest", "batch")).await.unwrap();
    }
    let q = EventQuery::IpPrefixes { level: 2, values: vec![7] };
    let compactor = {
        let s = s.clone();
        tokio::spawn(async move {
            let mut merged = 0;
            loop {
                let c = s.compact_events(1_000_000).await.unwrap();
                if c.merged == 0 {
                    return merged;
                }
                merged += c.merged;
            }
        })
    };
    let mut reads = 0;
    while !compactor.is_finished() || reads < 5 {
        assert_eq!(all_events(&s, &q, 10_000).await.len(), batches * 5, "a query lost or doubled events");
        reads += 1;
    }
    // 64 segments of tier 0 became 4 of tier 1 (too few to merge again).
    assert_eq!(compactor.await.unwrap(), batches);
    assert_eq!(s.event_segments().await.unwrap(), 4);
}

async fn job_queue_dedupes_leases_and_retries(s: Arc<SqlStore>) {
    let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap();
    let job = |kind: &str, key: Option<&str>, n: i64| NewJob {
        kind: kind.into(),
        key: key.map(Into::into),
        payload: json!({ "n": n }),
        run_at: t0 + chrono::Duration::seconds(n),
    };
    // A pending duplicate is absorbed; an unkeyed job never is.
    let added = s.enqueue_jobs(&[job("a", Some("k"), 0), job("a", Some("k"), 1), job("b", None, 2)]).await.unwrap();
    assert_eq!(added, 2);
    assert_eq!(s.enqueue_jobs(&[job("a", Some("k"), 3)]).await.unwrap(), 0);
    // Not due yet.
    assert!(s.claim_jobs("w1", t0 - chrono::Duration::seconds(1), 1000, 10).await.unwrap().is_empty());

    // Concurrent claimers never get the same job.
    let now = t0 + chrono::Duration::seconds(10);
    let (x, y) = tokio::join!(s.claim_jobs("w1", now, 1000, 10), s.claim_jobs("w2", now, 1000, 10));
    let (x, y) = (x.unwrap(), y.unwrap());
    let mut ids: Vec<i64> = x.iter().chain(&y).map(|j| j.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2, "{x:?} {y:?}");
    assert_eq!(x.len() + y.len(), 2);
    let all: Vec<_> = x.iter().map(|j| ("w1", j.clone())).chain(y.iter().map(|j| ("w2", j.clone()))).collect();
    let (wa, a) = all.iter().find(|(_, j)| j.kind == "a").unwrap();
    let (wb, b) = all.iter().find(|(_, j)| j.kind == "b").unwrap();
    assert_eq!(a.payload, json!({ "n": 0 }));
    assert_eq!(a.key.as_deref(), Some("k"));
    assert_eq!(a.attempts, 1);

    // While `a` runs, a new job with its key is not absorbed (it may carry a later change).
    assert_eq!(s.enqueue_jobs(&[job("a", Some("k"), 4)]).await.unwrap(), 1);

    // Only the holder completes; a stranger's completion is refused.
    let other = if *wa == "w1" { "w2" } else { "w1" };
    assert!(!s.complete_job(a.id, other).await.unwrap());
    assert!(s.complete_job(a.id, wa).await.unwrap());
    assert!(!s.complete_job(a.id, wa).await.unwrap(), "done twice");

    // `b` fails and is retried later; its lease is then lost to a second worker after expiry.
    assert!(s.fail_job(b.id, wb, "transient", Some(now + chrono::Duration::seconds(60))).await.unwrap());
    let again = s.claim_jobs("w3", now + chrono::Duration::seconds(30), 60_000, 10).await.unwrap();
    assert_eq!(again.iter().map(|j| j.kind.as_str()).collect::<Vec<_>>(), vec!["a"], "b not due yet");
    let later = now + chrono::Duration::seconds(61);
    let b2 = s.claim_jobs("w3", later, 1000, 10).await.unwrap();
    assert_eq!(b2.len(), 1);
    assert_eq!((b2[0].id, b2[0].attempts), (b.id, 2));
    // w3 dies: after its lease, w4 takes `b` over and w3 can no longer finish it.
    let stolen = s.claim_jobs("w4", later + chrono::Duration::seconds(2), 1000, 10).await.unwrap();
    assert_eq!(stolen.iter().map(|j| j.id).collect::<Vec<_>>(), vec![b.id]);
    assert!(!s.complete_job(b.id, "w3").await.unwrap());
    assert!(s.fail_job(b.id, "w4", "permanent", None).await.unwrap());
    // The second `a` (held by w3 since `again`) finishes.
    assert!(s.complete_job(again[0].id, "w3").await.unwrap());

    let counts: Vec<(String, String, i64)> =
        s.job_counts().await.unwrap().into_iter().map(|c| (c.kind, c.state, c.count)).collect();
    assert_eq!(counts, vec![("a".into(), "done".into(), 2), ("b".into(), "dead".into(), 1)]);
    // Nothing is left to claim, ever.
    assert!(s.claim_jobs("w5", later + chrono::Duration::days(1), 1000, 10).await.unwrap().is_empty());
    assert_eq!(s.prune_jobs(Utc::now() + chrono::Duration::seconds(1)).await.unwrap(), 2);
    assert_eq!(s.job_counts().await.unwrap().len(), 1, "dead jobs stay for the operator");
}

async fn concurrent_access_country_notes_do_not_deadlock(s: Arc<SqlStore>) {
    let mut ids = Vec::new();
    for n in 0..40u8 {
        let app = application(&format!("cc-{n}"), "DE");
        let a = account(&app, n);
        create(&s, &a, &app, None).await.unwrap();
        ids.push(a.id);
    }
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap();
    for round in 0..10 {
        let cc = format!("R{round}");
        let forward: Vec<_> = ids.iter().map(|id| (*id, cc.clone())).collect();
        let mut backward = forward.clone();
        backward.reverse();
        backward.extend(forward.iter().take(5).cloned()); // duplicates within a batch, too
        let (x, y) = tokio::join!(
            s.open_reviews_noting(&[], "monitor", at, &forward),
            s.open_reviews_noting(&[], "monitor", at, &backward)
        );
        x.unwrap_or_else(|e| panic!("round {round}: {e}"));
        y.unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    let mut seen = s.access_countries(&ids).await.unwrap();
    seen.sort_by(|a, b| (a.0.to_string(), &a.1).cmp(&(b.0.to_string(), &b.1)));
    assert_eq!(seen.len(), 40 * 10);
    assert!(seen.iter().all(|(_, cc)| cc.starts_with('R')));
}

async fn migrate_is_repeatable(s: Arc<SqlStore>) {
    s.migrate().await.unwrap_or_else(|e| panic!("second migrate: {e}"));
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
    concurrent_openings_of_one_external_id_create_one,
    external_id_is_unique_and_nothing_partial,
    list_filters_and_pages,
    tokens,
    audit_log_appends_and_proves,
    concurrent_audit_appends_keep_one_sequence,
    policies_are_versioned,
    decisions_are_appended,
    reviews_open_with_manual_review_and_are_cas,
    migrate_is_repeatable,
    events_are_segmented_paged_and_compacted,
    queries_during_compaction_see_every_event,
    concurrent_and_oversized_batches_keep_every_event,
    keys_across_buckets_match_a_scan,
    concurrent_review_openings_open_one,
    review_cases_open_with_their_notes,
    job_queue_dedupes_leases_and_retries,
    concurrent_access_country_notes_do_not_deadlock,
);

/// SQLite: reads' audit records go to a queue file beside the database, handed over to the tree
/// by a mark kept in the database (see `audit_queue.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_audit_queue_hands_over_each_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let queue_file = dir.path().join(format!("lessee.db{}", lessee_store::AUDIT_QUEUE_SUFFIX));
    let open = || async {
        let s = SqlStore::open_dir(dir.path(), &PoolConfig::default()).await.unwrap();
        s.migrate().await.unwrap();
        s
    };
    let at =
        |secs: i64| Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap() + chrono::Duration::seconds(secs);
    let s = open().await;
    assert!(queue_file.exists(), "the queue file sits beside the database");
    let count = |pool: sqlx::AnyPool| async move {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_pending").fetch_one(&pool).await.unwrap()
    };

    // Reads at 1 s and 3 s, a change at 2 s: the tree holds them in time order.
    for (secs, target) in [(1, "r1"), (3, "r3")] {
        let mut e = event("account.read", target);
        e.time = at(secs);
        s.append_audit(&e).await.unwrap();
    }
    let app = application("acct-queue", "DE");
    let acc = account(&app, 3);
    let mut opening = event("account.open", &acc.id.to_string());
    opening.time = at(2);
    s.create_account(&acc, &sealed(&app), &[], &opening, None).await.unwrap();
    assert_eq!(count(s.audit_append_pool().clone()).await, 2, "reads' records are in the queue");
    assert_eq!(count(s.write_pool().clone()).await, 1, "the change's record is in the database");
    assert_eq!(s.sequence_audit(100).await.unwrap(), 3);
    let targets = |entries: Vec<lessee_audit::LogEntry>| {
        entries.into_iter().map(|e| e.record.event.target.id).collect::<Vec<_>>()
    };
    assert_eq!(targets(s.audit_entries(0, 10).await.unwrap()), ["r1", acc.id.to_string().as_str(), "r3"]);
    assert_eq!(count(s.audit_append_pool().clone()).await, 0, "sequenced records leave the queue");

    // A crash between the database's commit and the queue's delete leaves sequenced records in
    // the queue: they are skipped (and deleted), never sequenced twice.
    let mut e = event("account.read", "r4");
    e.time = at(4);
    s.append_audit(&e).await.unwrap();
    let kept: (i64, String, i64) = sqlx::query_as("SELECT id, event, created_at FROM audit_pending")
        .fetch_one(s.audit_append_pool())
        .await
        .unwrap();
    assert_eq!(s.sequence_audit(100).await.unwrap(), 1);
    sqlx::query("INSERT INTO audit_pending (id, event, created_at) VALUES ($1, $2, $3)")
        .bind(kept.0)
        .bind(&kept.1)
        .bind(kept.2)
        .execute(s.audit_append_pool())
        .await
        .unwrap();
    s.close().await;
    let s = open().await;
    assert_eq!(s.sequence_audit(100).await.unwrap(), 0, "a record at or below the mark is not sequenced again");
    assert_eq!(count(s.audit_append_pool().clone()).await, 0);
    // Both paths bounded by the limit: two queued, one taken, then the other.
    for (secs, target) in [(5, "r5"), (6, "r6")] {
        let mut e = event("account.read", target);
        e.time = at(secs);
        s.append_audit(&e).await.unwrap();
    }
    assert_eq!(s.sequence_audit(1).await.unwrap(), 1);
    assert_eq!(count(s.audit_append_pool().clone()).await, 1);
    assert_eq!(s.sequence_audit(1).await.unwrap(), 1);
    assert_eq!(s.audit_size().await.unwrap(), 6);
    s.close().await;

    // A queue file replaced by a new one (its ids start again at 1, below the old mark): its
    // records are not mistaken for sequenced ones.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", queue_file.display()));
    }
    let s = open().await;
    let mut e = event("account.read", "r7");
    e.time = at(7);
    s.append_audit(&e).await.unwrap();
    assert_eq!(s.sequence_audit(100).await.unwrap(), 1);
    let entries = s.audit_entries(0, 10).await.unwrap();
    assert_eq!(targets(entries.clone()), ["r1", acc.id.to_string().as_str(), "r3", "r4", "r5", "r6", "r7"]);
    // And the tree is the one an in-memory log of the same records has.
    let mut mem = lessee_audit::MemoryAuditLog::new();
    for e in &entries {
        mem.append(e.record.event.clone()).unwrap();
    }
    let ids = Frontier::node_ids(7);
    let map = lessee_audit::NodeMap::new(7, s.audit_nodes(&ids).await.unwrap());
    assert_eq!(lessee_audit::root_at(&map, 7).unwrap(), mem.root());

    // A queue behind its mark (it lost commits the database kept, or is an older copy): it
    // continues under a new id, so the ids it hands out again are not skipped.
    let queue_id: String =
        sqlx::query_scalar("SELECT queue_id FROM audit_queue_meta").fetch_one(s.audit_append_pool()).await.unwrap();
    sqlx::query("UPDATE audit_queue_marks SET upto = 1000 WHERE queue_id = $1")
        .bind(&queue_id)
        .execute(s.write_pool())
        .await
        .unwrap();
    s.close().await;
    let s = open().await;
    let renewed: String =
        sqlx::query_scalar("SELECT queue_id FROM audit_queue_meta").fetch_one(s.audit_append_pool()).await.unwrap();
    assert_ne!(renewed, queue_id);
    let mut e = event("account.read", "r8");
    e.time = at(8);
    s.append_audit(&e).await.unwrap();
    assert_eq!(s.sequence_audit(100).await.unwrap(), 1, "a record of a queue behind its mark is not skipped");
    s.close().await;
}

/// SQLite: two processes on one data directory (a server and a CLI command) append and
/// sequence at once; every record is sequenced once, and neither sequencer fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_stores_on_one_directory_sequence_each_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = Arc::new(SqlStore::open_dir(dir.path(), &PoolConfig::default()).await.unwrap());
    a.migrate().await.unwrap();
    let b = Arc::new(SqlStore::open_dir(dir.path(), &PoolConfig::default()).await.unwrap());
    let mut tasks = Vec::new();
    for (n, s) in [a.clone(), b.clone()].into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 0..60 {
                s.append_audit(&event("account.read", &format!("s{n}-{i}"))).await.unwrap();
                if i % 5 == 4 {
                    s.sequence_audit(7).await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    while a.sequence_audit(100).await.unwrap() > 0 {}
    let entries = a.audit_entries(0, 1000).await.unwrap();
    let mut targets: Vec<String> = entries.iter().map(|e| e.record.event.target.id.clone()).collect();
    assert_eq!(targets.len(), 120);
    targets.sort();
    targets.dedup();
    assert_eq!(targets.len(), 120, "no record sequenced twice");
    a.close().await;
    b.close().await;
}
