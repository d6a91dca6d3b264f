//! Screening wired into the service (issue 6), on SQLite and PostgreSQL: lists imported from
//! the shared files, ad-hoc screening, screening at opening (the fixtures' sanctioned applicant
//! and the reseller's listed sub-lessee), dispositions, and re-screening after a list import.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use std::path::PathBuf;
use std::sync::Arc;

use lessee_domain::{Application, Outcome};
use lessee_service::screening::{DispositionRequest, ScreenItem, ScreenRequest, parse_list, parse_list_files};
use lessee_service::{AuditKeys, ErrorCode, Principal, RequestContext, Service, Vault};
use lessee_store::{PoolConfig, SqlStore, Store};

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn app(name: &str) -> Application {
    serde_json::from_str(&std::fs::read_to_string(shared().join("applications").join(name)).unwrap()).unwrap()
}

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
    let query = |name: &str| ScreenRequest {
        items: vec![ScreenItem { id: Some("q1".into()), name: name.into(), ..Default::default() }],
        list: None,
    };

    // Nothing imported: a query is refused with `no_lists`; an opening still works and says so.
    let err = svc.screen_query(&op, &ctx, query("Evgeniy Bogachev")).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NoLists);
    let us = svc.open_account(&op, &ctx, app("individual_us_person.json"), None).await.unwrap().account;
    assert_eq!(us.decision.outcome, Outcome::Approve);
    assert!(us.decision.reasons.iter().any(|r| r.code == "screening_not_possible"));

    // Import every shared list, recognised by content.
    let mut files = Vec::new();
    for e in std::fs::read_dir(shared().join("lists")).unwrap() {
        let p = e.unwrap().path();
        files.push((p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()));
    }
    let (lists, skipped) = parse_list_files(&files).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    let mut names: Vec<&str> = lists.iter().map(|(f, _)| f.kind.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["bis_dpl", "csl", "ofac_sdn", "un"]);
    for (file, source) in lists {
        let report = svc.import_list(&op, &ctx, file, None, &source).await.unwrap();
        assert_eq!(report.version.version, 1);
        assert!(report.added > 0);
    }

    // A hostile file is refused and leaves the current versions as they were.
    let before = store.current_list_versions().await.unwrap();
    let bomb = b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><CONSOLIDATED_LIST>&b;</CONSOLIDATED_LIST>";
    let refused = parse_list(None, bomb).unwrap_err();
    assert_eq!(refused.code, ErrorCode::ValidationFailed);
    assert!(refused.detail.contains("nothing was imported"), "{}", refused.detail);
    assert_eq!(store.current_list_versions().await.unwrap(), before);

    // A known SDN name, another spelling: matched, with the versions scored against.
    let answer = svc.screen_query(&op, &ctx, query("Yevgeniy Bogachev")).await.unwrap();
    assert_eq!(answer.lists.len(), 4);
    let best = &answer.results[0].matches[0];
    assert_eq!((best.list.as_str(), best.entity_id.as_str(), best.list_version.as_str()), ("ofac_sdn", "21326", "v1"));
    assert!(best.score >= 0.81 && best.explanation.contains("BOGACHEV"), "{best:?}");
    let none = svc.screen_query(&op, &ctx, query("Rachel Okafor")).await.unwrap();
    assert!(none.results[0].matches.is_empty());

    // The sanctioned applicant (alternate spelling, same date of birth) is denied or held.
    let sanctioned = svc.open_account(&op, &ctx, app("individual_sanctioned.json"), None).await.unwrap().account;
    assert!(matches!(sanctioned.decision.outcome, Outcome::Deny | Outcome::ManualReview), "{:?}", sanctioned.decision);
    let reason = sanctioned.decision.reasons.iter().find(|r| r.code == "screening_strong_hit").unwrap();
    assert!(reason.message.contains("ofac_sdn entry 21326 (list version v1)"), "{}", reason.message);
    let alerts = svc.account_alerts(&op, &sanctioned.id.to_string()).await.unwrap();
    assert!(alerts.iter().any(|a| a.subject == "customer" && a.entity_id == "21326" && a.strong && a.status == "open"));
    let stored = serde_json::to_string(&alerts[0].explanation).unwrap();
    assert!(!stored.to_lowercase().contains("yevgeniy"), "no customer data in an alert: {stored}");

    // The reseller's listed sub-lessee raises an alert on the reseller's account.
    let reseller = svc.open_account(&op, &ctx, app("reseller_with_sublessees.json"), None).await.unwrap().account;
    let alerts = svc.account_alerts(&op, &reseller.id.to_string()).await.unwrap();
    let sub = alerts.iter().find(|a| a.subject == "sub_lessee:lcc-sub-78").unwrap_or_else(|| panic!("{alerts:?}"));
    assert_ne!(reseller.decision.outcome, Outcome::Approve);
    assert!(!alerts.iter().any(|a| a.subject == "sub_lessee:lcc-sub-77"));

    // A party on whose behalf an account is held is screened like the customer: the German
    // customer is clear, the sanctioned principal raises the alert.
    let mut held = serde_json::to_value(app("individual_foreign_passport.json")).unwrap();
    held["external_id"] = serde_json::json!("held-1");
    held["on_behalf_of"] = serde_json::json!([{"relationship": "principal",
        "party": serde_json::to_value(app("individual_sanctioned.json")).unwrap()["customer"]}]);
    let held = svc.open_account(&op, &ctx, serde_json::from_value(held).unwrap(), None).await.unwrap().account;
    let alerts = svc.account_alerts(&op, &held.id.to_string()).await.unwrap();
    assert!(alerts.iter().any(|a| a.subject == "on_behalf_of:0" && a.entity_id == "21326"), "{alerts:?}");
    assert!(alerts.iter().all(|a| a.subject == "on_behalf_of:0"), "{alerts:?}");
    assert!(matches!(held.decision.outcome, Outcome::Deny | Outcome::ManualReview), "{:?}", held.decision);

    // Dispositions: a false positive needs a reason; it is decided once, and decides again.
    let no_reason = DispositionRequest { disposition: "false_positive".into(), reason: None };
    assert_eq!(svc.dispose_alert(&op, &ctx, &sub.id, no_reason).await.unwrap_err().code, ErrorCode::ValidationFailed);
    let fp = DispositionRequest { disposition: "false_positive".into(), reason: Some("another company".into()) };
    let done = svc.dispose_alert(&op, &ctx, &sub.id, fp).await.unwrap();
    assert_eq!(done.status, "false_positive");
    let again = DispositionRequest { disposition: "true_match".into(), reason: None };
    assert_eq!(svc.dispose_alert(&op, &ctx, &sub.id, again).await.unwrap_err().code, ErrorCode::Conflict);
    let history = svc.decisions(&op, &reseller.id.to_string()).await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[1].reasons.iter().any(|r| r.code == "screening_false_positive"));
    // A true match denies.
    let open = svc.account_alerts(&op, &sanctioned.id.to_string()).await.unwrap();
    let tm = DispositionRequest { disposition: "true_match".into(), reason: None };
    svc.dispose_alert(&op, &ctx, &open[0].id, tm).await.unwrap();
    assert_eq!(svc.account(&op, &sanctioned.id.to_string()).await.unwrap().decision.outcome, Outcome::Deny);
    assert_eq!(svc.list_alerts(&op, Some("true_match"), None).await.unwrap().len(), 1);

    // Re-screening: a new version of a custom list adds an entry matching the approved
    // customer; the import enqueues a rescreen.list job, which raises an alert on that account.
    assert!(svc.account_alerts(&op, &us.id.to_string()).await.unwrap().is_empty());
    let v1 = b"id,name,type,aliases,date_of_birth,country,identifiers\nC-1,ACME TRADING LLC,entity,,,AE,\n";
    svc.import_list(&op, &ctx, parse_list(Some("custom"), v1).unwrap(), Some("internal"), "file:v1.csv").await.unwrap();
    assert_eq!(store.screening_key_scheme().await.unwrap(), None);
    svc.run_jobs_until_empty("test-worker").await.unwrap();
    assert!(svc.account_alerts(&op, &us.id.to_string()).await.unwrap().is_empty());
    // The first re-screen read every account and keyed them all: the next ones look up only
    // the accounts whose stored screening keys meet the changed entries.
    assert_eq!(store.screening_key_scheme().await.unwrap(), Some(i64::from(lessee_screening::keys::SCHEME)));
    let v2 = b"id,name,type,aliases,date_of_birth,country,identifiers\nC-1,ACME TRADING LLC,entity,,,AE,\nC-2,\"OKAFOR, Rachel\",individual,,1991-06-30,US,\n";
    let report = svc
        .import_list(&op, &ctx, parse_list(Some("custom"), v2).unwrap(), Some("internal"), "file:v2.csv")
        .await
        .unwrap();
    assert_eq!((report.version.version, report.added, report.changed), (2, 1, 0));
    assert!(svc.account_alerts(&op, &us.id.to_string()).await.unwrap().is_empty(), "re-screening is a job");
    let run = svc.run_jobs_until_empty("test-worker").await.unwrap();
    assert!(run.completed >= 1 && run.dead == 0, "{run:?}");
    let alerts = svc.account_alerts(&op, &us.id.to_string()).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        (alerts[0].list.as_str(), alerts[0].entity_id.as_str(), alerts[0].status.as_str()),
        ("internal", "C-2", "open")
    );
    let now = svc.account(&op, &us.id.to_string()).await.unwrap();
    assert_eq!(now.decision.outcome, Outcome::Deny, "a strong hit denies under the default policy");
    assert_eq!(now.decision.trigger.as_deref(), Some("rescreen"));
    let diff = svc.list_diff(&op, "internal", None, None).await.unwrap();
    assert_eq!((diff.added.len(), diff.removed.len(), diff.changed.len()), (1, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screening_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screening_postgres() {
    run(true).await;
}
