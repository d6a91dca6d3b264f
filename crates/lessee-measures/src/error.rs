//! The one error type of the crate: every way a measure, an exemption, an ADP description or one
//! of their parts can be wrong, each with a message that says what to change.

use chrono::NaiveDate;

/// Why a measure, an exemption or one of their parts is refused (or, for a rule configured as a
/// warning, questioned). Messages name the field and, where it helps, the rule behind the check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An identifier (measure id, exemption id) is empty, too long or has other characters.
    #[error("`{0}` is not a valid id: 1 to 64 characters from A-Z, a-z, 0-9, `.`, `_`, `-`, `:`")]
    InvalidId(String),
    /// Not an ISO 3166-2 code such as `UA-43`.
    #[error(
        "`{0}` is not an ISO 3166-2 subdivision code (`CC-XXX`: an assigned country code, `-`, 1 to 3 letters or digits)"
    )]
    InvalidSubdivision(String),
    /// A jurisdiction measure names a region the shipped table does not define.
    #[error("`{region}` is not a known named region (known: {known})")]
    UnknownRegion {
        /// The name given.
        region: String,
        /// The ids of the shipped regions, comma separated.
        known: String,
    },
    /// A person measure names nobody: no name that survives normalization and no identifier.
    #[error("a person measure needs a name or an identifier")]
    PersonWithoutNameOrIdentifier,
    /// A name or alias is empty once case, accents and punctuation are folded away.
    #[error("`{field}` is empty once case, accents and punctuation are folded")]
    EmptyName {
        /// `target.name` or `target.aliases[N]`.
        field: String,
    },
    /// An identifier has no type or no number.
    #[error("`{field}` needs a type and a number")]
    IncompleteIdentifier {
        /// `target.identifiers[N]`.
        field: String,
    },
    /// A required text (citation, reference) is empty.
    #[error("`{field}` is empty; it must cite its legal basis")]
    MissingCitation {
        /// The field, e.g. `citation`, `extensions[0].citation`, `reference`.
        field: String,
    },
    /// A measure's scope is empty or covers neither opening nor maintaining accounts.
    #[error("the scope covers neither `opening` nor `maintaining`, so the measure would apply to nothing")]
    ScopeAppliesToNothing,
    /// A conditioning measure (or an exemption) lists no or a malformed condition code.
    #[error("`{field}`: {problem}")]
    InvalidConditions {
        /// `effect.conditions` or `conditions`.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// The measure takes effect before its determination.
    #[error("the effective date {effective} is before the determination date {determination}")]
    EffectiveBeforeDetermination {
        /// The determination date.
        determination: NaiveDate,
        /// The effective date.
        effective: NaiveDate,
    },
    /// The proposed rule: a measure applies no earlier than 180 days after its determination.
    #[error(
        "the measure takes effect on {effective}, {days} days after its determination on {determination}; \
         the proposed rule (89 FR 5698) says a special measure applies no earlier than {lead_days} days after \
         the determination ({earliest}); mark it `expedited` with a citation if an earlier date is intended"
    )]
    EffectiveTooSoon {
        /// The determination date.
        determination: NaiveDate,
        /// The effective date.
        effective: NaiveDate,
        /// Days between them.
        days: i64,
        /// The configured lead time.
        lead_days: u32,
        /// The earliest effective date the lead time allows.
        earliest: NaiveDate,
    },
    /// `expedited` is set but says nothing.
    #[error("`expedited.citation` is empty; an expedited measure must cite what allows the shorter lead time")]
    ExpeditedWithoutCitation,
    /// An end date is not after the start date.
    #[error("`{field}` ({end}) must be after the effective date {effective}")]
    EndNotAfterStart {
        /// `expiry`.
        field: String,
        /// The effective date.
        effective: NaiveDate,
        /// The end date given.
        end: NaiveDate,
    },
    /// An extension does not push the expiry out.
    #[error(
        "`extensions[{index}].new_expiry` ({new_expiry}) does not extend the expiry in force before it ({previous})"
    )]
    ExtensionDoesNotExtend {
        /// Position in `extensions`.
        index: usize,
        /// The expiry before this extension.
        previous: NaiveDate,
        /// The expiry the extension sets.
        new_expiry: NaiveDate,
    },
    /// An extension is dated outside the life of what it extends.
    #[error("`extensions[{index}].date` ({date}) {problem}")]
    ExtensionDate {
        /// Position in `extensions`.
        index: usize,
        /// The extension's date.
        date: NaiveDate,
        /// What is wrong with it.
        problem: String,
    },
    /// A revocation dated before the measure or exemption existed.
    #[error("`revocation.date` ({date}) is before {field} ({start})")]
    RevocationTooEarly {
        /// The revocation date.
        date: NaiveDate,
        /// `determination` or `granted`.
        field: String,
        /// That date.
        start: NaiveDate,
    },
    /// An exemption takes effect before it was granted.
    #[error("the effective date {effective} is before the grant date {granted}")]
    EffectiveBeforeGrant {
        /// The grant date.
        granted: NaiveDate,
        /// The effective date.
        effective: NaiveDate,
    },
    /// An exemption that lists what it exempts from lists nothing.
    #[error(
        "`exempts_from` lists no measure and no requirement; use `{{\"type\": \"all\"}}` to exempt from everything"
    )]
    ExemptsFromNothing,
    /// A malformed requirement code in an exemption.
    #[error("`{0}` is not a requirement code (lower case a-z, 0-9, `_`)")]
    InvalidRequirement(String),
    /// An ADP description has no version, or versions out of order.
    #[error("ADP description: {0}")]
    AdpVersions(String),
}
