//! The name index: a token vocabulary with retrieval keys, and postings from tokens to names.
//!
//! Every distinct token of the indexed names is a vocabulary entry with its romanization key
//! ([`fold`]), consonant [`skeleton`] and weight. Retrieval keys point to vocabulary entries:
//! the raw token and its fold with each of their one-letter deletions (so that a key is shared by
//! any two tokens within one edit, typos and transpositions included, SymSpell-style), and the
//! skeleton. A query token looks up the same keys, which gives a handful of vocabulary entries;
//! each is compared once, and the postings of those within reach give the candidate names.
//! Nothing scans every name.
//!
//! The same structure indexes list names (screening) and customer names (re-screening after a
//! list change), which is what lets the index work in both directions.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::config::Config;
use crate::normalize::{TokenClass, classify, fold, skeleton};
use crate::similarity::edit_similarity;

/// A multiplicative hasher for keys that are already hashes or small integers.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

pub(crate) const KEY_EDIT: u8 = b'E';
pub(crate) const KEY_SKELETON: u8 = b'S';
pub(crate) const KEY_VOWELS: u8 = b'V';

/// FNV-1a over a key kind and bytes.
pub(crate) fn key_hash(kind: u8, bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(kind).chain(bytes) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The retrieval keys of a token (see the module documentation).
fn token_keys(info: &TokenInfo, out: &mut Vec<u64>) {
    let (raw, folded, skel, class) = (info.raw.as_str(), info.folded.as_str(), info.skeleton.as_str(), info.class);
    out.clear();
    let with_deletions = |s: &str, out: &mut Vec<u64>| {
        let bytes = s.as_bytes();
        out.push(key_hash(KEY_EDIT, bytes.iter().copied()));
        if bytes.len() >= 4 && matches!(class, TokenClass::Name) {
            for skip in 0..bytes.len() {
                out.push(key_hash(KEY_EDIT, bytes.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, b)| *b)));
            }
        }
    };
    with_deletions(raw, out);
    if folded != raw {
        with_deletions(folded, out);
    }
    if info.loose != folded {
        with_deletions(&info.loose, out);
    }
    if skel.len() >= 3 && matches!(class, TokenClass::Name) {
        out.push(key_hash(KEY_SKELETON, skel.bytes()));
    }
    if (2..=5).contains(&folded.len()) && matches!(class, TokenClass::Name) {
        out.push(key_hash(KEY_VOWELS, vowel_pattern(folded)));
    }
    out.sort_unstable();
    out.dedup();
}

/// How a query token met a listed token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenMatch {
    /// The same normalized token.
    Exact,
    /// The same romanization key (`yevgeniy` / `evgeny`).
    Romanization,
    /// The same consonant skeleton (`mohammed` / `muhamad`).
    Phonetic,
    /// Within a small edit distance (typos).
    Edit,
    /// An initial matching the first letter of a name part.
    Initial,
    /// Two adjacent parts written as one (`abdul rahman` / `abdulrahman`).
    Compound,
}

/// Document frequencies of romanization keys, for token weights (inverse document frequency).
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenWeights {
    df: HashMap<String, u32>,
    total: u32,
}

impl TokenWeights {
    /// Counts each folded token once per name.
    pub(crate) fn build<'a>(names: impl Iterator<Item = &'a [String]>) -> Self {
        let mut df: HashMap<String, u32> = HashMap::new();
        let mut total = 0u32;
        for tokens in names {
            total = total.saturating_add(1);
            let mut seen: Vec<String> = tokens.iter().map(|t| fold(t)).collect();
            seen.sort_unstable();
            seen.dedup();
            for f in seen {
                *df.entry(f).or_insert(0) += 1;
            }
        }
        TokenWeights { df, total }
    }

    /// The romanization keys of name tokens whose weight is at most `max_weight` (the most
    /// frequent in the lists), with that weight.
    pub(crate) fn light_tokens(&self, max_weight: f32, config: &Config) -> Vec<(String, f32)> {
        self.df
            .keys()
            .filter_map(|folded| {
                let w = self.weight(folded, folded, TokenClass::Name, config);
                (w <= max_weight).then(|| (folded.clone(), w))
            })
            .collect()
    }

    /// Whether some indexed name has a token with this romanization key.
    pub(crate) fn contains(&self, folded: &str) -> bool {
        self.df.contains_key(folded)
    }

    pub(crate) fn weight(&self, raw: &str, folded: &str, class: TokenClass, config: &Config) -> f32 {
        match class {
            TokenClass::Form => config.form_weight,
            TokenClass::Stop => config.stop_weight,
            TokenClass::Initial => config.initial_weight,
            TokenClass::Name => {
                let Some(&df) = self.df.get(folded) else {
                    if crate::normalize::near_form(raw).is_some() {
                        // A garbled company form (`lt`, `ltga`).
                        return config.form_weight;
                    }
                    if crate::normalize::near_stopword(raw) || crate::normalize::near_honorific(raw) {
                        // A garbled particle (`aj-sunna`, `alc-haq`).
                        return config.stop_weight;
                    }
                    // Unknown short tokens say little (often a garbled particle or form).
                    return config.unknown_token_weight.min(1.25 * folded.len() as f32).max(config.min_token_weight);
                };
                let df = df as f32;
                let n = self.total.max(1) as f32;
                let idf = ((n + 1.0) / (df + 1.0)).ln();
                idf.clamp(config.min_token_weight, config.max_token_weight)
            }
        }
    }
}

/// One token of the vocabulary or of a query, with what matching needs.
#[derive(Debug, Clone)]
pub(crate) struct TokenInfo {
    pub raw: String,
    pub folded: String,
    pub skeleton: String,
    /// The romanization key with `zh` read as `j` (`nazhib` / `najib`): Russian and French
    /// spellings of one sound, which the key keeps apart for pinyin's sake.
    pub loose: String,
    pub class: TokenClass,
    pub weight: f32,
    /// An ordinary name part that no indexed name contains (its weight is capped, since it is
    /// often a typo of one that does).
    pub unknown: bool,
}

impl TokenInfo {
    pub(crate) fn new(raw: &str, weights: &TokenWeights, config: &Config) -> Self {
        let folded = fold(raw);
        let skel = skeleton(&folded);
        let loose = loose_key(&folded);
        let class = classify(raw);
        let weight = weights.weight(raw, &folded, class, config);
        let unknown = class == TokenClass::Name && !weights.contains(&folded);
        TokenInfo { raw: raw.to_owned(), folded, skeleton: skel, loose, class, weight, unknown }
    }
}

/// The romanization key with `zh` as `j`.
pub(crate) fn loose_key(folded: &str) -> String {
    if folded.contains("zh") { folded.replace("zh", "j") } else { folded.to_owned() }
}

/// Similarity of two tokens in `[0, 1]` and how they met; `None` below the configured floor.
/// Initials are compared by [`initial_similarity`], not here.
pub(crate) fn token_similarity(a: &TokenInfo, b: &TokenInfo, config: &Config) -> Option<(f32, TokenMatch)> {
    if a.raw == b.raw {
        return Some((1.0, TokenMatch::Exact));
    }
    if a.folded == b.folded {
        return Some((config.romanization_similarity, TokenMatch::Romanization));
    }
    let short = a.raw.len().min(b.raw.len());
    if short < 2 || a.class != b.class && (a.class != TokenClass::Name || b.class != TokenClass::Name) {
        return None;
    }
    if gender_forms(&a.folded, &b.folded) {
        // `zaytsev` / `zaytseva`: the same family name, another person.
        return Some((config.gender_form_similarity, TokenMatch::Edit));
    }
    let mut edit = edit_similarity(&a.raw, &b.raw).max(edit_similarity(&a.folded, &b.folded));
    // Typos and romanizations rarely change how a name starts (vowels aside: `osama` /
    // `usama`); two names that differ there are usually two names (`jang` / `wang`).
    let first = |t: &TokenInfo| t.skeleton.as_bytes().first().copied();
    if first(a) != first(b) {
        edit -= config.first_letter_penalty;
    }
    let edit = if edit >= config.min_token_similarity {
        // Short tokens get less credit for the same similarity: one letter in four is a lot.
        let discount = match a.folded.len().max(b.folded.len()) {
            0..=4 => config.edit_discount_short,
            5..=6 => 0.5 * (config.edit_discount + config.edit_discount_short),
            _ => config.edit_discount,
        };
        1.0 - discount * (1.0 - edit)
    } else {
        0.0
    };
    // Same consonants: only for tokens that start alike and are not too far apart in spelling
    // (`mohamad` / `muhamed`, not `acme` / `yakima`).
    let same_consonants = a.skeleton == b.skeleton
        && a.skeleton.len() >= 3
        && short >= 4
        && a.folded.as_bytes().first() == b.folded.as_bytes().first()
        && crate::similarity::osa_distance(
            a.folded.as_bytes(),
            b.folded.as_bytes(),
            (a.folded.len().max(b.folded.len()) as f32 * config.phonetic_max_edit_share) as usize,
        )
        .is_some();
    // `zh` / `j` in a longer name (`nazhib` / `najib`), not in short pinyin syllables (`zhang`
    // is not `jang`).
    let same_loose = a.loose == b.loose && a.loose.len() >= 6;
    let phonetic =
        if same_consonants || same_loose || one_vowel_apart(&a.folded, &b.folded) || one_vowel_apart(&a.raw, &b.raw) {
            config.phonetic_similarity
        } else {
            0.0
        };
    if phonetic > edit {
        Some((phonetic, TokenMatch::Phonetic))
    } else if edit > 0.0 {
        Some((edit, TokenMatch::Edit))
    } else {
        None
    }
}

/// The masculine and feminine forms of one Slavic family name (`zaytsev` / `zaytseva`,
/// `kuznetsov` / `kuznetsova`, `pushkin` / `pushkina`, `novak` / `novakova`, `kovalski` /
/// `kovalskaia`): written alike, but they name a man and a woman.
pub(crate) fn gender_forms(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.len() < 4 {
        return false;
    }
    let Some(rest) = long.strip_prefix(short) else {
        return match (short.strip_suffix("ski"), long.strip_suffix("skaia").or_else(|| long.strip_suffix("skaya"))) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        };
    };
    match rest {
        "a" => ["ov", "ev", "in", "yn"].iter().any(|s| short.ends_with(s)),
        "ova" => short.bytes().last().is_some_and(|c| !is_vowel_byte(c)),
        _ => false,
    }
}

/// Same length, one position apart, and a vowel in both there (`ali` / `ale`, `kong` / `kung`).
fn one_vowel_apart(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.len() >= 2
        && a.bytes()
            .zip(b.bytes())
            .filter(|(x, y)| x != y)
            .try_fold(0, |n, (x, y)| (is_vowel_byte(x) && is_vowel_byte(y)).then_some(n + 1))
            == Some(1)
}

/// Same length and only vowels differ (`sung` / `song`, `saleh` / `salah`): how romanizations
/// of one name differ, not how two names do.
fn vowels_apart(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y || (is_vowel_byte(x) && is_vowel_byte(y)))
}

fn is_vowel_byte(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// The vowel pattern of a short token (`ali` -> `_l_`), a retrieval key for [`one_vowel_apart`].
pub(crate) fn vowel_pattern(folded: &str) -> impl Iterator<Item = u8> + '_ {
    folded.bytes().map(|b| if is_vowel_byte(b) { b'_' } else { b })
}

/// What the retrieval keys do not cover: initials, and a word that is a company form only
/// where it stands (`ag` in the middle of a name, `jsc` at its end).
fn fallback_similarity(q: &TokenInfo, l: &TokenInfo, config: &Config, personal: bool) -> Option<(f32, TokenMatch)> {
    if q.raw == l.raw {
        return Some((1.0, TokenMatch::Exact));
    }
    if personal && let Some(s) = initial_similarity(q, l, config) {
        return Some((s, TokenMatch::Initial));
    }
    let form_of = |a: &TokenInfo, b: &TokenInfo| {
        a.class == TokenClass::Form && crate::normalize::edge_form(&b.raw) == Some(a.raw.as_str())
    };
    if form_of(q, l) || form_of(l, q) {
        return Some((1.0, TokenMatch::Romanization));
    }
    // A garbled company form (`ltga`, `lpd`, `in`) against the listed one.
    let near_form = |a: &TokenInfo, b: &TokenInfo| {
        a.class == TokenClass::Form
            && b.class == TokenClass::Name
            && crate::normalize::near_form(&b.raw) == Some(a.raw.as_str())
    };
    (near_form(l, q) || near_form(q, l)).then_some((config.initial_similarity, TokenMatch::Edit))
}

/// An initial (`j`) against a name part (`john`), either way round.
pub(crate) fn initial_similarity(a: &TokenInfo, b: &TokenInfo, config: &Config) -> Option<f32> {
    let (initial, full) = match (a.class, b.class) {
        (TokenClass::Initial, TokenClass::Name) => (a, b),
        (TokenClass::Name, TokenClass::Initial) => (b, a),
        _ => return None,
    };
    (full.raw.as_bytes().first() == initial.raw.as_bytes().first()).then_some(config.initial_similarity)
}

/// A name in the index: its owner (a list name or a customer) and its tokens.
#[derive(Debug, Clone, Copy)]
struct IndexedName {
    tokens_start: u32,
    tokens_len: u32,
    total_weight: f32,
    /// Weight of the optional (middle-name) tokens, part of `total_weight`.
    optional_weight: f32,
}

/// The role of a listed token, for the cost of leaving it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Role {
    /// Any part of an entity's name, or of a name whose structure is unknown.
    #[default]
    Plain,
    /// An individual's first given name or surname.
    Required,
    /// An individual's middle name (or first of two surnames).
    Middle,
}

/// A query token with the vocabulary entries within reach.
#[derive(Debug, Clone)]
pub(crate) struct PreparedToken {
    pub info: TokenInfo,
    /// (vocabulary id, similarity, how), sorted by vocabulary id.
    pub matches: Vec<(u32, f32, TokenMatch)>,
}

impl PreparedToken {
    fn lookup(&self, vocab_id: u32) -> Option<(f32, TokenMatch)> {
        self.matches
            .binary_search_by_key(&vocab_id, |(id, _, _)| *id)
            .ok()
            .and_then(|i| self.matches.get(i))
            .map(|(_, s, how)| (*s, *how))
    }
}

/// How much unmatched tokens count against a score: the query's, the listed name's, and the
/// listed name's middle names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Alphas {
    pub query: f32,
    pub listed: f32,
    pub required: f32,
    pub middle: f32,
}

impl Alphas {
    /// Screening: the query is the applicant, the names are listed.
    pub(crate) fn screening(config: &Config) -> Self {
        Alphas {
            query: config.unmatched_query_penalty,
            listed: config.unmatched_listed_penalty,
            required: config.unmatched_required_penalty,
            middle: config.unmatched_middle_penalty,
        }
    }

    /// Re-screening: a listed entry plays the query against customer names.
    pub(crate) fn reverse(config: &Config) -> Self {
        Alphas {
            query: config.unmatched_listed_penalty,
            listed: config.unmatched_query_penalty,
            required: config.unmatched_query_penalty,
            middle: config.unmatched_query_penalty,
        }
    }
}

/// A candidate name for a query, with a cheap estimate of its score.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    pub name: u32,
    pub estimate: f32,
}

/// One aligned pair (or an unmatched token) of a scored name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pair {
    /// Query token positions: one, or two written as one listed token (a compound).
    pub query: Vec<usize>,
    /// Listed token positions within the name.
    pub listed: Vec<usize>,
    pub similarity: f32,
    pub weight: f32,
    pub how: Option<TokenMatch>,
}

/// The name score of one candidate and its alignment.
#[derive(Debug, Clone)]
pub(crate) struct NameScore {
    pub score: f32,
    pub pairs: Vec<Pair>,
}

/// Names, their tokens and the retrieval structures.
#[derive(Debug, Clone, Default)]
pub(crate) struct NameIndex {
    vocab: Vec<TokenInfo>,
    vocab_ids: HashMap<String, u32>,
    /// Retrieval key -> range in `key_vocab`.
    keys: FastMap<u64, (u32, u32)>,
    key_vocab: Vec<u32>,
    /// Vocabulary id -> range in `posting_names`.
    postings: Vec<(u32, u32)>,
    posting_names: Vec<u32>,
    names: Vec<IndexedName>,
    name_tokens: Vec<u32>,
    /// Per entry of `name_tokens`: how much it matters when it is missing.
    name_roles: Vec<Role>,
}

impl NameIndex {
    /// Indexes names given as normalized tokens; name ids are positions in `names`. `roles`
    /// gives each token's role (per name, per token; missing entries mean [`Role::Plain`]).
    pub(crate) fn build(names: &[Vec<String>], roles: &[Vec<Role>], weights: &TokenWeights, config: &Config) -> Self {
        let mut index = NameIndex::default();
        let mut token_names: Vec<Vec<u32>> = Vec::new();
        for (name_id, tokens) in names.iter().enumerate() {
            let name_id = u32::try_from(name_id).unwrap_or(u32::MAX);
            let start = u32::try_from(index.name_tokens.len()).unwrap_or(u32::MAX);
            let mut total_weight = 0.0;
            let mut optional_weight = 0.0;
            let flags = roles.get(name_id as usize);
            for (position, token) in tokens.iter().enumerate() {
                let id = match index.vocab_ids.get(token) {
                    Some(&id) => id,
                    None => {
                        let id = u32::try_from(index.vocab.len()).unwrap_or(u32::MAX);
                        index.vocab.push(TokenInfo::new(token, weights, config));
                        index.vocab_ids.insert(token.clone(), id);
                        token_names.push(Vec::new());
                        id
                    }
                };
                let weight = index.vocab.get(id as usize).map_or(0.0, |t| t.weight);
                let role = flags.and_then(|f| f.get(position)).copied().unwrap_or_default();
                total_weight += weight;
                if role == Role::Middle {
                    optional_weight += weight;
                }
                index.name_tokens.push(id);
                index.name_roles.push(role);
                if let Some(list) = token_names.get_mut(id as usize)
                    && list.last() != Some(&name_id)
                {
                    list.push(name_id);
                }
            }
            let end = u32::try_from(index.name_tokens.len()).unwrap_or(u32::MAX);
            index.names.push(IndexedName {
                tokens_start: start,
                tokens_len: end - start,
                total_weight,
                optional_weight,
            });
        }
        for list in &token_names {
            let start = u32::try_from(index.posting_names.len()).unwrap_or(u32::MAX);
            index.posting_names.extend_from_slice(list);
            index.postings.push((start, u32::try_from(list.len()).unwrap_or(u32::MAX)));
        }
        let mut pairs: Vec<(u64, u32)> = Vec::new();
        let mut keys = Vec::new();
        for (id, info) in index.vocab.iter().enumerate() {
            token_keys(info, &mut keys);
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            pairs.extend(keys.iter().map(|k| (*k, id)));
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut i = 0;
        while let Some(&(key, _)) = pairs.get(i) {
            let start = i;
            while pairs.get(i).is_some_and(|(k, _)| *k == key) {
                i += 1;
            }
            let range_start = u32::try_from(index.key_vocab.len()).unwrap_or(u32::MAX);
            index.key_vocab.extend(pairs.get(start..i).unwrap_or_default().iter().map(|(_, id)| *id));
            index.keys.insert(key, (range_start, u32::try_from(i - start).unwrap_or(u32::MAX)));
        }
        index
    }

    pub(crate) fn name_count(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn vocab_token(&self, id: u32) -> Option<&TokenInfo> {
        self.vocab.get(id as usize)
    }

    fn name_roles(&self, name: u32) -> &[Role] {
        self.names
            .get(name as usize)
            .and_then(|n| {
                let start = n.tokens_start as usize;
                self.name_roles.get(start..start + n.tokens_len as usize)
            })
            .unwrap_or_default()
    }

    pub(crate) fn name_token_ids(&self, name: u32) -> &[u32] {
        self.names
            .get(name as usize)
            .and_then(|n| {
                let start = n.tokens_start as usize;
                self.name_tokens.get(start..start + n.tokens_len as usize)
            })
            .unwrap_or_default()
    }

    /// Normalized query tokens with the vocabulary entries each can match.
    /// With `known_names`, a query token that is itself in the vocabulary gets less credit for
    /// an inexact match ([`Config::known_token_shortfall`]).
    pub(crate) fn prepare(
        &self,
        tokens: &[String],
        weights: &TokenWeights,
        config: &Config,
        known_names: bool,
    ) -> Vec<PreparedToken> {
        let mut keys = Vec::new();
        let mut seen: Vec<u32> = Vec::new();
        tokens
            .iter()
            .map(|raw| {
                let info = TokenInfo::new(raw, weights, config);
                let mut matches = Vec::new();
                let known = known_names
                    && info.class == TokenClass::Name
                    && info.raw.len() >= 4
                    && self.vocab_ids.contains_key(&info.raw);
                if info.class == TokenClass::Initial {
                    // Only itself (for names made of initials and forms alone).
                    if let Some(&id) = self.vocab_ids.get(&info.raw) {
                        matches.push((id, 1.0, TokenMatch::Exact));
                    }
                } else {
                    token_keys(&info, &mut keys);
                    seen.clear();
                    for key in &keys {
                        let Some(&(start, len)) = self.keys.get(key) else {
                            continue;
                        };
                        let start = start as usize;
                        for &id in self.key_vocab.get(start..start + len as usize).unwrap_or_default() {
                            seen.push(id);
                        }
                    }
                    seen.sort_unstable();
                    seen.dedup();
                    for &id in &seen {
                        if let Some(vocab) = self.vocab.get(id as usize)
                            && let Some((mut sim, how)) = token_similarity(&info, vocab, config)
                        {
                            if known
                                && matches!(how, TokenMatch::Edit | TokenMatch::Phonetic)
                                && !vowels_apart(&info.folded, &vocab.folded)
                                && !vowels_apart(&info.raw, &vocab.raw)
                            {
                                sim = 1.0 - (1.0 - sim) * config.known_token_shortfall;
                                if sim < config.min_token_similarity {
                                    continue;
                                }
                            }
                            matches.push((id, sim, how));
                        }
                    }
                }
                PreparedToken { info, matches }
            })
            .collect()
    }

    /// Candidate names: those sharing enough weighted tokens with the query, best estimate first,
    /// at most `config.max_candidates`, only names `keep` accepts.
    pub(crate) fn candidates(
        &self,
        query: &[PreparedToken],
        config: &Config,
        alphas: Alphas,
        keep: impl Fn(u32) -> bool,
    ) -> Vec<Candidate> {
        let mut retrieving: fn(&PreparedToken) -> bool = |t| t.info.class == TokenClass::Name;
        let mut total: f32 = query.iter().filter(|t| retrieving(t)).map(|t| t.info.weight).sum();
        if total <= 0.0 {
            // A name of initials and forms only (`M.T.T. Ltd`): its initials retrieve.
            retrieving = |t| t.info.class == TokenClass::Initial;
            total = query.iter().filter(|t| retrieving(t)).map(|t| t.info.weight).sum();
            if total <= 0.0 {
                return Vec::new();
            }
        }
        let mut acc: FastMap<u32, (f32, u16)> = FastMap::default();
        for (qi, token) in query.iter().enumerate() {
            if !retrieving(token) {
                continue;
            }
            let marker = u16::try_from(qi + 1).unwrap_or(u16::MAX);
            let mut matches: Vec<&(u32, f32, TokenMatch)> = token.matches.iter().collect();
            matches.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
            for &&(vocab_id, sim, _) in &matches {
                let Some(&(start, len)) = self.postings.get(vocab_id as usize) else {
                    continue;
                };
                let listed_weight = self.vocab.get(vocab_id as usize).map_or(0.0, |v| v.weight);
                let gain = sim * 0.5 * (token.info.weight + listed_weight);
                let start = start as usize;
                for &name in self.posting_names.get(start..start + len as usize).unwrap_or_default() {
                    let slot = acc.entry(name).or_insert((0.0, 0));
                    if slot.1 != marker {
                        slot.0 += gain;
                        slot.1 = marker;
                    }
                }
            }
        }
        let floor = config.candidate_floor;
        let mut out: Vec<Candidate> = acc
            .into_iter()
            .filter_map(|(name, (gained, _))| {
                let indexed = self.names.get(name as usize)?;
                let relief = if alphas.listed > 0.0 {
                    indexed.optional_weight * (1.0 - alphas.middle / alphas.listed)
                } else {
                    0.0
                };
                let missing_listed = (indexed.total_weight - relief - gained).max(0.0);
                let missing_query = (total - gained).max(0.0);
                let estimate = gained / (gained + alphas.query * missing_query + alphas.listed * missing_listed);
                (estimate >= floor && keep(name)).then_some(Candidate { name, estimate })
            })
            .collect();
        out.sort_unstable_by(|a, b| b.estimate.total_cmp(&a.estimate).then(a.name.cmp(&b.name)));
        out.truncate(config.max_candidates);
        out
    }

    /// Scores one indexed name against a prepared query: a greedy one-to-one alignment of tokens
    /// (best similarity first), then compounds among what is left, then
    /// `sum(similarity * weight) / (sum(weight) + alpha_query * unmatched query weight +
    /// alpha_listed * unmatched listed weight)`.
    pub(crate) fn score_name(&self, query: &[PreparedToken], name: u32, config: &Config, alphas: Alphas) -> NameScore {
        let roles = self.name_roles(name);
        // Initials are a person's: a single letter in a company name (`A A TRADING`) is not
        // the initial of a query word.
        let personal = roles.iter().any(|r| *r != Role::Plain);
        let listed: Vec<&TokenInfo> =
            self.name_token_ids(name).iter().filter_map(|&id| self.vocab.get(id as usize)).collect();
        let ids = self.name_token_ids(name);
        let mut candidates: Vec<(f32, f32, usize, usize, TokenMatch)> = Vec::new();
        for (qi, q) in query.iter().enumerate() {
            for (li, (&id, l)) in ids.iter().zip(&listed).enumerate() {
                let found = q.lookup(id).or_else(|| fallback_similarity(&q.info, l, config, personal));
                if let Some((sim, how)) = found {
                    let weight = if how == TokenMatch::Initial {
                        config.initial_weight
                    } else {
                        0.5 * (q.info.weight + l.weight)
                    };
                    candidates.push((sim, weight, qi, li, how));
                }
            }
        }
        // Best similarity first; among equals, the listed part that matters most (a surname
        // written twice, `BECERRA BECERRA, Alvaro`, is matched on the required one).
        let rank = |li: usize| match roles.get(li).copied().unwrap_or_default() {
            Role::Required => 0,
            Role::Plain => 1,
            Role::Middle => 2,
        };
        candidates.sort_unstable_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(b.1.total_cmp(&a.1))
                .then(rank(a.3).cmp(&rank(b.3)))
                .then(a.2.cmp(&b.2))
                .then(a.3.cmp(&b.3))
        });
        let mut query_used = vec![false; query.len()];
        let mut listed_used = vec![false; listed.len()];
        let mut pairs = Vec::new();
        for (sim, weight, qi, li, how) in candidates {
            if query_used.get(qi) == Some(&false) && listed_used.get(li) == Some(&false) {
                if let Some(u) = query_used.get_mut(qi) {
                    *u = true;
                }
                if let Some(u) = listed_used.get_mut(li) {
                    *u = true;
                }
                pairs.push(Pair { query: vec![qi], listed: vec![li], similarity: sim, weight, how: Some(how) });
            }
        }
        // Compounds: two adjacent unmatched tokens on one side written as one on the other.
        compounds(
            query.iter().map(|q| &q.info).collect::<Vec<_>>().as_slice(),
            &listed,
            &mut query_used,
            &mut listed_used,
            &mut pairs,
            config,
        );
        leftovers(
            query.iter().map(|q| &q.info).collect::<Vec<_>>().as_slice(),
            &listed,
            &mut query_used,
            &mut listed_used,
            &mut pairs,
            config,
        );
        // Every name part of a person's listed name is accounted for: a query name part left
        // over is then an extra one, not a garbled spelling of a listed part.
        let listed_complete =
            personal && listed.iter().zip(&listed_used).all(|(t, used)| *used || t.class != TokenClass::Name);
        for (qi, q) in query.iter().enumerate() {
            if query_used.get(qi) == Some(&false) {
                // A garbled form next to a form (`cu` in `alloy cu ltd`) weighs as a form.
                let next_to_form = [qi.wrapping_sub(1), qi + 1]
                    .iter()
                    .any(|&n| query.get(n).is_some_and(|t| t.info.class == TokenClass::Form));
                // A particle ends no name (`al`, `de`, `le` come before the part they belong
                // to): one last in the query, after a name part, is a name part itself
                // (`Camille Le`) and weighs like an unknown one of its length.
                let trailing_particle = q.info.class == TokenClass::Stop
                    && qi + 1 == query.len()
                    && qi > 0
                    && query.get(qi - 1).is_some_and(|p| p.info.class == TokenClass::Name);
                let weight = if next_to_form && crate::normalize::near_form(&q.info.raw).is_some() {
                    config.form_weight
                } else if trailing_particle {
                    config
                        .unknown_token_weight
                        .min(1.25 * q.info.raw.len() as f32)
                        .max(config.min_token_weight)
                        .max(q.info.weight)
                } else if listed_complete
                    && q.info.unknown
                    && q.info.weight > config.stop_weight.max(config.form_weight)
                {
                    // A name part no list contains, added to a person's name whose parts are
                    // all matched, is no typo of one of them: most likely the surname of
                    // someone else (`... Shabib Souza` against `SHABIB, Ahmad Khalaf Abd`). It
                    // counts as a rare name part, not at the capped weight of a possible typo.
                    let len = q.info.folded.len() as f32;
                    q.info.weight.max(config.unmatched_unknown_weight.min(config.unmatched_unknown_per_letter * len))
                } else {
                    q.info.weight
                };
                pairs.push(Pair { query: vec![qi], listed: Vec::new(), similarity: 0.0, weight, how: None });
            }
        }
        for (li, l) in listed.iter().enumerate() {
            if listed_used.get(li) == Some(&false) {
                pairs.push(Pair { query: Vec::new(), listed: vec![li], similarity: 0.0, weight: l.weight, how: None });
            }
        }
        // A name of initials and forms only (`M.T.T. LTDA.`) counts its initials as name parts.
        let has_names = listed.iter().any(|t| t.class == TokenClass::Name);
        let counts = |t: &TokenInfo| t.class == TokenClass::Name || (!has_names && t.class == TokenClass::Initial);
        let mut numerator = 0.0;
        let mut denominator = 0.0;
        let mut matched_names = 0;
        for pair in &pairs {
            match (pair.query.is_empty(), pair.listed.is_empty()) {
                (false, false) => {
                    numerator += pair.similarity * pair.weight;
                    denominator += pair.weight;
                    let is_name = pair.listed.iter().any(|&li| listed.get(li).is_some_and(|t| counts(t)));
                    if is_name {
                        matched_names += 1;
                    }
                }
                (false, true) => denominator += alphas.query * pair.weight,
                (true, false) => {
                    let role = pair.listed.first().and_then(|&li| roles.get(li)).copied().unwrap_or_default();
                    let alpha = match role {
                        Role::Plain => alphas.listed,
                        Role::Required => alphas.required,
                        Role::Middle => alphas.middle,
                    };
                    denominator += alpha * pair.weight;
                }
                (true, true) => {}
            }
        }
        let fuzzy = pairs
            .iter()
            .filter(|p| matches!(p.how, Some(TokenMatch::Edit | TokenMatch::Phonetic | TokenMatch::Compound)))
            .count();
        let score = if matched_names == 0 || denominator <= 0.0 {
            0.0
        } else {
            let extra_fuzzy = fuzzy.saturating_sub(1) as f32;
            (numerator / denominator - config.fuzzy_pair_penalty * extra_fuzzy).max(0.0)
        };
        NameScore { score, pairs }
    }
}

/// Pairs two adjacent unmatched tokens on one side with one unmatched token on the other when
/// their concatenation is close (`abdul rahman` / `abdulrahman`, `xi jin ping` / `xi jinping`).
fn compounds(
    query: &[&TokenInfo],
    listed: &[&TokenInfo],
    query_used: &mut [bool],
    listed_used: &mut [bool],
    pairs: &mut Vec<Pair>,
    config: &Config,
) {
    let free = |used: &[bool], i: usize| used.get(i) == Some(&false);
    if !query_used.iter().any(|u| !u) || !listed_used.iter().any(|u| !u) {
        return;
    }
    // Query pair vs one listed token.
    for qi in 0..query.len().saturating_sub(1) {
        if !(free(query_used, qi) && free(query_used, qi + 1)) {
            continue;
        }
        let (Some(a), Some(b)) = (query.get(qi), query.get(qi + 1)) else {
            continue;
        };
        let joined = format!("{}{}", a.folded, b.folded);
        for (li, l) in listed.iter().enumerate() {
            if !free(listed_used, li) || l.class != TokenClass::Name {
                continue;
            }
            let sim = edit_similarity(&joined, &l.folded);
            if sim >= config.compound_min_similarity {
                mark(query_used, qi);
                mark(query_used, qi + 1);
                mark(listed_used, li);
                pairs.push(Pair {
                    query: vec![qi, qi + 1],
                    listed: vec![li],
                    similarity: sim,
                    weight: 0.5 * (a.weight + b.weight + l.weight),
                    how: Some(TokenMatch::Compound),
                });
                break;
            }
        }
    }
    // One query token vs a listed pair.
    for li in 0..listed.len().saturating_sub(1) {
        if !(free(listed_used, li) && free(listed_used, li + 1)) {
            continue;
        }
        let (Some(a), Some(b)) = (listed.get(li), listed.get(li + 1)) else {
            continue;
        };
        let joined = format!("{}{}", a.folded, b.folded);
        for (qi, q) in query.iter().enumerate() {
            if !free(query_used, qi) || q.class != TokenClass::Name {
                continue;
            }
            let sim = edit_similarity(&q.folded, &joined);
            if sim >= config.compound_min_similarity {
                mark(query_used, qi);
                mark(listed_used, li);
                mark(listed_used, li + 1);
                pairs.push(Pair {
                    query: vec![qi],
                    listed: vec![li, li + 1],
                    similarity: sim,
                    weight: 0.5 * (q.weight + a.weight + b.weight),
                    how: Some(TokenMatch::Compound),
                });
                break;
            }
        }
    }
}

/// Pairs what is left on both sides when two name parts start alike and are still half the
/// same (`valrj` / `valery`: two changes in one short name), at their plain similarity: partial
/// credit instead of none.
fn leftovers(
    query: &[&TokenInfo],
    listed: &[&TokenInfo],
    query_used: &mut [bool],
    listed_used: &mut [bool],
    pairs: &mut Vec<Pair>,
    config: &Config,
) {
    if config.leftover_min_similarity >= 1.0 {
        return;
    }
    for (qi, q) in query.iter().enumerate() {
        if query_used.get(qi) != Some(&false) || q.class != TokenClass::Name || q.raw.len() < 4 {
            continue;
        }
        // A query part some list contains is a name in its own right: left over next to another
        // that starts alike, it is that one only one edit away (`main` / `mani`), else another
        // name (`marco` / `marcel`). A part no list contains is garbled and may be further off.
        let reach = if q.unknown { usize::MAX } else { 1 };
        let mut best: Option<(usize, f32)> = None;
        for (li, l) in listed.iter().enumerate() {
            if listed_used.get(li) != Some(&false)
                || l.class != TokenClass::Name
                || l.raw.len() < 4
                || q.folded.as_bytes().first() != l.folded.as_bytes().first()
            {
                continue;
            }
            let longer = q.folded.len().max(l.folded.len());
            let sim =
                crate::similarity::osa_distance(q.folded.as_bytes(), l.folded.as_bytes(), (longer / 2).min(reach))
                    .map_or(0.0, |d| 1.0 - d as f32 / longer as f32);
            if sim >= config.leftover_min_similarity && best.is_none_or(|(_, b)| sim > b) {
                best = Some((li, sim));
            }
        }
        if let Some((li, sim)) = best {
            mark(query_used, qi);
            mark(listed_used, li);
            let weight = 0.5 * (q.weight + listed.get(li).map_or(0.0, |l| l.weight));
            pairs.push(Pair {
                query: vec![qi],
                listed: vec![li],
                similarity: sim,
                weight,
                how: Some(TokenMatch::Edit),
            });
        }
    }
    // Short parts one letter apart that start alike (`aj` / `al`, `waj` / `wah`): a garbled
    // particle or form weighs what the listed one does; a short name part gets half credit.
    for (qi, q) in query.iter().enumerate() {
        if query_used.get(qi) != Some(&false) || q.class != TokenClass::Name || q.raw.len() < 2 {
            continue;
        }
        let found = listed.iter().enumerate().find(|(li, l)| {
            listed_used.get(*li) == Some(&false)
                && l.class != TokenClass::Initial
                && l.raw.len() >= 2
                && q.raw.len().min(l.raw.len()) <= 3
                && q.raw.len().max(l.raw.len()) <= 4
                && q.raw.as_bytes().first() == l.raw.as_bytes().first()
                && crate::similarity::osa_distance(q.raw.as_bytes(), l.raw.as_bytes(), 1).is_some()
        });
        if let Some((li, l)) = found {
            let (similarity, weight) = if l.class == TokenClass::Name {
                (config.short_leftover_similarity, 0.5 * (q.weight + l.weight))
            } else {
                (config.initial_similarity, q.weight.min(l.weight))
            };
            mark(query_used, qi);
            mark(listed_used, li);
            pairs.push(Pair { query: vec![qi], listed: vec![li], similarity, weight, how: Some(TokenMatch::Edit) });
        }
    }
}

fn mark(used: &mut [bool], i: usize) {
    if let Some(u) = used.get_mut(i) {
        *u = true;
    }
}
