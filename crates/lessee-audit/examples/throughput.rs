//! Append + tree-head throughput, in records per second, beside a baseline of hashing the same
//! records alone. Run with `cargo run --release -p lessee-audit --example throughput [N]`.

use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use lessee_audit::{Actor, AuditEvent, AuditHashKey, MemoryAuditLog, MerkleLog, Outcome, Target, leaf_hash};

fn event(i: u64, key: &AuditHashKey) -> Result<AuditEvent, Box<dyn Error>> {
    Ok(AuditEvent {
        actor: Actor { token_id: format!("tok_{:04}", i % 97), role: "reviewer".into() },
        purpose: "review".into(),
        action: "account.read".into(),
        target: Target { kind: "account".into(), id: format!("acct_{i:08}") },
        time: Utc.timestamp_opt(1_795_000_000 + i as i64, 0).single().ok_or("bad time")?,
        client_ip: key.hash_ip(format!("198.51.100.{}", i % 250).parse()?),
        request_id: format!("req-{i:016x}"),
        outcome: Outcome::Allowed,
    })
}

fn rate(n: u64, seconds: f64) -> String {
    format!("{:>10.0} records/s", n as f64 / seconds)
}

fn main() -> Result<(), Box<dyn Error>> {
    let n: u64 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(1_000_000);
    let key = AuditHashKey::from_bytes([7; 32]);
    let events = (0..n).map(|i| event(i, &key)).collect::<Result<Vec<_>, _>>()?;

    // Baseline: encode and leaf-hash every record, no tree.
    let start = Instant::now();
    let mut leaves = Vec::with_capacity(events.len());
    for (seq, e) in (0u64..).zip(&events) {
        leaves.push(e.clone().at(seq).leaf_hash()?);
    }
    let baseline = start.elapsed().as_secs_f64();

    // Tree only: append a stored leaf hash and compute the tree head after every append.
    let start = Instant::now();
    let mut tree = MerkleLog::in_memory();
    for leaf in &leaves {
        tree.append(*leaf)?;
        black_box(tree.root());
    }
    let tree_only = start.elapsed().as_secs_f64();

    // Whole path: event -> record -> leaf -> append -> tree head.
    let start = Instant::now();
    let mut log = MemoryAuditLog::new();
    for e in events {
        log.append(e)?;
        black_box(log.root());
    }
    let whole = start.elapsed().as_secs_f64();

    println!("{n} records");
    println!("baseline  encode + leaf hash only       {}", rate(n, baseline));
    println!("tree      append(leaf) + root()         {}", rate(n, tree_only));
    println!("log       encode + hash + append + root {}", rate(n, whole));
    println!("root {}", log.root());
    black_box(leaf_hash(b""));
    Ok(())
}
