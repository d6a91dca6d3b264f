//! Parses the real OFAC and UN lists and reports entry counts and parse times.
//!
//! `cargo run --release -p lessee-lists --example parse_time -- [DATA_DIR] [ENTITY_ID...]`
//! (DATA_DIR defaults to `../shared/data/lists`); any ENTITY_ID given is printed as JSON.

use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "../shared/data/lists".to_owned()));
    let wanted: Vec<String> = args.collect();
    let read = |name: &str| std::fs::read(dir.join(name));
    let (sdn, alt, add) = (read("ofac_sdn.csv")?, read("ofac_alt.csv")?, read("ofac_add.csv")?);
    let un = read("un_consolidated.xml")?;

    let rounds = 10;
    let start = Instant::now();
    let mut lists = Vec::new();
    for _ in 0..rounds {
        lists = vec![lessee_lists::parse_ofac(&sdn, Some(&alt), Some(&add))?, lessee_lists::parse_un(&un)?];
    }
    let per_round = start.elapsed() / rounds;
    let bytes = sdn.len() + alt.len() + add.len() + un.len();
    for list in &lists {
        println!("{}: {} entries, sha256 {}", list.kind, list.entries.len(), list.source_sha256);
    }
    println!(
        "OFAC (SDN+ALT+ADD) + UN: {} bytes parsed in {:.1} ms per round ({rounds} rounds)",
        bytes,
        per_round.as_secs_f64() * 1000.0
    );
    for list in &lists {
        for entry in list.entries.iter().filter(|e| wanted.contains(&e.entity_id)) {
            println!("{}", serde_json::to_string_pretty(entry)?);
        }
    }
    Ok(())
}
