//! Retrieval keys of customer names kept beside stored accounts, so that re-screening after a
//! list change finds the customers near the new and changed entries without decrypting every
//! account.
//!
//! The name index ([`crate::CustomerIndex`]) retrieves by shared keys: a token's exact form,
//! romanization keys ([`fold`] and its loose variant), consonant skeleton and vowel pattern,
//! and the one-letter deletions of each form (SymSpell). Stored keys keep the first kinds but
//! no deletions ([`stored_keys`], a handful per token), plus a "solo" key when a name has a
//! single name part. The probing side ([`Probe`], a diff's entries) expands every form to all
//! strings one edit away (deletion, insertion, substitution, adjacent transposition), which
//! reaches every stored token the index would reach through a shared deletion, except pairs
//! whose deletions fall at two different positions (a letter moved: two edits, which the token
//! similarity rarely accepts).
//!
//! A key says which token of which entry name it came from, so an account is worth decrypting
//! only when its keys could make the reverse score reach the floor ([`Probe::selects`]): two
//! tokens of one entry name covered, an entry name of one token, a customer name of one token
//! (its solo key), an identifier, or one token heavy enough that the customer's other part
//! would have to be a light (common in the lists) token, whose keys are probed too. Sharing one
//! ordinary token (a given name) is not enough: the customer's own unmatched part counts fully
//! against the reverse score.
//!
//! The keys are 64-bit hashes; the caller blinds them with a keyed hash before they are stored,
//! and candidates are scored in full after decryption, so a collision costs a decryption only.

use crate::index::{KEY_EDIT, KEY_SKELETON, KEY_VOWELS, key_hash, loose_key, vowel_pattern};
use crate::normalize::{TokenClass, classify, fold, skeleton, tokens};
use crate::screener::normalize_number;

/// Version of the key derivation. Stored keys of another scheme are not used (the caller
/// re-derives them); bump it whenever normalization or the key kinds change.
pub const SCHEME: u32 = 2;

const KEY_IDENTIFIER: u8 = b'I';
/// The forms of a name's only name part (`Rosneft`, `J. Smith`'s `smith`).
const KEY_SOLO: u8 = b'O';
/// A short name part's length (nothing else of it): an unknown short part weighs little, so a
/// customer's other part can be light without being common in the lists.
const KEY_SHORT: u8 = b'L';
/// Name parts up to this many letters get a [`KEY_SHORT`] key.
const SHORT: usize = 6;
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
    let toks = tokens(name);
    let mut name_parts = 0;
    for raw in &toks {
        let class = classify(raw);
        name_parts += usize::from(class == TokenClass::Name);
        let (folded, forms) = forms(raw);
        token_base_keys(class, &folded, &forms, out);
        if class == TokenClass::Name && folded.len() <= SHORT {
            out.push(key_hash(KEY_SHORT, std::iter::once(folded.len() as u8)));
        }
    }
    if name_parts == 1
        && let Some(raw) = toks.iter().find(|t| classify(t) == TokenClass::Name)
    {
        for f in forms(raw).1 {
            out.push(key_hash(KEY_SOLO, f.bytes()));
        }
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

/// Where a probe key came from: a token of an entry name, or something that alone makes the
/// account worth decrypting (an identifier number, a one-part customer name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// `edited`: the key is of a form one edit from the token's (its similarity is bounded).
    Token {
        name: u32,
        token: u8,
        edited: bool,
    },
    Decisive,
}

#[derive(Debug, Clone)]
struct ProbeName {
    /// Their weights under the screener's lists (at most 64 tokens are told apart).
    weights: Vec<f32>,
    /// The highest similarity a form one edit from each can have (`token_similarity`).
    edit_sims: Vec<f32>,
    /// Their sum.
    total: f32,
}

/// The keys that find the stored customers near some list entries (a diff's added and changed
/// entries), and the rule that picks, from the keys an account holds, the accounts worth
/// decrypting. Build it with the screener holding the new list version (its token weights and
/// thresholds are the ones the re-screen scores with).
#[derive(Debug, Clone, Default)]
pub struct Probe {
    origins: std::collections::HashMap<u64, Vec<Origin>>,
    /// Keys of light tokens (frequent in the lists) with their weight.
    light: std::collections::HashMap<u64, f32>,
    names: Vec<ProbeName>,
    /// The reverse score a customer must reach (less a margin), and the penalties of unmatched
    /// parts in that direction: the entry's (`alpha_entry`) and the customer's.
    floor: f32,
    alpha_entry: f32,
    alpha_customer: f32,
}

/// How far under the re-screening floor (itself a margin under the threshold) the light-part
/// rule reckons.
const LIGHT_MARGIN: f64 = 0.0;

/// The highest similarity `token_similarity` gives a token of `len` letters and a form one
/// edit from it: the edit similarity of the longer of the two after its discount, or a
/// phonetic or gender-form match.
fn one_edit_similarity(len: usize, config: &crate::Config) -> f32 {
    let longer = len + 1;
    let discount = match longer {
        0..=4 => config.edit_discount_short,
        5..=6 => 0.5 * (config.edit_discount + config.edit_discount_short),
        _ => config.edit_discount,
    };
    let edit = 1.0 - discount / longer as f32;
    edit.max(config.phonetic_similarity).max(config.gender_form_similarity).clamp(0.0, 1.0)
}

impl Probe {
    pub fn new(screener: &crate::Screener, entries: &[&lessee_lists::Entry]) -> Self {
        let config = screener.config();
        let weights = screener.weights();
        // In the reverse direction the entry is the query: its unmatched parts count as a
        // listed name's do, the customer's as a query's (see `Alphas::reverse`).
        let mut probe = Probe {
            floor: (crate::rescreen::reverse_floor(config) - LIGHT_MARGIN).clamp(0.05, 0.95) as f32,
            alpha_entry: config.unmatched_listed_penalty.max(0.0),
            alpha_customer: config.unmatched_query_penalty.max(0.0),
            ..Probe::default()
        };
        let mut raw = Vec::new();
        for entry in entries {
            for name in std::iter::once(&entry.name).chain(entry.aliases.iter().map(|a| &a.name)) {
                probe.add_name(name, weights, config, &mut raw);
            }
            for identifier in &entry.identifiers {
                if let Some(k) = identifier_key(&identifier.number) {
                    probe.add(k, Origin::Decisive);
                }
            }
        }
        // The heaviest light part any one covered token leaves room for: light keys heavier than
        // that cannot select anything, and are not looked up.
        let p = &probe;
        let max_light =
            p.names.iter().flat_map(|n| (0..n.weights.len()).map(move |i| p.room(n, i, 1.0))).fold(0.0, f32::max);
        for (folded, w) in weights.light_tokens(max_light, config) {
            for form in [folded.clone(), loose_key(&folded)] {
                let slot = probe.light.entry(key_hash(KEY_EDIT, form.bytes())).or_insert(w);
                *slot = slot.min(w);
            }
        }
        // A short part unknown to the lists weighs by its length.
        for len in 1..=SHORT {
            let w = config.unknown_token_weight.min(1.25 * len as f32).max(config.min_token_weight);
            if w <= max_light {
                probe.light.insert(key_hash(KEY_SHORT, std::iter::once(len as u8)), w);
            }
        }
        for list in probe.origins.values_mut() {
            list.sort_unstable_by_key(|o| match o {
                Origin::Token { name, token, edited } => {
                    (u64::from(*name) << 9) | (u64::from(*token) << 1) | u64::from(*edited)
                }
                Origin::Decisive => u64::MAX,
            });
            list.dedup();
        }
        probe
    }

    fn add(&mut self, key: u64, origin: Origin) {
        self.origins.entry(key).or_default().push(origin);
    }

    fn add_name(
        &mut self,
        name: &str,
        weights: &crate::index::TokenWeights,
        config: &crate::Config,
        buf: &mut Vec<u64>,
    ) {
        let toks = tokens(name);
        let classes: Vec<TokenClass> = toks.iter().map(|t| classify(t)).collect();
        let has_names = classes.contains(&TokenClass::Name);
        let retrieving: Vec<(&String, TokenClass)> = toks
            .iter()
            .zip(classes)
            .filter(|(_, c)| if has_names { *c == TokenClass::Name } else { *c == TokenClass::Initial })
            .collect();
        if retrieving.is_empty() {
            return;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        let mut token_weights = Vec::with_capacity(retrieving.len());
        let mut edit_sims = Vec::with_capacity(retrieving.len());
        let mut folded_parts = Vec::with_capacity(retrieving.len());
        for (i, (raw, class)) in retrieving.iter().enumerate() {
            let token = u8::try_from(i.min(63)).unwrap_or(63);
            let origin = Origin::Token { name: id, token, edited: false };
            token_weights.push(crate::index::TokenInfo::new(raw, weights, config).weight);
            let (folded, forms) = forms(raw);
            edit_sims.push(one_edit_similarity(folded.len(), config));
            buf.clear();
            token_base_keys(*class, &folded, &forms, buf);
            for k in buf.drain(..) {
                self.add(k, origin);
            }
            if *class == TokenClass::Name && raw.len() >= 3 {
                for f in &forms {
                    one_edit(f.as_bytes(), |v| buf.push(key_hash(KEY_EDIT, v.iter().copied())));
                }
            }
            for k in buf.drain(..) {
                self.add(k, Origin::Token { name: id, token, edited: true });
            }
            // A customer whose only name part is this one (or one edit from it).
            if *class == TokenClass::Name {
                for f in &forms {
                    self.add(key_hash(KEY_SOLO, f.bytes()), Origin::Decisive);
                    if raw.len() >= 3 {
                        let mut solo = Vec::new();
                        one_edit(f.as_bytes(), |v| solo.push(key_hash(KEY_SOLO, v.iter().copied())));
                        for k in solo {
                            self.add(k, Origin::Decisive);
                        }
                    }
                }
            }
            // Two parts of this token written apart by the customer (`abdul rahman`).
            if folded.len() >= 6 {
                for cut in 3..=folded.len() - 3 {
                    if let (Some(a), Some(b)) = (folded.get(..cut), folded.get(cut..)) {
                        self.add(key_hash(KEY_EDIT, a.bytes()), origin);
                        self.add(key_hash(KEY_EDIT, b.bytes()), origin);
                    }
                }
            }
            folded_parts.push(folded);
        }
        // Two adjacent parts written as one by the customer (`abdulrahman`): both covered.
        for (i, pair) in folded_parts.windows(2).enumerate() {
            if let [a, b] = pair {
                let joined = format!("{a}{b}");
                for t in [i, i + 1] {
                    let token = u8::try_from(t.min(63)).unwrap_or(63);
                    self.add(key_hash(KEY_EDIT, joined.bytes()), Origin::Token { name: id, token, edited: false });
                }
            }
        }
        let total = token_weights.iter().sum();
        self.names.push(ProbeName { weights: token_weights, edit_sims, total });
    }

    /// Every key to look up (unblinded), sorted.
    pub fn keys(&self) -> Vec<u64> {
        let mut keys: Vec<u64> = self.origins.keys().chain(self.light.keys()).copied().collect();
        finish(&mut keys);
        keys
    }

    /// Whether a subject holding `hits` (its stored keys among [`Probe::keys`]) can come near
    /// one of the entries.
    pub fn selects(&self, hits: &[u64]) -> bool {
        self.reason(hits).is_some()
    }

    /// Why [`Probe::selects`] selects a subject: `identifier_or_solo` (an identifier number, or
    /// a one-part name near an entry's part), `two_tokens` (two parts of one entry name
    /// covered), `light_part` (one part covered, heavy enough beside the entry's other parts
    /// and the subject's lightest part to reach the floor); `None` when it does not.
    pub fn reason(&self, hits: &[u64]) -> Option<&'static str> {
        // Per entry name: the tokens covered, and those covered by an unedited form.
        let mut covered: Vec<(u32, u64, u64)> = Vec::new();
        let mut lightest = f32::INFINITY;
        for h in hits {
            if let Some(w) = self.light.get(h) {
                lightest = lightest.min(*w);
            }
            for origin in self.origins.get(h).into_iter().flatten() {
                match *origin {
                    Origin::Decisive => return Some("identifier_or_solo"),
                    Origin::Token { name, token, edited } => {
                        let bit = 1u64 << token;
                        let exact = if edited { 0 } else { bit };
                        match covered.iter_mut().find(|(n, _, _)| *n == name) {
                            Some((_, mask, exact_mask)) => {
                                *mask |= bit;
                                *exact_mask |= exact;
                            }
                            None => covered.push((name, bit, exact)),
                        }
                    }
                }
            }
        }
        if covered.iter().any(|(_, mask, _)| mask.count_ones() >= 2) {
            return Some("two_tokens");
        }
        if !lightest.is_finite() {
            return None;
        }
        let reaches = |n: &ProbeName, i: usize, sim: f32| lightest <= self.room(n, i, sim);
        covered
            .iter()
            .any(|&(name, mask, exact)| {
                self.names.get(name as usize).is_some_and(|n| {
                    (0..n.weights.len().min(64)).any(|i| {
                        let bit = 1u64 << i;
                        let sim = if exact & bit != 0 { 1.0 } else { n.edit_sims.get(i).copied().unwrap_or(1.0) };
                        mask & bit != 0 && reaches(n, i, sim)
                    })
                })
            })
            .then_some("light_part")
    }

    /// The heaviest unmatched part a subject may have beside token `i` of `n` (matched with
    /// similarity at most `sim`, the entry's other parts unmatched) and still reach the floor:
    /// `sim * w >= floor * (w + alpha_entry * rest + alpha_customer * v)`, solved for `v`.
    fn room(&self, n: &ProbeName, i: usize, sim: f32) -> f32 {
        let w = n.weights.get(i).copied().unwrap_or(0.0);
        let rest = (n.total - w).max(0.0);
        let spare = sim * w - self.floor * (w + self.alpha_entry * rest);
        spare / (self.floor * self.alpha_customer).max(f32::MIN_POSITIVE)
    }

    /// Entry names probed.
    pub fn names(&self) -> usize {
        self.names.len()
    }
}
