//! The evaluation set and its scoring.
//!
//! [`generate`] builds a deterministic set of queries from OFAC SDN entries (primary names and
//! aliases):
//! - positives, each one listed name changed one or two ways: word order, a middle name
//!   dropped, a typo, accents added or removed, a transliteration variant, written in Cyrillic,
//!   a company-form variant;
//! - negatives: ordinary personal names (given and family names of many cultures), company
//!   names (made of ordinary company words and a form), and listed people's given names with a
//!   different surname. A negative is kept only if it is not on any indexed list: its name
//!   tokens (romanization keys, particles and company forms aside) must not all appear in one
//!   listed name.
//!
//! [`evaluate`] screens every query once and reports recall@1, recall@5 (the expected entry is
//! the first / among the first five matches at or above the threshold) and the false-positive
//! rate (share of negatives with any match at or above the threshold), with queries per second.
//! [`EvalSet::export`] writes the queries and the indexed names as JSON for the RapidFuzz
//! baseline (`scripts/screening_baseline.py`).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use lessee_lists::{AliasQuality, EntityType, Entry, ListKind};
use serde::{Deserialize, Serialize};

use crate::normalize::{self, TokenClass, classify, fold};
use crate::screener::{Match, NameKind, Query, Screener};

/// A small deterministic generator (SplitMix64): the same seed gives the same set everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 1.0 < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

/// How a query was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    WordOrder,
    DropMiddle,
    Typo,
    Accents,
    Transliteration,
    Cyrillic,
    CompanyForm,
    /// Negative: an ordinary personal name.
    PersonName,
    /// Negative: an ordinary company name.
    CompanyName,
    /// Negative: a listed person's given names with another surname.
    ListedGivenName,
}

impl Variant {
    pub fn is_positive(self) -> bool {
        !matches!(self, Variant::PersonName | Variant::CompanyName | Variant::ListedGivenName)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    pub list: String,
    pub entity_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalQuery {
    pub id: usize,
    pub name: String,
    /// The transformations applied (one or two for positives, one for negatives).
    pub variants: Vec<Variant>,
    /// The listed name it was made from (positives) or the listed person whose given names it
    /// borrows (those negatives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The entry a positive must find; `None` for negatives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expected>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalConfig {
    pub seed: u64,
    pub positives: usize,
    pub negatives: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig { seed: 13984, positives: 2000, negatives: 2000 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalSet {
    pub config: EvalConfig,
    pub queries: Vec<EvalQuery>,
}

/// One indexed name, for the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedName {
    pub list: String,
    pub entity_id: String,
    pub name: String,
    pub kind: NameKind,
}

/// What `scripts/screening_baseline.py` reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    pub config: EvalConfig,
    pub queries: Vec<EvalQuery>,
    pub names: Vec<ExportedName>,
}

impl EvalSet {
    /// The set with every name the screener indexes, as JSON.
    pub fn export(&self, screener: &Screener) -> Result<String, serde_json::Error> {
        let export = Export {
            config: self.config.clone(),
            queries: self.queries.clone(),
            names: screener
                .indexed_names()
                .map(|(list, id, name, kind)| ExportedName {
                    list: list.to_owned(),
                    entity_id: id.to_owned(),
                    name: name.to_owned(),
                    kind,
                })
                .collect(),
        };
        serde_json::to_string(&export)
    }
}

/// Name tokens that identify (romanization keys, without particles, forms and initials).
fn key_tokens(name: &str) -> Vec<String> {
    let mut keys: Vec<String> =
        normalize::tokens(name).into_iter().filter(|t| classify(t) == TokenClass::Name).map(|t| fold(&t)).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Tells whether a name's identifying tokens all appear in one indexed name.
struct ListedNames {
    by_token: HashMap<String, Vec<u32>>,
    names: Vec<HashSet<String>>,
}

impl ListedNames {
    fn new(screener: &Screener) -> Self {
        let mut by_token: HashMap<String, Vec<u32>> = HashMap::new();
        let mut names = Vec::new();
        for (i, (_, _, name, _)) in screener.indexed_names().enumerate() {
            let keys = key_tokens(name);
            let id = u32::try_from(i).unwrap_or(u32::MAX);
            for k in &keys {
                by_token.entry(k.clone()).or_default().push(id);
            }
            names.push(keys.into_iter().collect());
        }
        ListedNames { by_token, names }
    }

    fn covers(&self, name: &str) -> bool {
        let keys = key_tokens(name);
        let Some(rarest) = keys.iter().min_by_key(|k| self.by_token.get(*k).map_or(0, Vec::len)) else {
            return true;
        };
        self.by_token
            .get(rarest)
            .into_iter()
            .flatten()
            .any(|&id| self.names.get(id as usize).is_some_and(|set| keys.iter().all(|k| set.contains(k))))
    }
}

/// A listed name split for individuals (`SURNAME, Given Middle`) or kept whole for entities.
#[derive(Debug, Clone)]
struct Source<'a> {
    entry: &'a Entry,
    text: &'a str,
    surname: Vec<String>,
    given: Vec<String>,
}

impl Source<'_> {
    fn individual(&self) -> bool {
        self.entry.entity_type == EntityType::Individual
    }

    /// Given names then surname, title-cased.
    fn natural(&self) -> Vec<String> {
        self.given.iter().chain(&self.surname).map(|w| title(w)).collect()
    }
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

fn title(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut start = true;
    for c in word.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = !c.is_alphanumeric() && c != '\'';
    }
    out
}

fn split_name<'a>(entry: &'a Entry, text: &'a str) -> Source<'a> {
    let (surname, given) = match text.split_once(',') {
        Some((s, g)) if entry.entity_type == EntityType::Individual => (words(s), words(g)),
        _ => (Vec::new(), words(text)),
    };
    Source { entry, text, surname, given }
}

/// Generates the evaluation set from OFAC SDN entries; negatives are checked against every name
/// the screener indexes.
pub fn generate(ofac: &[Entry], screener: &Screener, config: &EvalConfig) -> EvalSet {
    let mut rng = Rng::new(config.seed);
    let listed = ListedNames::new(screener);
    let sources: Vec<Source<'_>> = ofac
        .iter()
        .filter(|e| e.list == ListKind::OfacSdn)
        .filter(|e| matches!(e.entity_type, EntityType::Individual | EntityType::Entity))
        .flat_map(|e| {
            std::iter::once(e.name.as_str())
                .chain(e.aliases.iter().filter(|a| a.quality != AliasQuality::Weak).map(|a| a.name.as_str()))
                .map(move |t| split_name(e, t))
        })
        .filter(|s| s.given.len() + s.surname.len() >= 2 || s.text.len() >= 6)
        .collect();
    // A name that more than five entries share cannot be ranked into a top five: leave such
    // names out (they would measure chance, not matching).
    let mut shared: HashMap<String, HashSet<&str>> = HashMap::new();
    for s in &sources {
        shared.entry(normalize::normalize(s.text)).or_default().insert(s.entry.entity_id.as_str());
    }
    let sources: Vec<Source<'_>> = sources
        .into_iter()
        .filter(|s| shared.get(&normalize::normalize(s.text)).is_none_or(|ids| ids.len() <= 5))
        .collect();
    let individuals: Vec<&Source<'_>> =
        sources.iter().filter(|s| s.individual() && !s.given.is_empty() && !s.surname.is_empty()).collect();
    let mut queries = Vec::new();
    let mut attempts = 0;
    while queries.len() < config.positives && attempts < config.positives * 20 {
        attempts += 1;
        let Some(source) = rng.pick(&sources) else {
            break;
        };
        if let Some((name, variants)) = positive(source, &mut rng)
            && !normalize::tokens(&name).is_empty()
        {
            queries.push(EvalQuery {
                id: queries.len(),
                name,
                variants,
                source: Some(source.text.to_owned()),
                expected: Some(Expected {
                    list: ListKind::OfacSdn.as_str().to_owned(),
                    entity_id: source.entry.entity_id.clone(),
                }),
            });
        }
    }
    let mut negatives = 0;
    let mut attempts = 0;
    let mut seen: HashSet<String> = HashSet::new();
    while negatives < config.negatives && attempts < config.negatives * 50 {
        attempts += 1;
        let roll = rng.below(100);
        let (name, variant, source) = if roll < 50 {
            (person_name(&mut rng), Variant::PersonName, None)
        } else if roll < 75 {
            (company_name(&mut rng), Variant::CompanyName, None)
        } else {
            let Some(person) = rng.pick(&individuals) else {
                continue;
            };
            let given: Vec<String> = person.given.iter().map(|w| title(w)).collect();
            let Some(surname) = rng.pick(FAMILY_NAMES) else {
                continue;
            };
            let name = format!("{} {}", given.join(" "), surname);
            (name, Variant::ListedGivenName, Some(person.text.to_owned()))
        };
        if listed.covers(&name) || !seen.insert(normalize::normalize(&name)) {
            continue;
        }
        negatives += 1;
        queries.push(EvalQuery { id: queries.len(), name, variants: vec![variant], source, expected: None });
    }
    EvalSet { config: config.clone(), queries }
}

/// One or two transformations of a listed name.
fn positive(source: &Source<'_>, rng: &mut Rng) -> Option<(String, Vec<Variant>)> {
    let first = if source.individual() {
        *rng.pick(&[
            Variant::WordOrder,
            Variant::WordOrder,
            Variant::DropMiddle,
            Variant::DropMiddle,
            Variant::Typo,
            Variant::Typo,
            Variant::Accents,
            Variant::Transliteration,
            Variant::Transliteration,
            Variant::Cyrillic,
        ])?
    } else {
        *rng.pick(&[
            Variant::WordOrder,
            Variant::DropMiddle,
            Variant::Typo,
            Variant::Typo,
            Variant::Accents,
            Variant::Transliteration,
            Variant::Cyrillic,
            Variant::CompanyForm,
            Variant::CompanyForm,
            Variant::CompanyForm,
        ])?
    };
    let mut words = apply_structural(first, source, rng);
    let mut variants = vec![first];
    // A second, textual change now and then (never two structural ones).
    if rng.chance(0.3) {
        let second = *rng.pick(&[Variant::Typo, Variant::Accents, Variant::Transliteration])?;
        if second != first && first != Variant::Cyrillic {
            words = apply_textual(second, words, rng);
            variants.push(second);
        }
    }
    if !matches!(first, Variant::WordOrder | Variant::DropMiddle | Variant::CompanyForm) {
        words = apply_textual(first, words, rng);
    }
    let name = words.join(" ");
    (!name.trim().is_empty()).then_some((name, variants))
}

/// The word-level part of a variant (and the natural order every variant starts from).
fn apply_structural(variant: Variant, source: &Source<'_>, rng: &mut Rng) -> Vec<String> {
    let mut words = source.natural();
    match variant {
        Variant::WordOrder => {
            if source.individual() {
                if rng.chance(0.5) || source.surname.is_empty() {
                    shuffle(&mut words, rng);
                }
            } else {
                // Two adjacent words of the name itself (legal forms keep their place, words of
                // a multi-word form such as `Aktsionernoe Obshchestvo` included).
                let in_form = legal_form_words(&words);
                let is_name = |i: usize| {
                    words.get(i).is_some_and(|w| {
                        let t = normalize::normalize(w);
                        !t.is_empty()
                            && !t.contains(' ')
                            && classify(&t) == TokenClass::Name
                            && w.chars().any(char::is_alphabetic)
                            && w.chars().filter(|c| c.is_alphabetic()).count() > 2
                    }) && !in_form.get(i).copied().unwrap_or(true)
                };
                let pairs: Vec<usize> =
                    (0..words.len().saturating_sub(1)).filter(|&i| is_name(i) && is_name(i + 1)).collect();
                if let Some(&i) = rng.pick(&pairs) {
                    words.swap(i, i + 1);
                    // A comma that closed the first word moves with the position.
                    let (a, b) = (words.get(i).cloned(), words.get(i + 1).cloned());
                    if let (Some(a), Some(b)) = (a, b)
                        && a.ends_with(',')
                    {
                        let a = a.trim_end_matches(',').to_owned();
                        words.splice(i..i + 2, [a, format!("{b},")]);
                    }
                }
            }
        }
        Variant::DropMiddle => {
            if source.individual() && words.len() >= 3 {
                // Drop one of the middle names (never the first given name, which a title such
                // as `Haji` does not count as, nor the surname).
                let first = words.iter().position(|w| !normalize::is_honorific_word(w)).unwrap_or(0);
                let candidates: Vec<usize> = (first + 1..words.len() - 1).collect();
                if let Some(&middle) = rng.pick(&candidates) {
                    words.remove(middle);
                }
            } else if !source.individual() && words.len() >= 4 {
                // Never the first or last word of an entity name, nor a word of its legal form.
                let in_form = legal_form_words(&words);
                let positions: Vec<usize> = (1..words.len() - 1)
                    .filter(|&i| {
                        words.get(i).is_some_and(|w| {
                            let t = normalize::normalize(w);
                            !t.is_empty() && !t.contains(' ') && classify(&t) == TokenClass::Name
                        }) && !in_form.get(i).copied().unwrap_or(true)
                    })
                    .collect();
                if let Some(&i) = rng.pick(&positions) {
                    words.remove(i);
                }
            } else if words.len() >= 2 {
                words.reverse();
            }
        }
        Variant::CompanyForm => company_form(&mut words, rng),
        _ => {}
    }
    words
}

/// Which words belong to a legal form of two or more words (`Aktsionernoe Obshchestvo`,
/// `Closed Joint Stock Company`, `S.P.R. de R.L.`): a run of words that normalizes to company
/// forms only, fewer tokens than words. A single word that is a form by itself (`Company`) is
/// told apart by its class already.
fn legal_form_words(words: &[String]) -> Vec<bool> {
    const LONGEST: usize = 7;
    let mut marked = vec![false; words.len()];
    for start in 0..words.len() {
        for end in start + 2..=(start + LONGEST).min(words.len()) {
            let Some(run) = words.get(start..end) else { continue };
            let tokens = normalize::tokens(&run.join(" "));
            if !tokens.is_empty() && tokens.len() < run.len() && tokens.iter().all(|t| classify(t) == TokenClass::Form)
            {
                for m in marked.get_mut(start..end).into_iter().flatten() {
                    *m = true;
                }
            }
        }
    }
    marked
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i + 1);
        items.swap(i, j);
    }
}

fn apply_textual(variant: Variant, mut words: Vec<String>, rng: &mut Rng) -> Vec<String> {
    match variant {
        Variant::Typo => {
            let long: Vec<usize> =
                (0..words.len()).filter(|&i| words.get(i).is_some_and(|w| w.chars().count() >= 4)).collect();
            if let Some(&i) = rng.pick(&long)
                && let Some(w) = words.get_mut(i)
            {
                *w = typo(w, rng);
            }
        }
        Variant::Accents => {
            let has_accents = words.iter().any(|w| !w.is_ascii());
            if has_accents {
                words = words.iter().map(|w| any_ascii::any_ascii(w)).collect();
            } else {
                words = words.iter().map(|w| accent(w, rng)).collect();
            }
        }
        Variant::Transliteration => {
            let mut order: Vec<usize> = (0..words.len()).collect();
            shuffle(&mut order, rng);
            let mut changed = 0;
            for i in order {
                if changed >= 2 {
                    break;
                }
                // Romanization varies in names, not in particles or short words.
                if let Some(w) = words.get_mut(i)
                    && w.chars().count() >= 4
                    && classify(&w.to_lowercase()) == TokenClass::Name
                    && let Some(v) = transliteration(w, rng)
                {
                    *w = v;
                    changed += 1;
                }
            }
        }
        Variant::Cyrillic => {
            words = words.iter().map(|w| to_cyrillic(w)).collect();
        }
        _ => {}
    }
    words
}

/// One random edit: substitution, deletion, insertion or transposition (not the first letter).
fn typo(word: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let n = chars.len();
    if n < 4 {
        return word.to_owned();
    }
    let at = 1 + rng.below(n - 1);
    let letter = char::from(b'a' + (rng.below(26) as u8));
    let upper = chars.iter().all(|c| !c.is_lowercase());
    let letter = if upper { letter.to_ascii_uppercase() } else { letter };
    match rng.below(4) {
        0 => {
            if let Some(c) = chars.get_mut(at) {
                *c = letter;
            }
        }
        1 => {
            chars.remove(at);
        }
        2 => chars.insert(at, letter),
        _ => {
            if at + 1 < n {
                chars.swap(at, at + 1);
            } else {
                chars.swap(at - 1, at);
            }
        }
    }
    chars.into_iter().collect()
}

fn accent(word: &str, rng: &mut Rng) -> String {
    word.chars()
        .map(|c| {
            let options: &[char] = match c {
                'a' => &['á', 'à', 'â', 'ä', 'ā'],
                'e' => &['é', 'è', 'ê', 'ë'],
                'i' => &['í', 'ï', 'î'],
                'o' => &['ó', 'ö', 'ô', 'ø'],
                'u' => &['ú', 'ü', 'û'],
                'c' => &['ç', 'č'],
                'n' => &['ñ'],
                's' => &['š', 'ş'],
                'z' => &['ž'],
                'A' => &['Á', 'Ä'],
                'E' => &['É', 'È'],
                'O' => &['Ö', 'Ó'],
                'U' => &['Ü'],
                'I' => &['Í'],
                _ => &[],
            };
            if !options.is_empty() && rng.chance(0.35) { rng.pick(options).copied().unwrap_or(c) } else { c }
        })
        .collect()
}

/// Romanization variants as seen between lists and in applications.
const TRANSLITERATIONS: &[(&str, &str)] = &[
    ("iy", "i"),
    ("iy", "ii"),
    ("iy", "y"),
    ("yev", "ev"),
    ("ye", "e"),
    ("ov", "off"),
    ("ev", "eff"),
    ("kh", "h"),
    ("kh", "ch"),
    ("ou", "u"),
    ("u", "ou"),
    ("yu", "iu"),
    ("ya", "ia"),
    ("y", "j"),
    ("j", "dj"),
    ("j", "zh"),
    ("zh", "j"),
    ("ch", "tch"),
    ("sh", "sch"),
    ("x", "ks"),
    ("ks", "x"),
    ("ei", "ey"),
    ("ey", "ei"),
    ("ai", "ay"),
    ("ay", "ai"),
    ("ee", "i"),
    ("i", "ee"),
    ("oo", "u"),
    ("q", "k"),
    ("k", "q"),
    ("ph", "f"),
    ("w", "v"),
    ("v", "w"),
    ("mm", "m"),
    ("ss", "s"),
    ("dd", "d"),
    ("ll", "l"),
    ("aa", "a"),
    ("ah", "a"),
    ("e", "a"),
    ("u", "o"),
    ("o", "u"),
    ("i", "e"),
];

const NAME_VARIANTS: &[&[&str]] = &[
    &["Mohammed", "Muhammad", "Mohamed", "Mohammad", "Muhammed", "Mohamad"],
    &["Ahmed", "Ahmad", "Akhmed"],
    &["Hussein", "Husain", "Hussain", "Husayn", "Hossein"],
    &["Hassan", "Hasan"],
    &["Yusuf", "Yousef", "Youssef", "Yousif"],
    &["Omar", "Umar"],
    &["Osama", "Usama"],
    &["Abdullah", "Abdallah", "Abdulla"],
    &["Aleksandr", "Alexander", "Alexandr"],
    &["Aleksey", "Alexei", "Alexey", "Aleksei"],
    &["Dmitriy", "Dmitry", "Dmitri", "Dmitrii"],
    &["Yuriy", "Yuri", "Yury", "Iurii"],
    &["Sergey", "Sergei"],
    &["Andrey", "Andrei"],
    &["Nikolay", "Nikolai"],
    &["Evgeniy", "Yevgeniy", "Evgeny", "Evgenii"],
    &["Mikhail", "Mihail"],
    &["Mahmoud", "Mahmud"],
    &["Mustafa", "Mostafa", "Moustafa"],
    &["Ibrahim", "Ebrahim"],
    &["Khalid", "Khaled"],
    &["Abdul", "Abdel", "Abd"],
];

/// A transliteration variant of one word, keeping its case style; `None` if no rule applies.
fn transliteration(word: &str, rng: &mut Rng) -> Option<String> {
    let lower = word.to_lowercase();
    for group in NAME_VARIANTS {
        if group.iter().any(|v| v.to_lowercase() == lower) {
            let others: Vec<&&str> = group.iter().filter(|v| v.to_lowercase() != lower).collect();
            return rng.pick(&others).map(|v| restyle(v, word));
        }
    }
    let applicable: Vec<&(&str, &str)> =
        TRANSLITERATIONS.iter().filter(|(from, _)| lower.get(1..).is_some_and(|rest| rest.contains(from))).collect();
    let (from, to) = rng.pick(&applicable)?;
    // Replace one occurrence after the first letter.
    let (head, rest) = lower.split_at(lower.chars().next()?.len_utf8());
    let replaced = format!("{head}{}", rest.replacen(from, to, 1));
    Some(restyle(&replaced, word))
}

/// `text` in the case style of `like` (upper, or title).
fn restyle(text: &str, like: &str) -> String {
    if like.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase) && like.len() > 1 {
        text.to_uppercase()
    } else {
        title(text)
    }
}

/// Latin to Cyrillic, the way a Russian speaker would write a romanized name.
pub fn to_cyrillic(word: &str) -> String {
    const MULTI: &[(&str, &str)] = &[
        ("shch", "щ"),
        ("sch", "щ"),
        ("kh", "х"),
        ("zh", "ж"),
        ("ch", "ч"),
        ("sh", "ш"),
        ("ts", "ц"),
        ("tz", "ц"),
        ("ya", "я"),
        ("yu", "ю"),
        ("yo", "ё"),
        ("ye", "е"),
        ("iy", "ий"),
        ("yy", "ый"),
        ("ph", "ф"),
        ("th", "т"),
        ("ck", "к"),
        ("oo", "у"),
        ("ee", "и"),
        ("ou", "у"),
    ];
    let lower = any_ascii::any_ascii(word).to_lowercase();
    let mut out = String::new();
    let mut rest = lower.as_str();
    let mut prev_vowel = false;
    while let Some(c) = rest.chars().next() {
        if let Some((from, to)) = MULTI.iter().find(|(f, _)| rest.starts_with(f)) {
            out.push_str(to);
            rest = rest.get(from.len()..).unwrap_or_default();
            prev_vowel = to.ends_with(['я', 'ю', 'ё', 'е', 'у', 'и']);
            continue;
        }
        let to = match c {
            'a' => "а",
            'b' => "б",
            'c' => "к",
            'd' => "д",
            'e' => {
                if out.is_empty() {
                    "э"
                } else {
                    "е"
                }
            }
            'f' => "ф",
            'g' => "г",
            'h' => "х",
            'i' => "и",
            'j' => "дж",
            'k' => "к",
            'l' => "л",
            'm' => "м",
            'n' => "н",
            'o' => "о",
            'p' => "п",
            'q' => "к",
            'r' => "р",
            's' => "с",
            't' => "т",
            'u' => "у",
            'v' | 'w' => "в",
            'x' => "кс",
            'y' => {
                if prev_vowel {
                    "й"
                } else {
                    "ы"
                }
            }
            'z' => "з",
            '\'' => "ь",
            other => {
                out.push(other);
                rest = rest.get(other.len_utf8()..).unwrap_or_default();
                prev_vowel = false;
                continue;
            }
        };
        out.push_str(to);
        prev_vowel = matches!(c, 'a' | 'e' | 'i' | 'o' | 'u');
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    title(&out)
}

/// Company forms by class, short and long, Latin and Cyrillic.
const FORM_CLASSES: &[&[&str]] = &[
    &["LLC", "L.L.C.", "Limited Liability Company", "OOO", "ООО", "Obshchestvo s Ogranichennoy Otvetstvennostyu"],
    &[
        "JSC",
        "AO",
        "Joint Stock Company",
        "OJSC",
        "Open Joint Stock Company",
        "PJSC",
        "Public Joint Stock Company",
        "ZAO",
        "CJSC",
        "Closed Joint Stock Company",
        "PAO",
        "АО",
        "ОАО",
    ],
    &["Ltd", "Ltd.", "Limited", "Co. Ltd.", "Company Limited", "Ltda."],
    &["Inc", "Inc.", "Incorporated", "Corp", "Corporation"],
    &["GmbH"],
    &["AG"],
    &["S.A.", "SA"],
    &["S.R.L.", "SRL"],
    &["FZE", "FZCO", "Free Zone Establishment"],
    &["PLC", "Public Limited Company"],
];

/// Replaces, removes or adds a company form.
fn company_form(words: &mut Vec<String>, rng: &mut Rng) {
    // Find a form at the end (one to four words) or at the start.
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let mut found: Option<(usize, usize, usize)> = None; // (start, len, class)
    for (class, forms) in FORM_CLASSES.iter().enumerate() {
        for form in *forms {
            let parts: Vec<String> = form.split_whitespace().map(|p| p.to_lowercase()).collect();
            let len = parts.len();
            if len == 0 || len > lower.len() {
                continue;
            }
            let trimmed = |w: &String| w.trim_end_matches([',', '.']).to_owned();
            let strip = |p: &String| p.trim_end_matches([',', '.']).to_owned();
            let at_end =
                lower.get(lower.len() - len..).is_some_and(|tail| tail.iter().map(trimmed).eq(parts.iter().map(strip)));
            let at_start = lower.get(..len).is_some_and(|head| head.iter().map(trimmed).eq(parts.iter().map(strip)));
            let candidate = if at_end && lower.len() > len {
                Some((lower.len() - len, len, class))
            } else if at_start && lower.len() > len {
                Some((0, len, class))
            } else {
                None
            };
            if let Some(c) = candidate
                && found.is_none_or(|f| f.1 < c.1)
            {
                found = Some(c);
            }
        }
    }
    match found {
        Some((start, len, class)) => {
            let forms = FORM_CLASSES.get(class).copied().unwrap_or_default();
            let current: String = words.get(start..start + len).map(|w| w.join(" ").to_lowercase()).unwrap_or_default();
            let others: Vec<&&str> =
                forms.iter().filter(|f| f.to_lowercase() != current.trim_end_matches([',', '.'])).collect();
            let replacement = if rng.chance(0.2) || others.is_empty() {
                Vec::new()
            } else {
                rng.pick(&others).map(|f| f.split_whitespace().map(str::to_owned).collect()).unwrap_or_default()
            };
            words.splice(start..start + len, replacement);
            // Drop a trailing comma left on the word before the form.
            if let Some(last) = words.last_mut() {
                *last = last.trim_end_matches(',').to_owned();
            }
        }
        None => {
            let class = rng.pick(FORM_CLASSES).copied().unwrap_or_default();
            if let Some(form) = rng.pick(class) {
                let parts = form.split_whitespace().map(str::to_owned);
                if rng.chance(0.7) {
                    words.extend(parts);
                } else {
                    let mut new: Vec<String> = parts.collect();
                    new.append(words);
                    *words = new;
                }
            }
        }
    }
}

/// Given and family names across cultures.
pub const GIVEN_NAMES: &[&str] = &[
    "James",
    "John",
    "Robert",
    "Michael",
    "William",
    "David",
    "Richard",
    "Joseph",
    "Thomas",
    "Charles",
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Barbara",
    "Susan",
    "Jessica",
    "Sarah",
    "Karen",
    "Emily",
    "Olivia",
    "Emma",
    "Sophia",
    "Liam",
    "Noah",
    "Oliver",
    "Lucas",
    "Hans",
    "Klaus",
    "Jürgen",
    "Stefan",
    "Anke",
    "Ursula",
    "Pierre",
    "Jean",
    "François",
    "Camille",
    "Chloé",
    "Marco",
    "Giulia",
    "Luca",
    "Francesca",
    "Alessandro",
    "José",
    "María",
    "Carmen",
    "Javier",
    "Lucía",
    "Alejandro",
    "Diego",
    "Sofía",
    "João",
    "Ana",
    "Pedro",
    "Beatriz",
    "Piotr",
    "Katarzyna",
    "Tomasz",
    "Agnieszka",
    "Jan",
    "Eva",
    "Lars",
    "Ingrid",
    "Sven",
    "Astrid",
    "Mikko",
    "Aino",
    "Olga",
    "Natalia",
    "Tatiana",
    "Irina",
    "Svetlana",
    "Pavel",
    "Igor",
    "Oleg",
    "Anton",
    "Kirill",
    "Maxim",
    "Roman",
    "Denis",
    "Artem",
    "Ilya",
    "Daria",
    "Polina",
    "Ksenia",
    "Fatima",
    "Aisha",
    "Layla",
    "Zainab",
    "Amina",
    "Karim",
    "Tariq",
    "Samir",
    "Nabil",
    "Rania",
    "Leila",
    "Mehmet",
    "Ayşe",
    "Emre",
    "Zeynep",
    "Burak",
    "Elif",
    "Reza",
    "Maryam",
    "Dariush",
    "Shirin",
    "Wei",
    "Li",
    "Fang",
    "Jing",
    "Ming",
    "Xiaoling",
    "Hiroshi",
    "Yuki",
    "Takeshi",
    "Akiko",
    "Haruto",
    "Sakura",
    "Min-jun",
    "Ji-woo",
    "Seo-yeon",
    "Raj",
    "Priya",
    "Amit",
    "Sunita",
    "Arjun",
    "Deepika",
    "Vikram",
    "Ananya",
    "Nguyen",
    "Linh",
    "Thanh",
    "Kwame",
    "Ama",
    "Chinedu",
    "Ngozi",
    "Oluwaseun",
    "Thabo",
    "Zanele",
    "Juan",
    "Gabriel",
    "Isabella",
    "Mateo",
    "Valentina",
    "Santiago",
    "Camila",
    "Ethan",
    "Ava",
    "Mia",
    "Chen",
    "Yan",
    "Kenji",
    "Aiko",
    "Siddharth",
    "Kavya",
    "Björn",
    "Sigrid",
    "Dmitri",
    "Anastasia",
    "Nikita",
    "Vera",
    "Bogdan",
    "Milena",
];

pub const FAMILY_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Parker",
    "Collins",
    "Edwards",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
    "Morgan",
    "Cooper",
    "Peterson",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schulz",
    "Dubois",
    "Durand",
    "Lefebvre",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Fernández",
    "González",
    "Rodríguez",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Díaz",
    "Moreno",
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Costa",
    "Nowak",
    "Kowalski",
    "Wiśniewski",
    "Wójcik",
    "Kowalczyk",
    "Novák",
    "Svoboda",
    "Dvořák",
    "Jansen",
    "de Vries",
    "van Dijk",
    "Bakker",
    "Visser",
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Hansen",
    "Nielsen",
    "Virtanen",
    "Korhonen",
    "Smirnova",
    "Kuznetsova",
    "Popova",
    "Sokolova",
    "Lebedeva",
    "Kozlova",
    "Novikova",
    "Morozova",
    "Volkova",
    "Solovyova",
    "Vasilyeva",
    "Zaytseva",
    "Pavlova",
    "Semyonova",
    "Golubeva",
    "Vinogradova",
    "Bogdanova",
    "Vorobyova",
    "Fyodorova",
    "Mikhaylova",
    "Belyaeva",
    "Tarasova",
    "Belova",
    "Komarova",
    "Orlova",
    "Kiseleva",
    "Makarova",
    "Andreeva",
    "Kovalenko",
    "Bondarenko",
    "Tkachenko",
    "Kravchenko",
    "Oliynyk",
    "Shevchuk",
    "Yilmaz",
    "Kaya",
    "Demir",
    "Şahin",
    "Çelik",
    "Yıldız",
    "Yıldırım",
    "Öztürk",
    "Aydın",
    "Özdemir",
    "Arslan",
    "Doğan",
    "Kılıç",
    "Nakamura",
    "Tanaka",
    "Suzuki",
    "Takahashi",
    "Watanabe",
    "Yamamoto",
    "Kobayashi",
    "Kato",
    "Yoshida",
    "Yamada",
    "Sasaki",
    "Matsumoto",
    "Inoue",
    "Kimura",
    "Kim",
    "Lee",
    "Park",
    "Choi",
    "Jung",
    "Kang",
    "Cho",
    "Yoon",
    "Jang",
    "Lim",
    "Wang",
    "Zhang",
    "Liu",
    "Huang",
    "Zhao",
    "Zhou",
    "Wu",
    "Xu",
    "Sun",
    "Ma",
    "Zhu",
    "Hu",
    "Guo",
    "He",
    "Gao",
    "Lin",
    "Luo",
    "Zheng",
    "Liang",
    "Sharma",
    "Verma",
    "Gupta",
    "Patel",
    "Reddy",
    "Nair",
    "Iyer",
    "Menon",
    "Das",
    "Banerjee",
    "Chatterjee",
    "Mukherjee",
    "Joshi",
    "Kapoor",
    "Malhotra",
    "Agarwal",
    "Tran",
    "Le",
    "Pham",
    "Hoang",
    "Phan",
    "Vu",
    "Dang",
    "Bui",
    "Do",
    "Ho",
    "Ngo",
    "Duong",
    "Okafor",
    "Adeyemi",
    "Mensah",
    "Owusu",
    "Boateng",
    "Nkosi",
    "Dlamini",
    "Mokoena",
    "Kamau",
    "Otieno",
    "Wanjiru",
    "Haddad",
    "Khoury",
    "Saleh",
    "Nasser",
    "Mansour",
    "Farouk",
    "Aziz",
    "Karimi",
    "Ahmadi",
    "Hosseini",
    "Moradi",
    "Rezaei",
    "Jafari",
    "Rahimi",
    "Kazemi",
    "Papadopoulos",
    "Georgiou",
    "Nikolaidis",
    "Horvat",
    "Kovačević",
    "Babić",
    "Jovanović",
    "Petrović",
    "Nikolić",
    "Popescu",
    "Ionescu",
    "Nagy",
    "Tóth",
    "Szabó",
    "O'Brien",
    "O'Connor",
    "Murray",
    "Quinn",
    "MacDonald",
    "Fraser",
    "Ramírez",
    "Torres",
    "Flores",
    "Rivera",
    "Herrera",
    "Medina",
    "Castillo",
    "Vargas",
    "Mendoza",
];

/// Words of ordinary company names.
const COMPANY_FIRST: &[&str] = &[
    "Blue",
    "Green",
    "Silver",
    "Golden",
    "Northern",
    "Southern",
    "Eastern",
    "Western",
    "Pacific",
    "Atlantic",
    "Summit",
    "Pioneer",
    "Evergreen",
    "Redwood",
    "Maple",
    "Oak",
    "Cedar",
    "Granite",
    "Crystal",
    "Harbor",
    "River",
    "Lake",
    "Mountain",
    "Valley",
    "Prairie",
    "Coastal",
    "Urban",
    "Metro",
    "Sunrise",
    "Sunset",
    "Horizon",
    "Bright",
    "Clear",
    "Swift",
    "Rapid",
    "Precision",
    "Quantum",
    "Nimbus",
    "Vertex",
    "Apex",
    "Zenith",
    "Nova",
    "Stellar",
    "Orbit",
    "Falcon",
    "Eagle",
    "Lion",
    "Bear",
    "Wolf",
    "Fox",
    "Heron",
    "Willow",
    "Birch",
    "Aspen",
    "Juniper",
    "Lotus",
    "Orchid",
    "Sapphire",
    "Emerald",
    "Ruby",
    "Amber",
    "Ivory",
    "Copper",
    "Iron",
    "Bluebird",
    "Lighthouse",
    "Keystone",
    "Cornerstone",
    "Riverside",
    "Hillside",
    "Brookfield",
    "Fairview",
    "Greenfield",
    "Westbrook",
    "Oakridge",
    "Pinecrest",
    "Stonebridge",
    "Clearwater",
    "Bayview",
    "Highland",
    "Lowland",
    "Midland",
    "Heartland",
    "Frontier",
    "Liberty",
    "Unity",
    "Harmony",
    "Trinity",
    "Alpine",
    "Nordic",
    "Baltic",
    "Adriatic",
    "Andes",
    "Sahara",
    "Kalahari",
];

const COMPANY_SECOND: &[&str] = &[
    "Logistics",
    "Software",
    "Consulting",
    "Foods",
    "Bakery",
    "Dental",
    "Design",
    "Media",
    "Analytics",
    "Robotics",
    "Solar",
    "Wind",
    "Water",
    "Farms",
    "Dairy",
    "Coffee",
    "Tea",
    "Textiles",
    "Furniture",
    "Printing",
    "Publishing",
    "Studios",
    "Games",
    "Labs",
    "Health",
    "Clinic",
    "Pharmacy",
    "Optics",
    "Audio",
    "Cycles",
    "Motors",
    "Garage",
    "Tires",
    "Paints",
    "Plastics",
    "Packaging",
    "Paper",
    "Glass",
    "Ceramics",
    "Tools",
    "Hardware",
    "Electric",
    "Plumbing",
    "Roofing",
    "Landscaping",
    "Cleaning",
    "Catering",
    "Events",
    "Travel",
    "Tours",
    "Hotels",
    "Realty",
    "Properties",
    "Construction",
    "Engineering",
    "Architects",
    "Accounting",
    "Legal",
    "Insurance",
    "Capital",
    "Ventures",
    "Partners",
    "Advisors",
    "Education",
    "Academy",
    "Learning",
    "Fitness",
    "Yoga",
    "Pets",
    "Veterinary",
    "Florist",
    "Gardens",
    "Nursery",
    "Brewery",
    "Winery",
    "Distillery",
    "Outfitters",
    "Apparel",
    "Footwear",
    "Jewelry",
    "Cosmetics",
];

const COMPANY_THIRD: &[&str] = &[
    "",
    "",
    "Group",
    "Services",
    "Solutions",
    "Systems",
    "Technologies",
    "Works",
    "Supply",
    "Trading",
    "Industries",
    "International",
    "Holdings",
];

const COMPANY_FORMS: &[&str] = &[
    "", "LLC", "Ltd", "Inc.", "GmbH", "S.A.", "SRL", "OOO", "JSC", "Co.", "Corp.", "PLC", "Limited", "Pty Ltd", "B.V.",
    "AG",
];

fn person_name(rng: &mut Rng) -> String {
    let given = rng.pick(GIVEN_NAMES).copied().unwrap_or("Anna");
    let family = rng.pick(FAMILY_NAMES).copied().unwrap_or("Smith");
    if rng.chance(0.2) {
        let middle = rng.pick(GIVEN_NAMES).copied().unwrap_or("Marie");
        if middle != given {
            return format!("{given} {middle} {family}");
        }
    }
    if rng.chance(0.15) { format!("{}, {given}", family.to_uppercase()) } else { format!("{given} {family}") }
}

fn company_name(rng: &mut Rng) -> String {
    let parts = [
        rng.pick(COMPANY_FIRST).copied().unwrap_or_default(),
        rng.pick(COMPANY_SECOND).copied().unwrap_or_default(),
        rng.pick(COMPANY_THIRD).copied().unwrap_or_default(),
        rng.pick(COMPANY_FORMS).copied().unwrap_or_default(),
    ];
    parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ")
}

/// The outcome of one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    pub id: usize,
    /// Matches as (list, entity id, score), best first.
    pub top: Vec<(String, String, f64)>,
}

/// Figures for one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantFigures {
    pub variant: Variant,
    pub queries: usize,
    /// Recall@5 for positives; false-positive rate for negatives.
    pub rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub threshold: f64,
    pub positives: usize,
    pub negatives: usize,
    pub recall_at_1: f64,
    pub recall_at_5: f64,
    /// Recall@5 over positives made with one change, and with two.
    pub recall_at_5_one_change: f64,
    pub recall_at_5_two_changes: f64,
    pub two_change_positives: usize,
    pub false_positive_rate: f64,
    pub false_positives: usize,
    pub queries_per_second: f64,
    pub names_indexed: usize,
    pub by_variant: Vec<VariantFigures>,
}

/// Screens every query once (single thread, timed) keeping the five best matches at or above
/// `floor`, so that figures can then be computed for any threshold at or above it.
pub fn run(screener: &Screener, set: &EvalSet, floor: f64) -> (Vec<QueryResult>, f64) {
    let started = Instant::now();
    let results: Vec<QueryResult> = set
        .queries
        .iter()
        .map(|q| QueryResult {
            id: q.id,
            top: screener
                .screen_with(&Query::name(q.name.clone()), floor, 5)
                .into_iter()
                .map(|m: Match| (m.list, m.entity_id, m.score))
                .collect(),
        })
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    let qps = if seconds > 0.0 { set.queries.len() as f64 / seconds } else { 0.0 };
    (results, qps)
}

/// Figures at `threshold` from the results of [`run`].
pub fn figures(
    set: &EvalSet,
    results: &[QueryResult],
    threshold: f64,
    queries_per_second: f64,
    names_indexed: usize,
) -> EvalReport {
    let mut positives = 0usize;
    let mut negatives = 0usize;
    let mut hit1 = 0usize;
    let mut hit5 = 0usize;
    let mut fps = 0usize;
    let mut one = (0usize, 0usize);
    let mut two = (0usize, 0usize);
    let mut per_variant: HashMap<Variant, (usize, usize)> = HashMap::new();
    for (query, result) in set.queries.iter().zip(results) {
        let above: Vec<&(String, String, f64)> = result.top.iter().filter(|(_, _, s)| *s >= threshold).collect();
        let variant = query.variants.first().copied().unwrap_or(Variant::PersonName);
        let slot = per_variant.entry(variant).or_insert((0, 0));
        slot.0 += 1;
        match &query.expected {
            Some(expected) => {
                positives += 1;
                let is = |m: &&(String, String, f64)| m.0 == expected.list && m.1 == expected.entity_id;
                if above.first().is_some_and(is) {
                    hit1 += 1;
                }
                let found = above.iter().take(5).any(is);
                if found {
                    hit5 += 1;
                    slot.1 += 1;
                }
                let bucket = if query.variants.len() > 1 { &mut two } else { &mut one };
                bucket.0 += 1;
                bucket.1 += usize::from(found);
            }
            None => {
                negatives += 1;
                if !above.is_empty() {
                    fps += 1;
                    slot.1 += 1;
                }
            }
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut by_variant: Vec<VariantFigures> = per_variant
        .into_iter()
        .map(|(variant, (n, good))| VariantFigures { variant, queries: n, rate: ratio(good, n) })
        .collect();
    by_variant.sort_by_key(|v| v.variant);
    EvalReport {
        threshold,
        positives,
        negatives,
        recall_at_1: ratio(hit1, positives),
        recall_at_5: ratio(hit5, positives),
        recall_at_5_one_change: ratio(one.1, one.0),
        recall_at_5_two_changes: ratio(two.1, two.0),
        two_change_positives: two.0,
        false_positive_rate: ratio(fps, negatives),
        false_positives: fps,
        queries_per_second,
        names_indexed,
        by_variant,
    }
}

/// Screens the set at the screener's configured threshold.
pub fn evaluate(screener: &Screener, set: &EvalSet) -> EvalReport {
    let threshold = screener.config().threshold;
    let (results, qps) = run(screener, set, threshold);
    figures(set, &results, threshold, qps, screener.name_count())
}
