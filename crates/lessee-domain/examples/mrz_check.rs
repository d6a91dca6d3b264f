//! Reads MRZs separated by blank lines on stdin and prints one JSON line per MRZ:
//! `{"valid": bool, "format": "td3", "checks": {"document_number_check_digit": true, ...}}`,
//! or `{"valid": false, "error": "...", "checks": {}}` for input that is not an MRZ.
//!
//! `--reference YYYY-MM-DD` sets the reference date for the centuries (default: today, UTC).
//! Used by `scripts/mrz_peer_check.py`.

use std::io::{self, BufWriter, Read, Write};

use chrono::{NaiveDate, Utc};
use lessee_domain::mrz::Mrz;
use serde_json::{Map, Value, json};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let reference = match args.iter().position(|a| a == "--reference") {
        Some(i) => {
            let value = args.get(i + 1).ok_or("--reference needs a date")?;
            NaiveDate::parse_from_str(value, "%Y-%m-%d")?
        }
        None => Utc::now().date_naive(),
    };

    let mut input = String::new();
    io::stdin().read_to_string(&mut input)?;
    // Blocks of non-blank lines.
    let mut blocks: Vec<Vec<&str>> = vec![Vec::new()];
    for line in input.lines() {
        match blocks.last_mut() {
            Some(block) if !line.trim().is_empty() => block.push(line),
            Some(block) if block.is_empty() => {}
            _ => blocks.push(Vec::new()),
        }
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for block in blocks.iter().filter(|b| !b.is_empty()) {
        let line = match Mrz::parse(&block.join("\n"), reference) {
            Ok(mrz) => {
                let checks: Map<String, Value> =
                    mrz.checks.iter().map(|c| (c.name.as_str().to_owned(), Value::Bool(c.passed))).collect();
                json!({
                    "valid": mrz.valid,
                    "format": mrz.format,
                    "checks": checks,
                    "date_of_birth": mrz.date_of_birth,
                    "date_of_expiry": mrz.date_of_expiry,
                })
            }
            Err(e) => json!({"valid": false, "error": e.to_string(), "checks": {}}),
        };
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}
