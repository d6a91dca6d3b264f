//! A small, strict reader for comma- and tab-separated files (RFC 4180 quoting).
//!
//! Written here rather than taken from a CSV crate because screening lists are hostile input:
//! this reader reports an unterminated quote (a truncated file) instead of swallowing the rest
//! of the file into one field, names the line of every problem, and enforces the field-size and
//! field-count limits while scanning, before anything is allocated.

use std::borrow::Cow;

use crate::ParseConfig;
use crate::error::ListError;

/// One row: its 1-based starting line and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row<'a> {
    pub line: u64,
    pub fields: Vec<Cow<'a, str>>,
}

impl Row<'_> {
    /// The field at `index`, or `""` when the row is short.
    pub fn get(&self, index: usize) -> &str {
        self.fields.get(index).map(|f| f.as_ref()).unwrap_or("")
    }
}

pub(crate) struct Reader<'a> {
    text: &'a str,
    pos: usize,
    line: u64,
    base: usize,
    delimiter: u8,
    max_field: usize,
    max_fields: usize,
    max_rows: usize,
    rows: usize,
}

impl<'a> Reader<'a> {
    /// `base` is added to byte offsets in errors (the length of a dropped byte-order mark).
    pub fn new(text: &'a str, base: usize, delimiter: u8, config: &ParseConfig) -> Self {
        Reader {
            text,
            pos: 0,
            line: 1,
            base,
            delimiter,
            max_field: config.max_field_bytes,
            max_fields: config.max_fields_per_row,
            max_rows: config.max_records,
            rows: 0,
        }
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.text.as_bytes().get(at).copied()
    }

    fn slice(&self, from: usize, to: usize) -> Result<&'a str, ListError> {
        self.text.get(from..to).ok_or_else(|| ListError::Malformed {
            line: self.line,
            offset: self.base + from,
            reason: "field boundary inside a character".to_owned(),
        })
    }

    /// The next non-blank row, `None` at the end of the input.
    pub fn next_row(&mut self) -> Result<Option<Row<'a>>, ListError> {
        // Skip blank lines.
        loop {
            match self.byte(self.pos) {
                None => return Ok(None),
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                }
                Some(b'\r') => {
                    self.pos += 1;
                    if self.byte(self.pos) == Some(b'\n') {
                        self.pos += 1;
                    }
                    self.line += 1;
                }
                Some(_) => break,
            }
        }
        self.rows += 1;
        if self.rows > self.max_rows {
            return Err(ListError::TooManyRecords { limit: self.max_rows });
        }
        let line = self.line;
        let mut fields = Vec::new();
        loop {
            if fields.len() >= self.max_fields {
                return Err(ListError::TooManyFields { line, limit: self.max_fields });
            }
            let field = self.read_field(fields.len() + 1)?;
            fields.push(field);
            match self.byte(self.pos) {
                None => break,
                Some(b) if b == self.delimiter => self.pos += 1,
                Some(b'\r') => {
                    self.pos += 1;
                    if self.byte(self.pos) == Some(b'\n') {
                        self.pos += 1;
                    }
                    self.line += 1;
                    break;
                }
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                    break;
                }
                Some(b) => {
                    return Err(ListError::Malformed {
                        line: self.line,
                        offset: self.base + self.pos,
                        reason: format!("unexpected byte 0x{b:02x} after field {}", fields.len()),
                    });
                }
            }
        }
        Ok(Some(Row { line, fields }))
    }

    fn too_large(&self, line: u64, number: usize) -> ListError {
        ListError::FieldTooLarge { line, field: format!("#{number}"), limit: self.max_field }
    }

    fn read_field(&mut self, number: usize) -> Result<Cow<'a, str>, ListError> {
        let start_line = self.line;
        if self.byte(self.pos) != Some(b'"') {
            let start = self.pos;
            while let Some(b) = self.byte(self.pos) {
                if b == self.delimiter || b == b'\r' || b == b'\n' {
                    break;
                }
                self.pos += 1;
                if self.pos - start > self.max_field {
                    return Err(self.too_large(start_line, number));
                }
            }
            return self.slice(start, self.pos).map(Cow::Borrowed);
        }
        let open = self.pos;
        let content_start = open + 1;
        self.pos = content_start;
        let mut escaped = false;
        let content_end = loop {
            match self.byte(self.pos) {
                None => {
                    return Err(ListError::UnterminatedQuote { line: start_line, offset: self.base + open });
                }
                Some(b'"') if self.byte(self.pos + 1) == Some(b'"') => {
                    escaped = true;
                    self.pos += 2;
                }
                Some(b'"') => {
                    let end = self.pos;
                    self.pos += 1;
                    break end;
                }
                Some(b) => {
                    if b == b'\n' {
                        self.line += 1;
                    }
                    self.pos += 1;
                }
            }
            if self.pos - content_start > self.max_field {
                return Err(self.too_large(start_line, number));
            }
        };
        // Tolerate padding between the closing quote and the delimiter.
        while let Some(b) = self.byte(self.pos) {
            if b == b' ' || (b == b'\t' && self.delimiter != b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
        match self.byte(self.pos) {
            None | Some(b'\r') | Some(b'\n') => {}
            Some(b) if b == self.delimiter => {}
            Some(b) => {
                return Err(ListError::Malformed {
                    line: self.line,
                    offset: self.base + self.pos,
                    reason: format!(
                        "unexpected `{}` after the closing quote of field {number}",
                        char::from(b).escape_default()
                    ),
                });
            }
        }
        let content = self.slice(content_start, content_end)?;
        Ok(if escaped { Cow::Owned(content.replace("\"\"", "\"")) } else { Cow::Borrowed(content) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str, delimiter: u8) -> Result<Vec<(u64, Vec<String>)>, ListError> {
        let config = ParseConfig { max_field_bytes: 16, max_fields_per_row: 4, ..ParseConfig::default() };
        let mut reader = Reader::new(text, 0, delimiter, &config);
        let mut out = Vec::new();
        while let Some(row) = reader.next_row()? {
            out.push((row.line, row.fields.iter().map(|f| f.to_string()).collect()));
        }
        Ok(out)
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_quoted_unquoted_and_blank_lines() {
        let got = rows("1,\"a, b\",-0- \r\n\r\n2,\"x\"\"y\",\"multi\nline\"\n3,,\n", b',');
        assert_eq!(
            got,
            Ok(vec![(1, v(&["1", "a, b", "-0- "])), (3, v(&["2", "x\"y", "multi\nline"])), (5, v(&["3", "", ""])),])
        );
    }

    #[test]
    fn tab_separated() {
        let got = rows("\"a\"\t\"\"\t\"c\"", b'\t');
        assert_eq!(got, Ok(vec![(1, v(&["a", "", "c"]))]));
    }

    #[test]
    fn refusals_name_the_line() {
        let cases: &[(&str, ListError)] = &[
            ("1,2\n3,\"open", ListError::UnterminatedQuote { line: 2, offset: 6 }),
            (
                "1,\"a\"x,2",
                ListError::Malformed {
                    line: 1,
                    offset: 5,
                    reason: "unexpected `x` after the closing quote of field 2".to_owned(),
                },
            ),
            ("ok\n0123456789abcdefg", ListError::FieldTooLarge { line: 2, field: "#1".to_owned(), limit: 16 }),
            ("\"0123456789abcdefg\"", ListError::FieldTooLarge { line: 1, field: "#1".to_owned(), limit: 16 }),
            ("1,2,3,4,5", ListError::TooManyFields { line: 1, limit: 4 }),
        ];
        for (input, want) in cases {
            assert_eq!(rows(input, b',').err().as_ref(), Some(want), "{input:?}");
        }
    }
}
