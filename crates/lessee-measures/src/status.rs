//! The life cycle of a measure or an exemption at a given date, and the next date it changes.
//!
//! Dates are whole days. A measure is in effect from its effective date (inclusive) until its
//! expiry date (exclusive: on the expiry date it has expired), unless revoked; a revocation
//! takes effect on its date (inclusive) and wins over everything else. Times are reduced to
//! their UTC date ([`AsDate`]).

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Something that names a day: a date, or a time (its UTC date).
pub trait AsDate {
    /// The day.
    fn as_date(&self) -> NaiveDate;
}

impl AsDate for NaiveDate {
    fn as_date(&self) -> NaiveDate {
        *self
    }
}

impl AsDate for DateTime<Utc> {
    fn as_date(&self) -> NaiveDate {
        self.date_naive()
    }
}

impl<T: AsDate + ?Sized> AsDate for &T {
    fn as_date(&self) -> NaiveDate {
        (**self).as_date()
    }
}

/// Where a measure or an exemption is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Determined (or granted) but not yet effective.
    Pending,
    /// Effective.
    InEffect,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
}

impl Status {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::InEffect => "in_effect",
            Status::Expired => "expired",
            Status::Revoked => "revoked",
        }
    }
}

/// The status at a date, and when (and to what) it changes next, so a scheduler knows when to
/// wake. `next_change` is `None` for final states (expired, revoked) and for an exemption in
/// effect with no expiry and no revocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusAt {
    /// The status on the date asked about.
    pub status: Status,
    /// The first later date on which the status is different.
    pub next_change: Option<NaiveDate>,
    /// The status from `next_change` on.
    pub next_status: Option<Status>,
}

/// The life cycle shared by measures and exemptions: effective from `effective`, until `end`
/// (exclusive, `None` = open ended), revoked from `revoked`.
pub(crate) fn lifecycle(
    at: NaiveDate,
    effective: NaiveDate,
    end: Option<NaiveDate>,
    revoked: Option<NaiveDate>,
) -> StatusAt {
    let done = |status| StatusAt { status, next_change: None, next_status: None };
    if revoked.is_some_and(|r| at >= r) {
        return done(Status::Revoked);
    }
    // The earliest of the candidate changes after `at`; a revocation wins a tie.
    let next = |status, candidate: Option<(NaiveDate, Status)>| {
        let change = match (candidate, revoked) {
            (Some((d, s)), Some(r)) if d < r => Some((d, s)),
            (_, Some(r)) => Some((r, Status::Revoked)),
            (c, None) => c,
        };
        StatusAt { status, next_change: change.map(|(d, _)| d), next_status: change.map(|(_, s)| s) }
    };
    if at < effective {
        return next(Status::Pending, Some((effective, Status::InEffect)));
    }
    match end {
        Some(e) if at >= e => done(Status::Expired),
        Some(e) => next(Status::InEffect, Some((e, Status::Expired))),
        None => next(Status::InEffect, None),
    }
}

/// `date` plus `days`, saturating at the last representable date.
pub(crate) fn add_days(date: NaiveDate, days: u32) -> NaiveDate {
    date.checked_add_days(Days::new(u64::from(days))).unwrap_or(NaiveDate::MAX)
}
