//! Generates the evaluation set from the OFAC files, screens it against every list in the
//! directory (OFAC, UN, BIS DPL, CSL) and prints recall@1, recall@5, the false-positive rate and
//! queries per second; with `--baseline`, runs the RapidFuzz baseline on the same set in the same
//! run and prints both side by side.
//!
//! ```text
//! cargo run --release -p lessee-screening --example eval -- [--data DIR] [--seed N]
//!     [--positives N] [--negatives N] [--export FILE] [--baseline] [--python PATH]
//!     [--sweep] [--failures N] [--config JSON]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a tool: failing loudly is right

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use lessee_lists::ListFile;
use lessee_screening::eval::{self, EvalConfig, EvalReport};
use lessee_screening::{Config, Query, Screener};

struct Args {
    data: PathBuf,
    config: EvalConfig,
    export: Option<PathBuf>,
    baseline: bool,
    python: PathBuf,
    sweep: bool,
    failures: usize,
    overrides: Option<String>,
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn args() -> Args {
    let mut args = Args {
        data: std::env::var_os("LESSEE_LISTS_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("../shared/data/lists")),
        config: EvalConfig::default(),
        export: None,
        baseline: false,
        python: workspace().join(".venv/bin/python"),
        sweep: false,
        failures: 0,
        overrides: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--data" => args.data = PathBuf::from(value()),
            "--seed" => args.config.seed = value().parse().expect("--seed N"),
            "--positives" => args.config.positives = value().parse().expect("--positives N"),
            "--negatives" => args.config.negatives = value().parse().expect("--negatives N"),
            "--export" => args.export = Some(PathBuf::from(value())),
            "--python" => args.python = PathBuf::from(value()),
            "--baseline" => args.baseline = true,
            "--sweep" => args.sweep = true,
            "--failures" => args.failures = value().parse().expect("--failures N"),
            "--config" => args.overrides = Some(value()),
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

/// OFAC (SDN + ALT + ADD), UN, BIS DPL and CSL from the shared directory.
pub fn load(dir: &Path) -> Vec<ListFile> {
    let ofac = lessee_lists::parse_ofac(
        &read(dir, "ofac_sdn.csv"),
        Some(&read(dir, "ofac_alt.csv")),
        Some(&read(dir, "ofac_add.csv")),
    )
    .expect("OFAC");
    let un = lessee_lists::parse(&read(dir, "un_consolidated.xml")).expect("UN");
    let bis = lessee_lists::parse(&read(dir, "bis_dpl.txt")).expect("BIS DPL");
    let csl = lessee_lists::parse(&read(dir, "trade_csl_sample.csv")).expect("CSL");
    vec![ofac, un, bis, csl]
}

/// This thread's CPU time (user + system) from /proc, in seconds (Linux).
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the command name: state is field 3, utime 14, stime 15 (1-based in proc(5)).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn print(label: &str, r: &EvalReport) {
    println!(
        "{label:<22} recall@1 {:.4}  recall@5 {:.4}  false positives {:.4} ({}/{})  {:>9.0} queries/s",
        r.recall_at_1, r.recall_at_5, r.false_positive_rate, r.false_positives, r.negatives, r.queries_per_second
    );
}

fn main() {
    let args = args();
    let started = Instant::now();
    let lists = load(&args.data);
    let parsed = started.elapsed();
    let started = Instant::now();
    let config: Config = match &args.overrides {
        Some(json) => serde_json::from_str(json).expect("--config: a JSON object of Config fields"),
        None => Config::default(),
    };
    let screener = Screener::from_files(&lists, config);
    let built = started.elapsed();
    println!(
        "lists: {} entries, {} names indexed (parse {:.2} s, index {:.2} s)",
        screener.entry_count(),
        screener.name_count(),
        parsed.as_secs_f64(),
        built.as_secs_f64()
    );
    let set = eval::generate(&lists[0].entries, &screener, &args.config);
    let positives = set.queries.iter().filter(|q| q.expected.is_some()).count();
    println!(
        "evaluation set: seed {}, {} positives, {} negatives",
        args.config.seed,
        positives,
        set.queries.len() - positives
    );
    let threshold = screener.config().threshold;
    let floor = if args.sweep { 0.6 } else { threshold };
    let cpu_before = thread_cpu_seconds();
    let (results, wall_qps) = eval::run(&screener, &set, floor);
    // Queries per second of CPU time on the one thread that ran them: what one core does,
    // whatever else the machine is running. Wall-clock figure beside it.
    let qps = match (cpu_before, thread_cpu_seconds()) {
        (Some(a), Some(b)) if b > a => set.queries.len() as f64 / (b - a),
        _ => wall_qps,
    };
    println!("throughput: {qps:.0} queries per CPU-second on one thread ({wall_qps:.0} per wall-clock second)");
    let report = eval::figures(&set, &results, threshold, qps, screener.name_count());
    print("lessee-screening", &report);
    println!(
        "  one change: recall@5 {:.4} ({} queries); two changes: recall@5 {:.4} ({} queries)",
        report.recall_at_5_one_change,
        report.positives - report.two_change_positives,
        report.recall_at_5_two_changes,
        report.two_change_positives
    );
    for v in &report.by_variant {
        let what = if v.variant.is_positive() { "recall@5" } else { "false positives" };
        println!("  {:<18} {:>5} queries  {what} {:.4}", format!("{:?}", v.variant), v.queries, v.rate);
    }
    if args.sweep {
        for t in (70..=95).map(|t| f64::from(t) / 100.0) {
            let r = eval::figures(&set, &results, t, qps, screener.name_count());
            println!(
                "  threshold {t:.2}: recall@1 {:.4} recall@5 {:.4} fp {:.4}",
                r.recall_at_1, r.recall_at_5, r.false_positive_rate
            );
        }
    }
    if args.failures > 0 {
        let mut missed = 0;
        let mut fps = 0;
        for (q, r) in set.queries.iter().zip(&results) {
            let above: Vec<_> = r.top.iter().filter(|m| m.2 >= threshold).collect();
            match &q.expected {
                Some(e) if !above.iter().any(|m| m.0 == e.list && m.1 == e.entity_id) => {
                    if missed < args.failures {
                        let best = screener
                            .screen_with(&Query::name(q.name.clone()).list("ofac_sdn"), 0.0, 50)
                            .into_iter()
                            .find(|m| m.entity_id == e.entity_id)
                            .map(|m| m.score);
                        println!(
                            "MISS {:?} {:?} <- {:?} (its score {best:?}; got {:?})",
                            q.variants,
                            q.name,
                            q.source.as_deref().unwrap_or(""),
                            above.first()
                        );
                    }
                    missed += 1;
                }
                None if !above.is_empty() => {
                    if fps < args.failures {
                        let m = &screener.screen(&Query::name(q.name.clone()))[0];
                        println!(
                            "FP   {:?} {:?} -> {} {} {:?} {:.3}",
                            q.variants, q.name, m.list, m.entity_id, m.explanation.matched_name, m.score
                        );
                    }
                    fps += 1;
                }
                _ => {}
            }
        }
    }
    if let Some(path) = &args.export {
        std::fs::write(path, set.export(&screener).expect("JSON")).expect("write export");
        println!("exported {} queries and {} names to {}", set.queries.len(), screener.name_count(), path.display());
    }
    if args.baseline {
        let path = args.export.clone().unwrap_or_else(|| std::env::temp_dir().join("lessee-screening-eval.json"));
        if args.export.is_none() {
            std::fs::write(&path, set.export(&screener).expect("JSON")).expect("write export");
        }
        let script = workspace().join("scripts/screening_baseline.py");
        let out = Command::new(&args.python)
            .arg(&script)
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", args.python.display()));
        if !out.status.success() {
            panic!("baseline failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let line = String::from_utf8_lossy(&out.stdout);
        let b: serde_json::Value = serde_json::from_str(line.lines().last().unwrap_or("{}")).expect("baseline JSON");
        let f = |k: &str| b[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "{:<22} recall@1 {:.4}  recall@5 {:.4}  false positives {:.4} ({}/{})  {:>9.1} queries/s",
            "rapidfuzz WRatio>=90",
            f("recall_at_1"),
            f("recall_at_5"),
            f("false_positive_rate"),
            f("false_positives"),
            f("negatives"),
            f("queries_per_second")
        );
        println!(
            "ratio (lessee / rapidfuzz): recall@5 {:.3}x, false-positive rate {:.3}x, throughput {:.0}x",
            report.recall_at_5 / f("recall_at_5"),
            report.false_positive_rate / f("false_positive_rate"),
            report.queries_per_second / f("queries_per_second")
        );
    }
}
