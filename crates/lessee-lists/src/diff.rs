//! What changed between two versions of a list, so that only affected customers are re-screened.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Entry, ListKind};

/// Entries added, removed and changed between two list versions, each sorted by
/// (list, entity id), with numeric ids in numeric order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Diff {
    pub added: Vec<Entry>,
    pub removed: Vec<Entry>,
    pub changed: Vec<Change>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// One entry present in both versions with at least one field different.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub old: Entry,
    pub new: Entry,
    /// The names of the fields that differ, in [`Entry`] declaration order.
    pub fields: Vec<String>,
}

/// An entity id that sorts numeric ids numerically (`36` before `173`) and others as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IdKey<'a>(&'a str);

impl IdKey<'_> {
    fn numeric(&self) -> Option<&str> {
        let s = self.0;
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.trim_start_matches('0'))
    }
}

impl Ord for IdKey<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.numeric(), other.numeric()) {
            (Some(a), Some(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)).then_with(|| self.0.cmp(other.0)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => self.0.cmp(other.0),
        }
    }
}

impl PartialOrd for IdKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn index(entries: &[Entry]) -> BTreeMap<(ListKind, IdKey<'_>), &Entry> {
    entries.iter().map(|e| ((e.list, IdKey(e.entity_id.as_str())), e)).collect()
}

/// The names of the fields in which two entries differ.
pub fn changed_fields(old: &Entry, new: &Entry) -> Vec<String> {
    let mut fields = Vec::new();
    macro_rules! compare {
        ($($field:ident),* $(,)?) => {
            $(if old.$field != new.$field {
                fields.push(stringify!($field).to_owned());
            })*
        };
    }
    compare!(
        list,
        entity_id,
        entity_type,
        name,
        aliases,
        dates_of_birth,
        places_of_birth,
        nationalities,
        citizenships,
        addresses,
        countries,
        identifiers,
        programs,
        gender,
        title,
        linked_to,
        vessel,
        reference,
        source,
        remarks,
    );
    fields
}

/// Compares two versions of a list, keyed by (list, entity id). An entry is changed when any
/// field differs. If a slice holds the same key twice, the last one counts (the parsers refuse
/// such files).
pub fn diff(old: &[Entry], new: &[Entry]) -> Diff {
    let old_index = index(old);
    let new_index = index(new);
    let mut result = Diff::default();
    for (key, old_entry) in &old_index {
        match new_index.get(key) {
            None => result.removed.push((*old_entry).clone()),
            Some(new_entry) => {
                let fields = changed_fields(old_entry, new_entry);
                if !fields.is_empty() {
                    result.changed.push(Change { old: (*old_entry).clone(), new: (*new_entry).clone(), fields });
                }
            }
        }
    }
    for (key, new_entry) in &new_index {
        if !old_index.contains_key(key) {
            result.added.push((*new_entry).clone());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_numerically_then_as_text() {
        let mut ids = ["173", "36", "dpl-ab", "0036", "1000", "CDi.001"];
        ids.sort_by(|a, b| IdKey(a).cmp(&IdKey(b)));
        assert_eq!(ids, ["0036", "36", "173", "1000", "CDi.001", "dpl-ab"]);
    }
}
