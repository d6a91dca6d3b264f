//! Special measures with a clock the test moves, on SQLite and PostgreSQL: a measure effective
//! in the future changes nothing until its date, then applies at opening and to existing
//! accounts; an expired measure stops applying and what it did is lifted; an exemption for
//! trial accounts changes the decisions it should and no other.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use lessee_domain::{Application, Outcome};
use lessee_service::{AuditKeys, Clock, Config, EmbeddedGeoIp, Principal, RequestContext, Service, Vault};
use lessee_store::Store;
use serde_json::json;

struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn fixture(name: &str) -> Application {
    let p =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../../shared/data/applications/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The German passport fixture as a new applicant.
fn german(external_id: &str, account_type: &str) -> Application {
    let mut v = serde_json::to_value(fixture("individual_foreign_passport")).unwrap();
    v["external_id"] = json!(external_id);
    v["account_type"] = json!(account_type);
    serde_json::from_value(v).unwrap()
}

/// The German passport fixture, moved to Russia, as a new applicant.
fn russian(external_id: &str, account_type: &str) -> Application {
    let mut v = serde_json::to_value(fixture("individual_foreign_passport")).unwrap();
    v["external_id"] = json!(external_id);
    v["account_type"] = json!(account_type);
    v["customer"]["citizenships"] = json!(["RU"]);
    v["customer"]["address"]["country"] = json!("RU");
    serde_json::from_value(v).unwrap()
}

fn codes(d: &lessee_domain::Decision) -> Vec<&str> {
    d.reasons.iter().map(|r| r.code.as_str()).collect()
}

/// A service on a fresh SQLite database in `dir` (or a fresh PostgreSQL database), its keys in
/// `dir`, with a clock the test moves (2026-12-01 12:00 UTC).
async fn service(postgres: bool, dir: &std::path::Path) -> (Arc<dyn Store>, Arc<TestClock>, Service) {
    let store = lessee_store::testing::migrated_store(postgres, dir).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let vault = Arc::new(Vault::new(Arc::new(lessee_crypto::LocalKeyring::open_or_create(dir).unwrap())).unwrap());
    let (keys, _, _) = AuditKeys::open_or_create(dir).unwrap();
    let clock = Arc::new(TestClock(Mutex::new(Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap())));
    let svc =
        Service::new(store.clone(), clock.clone(), Arc::new(EmbeddedGeoIp), vault, Arc::new(keys), Config::default());
    (store, clock, svc)
}

async fn run(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (_, clock, svc) = service(postgres, dir.path()).await;
    let op = Principal::local_operator();
    let ctx = RequestContext::local();

    let reseller = svc.open_account(&op, &ctx, fixture("reseller_with_sublessees"), None).await.unwrap().account;
    let german = svc.open_account(&op, &ctx, fixture("individual_foreign_passport"), None).await.unwrap().account;
    let trial_ru = svc.open_account(&op, &ctx, russian("ru-trial-1", "trial"), None).await.unwrap().account;
    let before = |a: &lessee_domain::Account| a.decision.outcome;
    let (reseller_before, trial_before) = (before(&reseller), before(&trial_ru));
    assert_ne!(reseller_before, Outcome::Deny);

    // Determined today, effective in 200 days (the 180-day lead time is kept).
    let m = svc
        .add_measure(
            &op,
            &ctx,
            json!({"id": "m-ru", "kind": "jurisdiction", "target": {"country": "RU"}, "effect": {"type": "prohibit"},
                   "scope": ["opening", "maintaining", "reseller_accounts"], "citation": "91 FR 1234",
                   "effective": "2027-06-19"}),
        )
        .await
        .unwrap();
    assert_eq!(m.status.status.as_str(), "pending");
    assert_eq!(svc.measures_next_change().await.unwrap().map(|d| d.to_string()).as_deref(), Some("2027-06-19"));
    // Found before its date, but nothing changes yet.
    let r = svc.reevaluate_measures().await.unwrap();
    assert_eq!((r.measures, r.decided), (1, 0), "{r:?}");
    let impact = svc.measure_impact(&op, &ctx, "m-ru").await.unwrap();
    let mut upcoming: Vec<(String, String)> =
        impact.accounts.iter().map(|a| (a.account_id.clone(), a.state.clone())).collect();
    upcoming.sort();
    let mut expected =
        vec![(reseller.id.to_string(), "upcoming".to_owned()), (trial_ru.id.to_string(), "upcoming".to_owned())];
    expected.sort();
    assert_eq!(upcoming, expected);
    assert_eq!(svc.account(&op, &reseller.id.to_string()).await.unwrap().decision.outcome, reseller_before);
    let early = svc.open_account(&op, &ctx, russian("ru-early", "standard"), None).await.unwrap().account;
    assert!(!codes(&early.decision).contains(&"measure_blocks_opening"), "{:?}", early.decision);
    // Nothing changed: a second run does nothing.
    assert_eq!(svc.reevaluate_measures().await.unwrap().measures, 0);

    // The effective date: openings are refused and existing accounts get a closing deadline.
    *clock.0.lock().unwrap() = Utc.with_ymd_and_hms(2027, 6, 19, 9, 0, 0).unwrap();
    let denied = svc.open_account(&op, &ctx, russian("ru-late", "standard"), None).await.unwrap().account;
    assert_eq!(denied.decision.outcome, Outcome::Deny);
    let reason = denied.decision.reasons.iter().find(|r| r.code == "measure_blocks_opening").unwrap();
    assert!(reason.message.contains("`m-ru`") && reason.message.contains("91 FR 1234"), "{}", reason.message);
    // The date passed: the scheduler's check enqueues a re-evaluation (one pending job: the one
    // the creation enqueued absorbs it) and a job worker runs it.
    assert!(svc.schedule_measures().await.unwrap());
    let run = svc.run_jobs_until_empty("worker-1").await.unwrap();
    assert_eq!((run.completed, run.dead), (1, 0), "{run:?}");
    assert!(!svc.schedule_measures().await.unwrap(), "nothing due after the run");
    let reseller_now = svc.account(&op, &reseller.id.to_string()).await.unwrap().decision;
    assert_eq!(reseller_now.outcome, Outcome::Deny);
    assert_eq!(reseller_now.trigger.as_deref(), Some("measure:m-ru"));
    let impact = svc.measure_impact(&op, &ctx, "m-ru").await.unwrap();
    let r_impact = impact.accounts.iter().find(|a| a.account_id == reseller.id.to_string()).unwrap();
    assert_eq!((r_impact.state.as_str(), r_impact.verdict.as_str()), ("applied", "close"));
    assert_eq!(r_impact.close_by.as_deref(), Some("2027-07-19"));
    assert_eq!(r_impact.outcome["findings"][0]["link"], "sub_lessee:1");
    assert!(impact.accounts.iter().all(|a| a.account_id != german.id.to_string()));
    // The German account is untouched.
    assert_eq!(svc.decisions(&op, &german.id.to_string()).await.unwrap().len(), 1);

    // An exemption for trial accounts: the trial account is relieved, the others are not.
    svc.add_exemption(
        &op,
        &ctx,
        json!({"id": "x-trial", "scope": {"type": "account_type", "account_type": "trial"}, "reference": "ADP-2027-1",
               "effective": "2027-06-19", "exempts_from": {"type": "listed", "measures": ["m-ru"]}}),
    )
    .await
    .unwrap();
    let trial_new = svc.open_account(&op, &ctx, russian("ru-trial-2", "trial"), None).await.unwrap().account;
    assert_ne!(trial_new.decision.outcome, Outcome::Deny, "{:?}", trial_new.decision);
    let exempted = trial_new.decision.reasons.iter().find(|r| r.code == "measure_exempted").unwrap();
    assert!(exempted.message.contains("x-trial") && exempted.message.contains("ADP-2027-1"), "{}", exempted.message);
    let standard_new = svc.open_account(&op, &ctx, russian("ru-standard-2", "standard"), None).await.unwrap().account;
    assert_eq!(standard_new.decision.outcome, Outcome::Deny);
    svc.reevaluate_measures().await.unwrap();
    let trial_now = svc.account(&op, &trial_ru.id.to_string()).await.unwrap().decision;
    assert_eq!(trial_now.outcome, trial_before, "{trial_now:?}");
    assert!(codes(&trial_now).contains(&"measure_exempted"));
    assert_eq!(svc.account(&op, &reseller.id.to_string()).await.unwrap().decision.outcome, Outcome::Deny);

    // 365 days after the effective date the measure has expired: it stops applying and the
    // reseller is decided again without it.
    *clock.0.lock().unwrap() = Utc.with_ymd_and_hms(2028, 6, 18, 9, 0, 0).unwrap();
    assert_eq!(svc.measure(&op, "m-ru").await.unwrap().view.status.status.as_str(), "expired");
    let after = svc.open_account(&op, &ctx, russian("ru-after", "standard"), None).await.unwrap().account;
    assert!(!codes(&after.decision).iter().any(|c| c.starts_with("measure_")), "{:?}", after.decision);
    assert_eq!(svc.run_jobs_until_empty("worker-2").await.unwrap().completed, 1);
    let reseller_end = svc.account(&op, &reseller.id.to_string()).await.unwrap().decision;
    assert_eq!(reseller_end.trigger.as_deref(), Some("measure_lifted:m-ru"));
    assert!(!codes(&reseller_end).iter().any(|c| c.starts_with("measure_")), "{reseller_end:?}");
    let impact = svc.measure_impact(&op, &ctx, "m-ru").await.unwrap();
    let r_impact = impact.accounts.iter().find(|a| a.account_id == reseller.id.to_string()).unwrap();
    assert_eq!(r_impact.state, "lifted");
    // The history: created only (the expiry is a date, not a change).
    assert_eq!(svc.measure(&op, "m-ru").await.unwrap().history.len(), 1);
}

/// A non-compliant foreign reseller: reminders by job on days 7 to 28, the deadline recorded as
/// passed on day 30 when no outcome came, then the outcome.
async fn reseller_deadline(postgres: bool) {
    use lessee_service::resellers::{
        Attestation, CipBasis, NonComplianceRequest, OutcomeRequest, ResellerLocation, ResellerRegistration,
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, svc) = service(postgres, dir.path()).await;
    let (op, ctx) = (Principal::local_operator(), RequestContext::local());
    let id =
        svc.open_account(&op, &ctx, fixture("reseller_with_sublessees"), None).await.unwrap().account.id.to_string();
    let reg = ResellerRegistration {
        location: ResellerLocation::Foreign,
        cip_basis: CipBasis::AdoptsProviderCip,
        agreement_signed: Some("2026-10-01".parse().unwrap()),
    };
    assert_eq!(svc.register_reseller(&op, &ctx, &id, reg).await.unwrap().status, "compliant");
    let a = Attestation { date: "2026-12-01".parse().unwrap(), reference: "ATT-2026".into() };
    let v = svc.attest_reseller(&op, &ctx, &id, a).await.unwrap();
    assert_eq!(v.next_attestation_due.to_string(), "2027-12-01");
    let v = svc
        .mark_reseller_non_compliant(&op, &ctx, &id, NonComplianceRequest { reason: "no CIP records".into() })
        .await
        .unwrap();
    assert_eq!(v.status, "non_compliant");
    assert_eq!(v.reseller.non_compliance.as_ref().unwrap().terminate_by.to_string(), "2026-12-31");
    // Nothing is due before day 7.
    assert_eq!(svc.run_jobs_until_empty("w").await.unwrap().completed, 0);
    *clock.0.lock().unwrap() = Utc.with_ymd_and_hms(2026, 12, 8, 13, 0, 0).unwrap();
    assert_eq!(svc.run_jobs_until_empty("w").await.unwrap().completed, 1);
    let nc = svc.reseller(&op, &id).await.unwrap().reseller.non_compliance.unwrap();
    assert_eq!((nc.reminders.clone(), nc.outcome.clone()), (vec![7], None));
    *clock.0.lock().unwrap() = Utc.with_ymd_and_hms(2026, 12, 31, 13, 0, 0).unwrap();
    assert_eq!(svc.run_jobs_until_empty("w").await.unwrap().completed, 4);
    let v = svc.reseller(&op, &id).await.unwrap();
    let nc = v.reseller.non_compliance.clone().unwrap();
    assert_eq!(nc.reminders, vec![7, 14, 21, 28, 30]);
    assert_eq!(v.status, "deadline_passed");
    let v = svc.record_reseller_outcome(&op, &ctx, &id, OutcomeRequest { outcome: "terminated".into() }).await.unwrap();
    assert_eq!(v.status, "terminated");
    // The history keeps every step.
    let changes = store.registry_changes("reseller", &id).await.unwrap();
    let kinds: Vec<&str> = changes.iter().map(|c| c.change.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "registered",
            "attested",
            "non_compliant",
            "reminder",
            "reminder",
            "reminder",
            "reminder",
            "reminder",
            "outcome"
        ]
    );
}

/// An exemption waiving `reseller_cip` shows in the register: a reseller with its own CIP not
/// yet filed is `exempt` while it is in force, `cip_missing` before and after.
async fn reseller_cip_exemption(postgres: bool) {
    use lessee_service::resellers::{CipBasis, ResellerLocation, ResellerRegistration};
    let dir = tempfile::tempdir().unwrap();
    let (_, clock, svc) = service(postgres, dir.path()).await;
    let (op, ctx) = (Principal::local_operator(), RequestContext::local());
    let id =
        svc.open_account(&op, &ctx, fixture("reseller_with_sublessees"), None).await.unwrap().account.id.to_string();
    let reg = ResellerRegistration {
        location: ResellerLocation::Foreign,
        cip_basis: CipBasis::OwnCip,
        agreement_signed: None,
    };
    let v = svc.register_reseller(&op, &ctx, &id, reg).await.unwrap();
    assert_eq!((v.status.as_str(), v.exempted_by.as_deref()), ("cip_missing", None));
    // An exemption for another country's lessees does not cover it (the fixture reseller is in SG).
    svc.add_exemption(
        &op,
        &ctx,
        json!({"id": "x-de", "scope": {"type": "country", "country": "DE"}, "reference": "ADP-2027-5",
               "effective": "2026-12-01", "exempts_from": {"type": "listed", "requirements": ["reseller_cip"]}}),
    )
    .await
    .unwrap();
    assert_eq!(svc.reseller(&op, &id).await.unwrap().status, "cip_missing");
    svc.add_exemption(
        &op,
        &ctx,
        json!({"id": "x-sg", "scope": {"type": "country", "country": "SG"}, "reference": "ADP-2027-6",
               "effective": "2026-12-01", "expiry": "2027-01-01",
               "exempts_from": {"type": "listed", "requirements": ["reseller_cip"]}}),
    )
    .await
    .unwrap();
    let v = svc.reseller(&op, &id).await.unwrap();
    assert_eq!((v.status.as_str(), v.exempted_by.as_deref()), ("exempt", Some("x-sg")));
    assert_eq!(svc.list_resellers(&op).await.unwrap()[0].status, "exempt");
    *clock.0.lock().unwrap() = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    let v = svc.reseller(&op, &id).await.unwrap();
    assert_eq!((v.status.as_str(), v.exempted_by.as_deref()), ("cip_missing", None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reseller_cip_exemption_on_sqlite() {
    reseller_cip_exemption(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reseller_cip_exemption_on_postgres() {
    reseller_cip_exemption(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reseller_deadline_on_sqlite() {
    reseller_deadline(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reseller_deadline_on_postgres() {
    reseller_deadline(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measures_over_time_on_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measures_over_time_on_postgres() {
    run(true).await;
}

/// An exemption granted by Commerce that waives `cip_verification` for trial accounts: a German
/// trial applicant without evidence is approved with the exemption's conditions and the decision
/// names it; a standard applicant with the same data is decided as before; unknown requirement
/// codes are refused and nothing is recorded; after its expiry it stops applying.
async fn requirement_exemption(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (_, clock, svc) = service(postgres, dir.path()).await;
    let op = Principal::local_operator();
    let ctx = RequestContext::local();

    let trial_before = svc.open_account(&op, &ctx, german("trial-0", "trial"), None).await.unwrap().account;
    let standard_before = svc.open_account(&op, &ctx, german("standard-0", "standard"), None).await.unwrap().account;
    assert_ne!(trial_before.decision.outcome, Outcome::Approve, "{:?}", codes(&trial_before.decision));
    assert!(!codes(&trial_before.decision).contains(&"verification_waived"));

    // Unknown requirement codes are refused, each by its pointer; nothing is recorded.
    let err = svc
        .add_exemption(
            &op,
            &ctx,
            json!({"id": "x-bad", "scope": {"type": "provider"}, "reference": "ADP-2027-9", "effective": "2026-12-01",
                   "exempts_from": {"type": "listed", "requirements": ["cip_verification", "record_keeping"]}}),
        )
        .await
        .unwrap_err();
    let pointers: Vec<(&str, &str)> = err.errors.iter().map(|e| (e.pointer.as_str(), e.code.as_str())).collect();
    assert_eq!(pointers, [("/exempts_from/requirements/1", "unknown_requirement")], "{err:?}");
    assert!(svc.list_exemptions(&op).await.unwrap().is_empty());

    svc.add_exemption(
        &op,
        &ctx,
        json!({"id": "x-cip", "scope": {"type": "account_type", "account_type": "trial"}, "reference": "ADP-2027-2",
               "effective": "2026-12-01", "expiry": "2027-01-01", "conditions": ["adp_monitoring"],
               "exempts_from": {"type": "listed", "requirements": ["cip_verification"]}}),
    )
    .await
    .unwrap();

    let trial_account = svc.open_account(&op, &ctx, german("trial-1", "trial"), None).await.unwrap().account;
    let trial = trial_account.decision.clone();
    assert_eq!(trial.outcome, Outcome::ApproveWithConditions, "{:?}", codes(&trial));
    let applied = trial.reasons.iter().find(|r| r.code == "exemption_applied").unwrap();
    assert!(applied.message.contains("`x-cip` (ADP-2027-2)"), "{}", applied.message);
    let waived = trial.reasons.iter().find(|r| r.code == "verification_waived").unwrap();
    assert!(waived.message.contains("`x-cip`") && waived.subject == "customer", "{}", waived.message);
    let condition = trial.conditions.iter().find(|c| c.id == "adp_monitoring").unwrap();
    assert_eq!(condition.imposed_by, "exemption:x-cip");

    // The standard applicant with the same data: decided exactly as before the exemption.
    let standard = svc.open_account(&op, &ctx, german("standard-1", "standard"), None).await.unwrap().account.decision;
    assert_eq!(standard.outcome, standard_before.decision.outcome);
    assert_eq!(codes(&standard), codes(&standard_before.decision));
    assert!(standard.conditions.iter().all(|c| c.imposed_by != "exemption:x-cip"));

    // The re-evaluation job decides the existing trial account again under the exemption (it
    // was held for verification); the standard one keeps its single decision. A second run
    // changes nothing.
    let report = svc.reevaluate_measures().await.unwrap();
    assert_eq!(report.decided, 1, "{report:?}");
    let history = svc.decisions(&op, &trial_before.id.to_string()).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!((history.len(), last.outcome), (2, Outcome::ApproveWithConditions), "{:?}", codes(last));
    assert_eq!(last.trigger.as_deref(), Some("exemption_change"));
    assert_eq!(svc.decisions(&op, &standard_before.id.to_string()).await.unwrap().len(), 1);
    assert_eq!(svc.reevaluate_measures().await.unwrap().decided, 0);
    assert!(!svc.measures_due().await.unwrap());

    // On its expiry date (exclusive) it no longer applies: to a new trial applicant, and to the
    // accounts decided under it, which the scheduler sees are due and the job decides again.
    *clock.0.lock().unwrap() = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    let later = svc.open_account(&op, &ctx, german("trial-2", "trial"), None).await.unwrap().account.decision;
    assert_eq!(later.outcome, trial_before.decision.outcome, "{:?}", codes(&later));
    assert!(!codes(&later).contains(&"verification_waived") && !codes(&later).contains(&"exemption_applied"));
    assert!(svc.measures_due().await.unwrap());
    let report = svc.reevaluate_measures().await.unwrap();
    assert_eq!(report.decided, 2, "{report:?}");
    for id in [trial_before.id, trial_account.id] {
        let now = svc.account(&op, &id.to_string()).await.unwrap().decision;
        assert_eq!(now.outcome, trial_before.decision.outcome, "{:?}", codes(&now));
        assert!(!codes(&now).contains(&"verification_waived"));
        assert!(now.conditions.iter().all(|c| c.imposed_by != "exemption:x-cip"));
    }
}

/// An exemption from everything (an ADP exemption of the whole program) waives CIP
/// verification too; one from measures only does not.
async fn exemption_from_all(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, svc) = service(postgres, dir.path()).await;
    let op = Principal::local_operator();
    let ctx = RequestContext::local();
    svc.add_exemption(
        &op,
        &ctx,
        json!({"id": "x-measures", "scope": {"type": "provider"}, "reference": "ADP-2027-3", "effective": "2026-12-01",
               "exempts_from": {"type": "listed", "measures": ["m-any"]}}),
    )
    .await
    .unwrap();
    let before = svc.open_account(&op, &ctx, german("p-0", "standard"), None).await.unwrap().account.decision;
    assert_ne!(before.outcome, Outcome::Approve, "{:?}", codes(&before));
    assert!(!codes(&before).contains(&"exemption_applied"));
    svc.add_exemption(
        &op,
        &ctx,
        json!({"id": "x-all", "scope": {"type": "lessee_type", "lessee_type": "individual"}, "reference": "ADP-2027-4",
               "effective": "2026-12-01", "exempts_from": {"type": "all"}}),
    )
    .await
    .unwrap();
    let p1 = svc.open_account(&op, &ctx, german("p-1", "standard"), None).await.unwrap().account;
    let after = p1.decision.clone();
    assert_eq!(after.outcome, Outcome::Approve, "{:?}", codes(&after));
    let applied = after.reasons.iter().find(|r| r.code == "exemption_applied").unwrap();
    assert!(applied.message.contains("`x-all`") && applied.message.contains("cip_verification"), "{}", applied.message);
    // An entity is outside the lessee-type scope.
    let entity =
        svc.open_account(&op, &ctx, fixture("entity_foreign_with_owners"), None).await.unwrap().account.decision;
    assert!(!codes(&entity).contains(&"exemption_applied"), "{:?}", codes(&entity));

    // Revoked: the account approved under it is decided again without it, by the job the
    // revocation enqueues.
    let revoke = lessee_service::measures::RevokeRequest { reason: "91 FR 7777".into(), date: None };
    svc.revoke_exemption(&op, &ctx, "x-all", revoke).await.unwrap();
    assert!(svc.measures_due().await.unwrap());
    svc.run_jobs_until_empty("w").await.unwrap();
    let now = svc.account(&op, &p1.id.to_string()).await.unwrap().decision;
    assert_eq!(now.outcome, before.outcome, "{:?}", codes(&now));
    assert_eq!(now.trigger.as_deref(), Some("exemption_change"));
    assert!(!codes(&now).contains(&"exemption_applied"));
    assert!(!svc.measures_due().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemption_from_all_on_sqlite() {
    exemption_from_all(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemption_from_all_on_postgres() {
    exemption_from_all(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirement_exemption_on_sqlite() {
    requirement_exemption(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirement_exemption_on_postgres() {
    requirement_exemption(true).await;
}

/// A reseller reached only through a sub-lessee registered to it (not in its application) is
/// flagged by a re-evaluation, as is the sub-lessee; a reseller without registered sub-lessees
/// is not. (A re-evaluation evaluates most accounts beside their decryption; accounts with
/// registered sub-lessees read and open them first.)
async fn registered_sub_lessee_reaches_reseller(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, svc) = service(postgres, dir.path()).await;
    let op = Principal::local_operator();
    let ctx = RequestContext::local();

    // The Singapore reseller without its Russian sub-lessee in the application.
    let singaporean = |external_id: &str| {
        let mut v = serde_json::to_value(fixture("reseller_with_sublessees")).unwrap();
        v["external_id"] = json!(external_id);
        v["sub_lessees"].as_array_mut().unwrap().retain(|s| s["customer"]["address"]["country"] == "SG");
        serde_json::from_value::<Application>(v).unwrap()
    };
    let reseller = svc.open_account(&op, &ctx, singaporean("sg-reseller-1"), None).await.unwrap().account;
    let other = svc.open_account(&op, &ctx, singaporean("sg-reseller-2"), None).await.unwrap().account;
    let sub = svc.open_account(&op, &ctx, russian("ru-sub-1", "standard"), None).await.unwrap().account;
    store.link_sub_lessee(sub.id, reseller.id, clock.now()).await.unwrap();

    svc.add_measure(
        &op,
        &ctx,
        json!({"id": "m-ru-now", "kind": "jurisdiction", "target": {"country": "RU"}, "effect": {"type": "prohibit"},
               "scope": ["opening", "maintaining", "reseller_accounts"], "citation": "91 FR 1234",
               "effective": "2026-12-01", "expedited": {"citation": "91 FR 1234"}}),
    )
    .await
    .unwrap();
    let r = svc.reevaluate_measures().await.unwrap();
    assert_eq!(r.measures, 1, "{r:?}");
    let impact = svc.measure_impact(&op, &ctx, "m-ru-now").await.unwrap();
    let mut reached: Vec<String> = impact.accounts.iter().map(|a| a.account_id.clone()).collect();
    reached.sort();
    let mut expected = vec![reseller.id.to_string(), sub.id.to_string()];
    expected.sort();
    assert_eq!(reached, expected, "{impact:?}");
    assert!(impact.accounts.iter().all(|a| a.state == "applied"), "{impact:?}");
    assert_eq!(svc.account(&op, &reseller.id.to_string()).await.unwrap().decision.outcome, Outcome::Deny);
    assert_ne!(svc.account(&op, &other.id.to_string()).await.unwrap().decision.outcome, Outcome::Deny);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_sub_lessee_reaches_reseller_on_sqlite() {
    registered_sub_lessee_reaches_reseller(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_sub_lessee_reaches_reseller_on_postgres() {
    registered_sub_lessee_reaches_reseller(true).await;
}

/// Person measures match through the screening engine: a target written another way (the
/// family name without its umlaut and misspelt, given name first or last) reaches the existing
/// account and a new applicant of that name and date of birth; a different date of birth, or a
/// different person, is not reached. The reason carries the score, not the name.
async fn person_measure_matches_like_screening(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, svc) = service(postgres, dir.path()).await;
    let op = Principal::local_operator();
    let ctx = RequestContext::local();

    // Katharina Müller, born 1989-04-12 (the German passport fixture).
    let katharina = svc.open_account(&op, &ctx, fixture("individual_foreign_passport"), None).await.unwrap().account;
    let us = svc.open_account(&op, &ctx, fixture("individual_us_person"), None).await.unwrap().account;
    svc.add_measure(
        &op,
        &ctx,
        json!({"id": "m-person", "kind": "person",
               "target": {"name": "MULLER, Katarina", "date_of_birth": "1989-04-12"},
               "effect": {"type": "prohibit"}, "scope": ["opening", "maintaining"], "citation": "91 FR 4321",
               "effective": "2026-12-01", "expedited": {"citation": "91 FR 4321"}}),
    )
    .await
    .unwrap();
    let r = svc.reevaluate_measures().await.unwrap();
    assert_eq!(r.measures, 1, "{r:?}");
    let impact = svc.measure_impact(&op, &ctx, "m-person").await.unwrap();
    let reached: Vec<&str> = impact.accounts.iter().map(|a| a.account_id.as_str()).collect();
    assert_eq!(reached, vec![katharina.id.to_string().as_str()], "{impact:?}");
    assert_ne!(svc.account(&op, &us.id.to_string()).await.unwrap().decision.outcome, Outcome::Deny);
    let decision = svc.account(&op, &katharina.id.to_string()).await.unwrap().decision;
    let text: Vec<&str> = decision.reasons.iter().map(|r| r.message.as_str()).collect();
    assert!(text.iter().any(|m| m.contains("`m-person`") && m.contains("score")), "{text:?}");
    assert!(!text.iter().any(|m| m.contains("Katharina") || m.contains("MULLER")), "{text:?}");

    // A new applicant of that name and date of birth is refused; another date of birth is not.
    let again = |ext: &str, dob: &str| {
        let mut v = serde_json::to_value(fixture("individual_foreign_passport")).unwrap();
        v["external_id"] = json!(ext);
        v["customer"]["date_of_birth"] = json!(dob);
        serde_json::from_value::<Application>(v).unwrap()
    };
    let same = svc.open_account(&op, &ctx, again("k-2", "1989-04-12"), None).await.unwrap().account;
    assert_eq!(same.decision.outcome, Outcome::Deny, "{:?}", same.decision);
    assert!(codes(&same.decision).contains(&"measure_blocks_opening"), "{:?}", same.decision);
    let other = svc.open_account(&op, &ctx, again("k-3", "1990-01-01"), None).await.unwrap().account;
    assert!(!codes(&other.decision).iter().any(|c| c.starts_with("measure_")), "{:?}", other.decision);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn person_measure_matches_like_screening_on_sqlite() {
    person_measure_matches_like_screening(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn person_measure_matches_like_screening_on_postgres() {
    person_measure_matches_like_screening(true).await;
}
