//! The real lists from `../shared/data/lists` (override with `LESSEE_LISTS_DATA`), parsed and
//! indexed once per test binary.
#![allow(dead_code)] // each test binary uses part of it

use std::path::PathBuf;
use std::sync::OnceLock;

use lessee_lists::ListFile;
use lessee_screening::{Config, Screener};

pub fn data_dir() -> PathBuf {
    std::env::var_os("LESSEE_LISTS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/lists"))
}

fn read(name: &str) -> Vec<u8> {
    let path = data_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// OFAC (SDN + ALT + ADD), UN, BIS DPL, CSL.
pub fn lists() -> &'static [ListFile] {
    static LISTS: OnceLock<Vec<ListFile>> = OnceLock::new();
    LISTS.get_or_init(|| {
        vec![
            lessee_lists::parse_ofac(&read("ofac_sdn.csv"), Some(&read("ofac_alt.csv")), Some(&read("ofac_add.csv")))
                .unwrap(),
            lessee_lists::parse(&read("un_consolidated.xml")).unwrap(),
            lessee_lists::parse(&read("bis_dpl.txt")).unwrap(),
            lessee_lists::parse(&read("trade_csl_sample.csv")).unwrap(),
        ]
    })
}

/// Every list, default configuration.
pub fn screener() -> &'static Screener {
    static SCREENER: OnceLock<Screener> = OnceLock::new();
    SCREENER.get_or_init(|| Screener::from_files(lists(), Config::default()))
}

pub fn ofac() -> &'static ListFile {
    &lists()[0]
}
