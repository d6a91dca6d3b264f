//! Stable reason codes of measure findings. A code never changes meaning once shipped.

/// A prohibiting measure blocks the opening of the account.
pub const MEASURE_BLOCKS_OPENING: &str = "measure_blocks_opening";
/// A prohibiting measure requires an existing account to be closed by a deadline.
pub const MEASURE_REQUIRES_CLOSURE: &str = "measure_requires_closure";
/// A conditioning measure imposes conditions on the account.
pub const MEASURE_IMPOSES_CONDITIONS: &str = "measure_imposes_conditions";
/// A measure may apply (a potential match) and needs review before its effect applies.
pub const MEASURE_POTENTIAL_MATCH: &str = "measure_potential_match";
/// A measure would apply but an exemption (EO 13984 § 1(c)) relieves the account of it.
pub const MEASURE_EXEMPTED: &str = "measure_exempted";

/// Every code with its meaning.
pub const ALL: &[(&str, &str)] = &[
    (MEASURE_BLOCKS_OPENING, "a special measure (EO 13984 § 2(d)) prohibits opening this account"),
    (
        MEASURE_REQUIRES_CLOSURE,
        "a special measure prohibits maintaining this account; it must be closed by the deadline given",
    ),
    (MEASURE_IMPOSES_CONDITIONS, "a special measure conditions the opening or maintaining of this account"),
    (
        MEASURE_POTENTIAL_MATCH,
        "a special measure may apply (a name match without date of birth, an ambiguous address, or a link configured for review); review before acting",
    ),
    (MEASURE_EXEMPTED, "a special measure would apply, but an exemption (EO 13984 § 1(c)) relieves the account of it"),
];

/// The meaning of a code, if it is one.
pub fn describe(code: &str) -> Option<&'static str> {
    ALL.iter().find(|(c, _)| *c == code).map(|(_, d)| *d)
}
