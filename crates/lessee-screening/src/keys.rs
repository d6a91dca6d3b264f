//! Retrieval keys of customer names kept beside stored accounts, so that re-screening after a
//! list change finds the customers near the new and changed entries without decrypting every
//! account.
//!
//! The name index ([`crate::CustomerIndex`]) retrieves by shared keys: a token's exact form,
//! romanization keys ([`fold`] and its loose variant), consonant skeleton and vowel pattern,
//! and the one-letter deletions of each form (SymSpell). Stored keys keep the first kinds but
//! no deletions ([`stored_keys`], a handful per token); the probing side ([`probe_keys`], a
//! list entry's names) expands every form to all strings one edit away (deletion, insertion,
//! substitution, adjacent transposition), which reaches every stored token the index would
//! reach through a shared deletion, except pairs whose deletions fall at two different
//! positions (a letter moved: two edits, which the token similarity rarely accepts). The keys
//! are 64-bit hashes; the caller blinds them with a keyed hash before they are stored, and
//! candidates are scored in full after decryption, so a collision costs a decryption only.

use crate::index::{KEY_EDIT, KEY_SKELETON, KEY_VOWELS, key_hash, loose_key, vowel_pattern};
use crate::normalize::{TokenClass, classify, fold, skeleton, tokens};
use crate::screener::normalize_number;

/// Version of the key derivation. Stored keys of another scheme are not used (the caller
/// re-derives them); bump it whenever normalization or the key kinds change.
pub const SCHEME: u32 = 1;

const KEY_IDENTIFIER: u8 = b'I';
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The forms a token is compared under: raw, folded, loose (deduplicated).
fn forms(raw: &str) -> (String, Vec<String>) {
    let folded = fold(raw);
    let loose = loose_key(&folded);
    let mut out = vec![raw.to_owned()];
    for f in [folded.clone(), loose] {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    (folded, out)
}

fn token_base_keys(class: TokenClass, folded: &str, forms: &[String], out: &mut Vec<u64>) {
    for f in forms {
        out.push(key_hash(KEY_EDIT, f.bytes()));
    }
    if class == TokenClass::Name {
        let skel = skeleton(folded);
        if skel.len() >= 3 {
            out.push(key_hash(KEY_SKELETON, skel.bytes()));
        }
        if (2..=5).contains(&folded.len()) {
            out.push(key_hash(KEY_VOWELS, vowel_pattern(folded)));
        }
    }
}

/// Keys to store for a customer's name: per token its exact, romanization, skeleton and vowel
/// keys. Appends to `out`; sorted and deduplicated by [`finish`].
pub fn stored_keys(name: &str, out: &mut Vec<u64>) {
    for raw in tokens(name) {
        let class = classify(&raw);
        let (folded, forms) = forms(&raw);
        token_base_keys(class, &folded, &forms, out);
    }
}

/// Every string one edit away from `s` (bytes): deletions, adjacent transpositions,
/// substitutions and insertions over lowercase letters and digits.
fn one_edit(s: &[u8], mut emit: impl FnMut(&[u8])) {
    let mut buf = Vec::with_capacity(s.len() + 1);
    for i in 0..s.len() {
        buf.clear();
        buf.extend(s.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, b)| *b));
        emit(&buf);
    }
    for i in 0..s.len().saturating_sub(1) {
        buf.clear();
        buf.extend_from_slice(s);
        buf.swap(i, i + 1);
        emit(&buf);
    }
    for i in 0..s.len() {
        for &c in ALPHABET {
            if s.get(i) != Some(&c) {
                buf.clear();
                buf.extend_from_slice(s);
                if let Some(slot) = buf.get_mut(i) {
                    *slot = c;
                }
                emit(&buf);
            }
        }
    }
    for i in 0..=s.len() {
        for &c in ALPHABET {
            buf.clear();
            buf.extend_from_slice(s.get(..i).unwrap_or_default());
            buf.push(c);
            buf.extend_from_slice(s.get(i..).unwrap_or_default());
            emit(&buf);
        }
    }
}

/// Keys that find the stored customers a name (a list entry's primary name or alias) can
/// retrieve: the tokens that retrieve in the index (name tokens; initials when a name has
/// nothing else), with their base keys and the exact keys of every form one edit away.
pub fn probe_keys(name: &str, out: &mut Vec<u64>) {
    let toks = tokens(name);
    let classes: Vec<TokenClass> = toks.iter().map(|t| classify(t)).collect();
    let has_names = classes.contains(&TokenClass::Name);
    for (raw, class) in toks.iter().zip(classes) {
        let retrieving = if has_names { class == TokenClass::Name } else { class == TokenClass::Initial };
        if !retrieving {
            continue;
        }
        let (folded, forms) = forms(raw);
        token_base_keys(class, &folded, &forms, out);
        if class == TokenClass::Name && raw.len() >= 3 {
            for f in &forms {
                one_edit(f.as_bytes(), |v| out.push(key_hash(KEY_EDIT, v.iter().copied())));
            }
        }
    }
}

/// The key of an identifier number (passport, national id), when it is long enough to be
/// looked up (the same rule as the customer index).
pub fn identifier_key(number: &str) -> Option<u64> {
    let n = normalize_number(number);
    (n.len() >= 4).then(|| key_hash(KEY_IDENTIFIER, n.bytes()))
}

/// Sorts and deduplicates collected keys.
pub fn finish(keys: &mut Vec<u64>) {
    keys.sort_unstable();
    keys.dedup();
}
