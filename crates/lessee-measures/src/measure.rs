//! The special measure of EO 13984 § 2(d): against a foreign jurisdiction or a named foreign
//! person, prohibiting or conditioning the opening or maintaining of accounts (reseller accounts
//! and accounts held on behalf of such persons included), with its dates and citation.
//!
//! The proposed rule (89 FR 5698) makes a measure effective no earlier than 180 days after the
//! determination and lets it lapse after 365 days unless extended. [`Measure::validate`] checks
//! the dates; the 180-day rule is configurable ([`ValidationConfig`]): by default an error unless
//! the measure is marked [`Expedited`] with a citation.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::ids::{MeasureId, valid_code};
use crate::jurisdiction::JurisdictionTarget;
use crate::normalize::name_key;
use crate::person::PersonTarget;
use crate::status::{AsDate, StatusAt, add_days, lifecycle};

/// Days from the effective date to the expiry when none is given (proposed rule: 365).
pub const DEFAULT_DURATION_DAYS: u32 = 365;
/// The least number of days from determination to effective date (proposed rule: 180).
pub const DEFAULT_LEAD_DAYS: u32 = 180;

/// Whether a measure targets a jurisdiction or a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    /// A foreign jurisdiction (country, subdivision or named region).
    Jurisdiction,
    /// A named foreign person.
    Person,
}

/// What a measure is against. Serialized as the measure's `kind` and `target` fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A jurisdiction.
    Jurisdiction(JurisdictionTarget),
    /// A named person.
    Person(PersonTarget),
}

impl Target {
    /// The kind.
    pub fn kind(&self) -> MeasureKind {
        match self {
            Target::Jurisdiction(_) => MeasureKind::Jurisdiction,
            Target::Person(_) => MeasureKind::Person,
        }
    }
}

/// What a measure does to the accounts it reaches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// Prohibits: blocks an opening; an existing account must be closed by a deadline.
    /// (A struct variant so that stray fields such as `conditions` are refused.)
    Prohibit {},
    /// Conditions: the account may be opened or kept under these conditions (codes such as
    /// `no_gpu`, `enhanced_monitoring`).
    Condition {
        /// The condition codes.
        conditions: Vec<String>,
    },
}

/// What a measure covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeItem {
    /// The opening of accounts.
    Opening,
    /// The maintaining of existing accounts.
    Maintaining,
    /// Reseller accounts (and so their sub-lessees); without it a reseller account is not reached.
    ResellerAccounts,
    /// Accounts held on behalf of a targeted person; without it on-behalf-of links are ignored.
    OnBehalfOf,
}

/// A lead time shorter than the rule's, with what allows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expedited {
    /// The legal basis for the earlier effective date.
    pub citation: String,
}

/// An extension of a measure's expiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    /// The expiry from now on.
    pub new_expiry: NaiveDate,
    /// The determination that extends it.
    pub citation: String,
    /// When it was extended.
    pub date: NaiveDate,
}

/// The revocation of a measure or an exemption.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// From when it no longer applies.
    pub date: NaiveDate,
    /// The act that revokes it.
    pub citation: String,
}

/// A special measure.
///
/// JSON: `{"id", "kind": "jurisdiction"|"person", "target", "effect", "scope", "citation",
/// "determination", "effective", "expiry"?, "expedited"?, "extensions"?, "revocation"?}`,
/// unknown fields refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MeasureWire", into = "MeasureWire")]
pub struct Measure {
    /// The registry's id.
    pub id: MeasureId,
    /// Whom or what it targets.
    pub target: Target,
    /// Prohibit or condition.
    pub effect: Effect,
    /// What it covers.
    pub scope: BTreeSet<ScopeItem>,
    /// The Federal Register (or other) citation of the determination.
    pub citation: String,
    /// The date of the Secretary's determination.
    pub determination: NaiveDate,
    /// The date from which it applies.
    pub effective: NaiveDate,
    /// The expiry as determined; `None` means [`DEFAULT_DURATION_DAYS`] after `effective`.
    pub expiry: Option<NaiveDate>,
    /// Set when the measure applies sooner than the lead time allows, with its basis.
    pub expedited: Option<Expedited>,
    /// Extensions, in order.
    pub extensions: Vec<Extension>,
    /// The revocation, if revoked.
    pub revocation: Option<Revocation>,
}

/// How the 180-day rule is enforced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleLevel {
    /// A violation is an error.
    #[default]
    Error,
    /// A violation is reported as a warning; the measure is accepted.
    Warning,
    /// Not checked.
    Off,
}

/// Validation settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidationConfig {
    /// Least days from determination to effective date.
    pub lead_days: u32,
    /// What a shorter lead time without `expedited` is.
    pub lead_time: RuleLevel,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig { lead_days: DEFAULT_LEAD_DAYS, lead_time: RuleLevel::Error }
    }
}

impl Measure {
    /// Whether it targets a jurisdiction or a person.
    pub fn kind(&self) -> MeasureKind {
        self.target.kind()
    }

    /// The expiry before any extension.
    pub fn initial_expiry(&self) -> NaiveDate {
        self.expiry.unwrap_or_else(|| add_days(self.effective, DEFAULT_DURATION_DAYS))
    }

    /// The expiry in force: the last extension's, or the initial one.
    pub fn expiry_date(&self) -> NaiveDate {
        self.extensions.last().map_or_else(|| self.initial_expiry(), |e| e.new_expiry)
    }

    /// Whether the scope covers this item.
    pub fn covers(&self, item: ScopeItem) -> bool {
        self.scope.contains(&item)
    }

    /// The status at a date (or time) and when it next changes. Extensions count from when they
    /// are recorded: the status uses the expiry in force ([`Measure::expiry_date`]).
    pub fn status(&self, at: impl AsDate) -> StatusAt {
        lifecycle(at.as_date(), self.effective, Some(self.expiry_date()), self.revocation.as_ref().map(|r| r.date))
    }

    /// Checks the measure: every error at once (`Err`), or the warnings (`Ok`, usually empty).
    pub fn validate(&self, config: &ValidationConfig) -> Result<Vec<Error>, Vec<Error>> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        if self.citation.trim().is_empty() {
            errors.push(missing_field("citation"));
        }
        match &self.target {
            Target::Jurisdiction(j) => errors.extend(j.validate().err()),
            Target::Person(p) => validate_person(p, &mut errors),
        }
        if let Effect::Condition { conditions } = &self.effect {
            errors.extend(validate_conditions("effect.conditions", conditions, true).err());
        }
        if !self.covers(ScopeItem::Opening) && !self.covers(ScopeItem::Maintaining) {
            errors.push(Error::ScopeAppliesToNothing);
        }
        self.validate_dates(config, &mut errors, &mut warnings);
        if errors.is_empty() { Ok(warnings) } else { Err(errors) }
    }

    fn validate_dates(&self, config: &ValidationConfig, errors: &mut Vec<Error>, warnings: &mut Vec<Error>) {
        let (determination, effective) = (self.determination, self.effective);
        if effective < determination {
            errors.push(Error::EffectiveBeforeDetermination { determination, effective });
        }
        match &self.expedited {
            Some(e) if e.citation.trim().is_empty() => errors.push(Error::ExpeditedWithoutCitation),
            Some(_) => {}
            None => {
                let earliest = add_days(determination, config.lead_days);
                if effective >= determination && effective < earliest {
                    let err = Error::EffectiveTooSoon {
                        determination,
                        effective,
                        days: (effective - determination).num_days(),
                        lead_days: config.lead_days,
                        earliest,
                    };
                    match config.lead_time {
                        RuleLevel::Error => errors.push(err),
                        RuleLevel::Warning => warnings.push(err),
                        RuleLevel::Off => {}
                    }
                }
            }
        }
        let initial = self.initial_expiry();
        if initial <= effective {
            errors.push(Error::EndNotAfterStart { field: "expiry".into(), effective, end: initial });
        }
        let mut previous = initial;
        for (index, ext) in self.extensions.iter().enumerate() {
            if ext.citation.trim().is_empty() {
                errors.push(missing_field(&format!("extensions[{index}].citation")));
            }
            if ext.new_expiry <= previous {
                errors.push(Error::ExtensionDoesNotExtend { index, previous, new_expiry: ext.new_expiry });
            }
            let problem = if ext.date < determination {
                Some(format!("is before the determination ({determination})"))
            } else if ext.date > previous {
                Some(format!(
                    "is after the expiry it extends ({previous}); a lapsed measure is renewed by a new determination"
                ))
            } else {
                self.revocation
                    .as_ref()
                    .filter(|r| ext.date >= r.date)
                    .map(|r| format!("is on or after the revocation ({})", r.date))
            };
            if let Some(problem) = problem {
                errors.push(Error::ExtensionDate { index, date: ext.date, problem });
            }
            previous = previous.max(ext.new_expiry);
        }
        if let Some(r) = &self.revocation {
            if r.citation.trim().is_empty() {
                errors.push(missing_field("revocation.citation"));
            }
            if r.date < determination {
                errors.push(Error::RevocationTooEarly {
                    date: r.date,
                    field: "the determination".into(),
                    start: determination,
                });
            }
        }
    }
}

fn missing_field(field: &str) -> Error {
    Error::MissingCitation { field: field.to_owned() }
}

fn validate_person(p: &PersonTarget, errors: &mut Vec<Error>) {
    let mut any_name = false;
    if !p.name.trim().is_empty() {
        if name_key(&p.name).is_empty() {
            errors.push(Error::EmptyName { field: "target.name".into() });
        } else {
            any_name = true;
        }
    }
    for (i, alias) in p.aliases.iter().enumerate() {
        if name_key(alias).is_empty() {
            errors.push(Error::EmptyName { field: format!("target.aliases[{i}]") });
        } else {
            any_name = true;
        }
    }
    for (i, id) in p.identifiers.iter().enumerate() {
        if id.id_type.trim().is_empty() || crate::normalize::identifier_number(&id.number).is_empty() {
            errors.push(Error::IncompleteIdentifier { field: format!("target.identifiers[{i}]") });
        }
    }
    if !any_name && p.identifiers.is_empty() {
        errors.push(Error::PersonWithoutNameOrIdentifier);
    }
}

/// Checks a list of condition codes; `required` refuses an empty list.
pub(crate) fn validate_conditions(field: &str, conditions: &[String], required: bool) -> Result<(), Error> {
    let problem = if required && conditions.is_empty() {
        Some("a conditioning measure must list at least one condition code".to_owned())
    } else {
        conditions.iter().find(|c| !valid_code(c)).map(|c| {
            format!("`{}` is not a condition code (lower case a-z, 0-9, `_`)", c.chars().take(64).collect::<String>())
        })
    };
    match problem {
        Some(problem) => Err(Error::InvalidConditions { field: field.to_owned(), problem }),
        None => Ok(()),
    }
}

/// The serialized form: `kind` and `target` side by side, unknown fields refused.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MeasureWire {
    id: MeasureId,
    kind: MeasureKind,
    target: serde_json::Value,
    effect: Effect,
    scope: BTreeSet<ScopeItem>,
    citation: String,
    determination: NaiveDate,
    effective: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expiry: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expedited: Option<Expedited>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    extensions: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revocation: Option<Revocation>,
}

impl TryFrom<MeasureWire> for Measure {
    type Error = String;
    fn try_from(w: MeasureWire) -> Result<Self, String> {
        let target = match w.kind {
            MeasureKind::Jurisdiction => serde_json::from_value(w.target)
                .map(Target::Jurisdiction)
                .map_err(|e| format!("target (jurisdiction: one of `country`, `subdivision`, `region`): {e}"))?,
            MeasureKind::Person => {
                serde_json::from_value(w.target).map(Target::Person).map_err(|e| format!("target (person): {e}"))?
            }
        };
        Ok(Measure {
            id: w.id,
            target,
            effect: w.effect,
            scope: w.scope,
            citation: w.citation,
            determination: w.determination,
            effective: w.effective,
            expiry: w.expiry,
            expedited: w.expedited,
            extensions: w.extensions,
            revocation: w.revocation,
        })
    }
}

impl From<Measure> for MeasureWire {
    fn from(m: Measure) -> Self {
        let kind = m.kind();
        // Serializing these plain data types to a JSON value cannot fail; `Null` is never written.
        let target = match &m.target {
            Target::Jurisdiction(j) => serde_json::to_value(j),
            Target::Person(p) => serde_json::to_value(p),
        }
        .unwrap_or_default();
        MeasureWire {
            id: m.id,
            kind,
            target,
            effect: m.effect,
            scope: m.scope,
            citation: m.citation,
            determination: m.determination,
            effective: m.effective,
            expiry: m.expiry,
            expedited: m.expedited,
            extensions: m.extensions,
            revocation: m.revocation,
        }
    }
}
