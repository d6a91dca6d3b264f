//! Screens names given on the command line against the shared lists and prints every match
//! with its explanation.
//!
//! ```text
//! cargo run --release -p lessee-screening --example screen -- [--threshold T] NAME...
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a tool: failing loudly is right

use std::path::PathBuf;

use lessee_screening::{Config, Query, Screener};

fn main() {
    let dir = std::env::var_os("LESSEE_LISTS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/lists"));
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let lists = vec![
        lessee_lists::parse_ofac(&read("ofac_sdn.csv"), Some(&read("ofac_alt.csv")), Some(&read("ofac_add.csv")))
            .unwrap(),
        lessee_lists::parse(&read("un_consolidated.xml")).unwrap(),
        lessee_lists::parse(&read("bis_dpl.txt")).unwrap(),
        lessee_lists::parse(&read("trade_csl_sample.csv")).unwrap(),
    ];
    let screener = Screener::from_files(&lists, Config::default());
    let mut threshold = screener.config().threshold;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--threshold" {
            threshold = args.next().unwrap().parse().unwrap();
            continue;
        }
        println!("{arg:?} -> {:?}", lessee_screening::normalize(&arg));
        for m in screener.screen_with(&Query::name(arg.clone()), threshold, 5) {
            println!("  {:.3} {} {} {:?}", m.score, m.list, m.entity_id, m.explanation.matched_name);
            for t in &m.explanation.tokens {
                println!("      {:?} ~ {:?} {:?} sim {} w {}", t.query, t.listed, t.how, t.similarity, t.weight);
            }
        }
    }
}
