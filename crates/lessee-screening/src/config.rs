//! Thresholds and weights. The defaults are tuned on the evaluation set ([`crate::eval`]).

use serde::{Deserialize, Serialize};

/// Every threshold and weight the matcher uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// A match is reported when its score is at least this.
    pub threshold: f64,
    /// At most this many matches per query (best first).
    pub max_results: usize,
    /// At most this many candidate names are scored in full per query.
    pub max_candidates: usize,
    /// Candidates whose cheap estimate is below this are not scored in full.
    pub candidate_floor: f32,

    /// Token pairs less similar than this do not match.
    pub min_token_similarity: f32,
    /// Similarity of two tokens with the same romanization key (`yevgeniy` / `evgeny`).
    pub romanization_similarity: f32,
    /// Similarity of two tokens with the same consonant skeleton (`mohammed` / `muhamad`).
    pub phonetic_similarity: f32,
    /// Subtracted from the edit similarity of two tokens that start with different letters
    /// (vowels count as one letter there).
    pub first_letter_penalty: f32,
    /// Two tokens with the same consonant skeleton are phonetic matches only when at most this
    /// share of the longer one's letters differ.
    pub phonetic_max_edit_share: f32,
    /// Shortfall from 1 of an edit or phonetic match is multiplied by this when the query token
    /// is itself a listed name part: a real name near another is usually another name, a typo
    /// is usually no name at all.
    pub known_token_shortfall: f32,
    /// Similarity of the masculine and feminine forms of one family name (`zaytsev` /
    /// `zaytseva`): close in spelling, but another person.
    pub gender_form_similarity: f32,
    /// Similarity of an initial and a name part starting with it.
    pub initial_similarity: f32,
    /// Least similarity at which name parts left over on both sides after alignment are paired
    /// (at that similarity, without discount); 1 turns this off.
    pub leftover_min_similarity: f32,
    /// Similarity of two short name parts (three letters or fewer) one letter apart, paired
    /// when left over after alignment (`waj` / `wah`).
    pub short_leftover_similarity: f32,
    /// Least similarity of a compound (`abdul rahman` / `abdulrahman`).
    pub compound_min_similarity: f32,

    /// Weight of a canonical company form (`llc`, `jsc`...).
    pub form_weight: f32,
    /// Weight of a particle (`al`, `bin`, `de`...).
    pub stop_weight: f32,
    /// Weight of an initial.
    pub initial_weight: f32,
    /// Weight of a query token the lists do not contain (often a typo of one they do).
    pub unknown_token_weight: f32,
    /// Weight of a query name part the lists do not contain when it matched nothing in the
    /// name it is scored against (no typo of it, then, but a name part of someone else); at
    /// most `unmatched_unknown_per_letter` per letter.
    pub unmatched_unknown_weight: f32,
    pub unmatched_unknown_per_letter: f32,
    /// Bounds of an ordinary token's weight (its inverse document frequency in the lists).
    pub min_token_weight: f32,
    pub max_token_weight: f32,
    /// How much a query token that matched nothing counts against the score (1 = fully).
    pub unmatched_query_penalty: f32,
    /// How much a listed token that matched nothing counts (a listed name has parts a
    /// query often leaves out).
    pub unmatched_listed_penalty: f32,
    /// The same for an individual's first given name and surname, which a query about the
    /// same person rarely leaves out.
    pub unmatched_required_penalty: f32,
    /// The same for an individual's middle names (given names after the first), which queries
    /// leave out most often.
    pub unmatched_middle_penalty: f32,
    /// Share of the shortfall from 1 kept for an edit or phonetic token match: with 0.5 a token
    /// pair at 0.8 edit similarity counts 0.9.
    pub edit_discount: f32,
    /// The same for tokens of four letters or fewer (five and six letters: halfway).
    pub edit_discount_short: f32,
    /// Score removed for every inexact (edit, phonetic, compound) token pair after the first:
    /// one typo is common, a name in which every part is only close is usually another name.
    pub fuzzy_pair_penalty: f32,

    /// Name score factor for a low-quality alias (OFAC remarks a.k.a., UN `Low`).
    pub weak_alias_factor: f64,
    /// Score added when the full date of birth matches one the list gives.
    pub dob_exact_bonus: f64,
    /// Score added when only the year (or a range) matches.
    pub dob_year_bonus: f64,
    /// Score removed when every listed date of birth is at least two years away.
    pub dob_mismatch_penalty: f64,
    /// Score removed when the nearest listed year is one year away, or the year matches but the
    /// month or day does not.
    pub dob_near_penalty: f64,
    /// Score added when the country is one of the entry's nationalities, citizenships,
    /// address or birth countries.
    pub country_match_bonus: f64,
    /// Score removed when the entry names countries and the query's is none of them.
    pub country_mismatch_penalty: f64,
    /// Score removed when both give a document of the same kind and the numbers differ.
    pub identifier_mismatch_penalty: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            threshold: 0.81,
            max_results: 10,
            max_candidates: 32,
            candidate_floor: 0.45,
            min_token_similarity: 0.7,
            romanization_similarity: 0.97,
            phonetic_similarity: 0.8,
            first_letter_penalty: 0.0,
            phonetic_max_edit_share: 0.34,
            known_token_shortfall: 2.0,
            gender_form_similarity: 0.5,
            initial_similarity: 0.9,
            compound_min_similarity: 0.86,
            short_leftover_similarity: 0.5,
            leftover_min_similarity: 0.6,
            form_weight: 0.15,
            stop_weight: 0.35,
            initial_weight: 0.6,
            unknown_token_weight: 5.0,
            unmatched_unknown_weight: 9.0,
            unmatched_unknown_per_letter: 1.5,
            min_token_weight: 1.0,
            max_token_weight: 9.0,
            unmatched_query_penalty: 1.0,
            unmatched_listed_penalty: 0.2,
            unmatched_required_penalty: 0.8,
            unmatched_middle_penalty: 0.12,
            edit_discount: 0.5,
            edit_discount_short: 0.8,
            fuzzy_pair_penalty: 0.02,
            weak_alias_factor: 0.95,
            dob_exact_bonus: 0.08,
            dob_year_bonus: 0.03,
            dob_mismatch_penalty: 0.2,
            dob_near_penalty: 0.05,
            country_match_bonus: 0.03,
            country_mismatch_penalty: 0.05,
            identifier_mismatch_penalty: 0.03,
        }
    }
}
