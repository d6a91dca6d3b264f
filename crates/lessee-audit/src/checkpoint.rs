//! Signed checkpoints: the log's tree head at a size, signed with Ed25519, written as a
//! C2SP [checkpoint](https://c2sp.org/tlog-checkpoint) in a C2SP
//! [signed note](https://c2sp.org/signed-note).
//!
//! ```text
//! lessee.example/audit
//! 42
//! 2c8M…base64 root…=
//! time 2026-11-23T17:35:23Z
//!
//! — lessee.example/audit AbCdEf…base64(key id || signature)…
//! ```
//!
//! The fourth line is an extension line carrying the checkpoint's time (RFC 3339, UTC), so the
//! signature covers it. Keys are written as the Go `sumdb/note` tools write them, and the public
//! key also as PEM (SubjectPublicKeyInfo, as `openssl pkey -pubin` reads it).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::Signer as _;

use crate::hash::{Hash, sha256};

/// The signature type byte of Ed25519 in signed notes.
const ED25519_TYPE: u8 = 0x01;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), followed by the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// Longest signed note accepted, in bytes.
pub const MAX_NOTE_LEN: usize = 64 * 1024;

/// Most signature lines accepted in one note (the signed-note spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 64;

/// What is wrong with a key, a note or a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The key name (or origin) is empty or has a space, a plus or a control character.
    #[error("a key name or origin must be non-empty, without spaces, plus signs or control characters")]
    BadName,
    /// A key is not in one of the accepted encodings.
    #[error("malformed key: {0}")]
    BadKey(&'static str),
    /// The note is not a signed note, or its text is not a lessee checkpoint.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// No signature line is from the expected key (same name and key id).
    #[error("the checkpoint has no signature by {name} (key id {key_id:08x})")]
    NotSignedByKey {
        /// The expected key's name.
        name: String,
        /// The expected key's id.
        key_id: u32,
    },
    /// A signature from the expected key does not verify.
    #[error("the checkpoint's signature by {name} does not verify")]
    BadSignature {
        /// The key's name.
        name: String,
    },
    /// The operating system gave no randomness for a new key.
    #[error("no randomness for a new key: {0}")]
    Random(getrandom::Error),
}

fn check_name(name: &str) -> Result<(), CheckpointError> {
    let bad = name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+' || c.is_control());
    if bad { Err(CheckpointError::BadName) } else { Ok(()) }
}

fn key_id(name: &str, public: &ed25519_dalek::VerifyingKey) -> u32 {
    let mut data = Vec::with_capacity(name.len() + 2 + 32);
    data.extend_from_slice(name.as_bytes());
    data.push(b'\n');
    data.push(ED25519_TYPE);
    data.extend_from_slice(public.as_bytes());
    let digest = sha256(&data);
    let [a, b, c, d, ..] = digest;
    u32::from_be_bytes([a, b, c, d])
}

/// Decodes `base64(0x01 || 32 bytes)`.
fn decode_typed_key(text: &str) -> Result<[u8; 32], CheckpointError> {
    let bytes = BASE64.decode(text).map_err(|_| CheckpointError::BadKey("the key is not base64"))?;
    match bytes.split_first() {
        Some((&ED25519_TYPE, rest)) => {
            rest.try_into().map_err(|_| CheckpointError::BadKey("an Ed25519 key is 32 bytes"))
        }
        _ => Err(CheckpointError::BadKey("not an Ed25519 key")),
    }
}

fn encode_typed_key(key: &[u8; 32]) -> String {
    let mut bytes = Vec::with_capacity(33);
    bytes.push(ED25519_TYPE);
    bytes.extend_from_slice(key);
    BASE64.encode(bytes)
}

fn parse_key_id(text: &str) -> Result<u32, CheckpointError> {
    if text.len() != 8 {
        return Err(CheckpointError::BadKey("the key id is 8 hex digits"));
    }
    u32::from_str_radix(text, 16).map_err(|_| CheckpointError::BadKey("the key id is 8 hex digits"))
}

/// The log's signing key: an Ed25519 key with a name (the log's origin). `Debug` prints only
/// the name and key id.
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, {:08x})", self.name, self.verifying_key().key_id())
    }
}

impl SigningKey {
    /// A new random key named `name` (the log's origin, e.g. `lessee.example/audit`).
    pub fn generate(name: &str) -> Result<Self, CheckpointError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(CheckpointError::Random)?;
        Self::from_seed(name, seed)
    }

    /// The key with this name and 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, CheckpointError> {
        check_name(name)?;
        Ok(Self { name: name.to_owned(), key: ed25519_dalek::SigningKey::from_bytes(&seed) })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey { name: self.name.clone(), key: self.key.verifying_key() }
    }

    /// The secret key as `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`, the Go
    /// `sumdb/note` signer encoding. Store it like any secret.
    pub fn to_secret_string(&self) -> String {
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.verifying_key().key_id(),
            encode_typed_key(self.key.as_bytes())
        )
    }

    /// Reads [`to_secret_string`](Self::to_secret_string)'s encoding, checking the key id.
    pub fn from_secret_string(text: &str) -> Result<Self, CheckpointError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(CheckpointError::BadKey("a signer key starts with PRIVATE+KEY+"))?;
        // Names and ids have no '+'; base64 may.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CheckpointError::BadKey("expected PRIVATE+KEY+name+id+key"));
        };
        let key = Self::from_seed(name, decode_typed_key(key)?)?;
        if key.verifying_key().key_id() != parse_key_id(id)? {
            return Err(CheckpointError::BadKey("the key id does not match the key"));
        }
        Ok(key)
    }

    /// Signs a checkpoint: returns the signed note.
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, CheckpointError> {
        self.sign_note(&checkpoint.to_note_text()?)
    }

    /// Signs any note text (non-empty, ending in a newline, no control characters but
    /// newlines, no blank last line): returns the signed note.
    pub fn sign_note(&self, text: &str) -> Result<String, CheckpointError> {
        if !text.ends_with('\n') || text.ends_with("\n\n") || text.len() > MAX_NOTE_LEN / 2 {
            return Err(CheckpointError::Malformed("note text must end in exactly one newline and be short"));
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(CheckpointError::Malformed("the note has a control character"));
        }
        let signature = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(4 + 64);
        blob.extend_from_slice(&self.verifying_key().key_id().to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!("{text}\n\u{2014} {} {}\n", self.name, BASE64.encode(blob)))
    }
}

/// The log's public key, with its name, as an auditor pins it.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    name: String,
    key: ed25519_dalek::VerifyingKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", self.to_note_string())
    }
}

impl fmt::Display for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_note_string())
    }
}

impl VerifyingKey {
    /// The key with this name and these 32 public key bytes.
    pub fn from_bytes(name: &str, bytes: &[u8; 32]) -> Result<Self, CheckpointError> {
        check_name(name)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map_err(|_| CheckpointError::BadKey("not an Ed25519 public key"))?;
        Ok(Self { name: name.to_owned(), key })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32 public key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The signed-note key id: the first 4 bytes of
    /// `SHA-256(name || "\n" || 0x01 || public key)`, big-endian.
    pub fn key_id(&self) -> u32 {
        key_id(&self.name, &self.key)
    }

    /// `<name>+<key id>+<base64(0x01 || public key)>`, the Go `sumdb/note` verifier encoding.
    pub fn to_note_string(&self) -> String {
        format!("{}+{:08x}+{}", self.name, self.key_id(), encode_typed_key(self.key.as_bytes()))
    }

    /// Reads [`to_note_string`](Self::to_note_string)'s encoding, checking the key id.
    pub fn from_note_string(text: &str) -> Result<Self, CheckpointError> {
        // Names and ids have no '+'; base64 may.
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CheckpointError::BadKey("expected name+id+key"));
        };
        let key = Self::from_bytes(name, &decode_typed_key(key)?)?;
        if key.key_id() != parse_key_id(id)? {
            return Err(CheckpointError::BadKey("the key id does not match the key"));
        }
        Ok(key)
    }

    /// The raw public key in standard base64 (32 bytes).
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.key.as_bytes())
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo, RFC 8410).
    pub fn to_pem(&self) -> String {
        let mut der = Vec::with_capacity(44);
        der.extend_from_slice(&SPKI_PREFIX);
        der.extend_from_slice(self.key.as_bytes());
        format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", BASE64.encode(der))
    }

    /// Reads a PEM Ed25519 `PUBLIC KEY` and names it.
    pub fn from_pem(name: &str, pem: &str) -> Result<Self, CheckpointError> {
        let body = pem
            .trim()
            .strip_prefix("-----BEGIN PUBLIC KEY-----")
            .and_then(|rest| rest.strip_suffix("-----END PUBLIC KEY-----"))
            .ok_or(CheckpointError::BadKey("not a PEM PUBLIC KEY"))?;
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = BASE64.decode(compact).map_err(|_| CheckpointError::BadKey("the PEM body is not base64"))?;
        let key = der
            .strip_prefix(&SPKI_PREFIX)
            .and_then(|key| <&[u8; 32]>::try_from(key).ok())
            .ok_or(CheckpointError::BadKey("not an Ed25519 SubjectPublicKeyInfo"))?;
        Self::from_bytes(name, key)
    }

    /// Checks the signed note's signature by this key and returns the checkpoint it signs.
    pub fn verify_checkpoint(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        let parsed = SignedNote::parse(note)?;
        parsed.verify(self)?;
        Checkpoint::from_note_text(parsed.text)
    }
}

/// A signature line of a signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer's key name.
    pub name: String,
    /// The signer's key id.
    pub key_id: u32,
    /// The signature bytes (64 for Ed25519).
    pub signature: Vec<u8>,
}

/// A signed note split into its text and its signature lines (not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote<'a> {
    /// The signed text, ending in a newline.
    pub text: &'a str,
    /// The signature lines.
    pub signatures: Vec<NoteSignature>,
}

impl<'a> SignedNote<'a> {
    /// Splits a note at its last blank line and reads the signature lines.
    pub fn parse(note: &'a str) -> Result<Self, CheckpointError> {
        if note.len() > MAX_NOTE_LEN {
            return Err(CheckpointError::Malformed("the note is too long"));
        }
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(CheckpointError::Malformed("the note has a control character"));
        }
        let split = note.rfind("\n\n").ok_or(CheckpointError::Malformed("the note has no signature block"))?;
        let text = note.get(..=split).ok_or(CheckpointError::Malformed("the note has no text"))?;
        let block = note
            .get(split + 2..)
            .and_then(|block| block.strip_suffix('\n'))
            .ok_or(CheckpointError::Malformed("the note must end in a newline"))?;
        let mut signatures = Vec::new();
        for line in block.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(CheckpointError::Malformed("the note has too many signatures"));
            }
            let (name, blob) = line
                .strip_prefix("\u{2014} ")
                .and_then(|rest| rest.split_once(' '))
                .ok_or(CheckpointError::Malformed("a signature line is malformed"))?;
            check_name(name).map_err(|_| CheckpointError::Malformed("a signer name is malformed"))?;
            let blob = BASE64.decode(blob).map_err(|_| CheckpointError::Malformed("a signature is not base64"))?;
            let (id, signature) =
                blob.split_first_chunk::<4>().ok_or(CheckpointError::Malformed("a signature is too short"))?;
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id: u32::from_be_bytes(*id),
                signature: signature.to_vec(),
            });
        }
        Ok(Self { text, signatures })
    }

    /// Checks the note against `key`: signatures from other keys are ignored; at least one
    /// is from `key`, and every one from `key` verifies.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), CheckpointError> {
        let id = key.key_id();
        let mut verified = false;
        for line in &self.signatures {
            if line.name != key.name || line.key_id != id {
                continue;
            }
            let ok = ed25519_dalek::Signature::from_slice(&line.signature)
                .ok()
                .is_some_and(|signature| key.key.verify_strict(self.text.as_bytes(), &signature).is_ok());
            if !ok {
                return Err(CheckpointError::BadSignature { name: key.name.clone() });
            }
            verified = true;
        }
        if verified { Ok(()) } else { Err(CheckpointError::NotSignedByKey { name: key.name.clone(), key_id: id }) }
    }
}

/// A tree head at a point in time: what a signed checkpoint commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity (its key name), e.g. `lessee.example/audit`.
    pub origin: String,
    /// The number of records the head covers.
    pub tree_size: u64,
    /// The RFC 6962 tree head of those records.
    pub root: Hash,
    /// When the checkpoint was made (passed in; this crate reads no clock).
    pub time: DateTime<Utc>,
}

fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl Checkpoint {
    /// The note text: origin, tree size, base64 root, `time <RFC 3339>`, each ending in a
    /// newline.
    pub fn to_note_text(&self) -> Result<String, CheckpointError> {
        check_name(&self.origin)?;
        Ok(format!(
            "{}\n{}\n{}\ntime {}\n",
            self.origin,
            self.tree_size,
            self.root.to_base64(),
            format_time(&self.time)
        ))
    }

    /// Reads [`to_note_text`](Self::to_note_text)'s format, in its one canonical spelling.
    pub fn from_note_text(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Malformed("the text must end in a newline"))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root), Some(time), None) =
            (lines.next(), lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::Malformed("expected four lines: origin, tree size, root hash, time"));
        };
        check_name(origin).map_err(|_| CheckpointError::Malformed("the origin is malformed"))?;
        let tree_size: u64 = size.parse().map_err(|_| CheckpointError::Malformed("the tree size is not a number"))?;
        if tree_size.to_string() != size {
            return Err(CheckpointError::Malformed("the tree size has leading zeros"));
        }
        let root = Hash::from_base64(root)
            .map_err(|_| CheckpointError::Malformed("the root hash is not 32 bytes of base64"))?;
        let time_text = time
            .strip_prefix("time ")
            .ok_or(CheckpointError::Malformed("the fourth line must be `time <RFC 3339>`"))?;
        let time = DateTime::parse_from_rfc3339(time_text)
            .map_err(|_| CheckpointError::Malformed("the time is not RFC 3339"))?
            .with_timezone(&Utc);
        if format_time(&time) != time_text {
            return Err(CheckpointError::Malformed("the time is not in canonical UTC form"));
        }
        Ok(Self { origin: origin.to_owned(), tree_size, root, time })
    }
}
