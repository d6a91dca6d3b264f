//! Ongoing verification with a clock the test moves, on SQLite and PostgreSQL: contact
//! confirmations lapse and old decisions are made again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use lessee_domain::Outcome;
use lessee_notify::{CodeSender, OneTimeCode, SendError};
use lessee_service::verification::{Channel, Messaging};
use lessee_service::{AuditKeys, Clock, Config, EmbeddedGeoIp, Principal, RequestContext, Service, Vault};
use lessee_store::Store;

struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Keeps the last code it was asked to send (the SMTP and webhook senders are tested against
/// real servers in lessee-notify and in the server tests).
#[derive(Default)]
struct Inbox(Mutex<Option<String>>);

#[async_trait::async_trait]
impl CodeSender for Inbox {
    async fn send_code(&self, _to: &str, code: &OneTimeCode, _minutes: u32) -> Result<(), SendError> {
        *self.0.lock().unwrap() = Some(code.expose().to_owned());
        Ok(())
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
    let inbox = Arc::new(Inbox::default());
    let messaging = Messaging { email: Some(inbox.clone()), phone: Some(inbox.clone()), ..Messaging::default() };
    let svc =
        Service::new(store.clone(), clock.clone(), Arc::new(EmbeddedGeoIp), vault, Arc::new(keys), Config::default())
            .with_messaging(messaging);
    let op = Principal::local_operator();
    let ctx = RequestContext::local();
    let us = svc.open_account(&op, &ctx, fixture("individual_us_person"), None).await.unwrap().account.id.to_string();
    clock.0.lock().unwrap().clone_from(&(Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap()));
    let de = svc.open_account(&op, &ctx, fixture("individual_foreign_passport"), None).await.unwrap().account;
    assert_eq!(de.decision.outcome, Outcome::ApproveWithConditions);
    let de = de.id.to_string();
    for ch in [Channel::Email, Channel::Phone] {
        svc.start_verification(&op, &ctx, &de, ch).await.unwrap();
        let code = inbox.0.lock().unwrap().clone().unwrap();
        svc.confirm_verification(&op, &ctx, &de, ch, &code).await.unwrap();
    }
    assert_eq!(svc.account(&op, &de).await.unwrap().decision.outcome, Outcome::Approve);

    // Half a year on: nothing is due.
    *clock.0.lock().unwrap() += Duration::days(180);
    let r = svc.run_reverification(&op, &ctx).await.unwrap();
    assert!(r.evidence_expired.is_empty() && r.periodic.is_empty(), "{r:?}");

    // A year and a day after the US account's decision: it is decided again (periodic); the
    // German one's confirmations are a day short of lapsing.
    *clock.0.lock().unwrap() += Duration::days(184) + Duration::hours(12);
    let r = svc.run_reverification(&op, &ctx).await.unwrap();
    assert_eq!(r.periodic, vec![us.clone()]);
    assert!(r.evidence_expired.is_empty(), "{r:?}");
    let history = svc.decisions(&op, &us).await.unwrap();
    assert_eq!(history.last().unwrap().trigger.as_deref(), Some("periodic"));

    // Two days later the confirmations lapse: the account loses the approval they earned.
    *clock.0.lock().unwrap() += Duration::days(2);
    let r = svc.run_reverification(&op, &ctx).await.unwrap();
    assert_eq!(r.evidence_expired, vec![de.clone(), de.clone()], "email and phone");
    let d = svc.account(&op, &de).await.unwrap().decision;
    assert_eq!((d.outcome, d.trigger.as_deref()), (Outcome::ApproveWithConditions, Some("evidence_expired")));
    let states = store.evidence_states(lessee_domain::AccountId::parse(&de).unwrap()).await.unwrap();
    assert!(states.iter().all(|(_, s)| s == "expired"), "{states:?}");
    // And the run is idempotent.
    let r = svc.run_reverification(&op, &ctx).await.unwrap();
    assert!(r.evidence_expired.is_empty() && r.periodic.is_empty(), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverification_on_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverification_on_postgres() {
    run(true).await;
}
