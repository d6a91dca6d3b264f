//! A micro figure for `impact`: one measure over 1,000,000 simple subjects (a customer with an
//! address, one access location), beside a plain scan that only counts the subjects whose
//! locations carry one of the target's codes. Same data, same run, best of five.
//!
//! `cargo run --release -p lessee-measures --example impact [SUBJECTS]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // an example reports by panicking
#![allow(clippy::type_complexity)] // case tables are tuples on purpose

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use lessee_domain::Country;
use lessee_measures::{Location, Measure, Party, PlaceBasis, Subdivision, Subject, impact};

const COUNTRIES: &[&str] = &["US", "DE", "FR", "GB", "IN", "BR", "JP", "CN", "RU", "UA", "KP", "IR", "NG", "MX", "CA"];

/// A small deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn subjects(n: usize) -> Vec<Subject> {
    let countries: Vec<Country> = COUNTRIES.iter().map(|c| Country::parse(c).unwrap()).collect();
    let crimea = Subdivision::parse("UA-43").unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|i| {
            let roll = rng.below(1000);
            let home = if roll < 5 {
                Location::subdivision(crimea) // 0.5 % in Crimea by stated subdivision
            } else {
                Location::country(countries[rng.below(countries.len())])
            };
            let mut s = Subject::new(format!("acct-{i}"), Party::at(PlaceBasis::Address, home));
            let seen = if rng.below(1000) < 2 { Location::subdivision(crimea) } else { home };
            s.access_locations.push(seen);
            s
        })
        .collect()
}

fn measure(target: serde_json::Value) -> Measure {
    serde_json::from_value(serde_json::json!({
        "id": "sm-bench",
        "kind": "jurisdiction",
        "target": target,
        "effect": {"type": "prohibit"},
        "scope": ["opening", "maintaining"],
        "citation": "bench",
        "determination": "2026-01-02",
        "effective": "2026-07-01",
    }))
    .unwrap()
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let r = black_box(f());
        best = best.min(start.elapsed());
        out = Some(r);
    }
    (best, out.unwrap())
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let build = Instant::now();
    let all = subjects(n);
    println!("built {n} subjects in {:.0} ms (not timed below)", build.elapsed().as_secs_f64() * 1e3);
    let at = NaiveDate::from_ymd_opt(2026, 9, 15).unwrap();
    let crimea_codes = [Subdivision::parse("UA-43").unwrap(), Subdivision::parse("UA-40").unwrap()];
    let kp = Country::parse("KP").unwrap();

    let cases: [(&str, serde_json::Value, Box<dyn Fn(&Location) -> bool>); 2] = [
        (
            "region crimea (UA-43, UA-40)",
            serde_json::json!({"region": "crimea"}),
            Box::new(move |l: &Location| l.subdivision.is_some_and(|s| crimea_codes.contains(&s))),
        ),
        ("country KP", serde_json::json!({"country": "KP"}), Box::new(move |l: &Location| l.in_country(kp))),
    ];
    println!(
        "{:<30} {:>12} {:>10} {:>12} {:>10} {:>8} {:>9}",
        "target", "baseline ms", "ns/subj", "impact ms", "ns/subj", "ratio", "affected"
    );
    for (name, target, hit) in cases {
        let m = measure(target);
        let (base, count) = best_of(5, || {
            all.iter()
                .filter(|s| s.customer.places.iter().any(|p| hit(&p.location)) || s.access_locations.iter().any(&hit))
                .count()
        });
        let (timed, report) = best_of(5, || impact(&m, &all, at));
        assert_eq!(report.affected.len(), count, "impact and the plain scan disagree");
        let per = |d: Duration| d.as_secs_f64() * 1e9 / n as f64;
        println!(
            "{:<30} {:>12.1} {:>10.1} {:>12.1} {:>10.1} {:>7.2}x {:>9}",
            name,
            base.as_secs_f64() * 1e3,
            per(base),
            timed.as_secs_f64() * 1e3,
            per(timed),
            timed.as_secs_f64() / base.as_secs_f64(),
            report.affected.len(),
        );
    }
}
