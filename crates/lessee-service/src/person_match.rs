//! Person measures matched through the screening engine (R4, issue 7): the names and aliases of
//! the person measures in force are indexed like a list (`lessee-screening`), so a party whose
//! name is spelt differently, transliterated, reordered or written with a typo is still found.
//!
//! The rules, on top of [`ExactMatcher`]'s (which runs first): the same identifier is decisive;
//! dates of birth that both sides give and that differ rule a match out; otherwise a name scored
//! at or above the screening threshold against one of the target's names is a **strong** match
//! when both dates of birth are known (and equal), and a **potential** one (for review) when
//! either is missing. The reason carries the score, never a name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use lessee_lists::Entry;
use lessee_measures::{
    Confidence, ExactMatcher, Measure, Party, PersonBasis, PersonMatch, PersonMatcher, PersonTarget, Target,
};
use lessee_screening::{Config, ListSource, Query, Screener};

/// Matchers kept for measure sets seen recently (re-evaluating a million accounts asks for the
/// same one each time).
const CACHED: usize = 32;

#[derive(Default)]
struct Inner {
    screener: Option<Screener>,
    /// A target (as JSON) -> its entity id in the screener.
    entities: HashMap<String, String>,
}

/// A [`PersonMatcher`] over the person targets of a set of measures.
#[derive(Clone, Default)]
pub(crate) struct ScreeningMatcher(Arc<Inner>);

fn fingerprint(t: &PersonTarget) -> String {
    serde_json::to_string(t).unwrap_or_default()
}

impl ScreeningMatcher {
    fn new(targets: &[&PersonTarget]) -> Self {
        let mut entities = HashMap::new();
        let mut entries: Vec<Entry> = Vec::new();
        for t in targets {
            let key = fingerprint(t);
            if entities.contains_key(&key) {
                continue;
            }
            let id = format!("person-{}", entries.len());
            let aliases: Vec<serde_json::Value> =
                t.aliases.iter().map(|a| serde_json::json!({"name": a, "quality": "strong"})).collect();
            let entry = serde_json::from_value::<Entry>(serde_json::json!({
                "list": "custom", "entity_id": id, "entity_type": "unknown", "name": t.name, "aliases": aliases,
            }));
            match entry {
                Ok(e) => {
                    entities.insert(key, id);
                    entries.push(e);
                }
                Err(e) => tracing::error!(error = %e, "A person measure's target could not be indexed for matching."),
            }
        }
        let screener = (!entries.is_empty())
            .then(|| Screener::new(vec![ListSource::new("person_measures", "current", entries)], Config::default()));
        ScreeningMatcher(Arc::new(Inner { screener, entities }))
    }
}

/// The matcher for the person targets of `measures` (built once per distinct set).
pub(crate) fn matcher_for(measures: &[Measure]) -> ScreeningMatcher {
    let targets: Vec<&PersonTarget> = measures
        .iter()
        .filter_map(|m| match &m.target {
            Target::Person(p) => Some(p),
            Target::Jurisdiction(_) => None,
        })
        .collect();
    if targets.is_empty() {
        return ScreeningMatcher::default();
    }
    let key = targets.iter().map(|t| fingerprint(t)).collect::<Vec<_>>().join("\n");
    static CACHE: OnceLock<Mutex<HashMap<String, ScreeningMatcher>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(m) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return m;
    }
    let built = ScreeningMatcher::new(&targets);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= CACHED {
            c.clear();
        }
        c.insert(key, built.clone());
    }
    built
}

impl PersonMatcher for ScreeningMatcher {
    fn match_party(&self, target: &PersonTarget, party: &Party) -> Option<PersonMatch> {
        if let Some(m) = ExactMatcher.match_party(target, party) {
            return Some(m);
        }
        if let (Some(a), Some(b)) = (target.date_of_birth, party.date_of_birth)
            && a != b
        {
            return None;
        }
        let screener = self.0.screener.as_ref()?;
        let entity = self.0.entities.get(&fingerprint(target))?;
        let score = party
            .names
            .iter()
            .flat_map(|n| crate::screening::screen_expanded(screener, &Query::name(n.clone())))
            .filter(|m| &m.entity_id == entity)
            .map(|m| m.score)
            .fold(None, |best: Option<f64>, s| Some(best.map_or(s, |b| b.max(s))))?;
        let both = target.date_of_birth.is_some() && party.date_of_birth.is_some();
        Some(PersonMatch {
            confidence: if both { Confidence::Strong } else { Confidence::Potential },
            basis: PersonBasis::Other { detail: format!("name matched by the screening engine (score {score:.2})") },
        })
    }
}
