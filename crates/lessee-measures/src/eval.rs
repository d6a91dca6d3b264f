//! Evaluation: a subject against the measures (and exemptions) at a date and stage.
//!
//! A measure reaches an account when it is in effect on the date, its scope covers the stage
//! (`opening` or `maintaining`), the account is not a reseller account or the scope covers
//! `reseller_accounts`, and one of the account's links matches the target:
//!
//! | link | jurisdiction measure | person measure |
//! | --- | --- | --- |
//! | `customer` | a place of the customer (address, residence, incorporation, nationality) | the customer |
//! | `beneficial_owner:N` | a place of the owner | the owner |
//! | `sub_lessee:N` | a place of the sub-lessee (reseller accounts) | the sub-lessee |
//! | `on_behalf_of:N` | a place of that party, if the scope covers `on_behalf_of` | that party, likewise |
//! | `access_location:N` | a location seen in access events | — |
//!
//! Each (measure, link) pair gives at most one [`Finding`]. Its [`Action`] follows from the
//! effect and the stage (prohibit: `block` at opening, `close_by` a deadline when maintaining;
//! condition: `conditions`), unless the match is only potential (`review`) or an exemption in
//! effect covers the account and the measure (`exempt`). The [`Outcome`] is the most severe
//! action of all findings.
//!
//! Speed: measures are compiled once per call ([`Evaluator::prepare`]) into code comparisons; a
//! subject no measure reaches costs no allocation.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDate;
use lessee_domain::Country;
use lessee_domain::decision::Reason;
use serde::{Deserialize, Serialize};

use crate::codes;
use crate::exemption::Exemption;
use crate::ids::{ExemptionId, MeasureId};
use crate::jurisdiction::{JurisdictionTarget, Location, Subdivision, SubdivisionSource};
use crate::measure::{Effect, Measure, MeasureKind, ScopeItem, Target};
use crate::person::{Confidence, ExactMatcher, PersonMatch, PersonMatcher, PersonTarget};
use crate::regions;
use crate::status::{AsDate, Status, StatusAt, add_days};
use crate::subject::{Party, PlaceBasis, Subject};

/// Whether an account is being opened or is already open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Opening: a prohibition blocks.
    Opening,
    /// Maintaining: a prohibition sets a closing deadline.
    Maintaining,
}

impl Stage {
    fn scope_item(self) -> ScopeItem {
        match self {
            Stage::Opening => ScopeItem::Opening,
            Stage::Maintaining => ScopeItem::Maintaining,
        }
    }
}

/// What to do with a kind of match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Treatment {
    /// Not a link for measure purposes.
    Ignore,
    /// A potential match: flag for review, do not apply the effect.
    Review,
    /// Apply the measure's effect.
    Apply,
}

impl Treatment {
    /// The weaker of two treatments.
    fn and(self, other: Treatment) -> Treatment {
        self.min(other)
    }
}

/// How each kind of place counts for jurisdiction measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlaceTreatments {
    /// Postal addresses.
    pub address: Treatment,
    /// Residence.
    pub residence: Treatment,
    /// Place of incorporation.
    pub incorporation: Treatment,
    /// Nationality.
    pub nationality: Treatment,
}

impl Default for PlaceTreatments {
    fn default() -> Self {
        PlaceTreatments {
            address: Treatment::Apply,
            residence: Treatment::Apply,
            incorporation: Treatment::Apply,
            nationality: Treatment::Apply,
        }
    }
}

impl PlaceTreatments {
    fn get(&self, basis: PlaceBasis) -> Treatment {
        match basis {
            PlaceBasis::Address => self.address,
            PlaceBasis::Residence => self.residence,
            PlaceBasis::Incorporation => self.incorporation,
            PlaceBasis::Nationality => self.nationality,
        }
    }
}

/// Evaluation settings (a `Config` struct rather than flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Days an existing account has to close under a prohibition, counted from the measure's
    /// effective date (or from the evaluation date, when that is later than the window's end:
    /// an account linked late gets the full period; the caller keeps the first deadline given).
    pub close_within_days: u32,
    /// How places count for jurisdiction measures.
    pub places: PlaceTreatments,
    /// How access-event locations count.
    pub access_locations: Treatment,
    /// How a location inferred from an ambiguous city name counts (at most this).
    pub ambiguous_address: Treatment,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            close_within_days: 30,
            places: PlaceTreatments::default(),
            access_locations: Treatment::Apply,
            ambiguous_address: Treatment::Review,
        }
    }
}

/// The link through which a measure reaches an account. Shown as `customer`,
/// `beneficial_owner:N`, `sub_lessee:N`, `on_behalf_of:N`, `access_location:N` (the domain's
/// `Reason::subject` convention; `N` is the index in the subject's list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Link {
    /// The customer.
    Customer,
    /// A beneficial owner.
    BeneficialOwner(usize),
    /// A sub-lessee of a reseller account.
    SubLessee(usize),
    /// A person on whose behalf the account is held.
    OnBehalfOf(usize),
    /// A location seen in access events.
    AccessLocation(usize),
}

impl Link {
    fn phrase(self) -> String {
        match self {
            Link::Customer => "the customer".to_owned(),
            Link::BeneficialOwner(i) => format!("beneficial owner {i}"),
            Link::SubLessee(i) => format!("sub-lessee {i}"),
            Link::OnBehalfOf(i) => format!("the party {i} on whose behalf the account is held"),
            Link::AccessLocation(i) => format!("access location {i}"),
        }
    }

    /// Parses the display form.
    pub fn parse(s: &str) -> Option<Link> {
        if s == "customer" {
            return Some(Link::Customer);
        }
        let (kind, index) = s.split_once(':')?;
        let i: usize = index.parse().ok()?;
        match kind {
            "beneficial_owner" => Some(Link::BeneficialOwner(i)),
            "sub_lessee" => Some(Link::SubLessee(i)),
            "on_behalf_of" => Some(Link::OnBehalfOf(i)),
            "access_location" => Some(Link::AccessLocation(i)),
            _ => None,
        }
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Link::Customer => f.write_str("customer"),
            Link::BeneficialOwner(i) => write!(f, "beneficial_owner:{i}"),
            Link::SubLessee(i) => write!(f, "sub_lessee:{i}"),
            Link::OnBehalfOf(i) => write!(f, "on_behalf_of:{i}"),
            Link::AccessLocation(i) => write!(f, "access_location:{i}"),
        }
    }
}

impl TryFrom<String> for Link {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Link::parse(&value).ok_or_else(|| format!("`{}` is not a link", value.chars().take(40).collect::<String>()))
    }
}

impl From<Link> for String {
    fn from(value: Link) -> String {
        value.to_string()
    }
}

/// What a match rests on (codes and kinds, never personal data).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MatchBasis {
    /// A place of a party.
    Place {
        /// Why the place is connected.
        place: PlaceBasis,
        /// The place, as codes.
        location: Location,
    },
    /// A location seen in access events.
    Access {
        /// The location.
        location: Location,
    },
    /// A person match.
    Person(PersonMatch),
}

/// What a finding asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Do not open the account.
    Block,
    /// Close the account by the deadline.
    CloseBy {
        /// The last day the account may remain open.
        deadline: NaiveDate,
    },
    /// Open or keep the account under these conditions.
    Conditions {
        /// Condition codes.
        conditions: Vec<String>,
    },
    /// A potential match: review before acting.
    Review,
    /// Exempted; the exemption's conditions (possibly none) apply instead.
    Exempt {
        /// The exemption's condition codes.
        conditions: Vec<String>,
    },
}

impl Action {
    /// The verdict this action amounts to.
    pub fn verdict(&self) -> Verdict {
        match self {
            Action::Block => Verdict::Block,
            Action::CloseBy { .. } => Verdict::Close,
            Action::Review => Verdict::Review,
            Action::Conditions { .. } => Verdict::Conditions,
            Action::Exempt { conditions } if conditions.is_empty() => Verdict::Clear,
            Action::Exempt { .. } => Verdict::Conditions,
        }
    }
}

/// The overall result for an account, least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No measure reaches the account (or every one is exempted without conditions).
    Clear,
    /// Conditions apply.
    Conditions,
    /// A potential match needs review.
    Review,
    /// The account must be closed by a deadline.
    Close,
    /// The opening is blocked.
    Block,
}

impl Verdict {
    /// The domain decision outcome it maps to: clear → approve, conditions →
    /// approve_with_conditions, review → manual_review, close and block → deny.
    pub fn decision_outcome(self) -> lessee_domain::Outcome {
        match self {
            Verdict::Clear => lessee_domain::Outcome::Approve,
            Verdict::Conditions => lessee_domain::Outcome::ApproveWithConditions,
            Verdict::Review => lessee_domain::Outcome::ManualReview,
            Verdict::Close | Verdict::Block => lessee_domain::Outcome::Deny,
        }
    }
}

/// An exemption that relieved a finding, and what would have applied without it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedExemption {
    /// The exemption.
    pub id: ExemptionId,
    /// Its reference.
    pub reference: String,
    /// The action it replaced.
    pub instead_of: Action,
}

/// One measure reaching one account through one link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The measure.
    pub measure: MeasureId,
    /// Its kind.
    pub kind: MeasureKind,
    /// The link that matched.
    pub link: Link,
    /// What matched.
    pub basis: MatchBasis,
    /// What to do.
    pub action: Action,
    /// The exemption that applied, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption: Option<AppliedExemption>,
    /// A reason in the domain's form: a stable code ([`crate::codes`]), a message that cites the
    /// measure, and the link as its subject. No personal data.
    pub reason: Reason,
}

/// The result of evaluating one account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The stage evaluated.
    pub stage: Stage,
    /// The date evaluated.
    pub at: NaiveDate,
    /// The most severe action of the findings.
    pub verdict: Verdict,
    /// The earliest closing deadline, if any finding sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_by: Option<NaiveDate>,
    /// Every condition code imposed (measures' and exemptions'), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// The findings, by measure order then link order.
    pub findings: Vec<Finding>,
}

impl Outcome {
    fn from_findings(stage: Stage, at: NaiveDate, findings: Vec<Finding>) -> Outcome {
        let verdict = findings.iter().map(|f| f.action.verdict()).max().unwrap_or(Verdict::Clear);
        let close_by = findings
            .iter()
            .filter_map(|f| match f.action {
                Action::CloseBy { deadline } => Some(deadline),
                _ => None,
            })
            .min();
        let conditions: BTreeSet<&String> = findings
            .iter()
            .flat_map(|f| match &f.action {
                Action::Conditions { conditions } | Action::Exempt { conditions } => conditions.iter(),
                _ => [].iter(),
            })
            .collect();
        let conditions = conditions.into_iter().cloned().collect();
        Outcome { stage, at, verdict, close_by, conditions, findings }
    }

    /// Whether no measure reached the account.
    pub fn is_clear(&self) -> bool {
        self.findings.is_empty()
    }

    /// The reasons of the findings.
    pub fn reasons(&self) -> Vec<Reason> {
        self.findings.iter().map(|f| f.reason.clone()).collect()
    }
}

/// Evaluates subjects against measures with a configuration and a person matcher.
#[derive(Clone, Debug)]
pub struct Evaluator<M = ExactMatcher> {
    /// The settings.
    pub config: EvalConfig,
    /// The person matcher.
    pub matcher: M,
}

impl Default for Evaluator<ExactMatcher> {
    /// The default settings and the built-in [`ExactMatcher`].
    fn default() -> Self {
        Evaluator::new(EvalConfig::default())
    }
}

impl Evaluator<ExactMatcher> {
    /// An evaluator with these settings and the built-in [`ExactMatcher`].
    pub fn new(config: EvalConfig) -> Self {
        Evaluator { config, matcher: ExactMatcher }
    }
}

impl<M: PersonMatcher> Evaluator<M> {
    /// An evaluator with a plugged-in person matcher (e.g. the screening engine).
    pub fn with_matcher(config: EvalConfig, matcher: M) -> Self {
        Evaluator { config, matcher }
    }

    /// Compiles the measures that apply at `at` and `stage` (and the exemptions in effect) once,
    /// for evaluating many subjects.
    pub fn prepare<'a>(
        &'a self,
        measures: &'a [Measure],
        exemptions: &'a [Exemption],
        at: impl AsDate,
        stage: Stage,
    ) -> Prepared<'a, M> {
        let day = at.as_date();
        let compiled = measures
            .iter()
            .filter(|m| m.status(day).status == Status::InEffect && m.covers(stage.scope_item()))
            .map(|m| Compiled::new(m, day, stage, &self.config))
            .collect();
        let exemptions = exemptions.iter().filter(|e| e.in_effect(day)).collect();
        Prepared { evaluator: self, measures: compiled, exemptions, at: day, stage }
    }

    /// Evaluates one subject.
    pub fn evaluate(
        &self,
        measures: &[Measure],
        exemptions: &[Exemption],
        subject: &Subject,
        at: impl AsDate,
        stage: Stage,
    ) -> Outcome {
        self.prepare(measures, exemptions, at, stage).evaluate(subject)
    }

    /// The accounts one measure reaches (or would reach) on `at`: for a measure not yet in
    /// effect, pass its effective date (or any later date) to see who it will affect.
    pub fn impact<I>(
        &self,
        measure: &Measure,
        exemptions: &[Exemption],
        subjects: I,
        at: impl AsDate,
        stage: Stage,
    ) -> ImpactReport
    where
        I: IntoIterator,
        I::Item: Borrow<Subject>,
    {
        let day = at.as_date();
        let measures = std::slice::from_ref(measure);
        let prepared = self.prepare(measures, exemptions, day, stage);
        let mut report = ImpactReport {
            measure: measure.id.clone(),
            at: day,
            stage,
            status: measure.status(day),
            scanned: 0,
            affected: Vec::new(),
            by_verdict: BTreeMap::new(),
            exempted: 0,
        };
        let mut findings = Vec::new();
        for subject in subjects {
            let subject = subject.borrow();
            report.scanned += 1;
            prepared.collect(subject, &mut findings);
            if findings.is_empty() {
                continue;
            }
            let outcome = Outcome::from_findings(stage, day, std::mem::take(&mut findings));
            *report.by_verdict.entry(outcome.verdict).or_insert(0) += 1;
            if outcome.findings.iter().all(|f| f.exemption.is_some()) {
                report.exempted += 1;
            }
            report.affected.push(Affected { account: subject.account.clone(), outcome });
        }
        report
    }
}

/// The accounts a measure reaches on a date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpactReport {
    /// The measure.
    pub measure: MeasureId,
    /// The date evaluated.
    pub at: NaiveDate,
    /// The stage evaluated (existing accounts: `maintaining`).
    pub stage: Stage,
    /// The measure's status on that date; when not `in_effect`, nothing is affected.
    pub status: StatusAt,
    /// Subjects examined.
    pub scanned: u64,
    /// Subjects reached, with their outcome under this measure alone.
    pub affected: Vec<Affected>,
    /// How many affected subjects per verdict.
    pub by_verdict: BTreeMap<Verdict, u64>,
    /// How many affected subjects are reached only through exempted findings.
    pub exempted: u64,
}

/// One account in an impact report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// The subject's account reference.
    pub account: String,
    /// Its outcome under the measure.
    pub outcome: Outcome,
}

/// Evaluates `subject` against `measures` and `exemptions` on `at` at `stage`, with the default
/// settings and the built-in matcher.
pub fn evaluate(
    measures: &[Measure],
    exemptions: &[Exemption],
    subject: &Subject,
    at: impl AsDate,
    stage: Stage,
) -> Outcome {
    Evaluator::default().evaluate(measures, exemptions, subject, at, stage)
}

/// The existing accounts (`maintaining`) one measure reaches on `at`, with the default settings,
/// the built-in matcher and no exemptions. See [`Evaluator::impact`].
pub fn impact<I>(measure: &Measure, subjects: I, at: impl AsDate) -> ImpactReport
where
    I: IntoIterator,
    I::Item: Borrow<Subject>,
{
    Evaluator::default().impact(measure, &[], subjects, at, Stage::Maintaining)
}

/// What a measure matches, as codes.
enum Test<'a> {
    Country(Country),
    Subdivisions(Vec<Subdivision>),
    Person(&'a PersonTarget),
}

impl Test<'_> {
    #[inline]
    fn matches(&self, location: &Location) -> bool {
        match self {
            Test::Country(c) => location.in_country(*c),
            Test::Subdivisions(set) => location.subdivision.is_some_and(|s| set.contains(&s)),
            Test::Person(_) => false,
        }
    }
}

/// A measure compiled for one date and stage.
struct Compiled<'a> {
    measure: &'a Measure,
    test: Test<'a>,
    /// The action when a match applies.
    action: Action,
    reaches_resellers: bool,
    reaches_on_behalf_of: bool,
    /// "Special measure `ID` against TARGET, CITATION," (built once, used by every reason).
    head: String,
}

impl<'a> Compiled<'a> {
    fn new(measure: &'a Measure, at: NaiveDate, stage: Stage, config: &EvalConfig) -> Self {
        let test = match &measure.target {
            Target::Jurisdiction(JurisdictionTarget::Country(c)) => Test::Country(*c),
            Target::Jurisdiction(JurisdictionTarget::Subdivision(s)) => Test::Subdivisions(vec![*s]),
            Target::Jurisdiction(JurisdictionTarget::Region(id)) => {
                Test::Subdivisions(regions::region(id).map(regions::subdivisions).unwrap_or_default())
            }
            Target::Person(p) => Test::Person(p),
        };
        let action = match (&measure.effect, stage) {
            (Effect::Prohibit {}, Stage::Opening) => Action::Block,
            (Effect::Prohibit {}, Stage::Maintaining) => {
                let window_end = add_days(measure.effective, config.close_within_days);
                let deadline = if at <= window_end { window_end } else { add_days(at, config.close_within_days) };
                Action::CloseBy { deadline }
            }
            (Effect::Condition { conditions }, _) => Action::Conditions { conditions: conditions.clone() },
        };
        let target = match &measure.target {
            Target::Jurisdiction(j) => j.describe(),
            Target::Person(_) => "a named foreign person".to_owned(),
        };
        Compiled {
            measure,
            test,
            action,
            reaches_resellers: measure.covers(ScopeItem::ResellerAccounts),
            reaches_on_behalf_of: measure.covers(ScopeItem::OnBehalfOf),
            head: format!("Special measure `{}` against {target}, {},", measure.id, measure.citation.trim()),
        }
    }
}

/// Measures and exemptions compiled for one date and stage; evaluates subjects.
pub struct Prepared<'a, M> {
    evaluator: &'a Evaluator<M>,
    measures: Vec<Compiled<'a>>,
    exemptions: Vec<&'a Exemption>,
    at: NaiveDate,
    stage: Stage,
}

impl<M: PersonMatcher> Prepared<'_, M> {
    /// How many measures apply at this date and stage.
    pub fn measure_count(&self) -> usize {
        self.measures.len()
    }

    /// Evaluates one subject.
    pub fn evaluate(&self, subject: &Subject) -> Outcome {
        let mut findings = Vec::new();
        self.collect(subject, &mut findings);
        Outcome::from_findings(self.stage, self.at, findings)
    }

    /// Appends the subject's findings to `out` (allocates nothing when there are none).
    fn collect(&self, subject: &Subject, out: &mut Vec<Finding>) {
        let reseller = subject.is_reseller();
        for c in &self.measures {
            if reseller && !c.reaches_resellers {
                continue;
            }
            let parties = std::iter::once((Link::Customer, &subject.customer))
                .chain(subject.beneficial_owners.iter().enumerate().map(|(i, p)| (Link::BeneficialOwner(i), p)))
                .chain(subject.sub_lessees.iter().enumerate().map(|(i, p)| (Link::SubLessee(i), p)))
                .chain(
                    subject
                        .on_behalf_of
                        .iter()
                        .enumerate()
                        .filter(|_| c.reaches_on_behalf_of)
                        .map(|(i, p)| (Link::OnBehalfOf(i), p)),
                );
            match &c.test {
                Test::Person(target) => {
                    for (link, party) in parties {
                        if let Some(m) = self.evaluator.matcher.match_party(target, party) {
                            let treatment = if m.confidence == Confidence::Potential {
                                Treatment::Review
                            } else {
                                Treatment::Apply
                            };
                            out.push(self.finding(c, subject, link, MatchBasis::Person(m), treatment));
                        }
                    }
                }
                test => {
                    for (link, party) in parties {
                        if let Some((treatment, basis)) = self.place_match(test, party) {
                            out.push(self.finding(c, subject, link, basis, treatment));
                        }
                    }
                    let config = &self.evaluator.config;
                    if config.access_locations != Treatment::Ignore {
                        let hit = subject.access_locations.iter().enumerate().find(|(_, l)| test.matches(l));
                        if let Some((i, location)) = hit {
                            let treatment = config.access_locations.and(self.ambiguity(location));
                            if treatment != Treatment::Ignore {
                                let basis = MatchBasis::Access { location: *location };
                                out.push(self.finding(c, subject, Link::AccessLocation(i), basis, treatment));
                            }
                        }
                    }
                }
            }
        }
    }

    fn ambiguity(&self, location: &Location) -> Treatment {
        if location.source == SubdivisionSource::AmbiguousCityName {
            self.evaluator.config.ambiguous_address
        } else {
            Treatment::Apply
        }
    }

    /// The strongest matching place of a party.
    #[inline]
    fn place_match(&self, test: &Test<'_>, party: &Party) -> Option<(Treatment, MatchBasis)> {
        let mut best: Option<(Treatment, MatchBasis)> = None;
        for place in &party.places {
            if !test.matches(&place.location) {
                continue;
            }
            let treatment = self.evaluator.config.places.get(place.basis).and(self.ambiguity(&place.location));
            if treatment == Treatment::Ignore || best.as_ref().is_some_and(|(t, _)| *t >= treatment) {
                continue;
            }
            best = Some((treatment, MatchBasis::Place { place: place.basis, location: place.location }));
            if treatment == Treatment::Apply {
                break;
            }
        }
        best
    }

    fn finding(&self, c: &Compiled<'_>, subject: &Subject, link: Link, basis: MatchBasis, t: Treatment) -> Finding {
        let measure = c.measure;
        let base = if t == Treatment::Review { Action::Review } else { c.action.clone() };
        let exemption =
            self.exemptions.iter().find(|e| e.covers_subject(subject) && e.covers_measure(&measure.id)).map(|e| {
                (
                    e.conditions.clone(),
                    AppliedExemption { id: e.id.clone(), reference: e.reference.clone(), instead_of: base.clone() },
                )
            });
        let (action, exemption) = match exemption {
            Some((conditions, applied)) => (Action::Exempt { conditions }, Some(applied)),
            None => (base, None),
        };
        let reason = reason(&c.head, link, &basis, &action, exemption.as_ref());
        Finding { measure: measure.id.clone(), kind: measure.kind(), link, basis, action, exemption, reason }
    }
}

fn reason(head: &str, link: Link, basis: &MatchBasis, action: &Action, exemption: Option<&AppliedExemption>) -> Reason {
    let who = link.phrase();
    let connection = match basis {
        MatchBasis::Place { place, location } => {
            format!("the {} of {who} is in {}", place.as_str(), location.describe())
        }
        MatchBasis::Access { location } => format!("the account was accessed from {}", location.describe()),
        MatchBasis::Person(m) => {
            let how = match &m.basis {
                crate::person::PersonBasis::Identifier { id_type, country } => match country {
                    Some(c) => format!("by identifier ({id_type}, {c})"),
                    None => format!("by identifier ({id_type})"),
                },
                crate::person::PersonBasis::NameAndDateOfBirth => "by name and date of birth".to_owned(),
                crate::person::PersonBasis::Name => "by name only (no date of birth to compare)".to_owned(),
                crate::person::PersonBasis::Other { detail } => format!("({detail})"),
            };
            format!("{who} matches the person the measure names {how}")
        }
    };
    let effect = |a: &Action| match a {
        Action::Block => "prohibits opening this account".to_owned(),
        Action::CloseBy { deadline } => format!("prohibits maintaining this account; close it by {deadline}"),
        Action::Conditions { conditions } => format!("conditions this account on: {}", conditions.join(", ")),
        Action::Review => "may apply to this account; review before acting".to_owned(),
        Action::Exempt { .. } => "is exempted".to_owned(),
    };
    let (code, message) = match (action, exemption) {
        (_, Some(e)) => {
            let conditions = match action {
                Action::Exempt { conditions } if !conditions.is_empty() => {
                    format!(", under conditions: {}", conditions.join(", "))
                }
                _ => String::new(),
            };
            (
                codes::MEASURE_EXEMPTED,
                format!(
                    "{head} would have required {}: {connection}; exemption `{}` ({}) applies{conditions}.",
                    requirement(&e.instead_of),
                    e.id,
                    e.reference.trim()
                ),
            )
        }
        (Action::Block, None) => (codes::MEASURE_BLOCKS_OPENING, format!("{head} {}: {connection}.", effect(action))),
        (Action::CloseBy { .. }, None) => {
            (codes::MEASURE_REQUIRES_CLOSURE, format!("{head} {}: {connection}.", effect(action)))
        }
        (Action::Conditions { .. }, None) => {
            (codes::MEASURE_IMPOSES_CONDITIONS, format!("{head} {}: {connection}.", effect(action)))
        }
        (Action::Review | Action::Exempt { .. }, None) => {
            (codes::MEASURE_POTENTIAL_MATCH, format!("{head} {}: {connection}.", effect(action)))
        }
    };
    Reason::new(code, message, link.to_string())
}

/// What an action would have required, as a noun phrase for "would have required ..." sentences.
fn requirement(action: &Action) -> String {
    match action {
        Action::Block => "the opening to be blocked".to_owned(),
        Action::CloseBy { deadline } => format!("the account to be closed by {deadline}"),
        Action::Conditions { conditions } => format!("conditions ({})", conditions.join(", ")),
        Action::Review => "a review".to_owned(),
        Action::Exempt { .. } => "nothing".to_owned(),
    }
}
