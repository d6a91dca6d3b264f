//! `lessee bench rescreen`: the whole shared list set imported into a fresh database (OFAC
//! without 60 of its entries), N synthetic customers stored as sealed accounts, then
//! (a) a full re-screen of every customer against every list (`Service::rescreen_all`) beside
//! the same decrypting scan with no screening (the baseline), (b) the `rescreen.list` job after
//! the next OFAC version (the 60 entries back, 40 others given a new a.k.a.), (c) the same diff
//! without the stored screening keys, and (d) a worst-case diff of 100 entries made to come
//! near as many customers as possible.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Args;
use lessee_domain::classify::{ClassificationConfig, ExternalEvidence};
use lessee_domain::{Account, AccountId, Application, classify, interim_decision};
use lessee_lists::{Alias, AliasQuality, EntityType, Entry, ListFile};
use lessee_service::screening::parse_list_files;
use lessee_service::{Principal, RequestContext, Service, Vault};
use lessee_store::ScreeningStore;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Bed, Keys, Rng, Row, cores, load_fixtures};

#[derive(Args)]
pub struct RescreenArgs {
    /// Customers stored (sealed accounts).
    #[arg(long, default_value_t = 1_000_000)]
    customers: usize,
    /// Directory of the list files imported (as `lessee lists import DIR`).
    #[arg(long, default_value = "../shared/data/lists")]
    lists: PathBuf,
    /// Directory of application JSON files (templates of the synthetic customers).
    #[arg(long, default_value = "../shared/data/applications")]
    fixtures: PathBuf,
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// PostgreSQL server on which a throwaway database is created (and dropped).
    #[arg(long, env = "LESSEE_BENCH_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_admin_url: String,
}

const GIVEN: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Maria",
    "Wei",
    "Li",
    "Priya",
    "Arjun",
    "Ahmed",
    "Fatima",
    "Olga",
    "Dmitri",
    "Yuki",
    "Hiroshi",
    "Kwame",
    "Amara",
    "Lucas",
    "Sofia",
    "Mateo",
    "Isabella",
    "Noah",
    "Emma",
    "Liam",
    "Olivia",
    "Ethan",
    "Ava",
    "Hannah",
    "Daniel",
    "Chloe",
    "Samuel",
    "Grace",
    "Omar",
    "Leila",
    "Ivan",
    "Anna",
    "Pierre",
    "Camille",
    "Hans",
    "Greta",
    "Giovanni",
    "Giulia",
    "Sven",
    "Ingrid",
    "Rachel",
    "Oliver",
    "Nadia",
    "Tomasz",
    "Zofia",
    "Kofi",
    "Ama",
    "Raj",
    "Anjali",
    "Minh",
    "Linh",
    "Jorge",
];
const FAMILY: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Chen",
    "Wang",
    "Kim",
    "Patel",
    "Singh",
    "Khan",
    "Okafor",
    "Mensah",
    "Ivanova",
    "Kowalski",
    "Novak",
    "Muller",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Tanaka",
    "Sato",
    "Haddad",
    "Cohen",
    "Larsen",
    "Jensen",
    "Silva",
    "Santos",
    "Harper",
    "Murphy",
    "Kelly",
    "Sullivan",
    "Byrne",
];
const COMPANY_A: &[&str] = &[
    "Northgate",
    "Bluewater",
    "Summit",
    "Cedar",
    "Ironwood",
    "Silverline",
    "Redstone",
    "Brightpath",
    "Greenfield",
    "Harbor",
    "Pioneer",
    "Keystone",
    "Evergreen",
    "Falcon",
    "Granite",
    "Horizon",
    "Lakeside",
    "Maple",
    "Oakridge",
    "Pinnacle",
    "Quantum",
    "Riverbend",
    "Sterling",
    "Trident",
    "Vanguard",
    "Westbrook",
    "Apex",
    "Beacon",
    "Crescent",
    "Delta",
];
const COMPANY_B: &[&str] = &[
    "Analytics",
    "Systems",
    "Logistics",
    "Cloud",
    "Data",
    "Labs",
    "Networks",
    "Robotics",
    "Software",
    "Capital",
    "Media",
    "Energy",
    "Health",
    "Foods",
    "Trading",
    "Consulting",
    "Security",
    "Dynamics",
    "Solutions",
    "Studios",
];
const FORMS: &[&str] = &["Inc", "LLC", "Ltd", "GmbH", "Corp", "SA", "BV", "Pty Ltd"];

/// Syllables of the generated names (so that the customers' names are as varied as a real
/// customer base's, not a few thousand combinations of the tables above).
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ra", "ven", "dor", "sa", "ti", "mar", "bel", "no", "ri", "zan", "te", "lu", "gor", "fi", "den",
    "ha", "pel", "qui", "sto", "ber", "ga", "win", "tho", "le", "mun", "dra", "vi", "cas", "el", "jo", "ner", "pa",
    "ros", "bi", "tal", "ku", "sen",
];

/// A generated name of two or three syllables (`Raventi`, `Kolomar`).
fn generated(rng: &mut Rng) -> String {
    let n = 2 + rng.below(2);
    let word: String = (0..n).map(|_| pick(SYLLABLES, rng.below(SYLLABLES.len()))).collect();
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A given name: 70 % from the common table, else generated.
fn given_name(rng: &mut Rng) -> String {
    match rng.chance(70) {
        true => pick(GIVEN, rng.below(GIVEN.len())).to_owned(),
        false => generated(rng),
    }
}

/// A family name: half from the common table, half generated (about 100,000 forms).
fn family_name(rng: &mut Rng) -> String {
    match rng.chance(50) {
        true => pick(FAMILY, rng.below(FAMILY.len())).to_owned(),
        false => generated(rng),
    }
}

fn pick<'a>(table: &[&'a str], i: usize) -> &'a str {
    table.get(i % table.len().max(1)).copied().unwrap_or("X")
}

fn company(rng: &mut Rng) -> String {
    let first = match rng.chance(50) {
        true => pick(COMPANY_A, rng.below(COMPANY_A.len())).to_owned(),
        false => generated(rng),
    };
    format!("{} {} {}", first, pick(COMPANY_B, rng.below(COMPANY_B.len())), pick(FORMS, rng.below(FORMS.len())))
}

/// A name written slightly differently: one letter of its longest word doubled.
fn variant(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let longest = words.iter().enumerate().max_by_key(|(_, w)| w.chars().count()).map_or(0, |(i, _)| i);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i != longest {
                return (*w).to_owned();
            }
            let chars: Vec<char> = w.chars().collect();
            let mid = chars.len() / 2;
            let mut out = String::new();
            for (k, c) in chars.iter().enumerate() {
                out.push(*c);
                if k == mid {
                    out.push(*c);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Given and family names of a listed name (`SURNAME, Given Names` or `Given Names Surname`).
fn split_name(name: &str) -> (String, String) {
    if let Some((family, given)) = name.split_once(", ") {
        return (given.trim().to_owned(), family.trim().to_owned());
    }
    match name.trim().rsplit_once(' ') {
        Some((given, family)) => (given.to_owned(), family.to_owned()),
        None => ("A".to_owned(), name.trim().to_owned()),
    }
}

/// The templates the synthetic applications are made from.
struct Templates {
    individual: Value,
    entity: Value,
    /// Listed individuals and entities (names), for the deliberate near matches.
    listed: Vec<(EntityType, String)>,
}

fn set(v: &mut Value, path: &[&str], to: Value) {
    let mut cur = v;
    for p in path {
        match cur.get_mut(*p) {
            Some(next) => cur = next,
            None => return,
        }
    }
    *cur = to;
}

/// The listed name the `i`th synthetic customer is a near match of (one in 1,000).
fn near_name(t: &Templates, i: usize) -> Option<&(EntityType, String)> {
    let mut rng = Rng(i as u64 ^ 0x5EED);
    (i % 1000 == 500).then(|| t.listed.get(rng.below(t.listed.len()))).flatten()
}

/// The `i`th synthetic application: one in 1,000 a listed name written slightly differently,
/// else 85 % individuals (given × family names), 15 % companies with their owners.
fn application(t: &Templates, i: usize) -> anyhow::Result<Application> {
    let mut rng = Rng(i as u64 ^ 0x5EED);
    let near = (i % 1000 == 500).then(|| t.listed.get(rng.below(t.listed.len()))).flatten();
    debug_assert_eq!(near, near_name(t, i));
    let entity = match near {
        Some((kind, _)) => *kind == EntityType::Entity,
        None => rng.chance(15),
    };
    let mut v = if entity { t.entity.clone() } else { t.individual.clone() };
    set(&mut v, &["external_id"], Value::String(format!("rs-{i}")));
    if entity {
        let name = match near {
            Some((_, n)) => variant(n),
            None => company(&mut rng),
        };
        set(&mut v, &["customer", "legal_name"], Value::String(name));
        set(&mut v, &["customer", "registration", "number"], Value::String(format!("{:08}", i)));
        let owners = v.get_mut("customer").and_then(|c| c.get_mut("beneficial_owners")).and_then(Value::as_array_mut);
        for o in owners.into_iter().flatten() {
            let (g, f) = (given_name(&mut rng), family_name(&mut rng));
            set(o, &["person", "name"], serde_json::json!({"given": g, "family": f}));
        }
    } else {
        let (given, family) = match near {
            Some((_, n)) => split_name(&variant(n)),
            None => (given_name(&mut rng), family_name(&mut rng)),
        };
        let email = format!("c{i}@example.com");
        set(&mut v, &["customer", "name"], serde_json::json!({"given": given, "family": family}));
        set(&mut v, &["customer", "email"], Value::String(email));
    }
    serde_json::from_value(v).context("a synthetic application does not parse")
}

/// The row of the `i`th synthetic customer, sealed like an opening.
fn row(t: &Templates, i: usize, vault: &Vault, now: chrono::DateTime<Utc>) -> anyhow::Result<Row> {
    let app = application(t, i)?;
    let c = classify(&app, ExternalEvidence::default(), &ClassificationConfig::default());
    let d = interim_decision(&c, now);
    let mut rnd = [0u8; 10];
    for (k, b) in (i as u64).to_be_bytes().iter().enumerate() {
        if let Some(slot) = rnd.get_mut(k) {
            *slot = *b;
        }
    }
    let account = Account {
        id: AccountId::new(now, rnd),
        external_id: app.external_id.clone(),
        account_type: app.account_type,
        opening_method: app.opening_method,
        customer_kind: app.customer.kind(),
        products: app.products.clone(),
        notice_version: app.notice_version.clone(),
        created_at: now,
        classification: c,
        decision: d,
    };
    let (sealed, indexes) = vault.seal(account.id, &app)?;
    let audit = lessee_audit::AuditEvent {
        actor: lessee_audit::Actor { token_id: "bench".into(), role: "control_plane".into() },
        purpose: "verification".into(),
        action: "account.open".into(),
        target: lessee_audit::Target { kind: "account".into(), id: account.id.to_string() },
        time: now,
        client_ip: vault.ip_hash(None),
        request_id: format!("bench-rs-{i}"),
        outcome: lessee_audit::Outcome::Allowed,
    };
    Ok(Row { account, sealed, indexes, audit })
}

/// Stores `n` customers: sealed on every core in batches, written through the store.
async fn load_customers(
    store: &Arc<lessee_store::SqlStore>,
    vault: &Arc<Vault>,
    t: &Arc<Templates>,
    n: usize,
) -> anyhow::Result<()> {
    const BATCH: usize = 20_000;
    let now = Utc::now();
    let threads = cores();
    let started = Instant::now();
    let mut start = 0;
    while start < n {
        let end = (start + BATCH).min(n);
        let (t2, v2) = (t.clone(), vault.clone());
        let rows: Vec<Row> = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Row>> {
            let idx: Vec<usize> = (start..end).collect();
            let chunk = idx.len().div_ceil(threads).max(1);
            let (t2, v2) = (&t2, &v2);
            std::thread::scope(|s| {
                let handles: Vec<_> = idx
                    .chunks(chunk)
                    .map(|part| s.spawn(move || part.iter().map(|i| row(t2, *i, v2, now)).collect::<Vec<_>>()))
                    .collect();
                let mut out = Vec::with_capacity(end - start);
                for h in handles {
                    for r in h.join().map_err(|_| anyhow::anyhow!("a sealing thread panicked"))? {
                        out.push(r?);
                    }
                }
                Ok(out)
            })
        })
        .await??;
        super::store_rows(store, rows).await?;
        start = end;
        if start % 100_000 == 0 || start == n {
            eprintln!("  stored {start} customers ({:.0}/s)", start as f64 / started.elapsed().as_secs_f64());
        }
    }
    Ok(())
}

/// The OFAC list as first imported: without 60 of its entries, chosen among those the
/// deliberate near matches were made from (so that adding them back raises alerts).
fn base_ofac(file: &ListFile, t: &Templates, customers: usize) -> (ListFile, Vec<String>) {
    let near: std::collections::HashSet<&str> =
        (0..customers).filter_map(|i| near_name(t, i)).map(|(_, n)| n.as_str()).collect();
    let mut removed: Vec<String> =
        file.entries.iter().filter(|e| near.contains(e.name.as_str())).map(|e| e.entity_id.clone()).take(60).collect();
    // Fewer near matches than that (a small run): others, spread over the list.
    for e in file.entries.iter().step_by(97) {
        if removed.len() >= 60 {
            break;
        }
        if !removed.contains(&e.entity_id) {
            removed.push(e.entity_id.clone());
        }
    }
    let mut base = file.clone();
    base.entries.retain(|e| !removed.contains(&e.entity_id));
    base.source_sha256 = format!("{:x}", Sha256::digest(format!("{}+bench-base", file.source_sha256)));
    (base, removed)
}

/// The next OFAC version as a real update looks: the 60 entries back (new designations) and 40
/// others changed, each given a spelling variant of its name as a new a.k.a.
fn next_ofac(file: &ListFile, removed: &[String]) -> ListFile {
    let mut next = file.clone();
    let mut changed = 0;
    for e in next.entries.iter_mut().filter(|e| !removed.contains(&e.entity_id)).step_by(101) {
        e.aliases.push(Alias { name: variant(&e.name), quality: AliasQuality::Strong });
        changed += 1;
        if changed == 40 {
            break;
        }
    }
    next.source_sha256 = format!("{:x}", Sha256::digest(format!("{}+bench-next", file.source_sha256)));
    next
}

/// A worst case after `next`: 100 entries edited so as to come near as many customers as
/// possible: 50 listed individuals get a variant of their name as an alias, 25 get a
/// customer-like name (common given and family names) as an alias, and 25 companies named like
/// customers are added.
fn worst_case_ofac(file: &ListFile) -> ListFile {
    let mut next = file.clone();
    let mut changed = 0;
    let mut rng = Rng(77);
    for e in next.entries.iter_mut().filter(|e| e.entity_type == EntityType::Individual).step_by(7) {
        let alias = if changed < 50 {
            variant(&e.name)
        } else {
            format!("{} {}", pick(GIVEN, rng.below(GIVEN.len())), pick(FAMILY, rng.below(FAMILY.len())))
        };
        e.aliases.push(Alias { name: alias, quality: AliasQuality::Strong });
        changed += 1;
        if changed == 75 {
            break;
        }
    }
    if let Some(template) = file.entries.iter().find(|e| e.entity_type == EntityType::Entity).cloned() {
        for k in 0..25 {
            let name = format!(
                "{} {} {}",
                pick(COMPANY_A, rng.below(COMPANY_A.len())),
                pick(COMPANY_B, rng.below(COMPANY_B.len())),
                pick(FORMS, rng.below(FORMS.len()))
            );
            next.entries.push(Entry {
                entity_id: format!("bench-{k}"),
                name,
                aliases: Vec::new(),
                identifiers: Vec::new(),
                dates_of_birth: Vec::new(),
                ..template.clone()
            });
        }
    }
    next.source_sha256 = format!("{:x}", Sha256::digest(format!("{}+bench-worst", file.source_sha256)));
    next
}

fn secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

async fn count_alerts(store: &lessee_store::SqlStore) -> anyhow::Result<usize> {
    Ok(store.alerts(None, None, u32::MAX).await?.len())
}

pub async fn run(args: &RescreenArgs) -> anyhow::Result<()> {
    let mut files = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(&args.lists)
        .with_context(|| format!("cannot read lists in {}", args.lists.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    for p in paths {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        files.push((name, std::fs::read(&p)?));
    }
    let (lists, _) = parse_list_files(&files)?;
    if lists.is_empty() {
        bail!("no list file recognised in {}", args.lists.display());
    }
    let ofac = lists
        .iter()
        .find(|(f, _)| f.kind.as_str() == "ofac_sdn")
        .map(|(f, _)| f.clone())
        .context("the list set has no OFAC SDN list")?;
    let fixtures = load_fixtures(&args.fixtures)?;
    let by_kind = |kind: &str| {
        fixtures
            .iter()
            .find(|v| {
                v.pointer("/customer/kind").and_then(Value::as_str) == Some(kind)
                    && (kind == "individual" || v.pointer("/customer/beneficial_owners").is_some())
            })
            .cloned()
            .with_context(|| format!("no {kind} application among the fixtures"))
    };
    let listed: Vec<(EntityType, String)> = lists
        .iter()
        .flat_map(|(f, _)| f.entries.iter())
        .filter(|e| matches!(e.entity_type, EntityType::Individual | EntityType::Entity))
        .map(|e| (e.entity_type, e.name.clone()))
        .collect();
    let entries: usize = lists.iter().map(|(f, _)| f.entries.len()).sum();
    let templates = Arc::new(Templates { individual: by_kind("individual")?, entity: by_kind("entity")?, listed });
    let (base, removed) = base_ofac(&ofac, &templates, args.customers);
    let next = next_ofac(&ofac, &removed);
    let worst = worst_case_ofac(&next);
    let first: Vec<(ListFile, String)> = lists
        .iter()
        .map(|(f, src)| match f.kind.as_str() == "ofac_sdn" {
            true => (base.clone(), src.clone()),
            false => (f.clone(), src.clone()),
        })
        .collect();
    println!(
        "bench rescreen: {} customers, {} lists ({} entries), {} cores",
        args.customers,
        lists.len(),
        entries,
        cores()
    );
    let (op, ctx) = (Principal::local_operator(), RequestContext::local());
    let mut table = Vec::new();
    for backend in &args.backends {
        let bed = Bed::open(backend, &args.postgres_admin_url).await?;
        let keys = Keys::new()?;
        let service: Arc<Service> = keys.service(bed.store.clone())?;
        let t = Instant::now();
        for (file, source) in first.clone() {
            service.import_list(&op, &ctx, file, None, &source).await?;
        }
        service.run_jobs_until_empty("bench").await?;
        eprintln!("{backend}: lists imported in {:.1} s", secs(t.elapsed()));
        let t = Instant::now();
        load_customers(&bed.store, &keys.vault, &templates, args.customers).await?;
        eprintln!("{backend}: {} customers stored in {:.1} s (not measured)", args.customers, secs(t.elapsed()));

        // (a) Baseline: the same decrypting scan, no screening; then the full re-screen.
        let t = Instant::now();
        let scan = service.rescreen_all(false).await?;
        let scan_s = secs(t.elapsed());
        let t = Instant::now();
        let full = service.rescreen_all(true).await?;
        let full_s = secs(t.elapsed());
        if scan.accounts != args.customers || full.accounts != args.customers {
            bail!("{backend}: scanned {} / screened {} of {} customers", scan.accounts, full.accounts, args.customers);
        }
        eprintln!(
            "{backend}: full re-screen: {} subjects, {} matches, {} alerts, {} accounts decided again",
            full.subjects, full.matches, full.alerts, full.redecided
        );

        // (b) The next OFAC version (60 entries added, 40 changed), then the job its import
        // enqueues.
        let (diff_s, diff_alerts) = timed_diff(&service, &bed.store, &next, backend, "next").await?;

        // (c) The same diff re-screened without the stored screening keys, as on a database
        // from before them: every account decrypted to build the customer index (and keyed on
        // the way). Its alerts exist already, so it raises none.
        let versions = lessee_store::ScreeningStore::list_versions(&*bed.store, Some("ofac_sdn")).await?;
        let [.., prev, cur] = versions.as_slice() else { bail!("{backend}: fewer than two OFAC versions") };
        lessee_store::ScreeningStore::set_screening_key_scheme(&*bed.store, 0).await?;
        let t = Instant::now();
        service.rescreen_list(Some(prev), cur).await?;
        let nokeys_s = secs(t.elapsed());

        // (d) The worst case: 100 edits made to come near as many customers as possible.
        let (worst_s, worst_alerts) = timed_diff(&service, &bed.store, &worst, backend, "worst-case").await?;

        let n = args.customers as f64;
        let mut row = |mode: &'static str, s: f64, alerts: usize| {
            table.push((backend.clone(), mode, n / s, s, alerts, s / scan_s));
        };
        row("baseline: decrypt scan, no screening", scan_s, scan.alerts);
        row("full re-screen (all lists)", full_s, full.alerts);
        row("diff re-screen (60 added, 40 changed)", diff_s, diff_alerts);
        row("same diff without stored keys", nokeys_s, 0);
        row("worst-case diff (100 customer-like edits)", worst_s, worst_alerts);
        bed.close(&args.postgres_admin_url).await?;
        drop(keys);
    }
    println!("{:<9} {:<44} {:>12} {:>10} {:>8} {:>8}", "backend", "mode", "customers/s", "seconds", "alerts", "ratio");
    for (backend, mode, rate, s, alerts, ratio) in table {
        println!("{backend:<9} {mode:<44} {rate:>12.0} {s:>10.2} {alerts:>8} {ratio:>7.2}x");
    }
    println!(
        "ratio = seconds / the decrypt scan's seconds in the same run (diff rows: only the accounts \
         whose stored screening keys come near the edited entries are decrypted)"
    );
    Ok(())
}

/// Imports `file` as the next OFAC version and runs the jobs it enqueues (the `rescreen.list`
/// job): the seconds the jobs took and the alerts they raised.
async fn timed_diff(
    service: &Service,
    store: &lessee_store::SqlStore,
    file: &ListFile,
    backend: &str,
    label: &str,
) -> anyhow::Result<(f64, usize)> {
    let (op, ctx) = (Principal::local_operator(), RequestContext::local());
    let before = count_alerts(store).await?;
    let t = Instant::now();
    let report = service.import_list(&op, &ctx, file.clone(), None, &format!("bench:ofac-{label}")).await?;
    eprintln!(
        "{backend}: OFAC {label} imported in {:.1} s ({} added, {} changed)",
        secs(t.elapsed()),
        report.added,
        report.changed
    );
    let t = Instant::now();
    let jobs = service.run_jobs_until_empty("bench").await?;
    let took = secs(t.elapsed());
    if jobs.completed == 0 || jobs.dead > 0 {
        bail!("{backend}: the rescreen.list job did not complete ({} done, {} dead)", jobs.completed, jobs.dead);
    }
    Ok((took, count_alerts(store).await?.saturating_sub(before)))
}
