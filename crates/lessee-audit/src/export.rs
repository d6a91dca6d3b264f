//! The exported log: one NDJSON file that `lessee audit verify` checks without the server.
//!
//! ```text
//! {"format":"lessee-audit-export/v1","public_key":"<name>+<id>+<base64>","checkpoint":"<signed note>"}
//! {"seq":0,"leaf_hash":"<64 hex>","event":{…AuditEvent…}}
//! {"seq":1,"leaf_hash":"<64 hex>","event":{…}}
//! ```
//!
//! The header carries the log's public key for convenience; a verifier should compare it with
//! the key it trusts (pinned from the operator or the server's published key), since a
//! forger would ship their own. Unknown fields are refused on every line.

use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointError, VerifyingKey};
use crate::hash::Hash;
use crate::record::{AuditEvent, AuditRecord};
use crate::verify::LogEntry;

/// The `format` value of version 1.
pub const EXPORT_FORMAT: &str = "lessee-audit-export/v1";

/// Longest line accepted on import, in bytes.
pub const MAX_LINE_LEN: usize = 256 * 1024;

/// An exported log, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The public key the export names (to be compared with a trusted one).
    pub public_key: VerifyingKey,
    /// The signed checkpoint note.
    pub checkpoint: String,
    /// The entries in file order.
    pub entries: Vec<LogEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    public_key: String,
    checkpoint: String,
}

#[derive(Serialize)]
struct LineOut<'a> {
    seq: u64,
    leaf_hash: &'a Hash,
    event: &'a AuditEvent,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    seq: u64,
    leaf_hash: Hash,
    event: AuditEvent,
}

/// Why an export cannot be read. Lines count from 1.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading failed.
    #[error("reading the export: {0}")]
    Io(#[from] io::Error),
    /// The file is empty.
    #[error("the export is empty")]
    Empty,
    /// A line is longer than [`MAX_LINE_LEN`].
    #[error("line {0} is too long")]
    LineTooLong(usize),
    /// A line is not UTF-8.
    #[error("line {0} is not UTF-8")]
    NotUtf8(usize),
    /// The first line is not a version 1 header.
    #[error("line 1 is not a {EXPORT_FORMAT} header: {0}")]
    Header(String),
    /// The header's public key is malformed.
    #[error("line 1: {0}")]
    PublicKey(CheckpointError),
    /// A record line is malformed.
    #[error("line {line}: {error}")]
    Line {
        /// The line number.
        line: usize,
        /// What is wrong.
        error: serde_json::Error,
    },
}

/// Writes an export of `entries` with the signed checkpoint and the public key.
pub fn write_export<W: Write>(
    mut out: W,
    entries: &[LogEntry],
    checkpoint_note: &str,
    public_key: &VerifyingKey,
) -> io::Result<()> {
    let header = Header {
        format: EXPORT_FORMAT.to_owned(),
        public_key: public_key.to_note_string(),
        checkpoint: checkpoint_note.to_owned(),
    };
    serde_json::to_writer(&mut out, &header)?;
    out.write_all(b"\n")?;
    for entry in entries {
        let line = LineOut { seq: entry.record.seq, leaf_hash: &entry.leaf_hash, event: &entry.record.event };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// The export as a string (see [`write_export`]).
pub fn export(entries: &[LogEntry], checkpoint_note: &str, public_key: &VerifyingKey) -> String {
    let mut out = Vec::new();
    // Writing to a Vec does not fail, and serde_json writes UTF-8.
    let _ = write_export(&mut out, entries, checkpoint_note, public_key);
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads one line of at most [`MAX_LINE_LEN`] bytes, without its newline; `None` at the end.
fn next_line<R: BufRead>(input: &mut R, number: usize, buffer: &mut Vec<u8>) -> Result<Option<String>, ImportError> {
    buffer.clear();
    let limit = u64::try_from(MAX_LINE_LEN).unwrap_or(u64::MAX) + 1;
    let read = io::Read::take(&mut *input, limit).read_until(b'\n', buffer)?;
    if read == 0 {
        return Ok(None);
    }
    if buffer.last() == Some(&b'\n') {
        buffer.pop();
        if buffer.last() == Some(&b'\r') {
            buffer.pop();
        }
    } else if read > MAX_LINE_LEN {
        return Err(ImportError::LineTooLong(number));
    }
    if buffer.len() > MAX_LINE_LEN {
        return Err(ImportError::LineTooLong(number));
    }
    String::from_utf8(std::mem::take(buffer)).map(Some).map_err(|_| ImportError::NotUtf8(number))
}

/// Reads an export. Blank lines are skipped. Records are not validated here: [`verify_log`]
/// reports a record that breaks the rules as a problem of the log.
///
/// [`verify_log`]: crate::verify::verify_log
pub fn read_export<R: BufRead>(mut input: R) -> Result<Export, ImportError> {
    let mut buffer = Vec::new();
    let header_line = next_line(&mut input, 1, &mut buffer)?.ok_or(ImportError::Empty)?;
    let header: Header = serde_json::from_str(&header_line).map_err(|error| ImportError::Header(error.to_string()))?;
    if header.format != EXPORT_FORMAT {
        return Err(ImportError::Header(format!("unknown format {:?}", header.format)));
    }
    let public_key = VerifyingKey::from_note_string(&header.public_key).map_err(ImportError::PublicKey)?;

    let mut entries = Vec::new();
    let mut number = 1;
    loop {
        number += 1;
        let Some(line) = next_line(&mut input, number, &mut buffer)? else {
            break;
        };
        if line.trim().is_empty() {
            continue;
        }
        let parsed: LineIn = serde_json::from_str(&line).map_err(|error| ImportError::Line { line: number, error })?;
        entries.push(LogEntry {
            record: AuditRecord { seq: parsed.seq, event: parsed.event },
            leaf_hash: parsed.leaf_hash,
        });
    }
    Ok(Export { public_key, checkpoint: header.checkpoint, entries })
}

/// Reads an export from a string (see [`read_export`]).
pub fn import(text: &str) -> Result<Export, ImportError> {
    read_export(text.as_bytes())
}
