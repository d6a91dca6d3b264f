//! Location consistency: do the countries of the address, the sign-up IP address, the phone
//! number, the payment instrument and the identity document agree?
//!
//! The address country is the anchor (the sign-up IP country when there is no address). Each
//! other *category* of evidence whose country differs from the anchor adds its weight (once per
//! category, however many of its countries differ), and a differing country on one of the
//! policy's high-risk jurisdiction lists adds the high-risk weight on top. The total is
//! weighed by the policy's location rules: an inconsistency is a reason and may impose
//! conditions or a review, never a denial by itself.

use lessee_domain::Country;
use serde::{Deserialize, Serialize};

/// A category of location evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Address,
    SignupIp,
    Phone,
    /// Card issuer, bank, IBAN, BIC, billing address.
    Payment,
    /// Nationality and issuing state of the subject's identity document.
    Document,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Address => "address",
            Category::SignupIp => "signup_ip",
            Category::Phone => "phone",
            Category::Payment => "payment",
            Category::Document => "document",
        }
    }
}

/// One observed country.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Observation {
    pub category: Category,
    pub country: Country,
    /// JSON pointer into the application, or `external:signup_ip_country`.
    pub source: String,
}

/// The weight of each category's disagreement with the anchor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    #[serde(default)]
    pub signup_ip: u32,
    #[serde(default)]
    pub phone: u32,
    #[serde(default)]
    pub payment: u32,
    #[serde(default)]
    pub document: u32,
}

impl Weights {
    fn of(&self, c: Category) -> u32 {
        match c {
            Category::Address => 0,
            Category::SignupIp => self.signup_ip,
            Category::Phone => self.phone,
            Category::Payment => self.payment,
            Category::Document => self.document,
        }
    }
}

/// The assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocationReport {
    /// The anchor observation (address, else sign-up IP).
    pub anchor: Option<Observation>,
    /// Observations whose country differs from the anchor's (weighed or not).
    pub disagreeing: Vec<Observation>,
    /// Weighed categories that disagree, each counted once.
    pub categories: Vec<Category>,
    /// Differing countries on a high-risk list (in weighed categories).
    pub high_risk: Vec<Country>,
    pub weight: u32,
}

/// Weighs `observed` (in any order).
pub fn assess(
    observed: &[Observation],
    weights: &Weights,
    high_risk_weight: u32,
    is_high_risk: impl Fn(Country) -> bool,
) -> LocationReport {
    let anchor = observed
        .iter()
        .find(|o| o.category == Category::Address)
        .or_else(|| observed.iter().find(|o| o.category == Category::SignupIp))
        .cloned();
    let mut report = LocationReport {
        anchor: anchor.clone(),
        disagreeing: Vec::new(),
        categories: Vec::new(),
        high_risk: Vec::new(),
        weight: 0,
    };
    let Some(anchor) = anchor else {
        return report;
    };
    let mut risky_categories: Vec<Category> = Vec::new();
    for o in observed {
        if o.country == anchor.country || o.category == anchor.category {
            continue;
        }
        report.disagreeing.push(o.clone());
        if weights.of(o.category) == 0 {
            // Recorded, not weighed (by default a document's nationality: people live abroad).
            continue;
        }
        if !report.categories.contains(&o.category) {
            report.categories.push(o.category);
            report.weight += weights.of(o.category);
        }
        if is_high_risk(o.country) {
            if !report.high_risk.contains(&o.country) {
                report.high_risk.push(o.country);
            }
            if !risky_categories.contains(&o.category) {
                risky_categories.push(o.category);
                report.weight += high_risk_weight;
            }
        }
    }
    report
}
