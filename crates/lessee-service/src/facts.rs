//! Per-process memory for the access-event ingestion path, which looks the same things up on
//! every batch.
//!
//! Most of what it holds never stops being true once the database holds it, so an entry cannot
//! go stale and needs no invalidation:
//! - the account a provider's `external_id` names (set when the account is opened, never
//!   changed; accounts are never deleted, only their data keys are destroyed);
//! - an (account, country) pair the jurisdiction watch has noted (notes are never removed).
//!
//! Unwrapped data keys are the exception: destroying a key (crypto-shredding) must stop its
//! use. They are used for at most a minute after they were unwrapped ([`Facts::with_max_age`];
//! an entry found too old is dropped, and a key the database no longer holds is forgotten when
//! it is next asked for). Before this process destroys a key it forgets it and refuses to
//! learn it again for that minute (`IngestFacts::forget_key`); a key another process destroys
//! may still seal incoming events here for up to that minute (events that, like the account's
//! other records, can no longer be read). Reads never use this memory: they unwrap the stored
//! key each time, so a destroyed key opens nothing.
//!
//! Only what the database confirmed is remembered; a miss always goes to the database. The
//! memory is bounded: two generations, the older dropped whole when the newer fills, and a hit
//! in the older one moves the entry forward (a cheap approximation of least-recently-used).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub(crate) struct Facts<K, V> {
    inner: Mutex<Generations<K, V>>,
    /// Entries per generation.
    half: usize,
    max_age: Option<Duration>,
}

struct Generations<K, V> {
    young: HashMap<K, (Instant, V)>,
    old: HashMap<K, (Instant, V)>,
    /// When entries past their maximum age were last swept out.
    swept: Instant,
}

impl<K: Eq + Hash + Clone, V: Clone> Facts<K, V> {
    /// Remembers at most `capacity` entries, for good.
    pub(crate) fn new(capacity: usize) -> Self {
        Facts {
            inner: Mutex::new(Generations { young: HashMap::new(), old: HashMap::new(), swept: Instant::now() }),
            half: (capacity / 2).max(1),
            max_age: None,
        }
    }

    /// Remembers at most `capacity` entries, each for at most `max_age` after it was learnt.
    pub(crate) fn with_max_age(capacity: usize, max_age: Duration) -> Self {
        Facts { max_age: Some(max_age), ..Self::new(capacity) }
    }

    fn lock(&self) -> MutexGuard<'_, Generations<K, V>> {
        // The maps hold only confirmed facts; a panic elsewhere cannot leave a wrong one.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn fresh(&self, learnt: Instant, now: Instant) -> bool {
        self.max_age.is_none_or(|max| now.saturating_duration_since(learnt) < max)
    }

    /// The remembered value of each key, and the keys not remembered (or remembered too long).
    pub(crate) fn get_many<'a>(&self, keys: impl IntoIterator<Item = &'a K>) -> (HashMap<K, V>, Vec<K>)
    where
        K: 'a,
    {
        let now = Instant::now();
        let mut g = self.lock();
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        let mut promote = Vec::new();
        for k in keys {
            match (g.young.get(k), g.old.get(k)) {
                (Some((at, v)), _) if self.fresh(*at, now) => {
                    found.insert(k.clone(), v.clone());
                }
                (None, Some((at, v))) if self.fresh(*at, now) => {
                    found.insert(k.clone(), v.clone());
                    promote.push((k.clone(), (*at, v.clone())));
                }
                (None, None) => missing.push(k.clone()),
                _ => {
                    // Too old: dropped now rather than left until its generation goes.
                    g.young.remove(k);
                    g.old.remove(k);
                    missing.push(k.clone());
                }
            }
        }
        for (k, entry) in promote {
            g.old.remove(&k);
            self.put(&mut g, k, entry);
        }
        (found, missing)
    }

    fn put(&self, g: &mut Generations<K, V>, k: K, entry: (Instant, V)) {
        if g.young.len() >= self.half && !g.young.contains_key(&k) {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(k, entry);
    }

    /// Drops every entry past its maximum age (at most four times per maximum age), so a value
    /// no one asks for again (the key of an account destroyed elsewhere) does not stay in memory.
    fn sweep(&self, g: &mut Generations<K, V>, now: Instant) {
        let Some(max) = self.max_age else { return };
        if now.saturating_duration_since(g.swept) < max / 4 {
            return;
        }
        g.young.retain(|_, (at, _)| now.saturating_duration_since(*at) < max);
        g.old.retain(|_, (at, _)| now.saturating_duration_since(*at) < max);
        g.swept = now;
    }

    /// Remembers facts the database has confirmed just now.
    pub(crate) fn insert_many(&self, facts: impl IntoIterator<Item = (K, V)>) {
        let now = Instant::now();
        let mut g = self.lock();
        self.sweep(&mut g, now);
        for (k, v) in facts {
            g.old.remove(&k);
            self.put(&mut g, k, (now, v));
        }
    }

    /// Forgets `key` (a data key this process has just destroyed).
    pub(crate) fn forget(&self, key: &K) {
        let mut g = self.lock();
        g.young.remove(key);
        g.old.remove(key);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let g = self.lock();
        g.young.len() + g.old.len()
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
        f.forget(&"a".to_string());
        let (found, missing) = f.get_many(keys.iter());
        assert_eq!((found.len(), missing.len()), (1, 2), "a forgotten key is missing");
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

    #[test]
    fn entries_with_a_max_age_lapse_even_when_used() {
        let f: Facts<u32, u32> = Facts::with_max_age(10, Duration::from_millis(50));
        f.insert_many([(1, 1)]);
        assert_eq!(f.get_many([1u32].iter()).0.len(), 1);
        std::thread::sleep(Duration::from_millis(60));
        // Being used (moved forward) does not renew it: the age counts from when it was learnt.
        let (found, missing) = f.get_many([1u32].iter());
        assert!(found.is_empty());
        assert_eq!(missing, vec![1]);
        assert_eq!(f.len(), 0, "an entry found too old is dropped, not left in memory");
        f.insert_many([(1, 1)]);
        assert_eq!(f.get_many([1u32].iter()).0.len(), 1, "learnt again, remembered again");
        // An entry no one asks for again is swept out when others are learnt.
        std::thread::sleep(Duration::from_millis(60));
        f.insert_many([(2, 2)]);
        assert_eq!(f.len(), 1, "only the entry just learnt is left");
    }
}
