//! Re-screening after a list change: which stored customers can the new or changed entries
//! affect? The customers' names are indexed like the lists' ([`NameIndex`]), so the entries of a
//! diff are looked up against the customers (the index used in the other direction), and only
//! the customers found are screened again.

use std::collections::HashMap;

use lessee_domain::Country;
use lessee_lists::{Diff, Entry, PartialDate};
use serde::{Deserialize, Serialize};

use crate::index::{Alphas, NameIndex};
use crate::normalize;
use crate::screener::{Match, PartyKind, Query, QueryIdentifier, Screener, normalize_number};

/// A stored customer (or beneficial owner, or sub-lessee) as re-screening needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<PartyKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<QueryIdentifier>,
}

impl Customer {
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Customer {
            id: id.into(),
            name: name.into(),
            party: None,
            date_of_birth: None,
            country: None,
            identifiers: Vec::new(),
        }
    }

    /// The screening query for this customer.
    pub fn query(&self) -> Query {
        Query {
            name: self.name.clone(),
            party: self.party,
            date_of_birth: self.date_of_birth,
            country: self.country,
            identifiers: self.identifiers.clone(),
            list: None,
        }
    }
}

/// Customers indexed by name (and identifier numbers), with the token weights of a screener's
/// lists so that scores mean the same in both directions.
#[derive(Debug, Clone)]
pub struct CustomerIndex {
    customers: Vec<Customer>,
    index: NameIndex,
    /// Index name id -> customer position (customers whose name normalizes to nothing are not
    /// indexed by name).
    name_owner: Vec<u32>,
    identifiers: HashMap<String, Vec<u32>>,
}

impl CustomerIndex {
    pub fn build(customers: Vec<Customer>, screener: &Screener) -> Self {
        let mut names = Vec::new();
        let mut name_owner = Vec::new();
        let mut identifiers: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, customer) in customers.iter().enumerate() {
            let owner = u32::try_from(i).unwrap_or(u32::MAX);
            let tokens = normalize::tokens(&customer.name);
            if !tokens.is_empty() {
                names.push(tokens);
                name_owner.push(owner);
            }
            for identifier in &customer.identifiers {
                let number = normalize_number(&identifier.number);
                if number.len() >= 4 {
                    identifiers.entry(number).or_default().push(owner);
                }
            }
        }
        let index = NameIndex::build(&names, &[], screener.weights(), screener.config());
        CustomerIndex { customers, index, name_owner, identifiers }
    }

    pub fn len(&self) -> usize {
        self.customers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }

    pub fn customers(&self) -> &[Customer] {
        &self.customers
    }
}

/// A customer whose screening result a list change affects, with its matches to the new or
/// changed entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    pub customer_id: String,
    pub matches: Vec<Match>,
}

/// How far below the threshold a reverse-direction name score may be and still make a customer
/// worth screening again (dates of birth and countries can add to the score).
const REVERSE_MARGIN: f64 = 0.05;

/// The reverse-direction name score a customer needs to be screened again after a list change.
pub(crate) fn reverse_floor(config: &crate::Config) -> f64 {
    config.threshold - config.dob_exact_bonus - config.country_match_bonus - REVERSE_MARGIN
}

impl Screener {
    /// Positions (in `customers`) of the customers whose names or identifiers come close to one
    /// of `entries`, found through the customer index. A superset of those that will match.
    pub fn customers_near(&self, customers: &CustomerIndex, entries: &[&Entry]) -> Vec<usize> {
        let config = self.config();
        let floor = reverse_floor(config);
        // The entry plays the query here: its unmatched tokens count as a listed name's do.
        let alphas = Alphas::reverse(config);
        let mut found: Vec<usize> = Vec::new();
        for entry in entries {
            let names = std::iter::once(entry.name.as_str()).chain(entry.aliases.iter().map(|a| a.name.as_str()));
            for name in names {
                let tokens = normalize::tokens(name);
                let prepared = customers.index.prepare(&tokens, self.weights(), config, false);
                let candidates = customers.index.candidates(&prepared, config, alphas, |_| true);
                for candidate in candidates {
                    let scored = customers.index.score_name(&prepared, candidate.name, config, alphas);
                    if f64::from(scored.score) >= floor
                        && let Some(&owner) = customers.name_owner.get(candidate.name as usize)
                    {
                        found.push(owner as usize);
                    }
                }
            }
            for identifier in &entry.identifiers {
                let number = normalize_number(&identifier.number);
                for &owner in customers.identifiers.get(&number).into_iter().flatten() {
                    found.push(owner as usize);
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Re-screens the customers that `entries` (new or changed entries of the list named
    /// `list`, as this screener holds them) can affect, and returns their matches to those
    /// entries. Customers that do not come close to any of them are not screened at all.
    pub fn rescreen_entries(&self, customers: &CustomerIndex, list: &str, entries: &[&Entry]) -> Vec<Affected> {
        let ids: Vec<&str> = entries.iter().map(|e| e.entity_id.as_str()).collect();
        self.customers_near(customers, entries)
            .into_iter()
            .filter_map(|i| {
                let customer = customers.customers.get(i)?;
                let query = customer.query().list(list);
                let matches: Vec<Match> = self
                    .screen_with(&query, self.config().threshold, usize::MAX)
                    .into_iter()
                    .filter(|m| ids.contains(&m.entity_id.as_str()))
                    .collect();
                (!matches.is_empty()).then(|| Affected { customer_id: customer.id.clone(), matches })
            })
            .collect()
    }

    /// [`Screener::rescreen_entries`] for the added and changed entries of a list diff. This
    /// screener must hold the new version of the list.
    pub fn rescreen_diff(&self, customers: &CustomerIndex, list: &str, diff: &Diff) -> Vec<Affected> {
        let entries: Vec<&Entry> = diff.added.iter().chain(diff.changed.iter().map(|c| &c.new)).collect();
        self.rescreen_entries(customers, list, &entries)
    }
}
