//! Per-process memory of facts that never stop being true once the database holds them, so a
//! cached entry cannot go stale and needs no invalidation:
//! - the account a provider's `external_id` names (set when the account is opened, never
//!   changed; accounts are never deleted, only their data keys are destroyed);
//! - an (account, country) pair the jurisdiction watch has noted (notes are never removed).
//!
//! Only what the database confirmed is remembered; a miss always goes to the database. The
//! memory is bounded: two generations, the older dropped whole when the newer fills, and a hit
//! in the older one moves the entry forward (a cheap approximation of least-recently-used).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

pub(crate) struct Facts<K, V> {
    inner: Mutex<Generations<K, V>>,
    /// Entries per generation.
    half: usize,
}

struct Generations<K, V> {
    young: HashMap<K, V>,
    old: HashMap<K, V>,
}

impl<K: Eq + Hash + Clone, V: Clone> Facts<K, V> {
    /// Remembers at most `capacity` entries.
    pub(crate) fn new(capacity: usize) -> Self {
        Facts {
            inner: Mutex::new(Generations { young: HashMap::new(), old: HashMap::new() }),
            half: (capacity / 2).max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Generations<K, V>> {
        // The maps hold only confirmed facts; a panic elsewhere cannot leave a wrong one.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The remembered value of each key, and the keys not remembered.
    pub(crate) fn get_many<'a>(&self, keys: impl IntoIterator<Item = &'a K>) -> (HashMap<K, V>, Vec<K>)
    where
        K: 'a,
    {
        let g = self.lock();
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        let mut promote = Vec::new();
        for k in keys {
            if let Some(v) = g.young.get(k) {
                found.insert(k.clone(), v.clone());
            } else if let Some(v) = g.old.get(k) {
                found.insert(k.clone(), v.clone());
                promote.push((k.clone(), v.clone()));
            } else {
                missing.push(k.clone());
            }
        }
        drop(g);
        self.insert_many(promote);
        (found, missing)
    }

    /// Remembers facts the database has confirmed.
    pub(crate) fn insert_many(&self, facts: impl IntoIterator<Item = (K, V)>) {
        let mut g = self.lock();
        for (k, v) in facts {
            if g.young.len() >= self.half {
                g.old = std::mem::take(&mut g.young);
            }
            g.young.insert(k, v);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let g = self.lock();
        g.young.len() + g.old.iter().filter(|(k, _)| !g.young.contains_key(*k)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_what_it_was_told_and_reports_the_rest_missing() {
        let f: Facts<String, u32> = Facts::new(100);
        f.insert_many([("a".to_string(), 1), ("b".to_string(), 2)]);
        let keys = ["a".to_string(), "c".to_string(), "b".to_string()];
        let (found, missing) = f.get_many(keys.iter());
        assert_eq!(found.get("a"), Some(&1));
        assert_eq!(found.get("b"), Some(&2));
        assert_eq!(missing, vec!["c".to_string()]);
    }

    #[test]
    fn stays_within_its_capacity_and_keeps_what_is_used() {
        let f: Facts<u32, u32> = Facts::new(10);
        f.insert_many([(0, 0)]);
        for i in 1..1000 {
            f.insert_many([(i, i)]);
            // Entry 0 is used all the time: it is moved forward and never dropped.
            let (found, _) = f.get_many([0u32].iter());
            assert_eq!(found.get(&0), Some(&0), "after {i} inserts");
            assert!(f.len() <= 10, "{} entries after {i} inserts", f.len());
        }
        // Entries not used since are gone; a miss goes back to the database.
        let (found, missing) = f.get_many([1u32, 998, 999].iter());
        assert_eq!(missing, vec![1]);
        assert_eq!(found.len(), 2);
    }
}
