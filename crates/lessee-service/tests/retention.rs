//! Retention and legal holds, driven by a clock the test moves, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use lessee_service::retention::HoldRequest;
use lessee_service::{
    AuditKeys, BatchMode, Clock, Config, EmbeddedGeoIp, Principal, Purpose, RequestContext, Service, Vault,
};
use lessee_store::Store;

struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn advance(&self, d: Duration) {
        let mut t = self.0.lock().unwrap();
        *t += d;
    }
}

fn fixture(name: &str) -> lessee_domain::Application {
    let p =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../../shared/data/applications/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

async fn run(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = lessee_store::testing::migrated_store(postgres, dir.path()).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let vault =
        Arc::new(Vault::new(Arc::new(lessee_crypto::LocalKeyring::open_or_create(dir.path()).unwrap())).unwrap());
    let (keys, _, _) = AuditKeys::open_or_create(dir.path()).unwrap();
    let clock = Arc::new(TestClock(Mutex::new(Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap())));
    let svc =
        Service::new(store.clone(), clock.clone(), Arc::new(EmbeddedGeoIp), vault, Arc::new(keys), Config::default());
    let op = Principal::local_operator();
    let ctx = RequestContext::local();

    let open = |name: &str| {
        let app = fixture(name);
        let (svc, op, ctx) = (&svc, &op, &ctx);
        async move { svc.open_account(op, ctx, app, None).await.unwrap().account.id.to_string() }
    };
    let a = open("individual_us_person").await; // closed, never accessed: destroyed
    let b = open("individual_foreign_passport").await; // seen from a held range: kept
    let c = open("entity_foreign_with_owners").await; // held by account: kept until released
    let d = open("individual_bad_mrz").await; // accessed long after closure: not yet due
    let e = open("individual_sanctioned").await; // still open: never destroyed
    for id in [&a, &b, &c, &d] {
        svc.close_account(&op, &ctx, id).await.unwrap();
    }
    assert!(svc.close_account(&op, &ctx, &a).await.is_err(), "closing twice is refused");
    let ev = |acct: &str, ip: &str, at: DateTime<Utc>| {
        format!(
            r#"{{"account_id": "{acct}", "ip": "{ip}", "at": "{}", "action": "console.login", "kind": "access"}}"#,
            at.to_rfc3339()
        )
    };
    let now = svc.now();
    // B's events all in one millisecond: 5,000 (five pages of the hold check, one of an
    // export) from elsewhere, then the one from the held range, which only the last page,
    // after the (time, sequence) cursor, holds.
    let at = now - Duration::hours(1);
    let mut lines: Vec<String> = (0..5000).map(|_| ev(&b, "24.114.0.8", at)).collect();
    lines.push(ev(&b, "80.133.10.7", at));
    let batch = lessee_service::events::parse_batch(lines.join("\n").as_bytes()).unwrap();
    svc.ingest_events(&op, &ctx, batch, BatchMode::Atomic).await.unwrap();
    let produced = svc
        .legal_export(
            &op,
            &ctx,
            Purpose::LegalProcess,
            lessee_service::export::ExportRequest {
                account_id: Some(b.clone()),
                ip: None,
                from: Some((at - Duration::minutes(1)).to_rfc3339()),
                to: Some((at + Duration::minutes(1)).to_rfc3339()),
                reference: "23-cr-7".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(produced.manifest.accounts[0].access_events, 5001, "every event, across the page boundary");
    let hold_c = svc
        .place_hold(
            &op,
            &ctx,
            HoldRequest {
                account_id: Some(c.clone()),
                ip: None,
                reason: "subpoena".into(),
                reference: "23-cv-1".into(),
            },
        )
        .await
        .unwrap();
    svc.place_hold(
        &op,
        &ctx,
        HoldRequest {
            account_id: None,
            ip: Some("80.133.10.0/24".into()),
            reason: "investigation".into(),
            reference: "23-cr-7".into(),
        },
    )
    .await
    .unwrap();
    assert!(
        svc.place_hold(
            &op,
            &ctx,
            HoldRequest { account_id: None, ip: None, reason: "x".into(), reference: "y".into() }
        )
        .await
        .is_err()
    );

    // 400 days later D is accessed again, which restarts its two years.
    clock.advance(Duration::days(400));
    let batch = lessee_service::events::parse_batch(ev(&d, "24.114.0.8", svc.now()).as_bytes()).unwrap();
    svc.ingest_events(&op, &ctx, batch, BatchMode::Atomic).await.unwrap();

    // Nothing is due before two years.
    assert!(svc.run_retention(&op, &ctx).await.unwrap().destroyed.is_empty());
    clock.advance(Duration::days(331)); // 731 days after closure
    let r = svc.run_retention(&op, &ctx).await.unwrap();
    assert_eq!(r.destroyed, vec![a.clone()]);
    let mut held = r.held.clone();
    held.sort();
    let mut want = vec![b.clone(), c.clone()];
    want.sort();
    assert_eq!(held, want);
    // A's personal data is gone; its account view (no personal data) stays.
    assert!(svc.application(&op, &ctx, &a, Purpose::Audit).await.is_err());
    assert!(svc.account(&op, &a).await.is_ok());
    let e_app: serde_json::Value =
        serde_json::from_slice(&svc.application(&op, &ctx, &e, Purpose::Audit).await.unwrap()).unwrap();
    assert_eq!(e_app["external_id"], "acct-1004");
    // Releasing C's hold lets the next run destroy it; B stays held; D is not yet due.
    svc.release_hold(&op, &ctx, &hold_c.id).await.unwrap();
    assert!(svc.release_hold(&op, &ctx, &hold_c.id).await.is_err(), "released twice");
    let r = svc.run_retention(&op, &ctx).await.unwrap();
    assert_eq!(r.destroyed, vec![c.clone()]);
    assert_eq!(r.held, vec![b.clone()]);
    clock.advance(Duration::days(400));
    let r = svc.run_retention(&op, &ctx).await.unwrap();
    assert_eq!(r.destroyed, vec![d.clone()], "D is due two years after its last access");
    // D's key was unwrapped for its last access and is kept for sealing events; destroying it
    // ends that at once: D takes no more events.
    let batch = lessee_service::events::parse_batch(ev(&d, "24.114.0.8", svc.now()).as_bytes()).unwrap();
    let r = svc.ingest_events(&op, &ctx, batch, BatchMode::Partial).await.unwrap();
    assert_eq!((r.accepted, r.rejected.len()), (0, 1));
    assert_eq!(r.rejected[0].errors[0].code, "unknown_account");
    // Every destruction and hold is in the audit log.
    svc.sequence_audit().await.unwrap();
    let entries = store.audit_entries(0, 10_000).await.unwrap();
    let count = |action: &str| entries.iter().filter(|e| e.record.event.action == action).count();
    assert_eq!(count("retention.destroy"), 3);
    assert_eq!(count("legal_hold.place"), 2);
    assert_eq!(count("legal_hold.release"), 1);
    assert_eq!(count("account.close"), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_and_holds_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_and_holds_postgres() {
    run(true).await;
}
