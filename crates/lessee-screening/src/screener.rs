//! The screener: lists indexed for name matching, queries, explained matches.

use std::collections::HashMap;
use std::fmt;

use lessee_domain::Country;
use lessee_lists::{AliasQuality, DateOfBirth, EntityType, Entry, IdCategory, ListFile, PartialDate};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::index::{Alphas, NameIndex, NameScore, PreparedToken, Role, TokenMatch, TokenWeights};
use crate::normalize;

/// One list to index: its name (`ofac_sdn`, `un`, `bis_dpl`, `csl`, or a custom list's name),
/// the version string every match against it records, and its entries.
#[derive(Debug, Clone)]
pub struct ListSource {
    pub name: String,
    pub version: String,
    pub entries: Vec<Entry>,
}

impl ListSource {
    pub fn new(name: impl Into<String>, version: impl Into<String>, entries: Vec<Entry>) -> Self {
        ListSource { name: name.into(), version: version.into(), entries }
    }

    /// A parsed list file: named after its kind, versioned by its `source_sha256`.
    pub fn from_file(file: &ListFile) -> Self {
        ListSource::new(file.kind.as_str(), file.source_sha256.clone(), file.entries.clone())
    }
}

/// A list as the screener holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListInfo {
    pub name: String,
    pub version: String,
    pub entries: usize,
}

/// Individual or entity: restricts which entries a query can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// Matches individuals and entries of unknown type.
    Individual,
    /// Matches entities, vessels, aircraft and entries of unknown type.
    Entity,
}

impl PartyKind {
    pub fn accepts(self, entity_type: EntityType) -> bool {
        match self {
            PartyKind::Individual => {
                matches!(entity_type, EntityType::Individual | EntityType::Unknown)
            }
            PartyKind::Entity => !matches!(entity_type, EntityType::Individual),
        }
    }
}

/// A document number given with a query (or a stored customer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryIdentifier {
    pub category: IdCategory,
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
}

/// What to screen: a name, and optionally what narrows it down.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Query {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<PartyKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<QueryIdentifier>,
    /// Only this list (`ofac_sdn`, `un`, `bis_dpl`, `csl`, or a custom list's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
}

impl Query {
    pub fn name(name: impl Into<String>) -> Self {
        Query { name: name.into(), ..Query::default() }
    }

    pub fn party(mut self, party: PartyKind) -> Self {
        self.party = Some(party);
        self
    }

    pub fn date_of_birth(mut self, date: PartialDate) -> Self {
        self.date_of_birth = Some(date);
        self
    }

    pub fn country(mut self, country: Country) -> Self {
        self.country = Some(country);
        self
    }

    pub fn identifier(mut self, category: IdCategory, number: impl Into<String>) -> Self {
        self.identifiers.push(QueryIdentifier { category, number: number.into(), country: None });
        self
    }

    pub fn list(mut self, list: impl Into<String>) -> Self {
        self.list = Some(list.into());
        self
    }
}

/// Which of an entry's names matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "quality")]
pub enum NameKind {
    Primary,
    Alias(AliasQuality),
}

/// What moved a score, and by how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// The name similarity itself (the base of the score).
    Name,
    /// A low-quality alias lowers the name score.
    AliasQuality,
    DateOfBirth,
    Country,
    Identifier,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    pub kind: FeatureKind,
    /// What this feature added to (or, negative, removed from) the score.
    pub contribution: f64,
    pub detail: String,
}

/// How one query token lined up with the listed name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenAlignment {
    /// The query token(s), `None` when a listed token matched nothing.
    pub query: Option<String>,
    /// The listed token(s), `None` when a query token matched nothing.
    pub listed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how: Option<TokenMatch>,
    pub similarity: f64,
    pub weight: f64,
}

/// Why an entry matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The listed name that matched, as the list writes it.
    pub matched_name: String,
    pub matched_name_kind: NameKind,
    pub query_normalized: String,
    pub matched_normalized: String,
    pub list: String,
    pub list_version: String,
    pub entity_id: String,
    pub tokens: Vec<TokenAlignment>,
    /// The name score first, then every feature that moved it.
    pub features: Vec<Feature>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({}) matched {:?}", self.list, self.entity_id, self.list_version, self.matched_name)?;
        for feature in &self.features {
            write!(f, "; {:?} {:+.3} ({})", feature.kind, feature.contribution, feature.detail)?;
        }
        Ok(())
    }
}

/// A listed entry that matched a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub list: String,
    pub list_version: String,
    /// The list's own id: OFAC ent_num, UN DATAID...
    pub entity_id: String,
    pub entity_type: EntityType,
    /// The entry's primary name.
    pub name: String,
    /// 0..=1.
    pub score: f64,
    pub explanation: Explanation,
}

/// A name of an entry, as indexed.
#[derive(Debug, Clone)]
struct ListedName {
    entry: u32,
    text: String,
    kind: NameKind,
}

/// An identifier of an entry, keyed by its normalized number.
#[derive(Debug, Clone)]
struct ListedIdentifier {
    entry: u32,
    category: IdCategory,
}

/// Lists indexed for screening. Build once per set of list versions; share between threads.
#[derive(Debug, Clone)]
pub struct Screener {
    config: Config,
    lists: Vec<ListInfo>,
    entries: Vec<Entry>,
    entry_list: Vec<u16>,
    entry_names: Vec<(u32, u32)>,
    names: Vec<ListedName>,
    weights: TokenWeights,
    index: NameIndex,
    identifiers: HashMap<String, Vec<ListedIdentifier>>,
}

/// Upper-case letters and digits only: how identifier numbers are compared.
pub(crate) fn normalize_number(number: &str) -> String {
    number.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

fn name_rank(kind: NameKind) -> u8 {
    match kind {
        NameKind::Primary => 0,
        NameKind::Alias(AliasQuality::Strong) => 1,
        NameKind::Alias(AliasQuality::OriginalScript) => 2,
        NameKind::Alias(AliasQuality::Fka | AliasQuality::Nka) => 3,
        NameKind::Alias(AliasQuality::Weak) => 4,
    }
}

impl Screener {
    /// Indexes the lists. Entries' primary names and every alias are indexed; names that
    /// normalize to nothing are skipped.
    pub fn new(lists: Vec<ListSource>, config: Config) -> Self {
        let mut infos = Vec::new();
        let mut entries = Vec::new();
        let mut entry_list = Vec::new();
        let mut entry_names = Vec::new();
        let mut names: Vec<ListedName> = Vec::new();
        let mut name_tokens: Vec<Vec<String>> = Vec::new();
        let mut name_roles: Vec<Vec<Role>> = Vec::new();
        let mut identifiers: HashMap<String, Vec<ListedIdentifier>> = HashMap::new();
        for (list_no, list) in lists.into_iter().enumerate() {
            infos.push(ListInfo { name: list.name, version: list.version, entries: list.entries.len() });
            for entry in list.entries {
                let entry_no = u32::try_from(entries.len()).unwrap_or(u32::MAX);
                let start = u32::try_from(names.len()).unwrap_or(u32::MAX);
                let mut seen: Vec<(Vec<String>, usize)> = Vec::new();
                let all = std::iter::once((entry.name.as_str(), NameKind::Primary))
                    .chain(entry.aliases.iter().map(|a| (a.name.as_str(), NameKind::Alias(a.quality))));
                for (text, kind) in all {
                    let tokens = normalize::tokens(text);
                    if tokens.is_empty() {
                        continue;
                    }
                    if let Some((_, at)) = seen.iter().find(|(t, _)| *t == tokens) {
                        // Same normalized name twice: keep the better kind.
                        if let Some(existing) = names.get_mut(*at)
                            && name_rank(kind) < name_rank(existing.kind)
                        {
                            existing.kind = kind;
                            existing.text = text.to_owned();
                        }
                        continue;
                    }
                    seen.push((tokens.clone(), names.len()));
                    names.push(ListedName { entry: entry_no, text: text.to_owned(), kind });
                    name_roles.push(roles(text, &tokens, entry.entity_type));
                    name_tokens.push(tokens);
                }
                let end = u32::try_from(names.len()).unwrap_or(u32::MAX);
                entry_names.push((start, end - start));
                for identifier in &entry.identifiers {
                    let number = normalize_number(&identifier.number);
                    if number.len() >= 4 {
                        identifiers
                            .entry(number)
                            .or_default()
                            .push(ListedIdentifier { entry: entry_no, category: identifier.category });
                    }
                }
                entry_list.push(u16::try_from(list_no).unwrap_or(u16::MAX));
                entries.push(entry);
            }
        }
        let weights = TokenWeights::build(name_tokens.iter().map(Vec::as_slice));
        let index = NameIndex::build(&name_tokens, &name_roles, &weights, &config);
        Screener { config, lists: infos, entries, entry_list, entry_names, names, weights, index, identifiers }
    }

    /// Parsed list files, each named after its kind and versioned by its digest.
    pub fn from_files<'a>(files: impl IntoIterator<Item = &'a ListFile>, config: Config) -> Self {
        Screener::new(files.into_iter().map(ListSource::from_file).collect(), config)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn lists(&self) -> &[ListInfo] {
        &self.lists
    }

    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// How many names (primary and aliases, after removing duplicates) are indexed.
    pub fn name_count(&self) -> usize {
        self.index.name_count()
    }

    /// Every indexed name as (list, entity id, name, kind), for exporting an evaluation set.
    pub fn indexed_names(&self) -> impl Iterator<Item = (&str, &str, &str, NameKind)> + '_ {
        self.names.iter().filter_map(|n| {
            let entry = self.entries.get(n.entry as usize)?;
            let list = self.list_of(n.entry)?;
            Some((list.name.as_str(), entry.entity_id.as_str(), n.text.as_str(), n.kind))
        })
    }

    /// The entry with this list name and entity id (a linear scan: for tools and tests).
    pub fn entry(&self, list: &str, entity_id: &str) -> Option<&Entry> {
        self.entries.iter().enumerate().find_map(|(i, e)| {
            let info = self.list_of(u32::try_from(i).ok()?)?;
            (info.name == list && e.entity_id == entity_id).then_some(e)
        })
    }

    fn list_of(&self, entry: u32) -> Option<&ListInfo> {
        let list = *self.entry_list.get(entry as usize)?;
        self.lists.get(usize::from(list))
    }

    pub(crate) fn weights(&self) -> &TokenWeights {
        &self.weights
    }

    /// Matches at or above the configured threshold, best first, at most `max_results`.
    pub fn screen(&self, query: &Query) -> Vec<Match> {
        self.screen_with(query, self.config.threshold, self.config.max_results)
    }

    /// Matches at or above `threshold`, best first, at most `limit`.
    pub fn screen_with(&self, query: &Query, threshold: f64, limit: usize) -> Vec<Match> {
        let tokens = normalize::tokens(&query.name);
        let prepared = self.index.prepare(&tokens, &self.weights, &self.config, true);
        let list_no = match &query.list {
            Some(name) => match self.lists.iter().position(|l| &l.name == name) {
                Some(i) => Some(u16::try_from(i).unwrap_or(u16::MAX)),
                None => return Vec::new(),
            },
            None => None,
        };
        let entry_ok = |entry: u32| -> bool {
            let list_ok = list_no.is_none_or(|l| self.entry_list.get(entry as usize) == Some(&l));
            let party_ok =
                query.party.is_none_or(|p| self.entries.get(entry as usize).is_some_and(|e| p.accepts(e.entity_type)));
            list_ok && party_ok
        };
        let keep = |name: u32| self.names.get(name as usize).is_some_and(|n| entry_ok(n.entry));
        let alphas = Alphas::screening(&self.config);
        let candidates = self.index.candidates(&prepared, &self.config, alphas, keep);
        // Best name per entry.
        let mut best: Vec<(u32, u32, f64, NameScore)> = Vec::new();
        let consider = |name_id: u32, best: &mut Vec<(u32, u32, f64, NameScore)>| {
            let Some(name) = self.names.get(name_id as usize) else {
                return;
            };
            let scored = self.index.score_name(&prepared, name_id, &self.config, alphas);
            let mut score = f64::from(scored.score);
            if name.kind == NameKind::Alias(AliasQuality::Weak) {
                score *= self.config.weak_alias_factor;
            }
            match best.iter_mut().find(|(e, _, _, _)| *e == name.entry) {
                Some(slot) if slot.2 >= score => {}
                Some(slot) => *slot = (name.entry, name_id, score, scored),
                None => best.push((name.entry, name_id, score, scored)),
            }
        };
        for candidate in &candidates {
            consider(candidate.name, &mut best);
        }
        // Entries whose identifier the query gives exactly: decisive, whatever the name.
        let mut decisive: Vec<(u32, IdCategory, String)> = Vec::new();
        for identifier in &query.identifiers {
            let number = normalize_number(&identifier.number);
            for listed in self.identifiers.get(&number).into_iter().flatten() {
                if compatible(identifier.category, listed.category) && entry_ok(listed.entry) {
                    decisive.push((listed.entry, identifier.category, number.clone()));
                }
            }
        }
        for (entry, _, _) in &decisive {
            if !best.iter().any(|(e, _, _, _)| e == entry)
                && let Some(&(start, len)) = self.entry_names.get(*entry as usize)
            {
                for name_id in start..start + len {
                    consider(name_id, &mut best);
                }
            }
        }
        let max_bonus = self.config.dob_exact_bonus + self.config.country_match_bonus;
        let mut matches: Vec<Match> = best
            .into_iter()
            .filter_map(|(entry_no, name_id, name_score, scored)| {
                let is_decisive = decisive.iter().find(|(e, _, _)| *e == entry_no);
                if is_decisive.is_none() && name_score + max_bonus < threshold {
                    return None;
                }
                let m = self.build_match(query, &tokens, &prepared, entry_no, name_id, &scored, is_decisive);
                m.filter(|m| m.score >= threshold)
            })
            .collect();
        matches.sort_by(|a, b| {
            b.score.total_cmp(&a.score).then_with(|| a.list.cmp(&b.list)).then_with(|| a.entity_id.cmp(&b.entity_id))
        });
        matches.truncate(limit);
        matches
    }

    #[allow(clippy::too_many_arguments)] // internal: the parts of one scored candidate
    fn build_match(
        &self,
        query: &Query,
        query_tokens: &[String],
        prepared: &[PreparedToken],
        entry_no: u32,
        name_id: u32,
        scored: &NameScore,
        decisive: Option<&(u32, IdCategory, String)>,
    ) -> Option<Match> {
        let entry = self.entries.get(entry_no as usize)?;
        let list = self.list_of(entry_no)?;
        let name = self.names.get(name_id as usize)?;
        let listed_ids = self.index.name_token_ids(name_id);
        let listed_token = |i: usize| -> Option<String> {
            listed_ids.get(i).and_then(|&id| self.index.vocab_token(id)).map(|t| t.raw.clone())
        };
        let join = |parts: Vec<Option<String>>| -> Option<String> {
            let parts: Vec<String> = parts.into_iter().flatten().collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        };
        let tokens = scored
            .pairs
            .iter()
            .map(|p| TokenAlignment {
                query: join(p.query.iter().map(|&i| prepared.get(i).map(|t| t.info.raw.clone())).collect()),
                listed: join(p.listed.iter().map(|&i| listed_token(i)).collect()),
                how: p.how,
                similarity: round3(f64::from(p.similarity)),
                weight: round3(f64::from(p.weight)),
            })
            .collect();
        let mut features = Vec::new();
        let name_score = f64::from(scored.score);
        features.push(Feature {
            kind: FeatureKind::Name,
            contribution: round3(name_score),
            detail: format!("name similarity of {:?} and {:?}", query_tokens.join(" "), name.text),
        });
        let mut score = name_score;
        if name.kind == NameKind::Alias(AliasQuality::Weak) {
            let after = score * self.config.weak_alias_factor;
            features.push(Feature {
                kind: FeatureKind::AliasQuality,
                contribution: round3(after - score),
                detail: "low-quality alias".to_owned(),
            });
            score = after;
        }
        if let Some(dob) = &query.date_of_birth
            && let Some((contribution, detail)) = dob_feature(dob, &entry.dates_of_birth, &self.config)
        {
            features.push(Feature { kind: FeatureKind::DateOfBirth, contribution, detail });
            score += contribution;
        }
        if let Some(country) = &query.country
            && let Some((contribution, detail)) = country_feature(*country, entry, &self.config)
        {
            features.push(Feature { kind: FeatureKind::Country, contribution, detail });
            score += contribution;
        }
        match decisive {
            Some((_, category, number)) => {
                let contribution = 1.0 - score;
                features.push(Feature {
                    kind: FeatureKind::Identifier,
                    contribution: round3(contribution),
                    detail: format!("{} {number} is listed for this entry (decisive)", category.as_str()),
                });
                score = 1.0;
            }
            None => {
                if let Some(detail) = identifier_mismatch(query, entry) {
                    let contribution = -self.config.identifier_mismatch_penalty;
                    features.push(Feature { kind: FeatureKind::Identifier, contribution, detail });
                    score += contribution;
                }
            }
        }
        let score = round3(score.clamp(0.0, 1.0));
        Some(Match {
            list: list.name.clone(),
            list_version: list.version.clone(),
            entity_id: entry.entity_id.clone(),
            entity_type: entry.entity_type,
            name: entry.name.clone(),
            score,
            explanation: Explanation {
                matched_name: name.text.clone(),
                matched_name_kind: name.kind,
                query_normalized: query_tokens.join(" "),
                matched_normalized: (0..listed_ids.len()).filter_map(listed_token).collect::<Vec<_>>().join(" "),
                list: list.name.clone(),
                list_version: list.version.clone(),
                entity_id: entry.entity_id.clone(),
                tokens,
                features,
            },
        })
    }
}

/// The roles of an individual's name parts: the first given name and the last part in natural
/// order are required, the others are middle names that queries often leave out
/// (`SURNAME, Given Middle` is read as `Given Middle SURNAME`; of two surnames the first is left
/// out as often as a middle name). Entities' parts are all plain; entries of unknown type
/// have required first and last parts and plain others.
fn roles(text: &str, tokens: &[String], entity_type: EntityType) -> Vec<Role> {
    let middle = match entity_type {
        EntityType::Individual => Role::Middle,
        // The list does not say (BIS DPL, parts of the CSL): it may be a person, so the first
        // and last parts count as a person's would, and the others as an entity's.
        EntityType::Unknown => Role::Plain,
        EntityType::Entity | EntityType::Vessel | EntityType::Aircraft => {
            return vec![Role::Plain; tokens.len()];
        }
    };
    if tokens.len() < 2 {
        return vec![Role::Plain; tokens.len()];
    }
    let mut roles = vec![middle; tokens.len()];
    let mut required = |i: usize| {
        if let Some(r) = roles.get_mut(i) {
            *r = Role::Required;
        }
    };
    match text.split_once(',') {
        Some((surname, given))
            if {
                let surname = normalize::tokens(surname);
                let given = normalize::tokens(given);
                !surname.is_empty() && !given.is_empty() && surname.iter().chain(&given).eq(tokens.iter())
            } =>
        {
            let surname_len = normalize::tokens(surname).len();
            required(surname_len);
            required(surname_len - 1);
        }
        _ => {
            required(0);
            required(tokens.len() - 1);
        }
    }
    roles
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Identifier categories that may be compared: the same, or either one unspecific.
fn compatible(a: IdCategory, b: IdCategory) -> bool {
    a == b
        || matches!(a, IdCategory::Other)
        || matches!(b, IdCategory::Other)
        || matches!((a, b), (IdCategory::NationalId, IdCategory::TaxId) | (IdCategory::TaxId, IdCategory::NationalId))
}

/// A query document of a kind the entry also lists, with a different number.
fn identifier_mismatch(query: &Query, entry: &Entry) -> Option<String> {
    query
        .identifiers
        .iter()
        .filter(|q| matches!(q.category, IdCategory::Passport | IdCategory::NationalId | IdCategory::TaxId))
        .find_map(|q| {
            let same_kind = entry.identifiers.iter().filter(|l| l.category == q.category).count();
            (same_kind > 0).then(|| {
                format!("{} {} differs from the {same_kind} listed", q.category.as_str(), normalize_number(&q.number),)
            })
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DobOutcome {
    Mismatch,
    Near,
    Year,
    Exact,
}

/// Compares a date of birth with the entry's; `None` when the entry gives none to compare.
fn dob_feature(query: &PartialDate, listed: &[DateOfBirth], config: &Config) -> Option<(f64, String)> {
    let mut best: Option<(DobOutcome, String)> = None;
    for dob in listed {
        let (outcome, text) = match dob {
            DateOfBirth::Date { date, approximate } => {
                let outcome = compare_dates(query, date, *approximate);
                (outcome, date.to_string())
            }
            DateOfBirth::Range { from, to, approximate } => {
                let slack = if *approximate { 1 } else { 0 };
                let year = i32::from(query.year);
                let (lo, hi) = (i32::from(from.year) - slack, i32::from(to.year) + slack);
                let outcome = if (lo..=hi).contains(&year) {
                    DobOutcome::Year
                } else if (lo - 1..=hi + 1).contains(&year) {
                    DobOutcome::Near
                } else {
                    DobOutcome::Mismatch
                };
                (outcome, format!("{from} to {to}"))
            }
            DateOfBirth::Text { .. } => continue,
        };
        if best.as_ref().is_none_or(|(b, _)| outcome > *b) {
            best = Some((outcome, text));
        }
    }
    let (outcome, listed) = best?;
    Some(match outcome {
        DobOutcome::Exact => (config.dob_exact_bonus, format!("date of birth {query} matches {listed}")),
        DobOutcome::Year => (config.dob_year_bonus, format!("date of birth {query} agrees with {listed}")),
        DobOutcome::Near => {
            (-config.dob_near_penalty, format!("date of birth {query} is close to {listed} but differs"))
        }
        DobOutcome::Mismatch => (
            -config.dob_mismatch_penalty,
            format!("date of birth {query} differs from every listed one (nearest {listed})"),
        ),
    })
}

fn compare_dates(query: &PartialDate, listed: &PartialDate, approximate: bool) -> DobOutcome {
    let gap = i32::from(query.year).abs_diff(i32::from(listed.year));
    if gap == 0 {
        let month = match (query.month, listed.month) {
            (Some(a), Some(b)) => Some(a == b),
            _ => None,
        };
        let day = match (query.day, listed.day) {
            (Some(a), Some(b)) => Some(a == b),
            _ => None,
        };
        match (month, day) {
            (Some(true), Some(true)) => DobOutcome::Exact,
            (Some(false), _) | (_, Some(false)) if !approximate => DobOutcome::Near,
            _ => DobOutcome::Year,
        }
    } else if approximate && gap <= 2 {
        DobOutcome::Year
    } else if gap <= 1 {
        DobOutcome::Near
    } else {
        DobOutcome::Mismatch
    }
}

/// The query country against every country the entry names.
fn country_feature(country: Country, entry: &Entry, config: &Config) -> Option<(f64, String)> {
    let listed: Vec<Country> = entry
        .nationalities
        .iter()
        .chain(&entry.citizenships)
        .chain(&entry.countries)
        .chain(entry.places_of_birth.iter().filter_map(|p| p.country.as_ref()))
        .filter_map(|c| c.code)
        .collect();
    if listed.is_empty() {
        return None;
    }
    let code = country.to_string();
    if listed.contains(&country) {
        Some((config.country_match_bonus, format!("country {code} is connected with the entry")))
    } else {
        let mut names: Vec<String> = listed.iter().map(ToString::to_string).collect();
        names.sort();
        names.dedup();
        Some((-config.country_mismatch_penalty, format!("country {code} is not among {}", names.join(", "))))
    }
}
