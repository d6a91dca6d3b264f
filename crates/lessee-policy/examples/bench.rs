//! Decisions per second of the policy engine on one core, for the fixture mix
//! (../shared/data/applications) under the default policy, beside the same applications under
//! the empty policy (the baseline: the engine's fixed cost with nothing to verify).
//!
//! `cargo run --release -p lessee-policy --example bench [-- SECONDS [DIR]]`
//!
//! Applications are parsed and classified once beforehand (classification is an input of the
//! engine); each iteration runs `evaluate` over the whole mix. The sign-up IP countries are
//! given as the caller's geolocation would give them.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use lessee_domain::classify::{AccountClassification, ClassificationConfig, classify};
use lessee_domain::{Application, Country};
use lessee_policy::{EvidenceState, ExternalEvidence, Policy, evaluate};

type Case = (Application, AccountClassification, ExternalEvidence);

fn ip_country(ip: &str) -> Option<Country> {
    let cc = match ip {
        "73.158.22.9" => "US",
        "80.133.10.7" => "DE",
        "81.2.69.160" => "GB",
        "24.114.0.8" => "CA",
        "5.8.16.1" | "95.24.1.1" => "RU",
        "116.88.3.4" => "SG",
        _ => return None,
    };
    Country::parse(cc).ok()
}

fn load(dir: &PathBuf) -> Result<Vec<Case>, Box<dyn std::error::Error>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let app: Application = serde_json::from_str(&std::fs::read_to_string(&f)?)?;
        let ext = ExternalEvidence {
            signup_ip_country: app.signup.as_ref().and_then(|s| ip_country(&s.ip)),
            email: EvidenceState::Pending,
            phone: EvidenceState::Pending,
            ..ExternalEvidence::default()
        };
        let class = classify(&app, ext.classification(), &ClassificationConfig::default());
        out.push((app, class, ext));
    }
    Ok(out)
}

/// Decisions per second over `cases` for about `budget`.
fn measure(policy: &Policy, cases: &[Case], budget: Duration) -> f64 {
    let now = Utc::now();
    // Warm up (caches, lazily compiled phone-number patterns).
    for _ in 0..200 {
        for (a, c, e) in cases {
            black_box(evaluate(policy, a, c, e, now));
        }
    }
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < budget {
        for _ in 0..100 {
            for (a, c, e) in cases {
                black_box(evaluate(black_box(policy), black_box(a), c, e, now));
                n += 1;
            }
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secs: f64 = args.first().map(|s| s.parse()).transpose()?.unwrap_or(3.0);
    let dir = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/applications"));
    let cases = load(&dir)?;
    if cases.is_empty() {
        return Err(format!("no applications in {}", dir.display()).into());
    }
    let default = Policy::default_policy().map_err(|e| format!("default policy: {e:?}"))?;
    let empty = Policy::empty();
    let budget = Duration::from_secs_f64(secs);

    let base = measure(&empty, &cases, budget);
    let full = measure(&default, &cases, budget);
    println!("lessee-policy engine, {} fixture applications, one core, {secs} s each", cases.len());
    println!("  empty policy (baseline):  {base:>12.0} decisions/s  ({:>6.2} µs each)", 1e6 / base);
    println!(
        "  default policy ({}@{}): {full:>12.0} decisions/s  ({:>6.2} µs each)",
        default.name(),
        default.version(),
        1e6 / full
    );
    println!("  ratio default/baseline:   {:>12.3}  (baseline is {:.1}x faster)", full / base, base / full);
    println!("  target >= 50000 decisions/s: {}", if full >= 50_000.0 { "met" } else { "NOT met" });
    Ok(())
}
