//! Pieces every parser uses: digests, warnings, header lookup.

use std::collections::HashMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::delimited::Row;
use crate::error::ListError;
use crate::model::{Format, InputDigest, Warning};

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

pub(crate) fn input_digest(format: Format, bytes: &[u8]) -> InputDigest {
    InputDigest { format, bytes: bytes.len() as u64, sha256: sha256_hex(bytes) }
}

/// The digest that names a list version: the file's own SHA-256 when there is one file; for
/// several (OFAC SDN + ALT + ADD) the SHA-256 of `"<format>:<sha256>\n"` lines in input order,
/// so that a change to any file changes the version.
pub fn version_digest(inputs: &[InputDigest]) -> String {
    match inputs {
        [one] => one.sha256.clone(),
        many => {
            let joined: String = many.iter().map(|i| format!("{}:{}\n", i.format.as_str(), i.sha256)).collect();
            sha256_hex(joined.as_bytes())
        }
    }
}

/// Collects warnings up to a limit and counts the rest.
pub(crate) struct Warnings {
    limit: usize,
    items: Vec<Warning>,
    dropped: u64,
}

impl Warnings {
    pub fn new(limit: usize) -> Self {
        Warnings { limit, items: Vec::new(), dropped: 0 }
    }

    pub fn push(&mut self, format: Format, line: u64, message: String) {
        if self.items.len() < self.limit {
            self.items.push(Warning { format, line, message });
        } else {
            self.dropped += 1;
        }
    }

    pub fn finish(mut self, format: Format) -> Vec<Warning> {
        if self.dropped > 0 {
            self.items.push(Warning { format, line: 0, message: format!("{} more warnings not shown", self.dropped) });
        }
        self.items
    }
}

/// Column positions from a header row, matched case-insensitively.
pub(crate) struct Columns {
    line: u64,
    index: HashMap<String, usize>,
}

impl Columns {
    pub fn from_header(row: &Row<'_>) -> Self {
        let mut index = HashMap::new();
        for (i, name) in row.fields.iter().enumerate() {
            index.entry(name.trim().to_ascii_lowercase()).or_insert(i);
        }
        Columns { line: row.line, index }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }

    pub fn require(&self, names: &[&str]) -> Result<(), ListError> {
        for name in names {
            if !self.index.contains_key(*name) {
                return Err(ListError::MissingColumn { line: self.line, column: (*name).to_owned() });
            }
        }
        Ok(())
    }

    /// The value of `name` in `row`, `""` when the column or the field is absent.
    pub fn get<'r>(&self, row: &'r Row<'_>, name: &str) -> &'r str {
        self.index.get(name).and_then(|&i| row.fields.get(i)).map(|f| f.as_ref()).unwrap_or("")
    }
}

/// A stable row key for lists without ids: a prefix of the SHA-256 of the identifying fields,
/// with `-2`, `-3`... for exact repeats within one file.
pub(crate) struct RowKeys {
    seen: HashMap<String, u32>,
}

impl RowKeys {
    pub fn new() -> Self {
        RowKeys { seen: HashMap::new() }
    }

    pub fn key(&mut self, prefix: &str, parts: &[&str]) -> String {
        let joined = parts.iter().map(|p| crate::text::clean(p).to_lowercase()).collect::<Vec<_>>().join("\u{1F}");
        let hash = sha256_hex(joined.as_bytes());
        let short = hash.get(..16).unwrap_or(&hash);
        let base = format!("{prefix}{short}");
        let count = self.seen.entry(base.clone()).or_insert(0);
        *count += 1;
        if *count == 1 { base } else { format!("{base}-{count}") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_vector() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn version_digest_changes_with_any_input() {
        let a = input_digest(Format::OfacSdn, b"a");
        let b = input_digest(Format::OfacAlt, b"b");
        let b2 = input_digest(Format::OfacAlt, b"b2");
        assert_eq!(version_digest(std::slice::from_ref(&a)), a.sha256);
        assert_ne!(version_digest(&[a.clone(), b]), version_digest(&[a, b2]));
    }

    #[test]
    fn row_keys_are_stable_and_disambiguate_repeats() {
        let mut keys = RowKeys::new();
        let first = keys.key("dpl-", &["JOHN DOE", "1 MAIN ST"]);
        let again = keys.key("dpl-", &["john  doe", "1 Main St"]);
        let other = keys.key("dpl-", &["JANE DOE", "1 MAIN ST"]);
        assert_eq!(again, format!("{first}-2"));
        assert_ne!(first, other);
        assert_eq!(RowKeys::new().key("dpl-", &["JOHN DOE", "1 MAIN ST"]), first);
    }
}
