//! Turning input bytes into text, refusing what is not text.
//!
//! Lists must be UTF-8. The one exception is the OFAC legacy CSV files, which Treasury has
//! published in Windows-1252: when allowed, input that is not valid UTF-8 is decoded as
//! Windows-1252 instead. Either way, control characters other than tab, CR and LF (and a DOS
//! end-of-file Ctrl-Z at the very end) mark the input as binary and it is refused.

use std::borrow::Cow;

use crate::ParseConfig;
use crate::error::ListError;

/// Decoded input text. `base` is the number of bytes dropped at the start (a UTF-8 BOM), so
/// that `base + offset in text` is the offset in the input for UTF-8 input.
pub(crate) struct Decoded<'a> {
    pub text: Cow<'a, str>,
    pub base: usize,
}

pub(crate) fn decode<'a>(bytes: &'a [u8], config: &ParseConfig, allow_cp1252: bool) -> Result<Decoded<'a>, ListError> {
    if bytes.len() > config.max_input_bytes {
        return Err(ListError::TooLarge { size: bytes.len(), limit: config.max_input_bytes });
    }
    if let Some(encoding) = wide_encoding(bytes) {
        return Err(ListError::WrongEncoding { encoding, offset: 0 });
    }
    let (base, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (3, rest),
        None => (0, bytes),
    };
    // A DOS end-of-file marker (Ctrl-Z) closes the OFAC files; drop it, and only at the end.
    let mut end = body.len();
    while end > 0 && body.get(end - 1) == Some(&0x1A) {
        end -= 1;
    }
    let body = body.get(..end).unwrap_or_default();
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ListError::Empty);
    }
    if let Some(pos) = body.iter().position(|&b| is_forbidden_control(b)) {
        let byte = body.get(pos).copied().unwrap_or_default();
        if byte == 0
            && let Some(encoding) = wide_encoding_without_bom(body)
        {
            return Err(ListError::WrongEncoding { encoding, offset: base + pos });
        }
        return Err(ListError::Binary { line: line_at(body, pos), offset: base + pos, byte });
    }
    match std::str::from_utf8(body) {
        Ok(text) => Ok(Decoded { text: Cow::Borrowed(text), base }),
        Err(_) if allow_cp1252 => decode_cp1252(body).map(|text| Decoded { text: Cow::Owned(text), base }),
        Err(e) => {
            let offset = e.valid_up_to();
            Err(ListError::InvalidUtf8 { line: line_at(body, offset), offset: base + offset })
        }
    }
}

fn is_forbidden_control(b: u8) -> bool {
    b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')
}

fn wide_encoding(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x00, 0x00, 0xFE, 0xFF, ..] => Some("UTF-32BE"),
        [0xFF, 0xFE, 0x00, 0x00, ..] => Some("UTF-32LE"),
        [0xFE, 0xFF, ..] => Some("UTF-16BE"),
        [0xFF, 0xFE, ..] => Some("UTF-16LE"),
        _ => None,
    }
}

/// UTF-16 without a byte-order mark: ASCII text with every other byte zero.
fn wide_encoding_without_bom(bytes: &[u8]) -> Option<&'static str> {
    let head: Vec<u8> = bytes.iter().take(64).copied().collect();
    if head.len() < 4 {
        return None;
    }
    let even_zero = head.iter().step_by(2).all(|&b| b == 0);
    let odd_zero = head.iter().skip(1).step_by(2).all(|&b| b == 0);
    match (even_zero, odd_zero) {
        (true, false) => Some("UTF-16BE"),
        (false, true) => Some("UTF-16LE"),
        _ => None,
    }
}

/// Windows-1252 code points for bytes 0x80..=0x9F; `None` where the code page leaves a hole.
const CP1252_HIGH: [Option<char>; 32] = [
    Some('\u{20AC}'),
    None,
    Some('\u{201A}'),
    Some('\u{0192}'),
    Some('\u{201E}'),
    Some('\u{2026}'),
    Some('\u{2020}'),
    Some('\u{2021}'),
    Some('\u{02C6}'),
    Some('\u{2030}'),
    Some('\u{0160}'),
    Some('\u{2039}'),
    Some('\u{0152}'),
    None,
    Some('\u{017D}'),
    None,
    None,
    Some('\u{2018}'),
    Some('\u{2019}'),
    Some('\u{201C}'),
    Some('\u{201D}'),
    Some('\u{2022}'),
    Some('\u{2013}'),
    Some('\u{2014}'),
    Some('\u{02DC}'),
    Some('\u{2122}'),
    Some('\u{0161}'),
    Some('\u{203A}'),
    Some('\u{0153}'),
    None,
    Some('\u{017E}'),
    Some('\u{0178}'),
];

fn cp1252_char(b: u8) -> Option<char> {
    match b {
        0x80..=0x9F => CP1252_HIGH.get(usize::from(b - 0x80)).copied().flatten(),
        _ => Some(char::from(b)),
    }
}

fn decode_cp1252(bytes: &[u8]) -> Result<String, ListError> {
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    for (pos, &b) in bytes.iter().enumerate() {
        match cp1252_char(b) {
            Some(c) => out.push(c),
            None => {
                return Err(ListError::Binary { line: line_at(bytes, pos), offset: pos, byte: b });
            }
        }
    }
    Ok(out)
}

/// The 1-based line of a byte offset.
pub(crate) fn line_at(bytes: &[u8], offset: usize) -> u64 {
    let upto = bytes.get(..offset).unwrap_or(bytes);
    1 + upto.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Line numbers for increasing offsets in one text, counted incrementally (the UN parser asks
/// for the line of every record; counting from the start each time would be quadratic).
pub(crate) struct LineIndex<'t> {
    bytes: &'t [u8],
    pos: std::cell::Cell<usize>,
    line: std::cell::Cell<u64>,
}

impl<'t> LineIndex<'t> {
    pub fn new(text: &'t str) -> Self {
        LineIndex { bytes: text.as_bytes(), pos: std::cell::Cell::new(0), line: std::cell::Cell::new(1) }
    }

    pub fn line(&self, offset: usize) -> u64 {
        let offset = offset.min(self.bytes.len());
        if offset < self.pos.get() {
            self.pos.set(0);
            self.line.set(1);
        }
        let seen =
            self.bytes.get(self.pos.get()..offset).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count() as u64);
        self.line.set(self.line.get() + seen);
        self.pos.set(offset);
        self.line.get()
    }
}

/// Normalizes a field value: C1 control characters (Windows-1252 bytes mis-decoded as Latin-1,
/// as in `HA\u{92}Assif`) become their Windows-1252 characters, other control characters are
/// dropped, runs of whitespace become one space, and the ends are trimmed.
pub(crate) fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        let c = match u32::from(c) {
            0x80..=0x9F => u8::try_from(u32::from(c)).ok().and_then(cp1252_char).unwrap_or(' '),
            _ => c,
        };
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// `clean`, then `None` when nothing is left.
pub(crate) fn non_empty(s: &str) -> Option<String> {
    let c = clean(s);
    (!c.is_empty()).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ParseConfig {
        ParseConfig::default()
    }

    #[test]
    fn utf8_passes_and_bom_and_ctrl_z_are_dropped() {
        let d = decode(b"\xEF\xBB\xBFabc\r\n\x1A", &cfg(), false);
        let d = d.map(|d| (d.text.into_owned(), d.base));
        assert_eq!(d, Ok(("abc\r\n".to_owned(), 3)));
    }

    #[test]
    fn refusals() {
        let cases: &[(&[u8], bool, &str)] = &[
            (b"", false, "LIST-EMPTY"),
            (b" \r\n\t", false, "LIST-EMPTY"),
            (b"\x1A", false, "LIST-EMPTY"),
            (b"\xFF\xFEa\0b\0", false, "LIST-WRONG-ENCODING"),
            (b"a\0b\0c\0d\0", false, "LIST-WRONG-ENCODING"),
            (b"ab\x00\x01\x02\x03", false, "LIST-BINARY"),
            (b"ok\nMU\xD1OZ", false, "LIST-INVALID-UTF8"),
            (b"ok\x1Amore", false, "LIST-BINARY"),
            (b"bad \x81 hole", true, "LIST-BINARY"),
        ];
        for (input, cp1252, code) in cases {
            let got = decode(input, &cfg(), *cp1252).err().map(|e| e.code());
            assert_eq!(got, Some(*code), "input {input:?}");
        }
    }

    #[test]
    fn invalid_utf8_names_line_and_offset() {
        let got = decode(b"one\ntwo\nMU\xD1OZ", &cfg(), false).err();
        assert_eq!(got, Some(ListError::InvalidUtf8 { line: 3, offset: 10 }));
    }

    #[test]
    fn cp1252_decodes_when_allowed() {
        let d = decode(b"MU\xD1OZ \x93x\x94", &cfg(), true).map(|d| d.text.into_owned());
        assert_eq!(d, Ok("MU\u{D1}OZ \u{201C}x\u{201D}".to_owned()));
    }

    #[test]
    fn size_limit() {
        let config = ParseConfig { max_input_bytes: 4, ..ParseConfig::default() };
        assert_eq!(decode(b"12345", &config, false).err(), Some(ListError::TooLarge { size: 5, limit: 4 }));
    }

    #[test]
    fn line_index_matches_line_at() {
        let text = "a\nbb\n\nccc\n";
        let index = LineIndex::new(text);
        for offset in [0, 1, 2, 5, 6, 7, 11, 3, 0, 100] {
            assert_eq!(index.line(offset), line_at(text.as_bytes(), offset.min(text.len())), "{offset}");
        }
    }

    #[test]
    fn clean_normalizes() {
        assert_eq!(clean("  AL-NASER  AIRLINES \n"), "AL-NASER AIRLINES");
        assert_eq!(clean("HA\u{92}Assif"), "HA\u{2019}Assif");
        assert_eq!(clean("a\u{7}b"), "ab");
    }
}
