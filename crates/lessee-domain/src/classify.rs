//! US / foreign person classification under EO 13984 § 5(k).
//!
//! A "United States person" is a US citizen, a lawful permanent resident, an entity organized
//! under US law (including its foreign branches), or *any person located in the United States*.
//! Everyone else is a foreign person, and so is anyone not yet classified. Each result names
//! the rule that decided it and the evidence (with JSON pointers into the application) behind
//! it. Evidence that disagrees is reported as a conflict, never resolved silently: a person
//! whose location evidence disagrees is not taken to be located in the United States.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::application::{Address, Application, Customer, Entity, Individual};
use crate::country::Country;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    UsPerson,
    ForeignPerson,
}

impl PersonStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonStatus::UsPerson => "us_person",
            PersonStatus::ForeignPerson => "foreign_person",
        }
    }
}

/// The rule of EO 13984 § 5(k) that decided a classification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A United States citizen.
    UsCitizen,
    /// A lawful permanent resident of the United States.
    UsPermanentResident,
    /// An entity organized under the laws of the United States or a jurisdiction within it.
    OrganizedInUs,
    /// Any person located in the United States, shown by consistent location evidence.
    LocatedInUs,
    /// None of the above is shown: a foreign person.
    NoUsNexus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    Citizenship,
    PermanentResidence,
    PlaceOfOrganization,
    RegistrationCountry,
    AddressCountry,
    IpGeolocation,
}

/// One piece of evidence: what kind, which country it points to, and where in the
/// application it came from (a JSON pointer). It never carries the value itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub country: Country,
    /// JSON pointer into the application.
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Basis {
    pub rule: Rule,
    pub evidence: Vec<Evidence>,
}

/// Evidence that disagrees with itself; it is a reason on the decision, not a silent pick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Conflict {
    /// Stable code, e.g. `location_evidence_conflict`.
    pub code: String,
    pub message: String,
    pub evidence: Vec<Evidence>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Classification {
    pub status: PersonStatus,
    pub basis: Basis,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OwnerClassification {
    /// Index into `customer.beneficial_owners`.
    pub index: usize,
    pub status: PersonStatus,
    pub basis: Basis,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubLesseeClassification {
    pub external_id: String,
    pub status: PersonStatus,
    pub basis: Basis,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

/// The classification of a party on whose behalf the account is held (`on_behalf_of:N`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OnBehalfOfClassification {
    pub index: usize,
    pub status: PersonStatus,
    pub basis: Basis,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

/// The classification of a customer, its beneficial owners, its sub-lessees and the parties on
/// whose behalf the account is held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountClassification {
    pub status: PersonStatus,
    pub basis: Basis,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    #[serde(default)]
    pub beneficial_owners: Vec<OwnerClassification>,
    #[serde(default)]
    pub sub_lessees: Vec<SubLesseeClassification>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_behalf_of: Vec<OnBehalfOfClassification>,
}

/// Settings of the classifier.
#[derive(Clone, Debug)]
pub struct ClassificationConfig {
    /// Jurisdictions that count as "the United States" for location and organization: the
    /// states and DC (`US`) and, by default, the territories.
    pub us_jurisdictions: Vec<Country>,
}

impl Default for ClassificationConfig {
    fn default() -> Self {
        let us_jurisdictions =
            ["US", "PR", "GU", "VI", "AS", "MP", "UM"].iter().filter_map(|c| Country::parse(c).ok()).collect();
        ClassificationConfig { us_jurisdictions }
    }
}

impl ClassificationConfig {
    fn is_us(&self, c: Country) -> bool {
        self.us_jurisdictions.contains(&c)
    }
}

/// Facts the classifier needs that come from outside the application, resolved by the caller.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExternalEvidence {
    /// Country of the sign-up IP address, from the geolocation database, if it knows it.
    pub signup_ip_country: Option<Country>,
}

fn ev(kind: EvidenceKind, value: &str, source: String) -> Option<Evidence> {
    Country::parse(value).ok().map(|country| Evidence { kind, country, source })
}

struct Classifier<'a> {
    cfg: &'a ClassificationConfig,
}

impl Classifier<'_> {
    fn individual(&self, p: &str, i: &Individual, ip: Option<Evidence>) -> Classification {
        let citizenships: Vec<Evidence> = i
            .citizenships
            .iter()
            .enumerate()
            .filter_map(|(n, c)| ev(EvidenceKind::Citizenship, c, format!("{p}/citizenships/{n}")))
            .collect();
        if let Some(e) = citizenships.iter().find(|e| e.country == Country::US) {
            return us(Rule::UsCitizen, vec![e.clone()]);
        }
        let lpr = i.permanent_residences.iter().enumerate().find_map(|(n, c)| {
            ev(EvidenceKind::PermanentResidence, c, format!("{p}/permanent_residences/{n}"))
                .filter(|e| e.country == Country::US)
        });
        if let Some(e) = lpr {
            return us(Rule::UsPermanentResident, vec![e]);
        }
        self.location(p, i.address.as_ref(), ip, citizenships)
    }

    fn entity(&self, p: &str, e: &Entity, ip: Option<Evidence>) -> Classification {
        let org = ev(EvidenceKind::PlaceOfOrganization, &e.organized_in, format!("{p}/organized_in"));
        let reg = e
            .registration
            .as_ref()
            .and_then(|r| ev(EvidenceKind::RegistrationCountry, &r.country, format!("{p}/registration/country")));
        let mut conflicts = Vec::new();
        if let (Some(o), Some(r)) = (&org, &reg)
            && self.cfg.is_us(o.country) != self.cfg.is_us(r.country)
        {
            conflicts.push(Conflict {
                code: "organization_evidence_conflict".into(),
                message: "the place of organization and the registration country disagree on whether the entity is organized in the United States".into(),
                evidence: vec![o.clone(), r.clone()],
            });
        }
        if let Some(o) = org.as_ref().filter(|o| self.cfg.is_us(o.country)) {
            let mut c = us(Rule::OrganizedInUs, vec![o.clone()]);
            c.conflicts = conflicts;
            return c;
        }
        let mut c = self.location(p, e.address.as_ref(), ip, org.into_iter().chain(reg).collect());
        conflicts.append(&mut c.conflicts);
        c.conflicts = conflicts;
        c
    }

    /// "Any person located in the United States": the address and, when known, the sign-up
    /// IP address must both place the person there.
    fn location(
        &self,
        p: &str,
        address: Option<&Address>,
        ip: Option<Evidence>,
        mut foreign_evidence: Vec<Evidence>,
    ) -> Classification {
        let addr = address.and_then(|a| ev(EvidenceKind::AddressCountry, &a.country, format!("{p}/address/country")));
        let addr_us = addr.as_ref().map(|e| self.cfg.is_us(e.country));
        let ip_us = ip.as_ref().map(|e| self.cfg.is_us(e.country));
        let located: Vec<Evidence> = addr.iter().chain(ip.iter()).cloned().collect();
        match (addr_us, ip_us) {
            (Some(true), Some(true) | None) => us(Rule::LocatedInUs, located),
            (Some(true), Some(false)) | (Some(false) | None, Some(true)) => Classification {
                status: PersonStatus::ForeignPerson,
                basis: Basis { rule: Rule::NoUsNexus, evidence: foreign_evidence },
                conflicts: vec![Conflict {
                    code: "location_evidence_conflict".into(),
                    message: "the address and the sign-up IP address disagree on whether the person is located in the United States; treated as foreign until resolved".into(),
                    evidence: located,
                }],
            },
            _ => {
                foreign_evidence.extend(located);
                Classification {
                    status: PersonStatus::ForeignPerson,
                    basis: Basis { rule: Rule::NoUsNexus, evidence: foreign_evidence },
                    conflicts: Vec::new(),
                }
            }
        }
    }

    fn customer(&self, p: &str, c: &Customer, ip: Option<Evidence>) -> Classification {
        match c {
            Customer::Individual(i) => self.individual(p, i, ip),
            Customer::Entity(e) => self.entity(p, e, ip),
        }
    }
}

fn us(rule: Rule, evidence: Vec<Evidence>) -> Classification {
    Classification { status: PersonStatus::UsPerson, basis: Basis { rule, evidence }, conflicts: Vec::new() }
}

/// Classifies the customer, each beneficial owner and each sub-lessee. Only the customer has
/// a sign-up IP address; owners and sub-lessees are placed by their addresses.
pub fn classify(app: &Application, external: ExternalEvidence, cfg: &ClassificationConfig) -> AccountClassification {
    let k = Classifier { cfg };
    let ip = external.signup_ip_country.map(|country| Evidence {
        kind: EvidenceKind::IpGeolocation,
        country,
        source: "/signup/ip".into(),
    });
    let customer = k.customer("/customer", &app.customer, ip);
    let beneficial_owners = match &app.customer {
        Customer::Entity(e) => e
            .beneficial_owners
            .iter()
            .enumerate()
            .map(|(index, bo)| {
                let c = k.customer(&format!("/customer/beneficial_owners/{index}/person"), &bo.person, None);
                OwnerClassification { index, status: c.status, basis: c.basis, conflicts: c.conflicts }
            })
            .collect(),
        Customer::Individual(_) => Vec::new(),
    };
    let sub_lessees = app
        .sub_lessees
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let c = k.customer(&format!("/sub_lessees/{n}/customer"), &s.customer, None);
            SubLesseeClassification {
                external_id: s.external_id.clone(),
                status: c.status,
                basis: c.basis,
                conflicts: c.conflicts,
            }
        })
        .collect();
    let on_behalf_of = app
        .on_behalf_of
        .iter()
        .enumerate()
        .map(|(index, o)| {
            let c = k.customer(&format!("/on_behalf_of/{index}/party"), &o.party, None);
            OnBehalfOfClassification { index, status: c.status, basis: c.basis, conflicts: c.conflicts }
        })
        .collect();
    AccountClassification {
        status: customer.status,
        basis: customer.basis,
        conflicts: customer.conflicts,
        beneficial_owners,
        sub_lessees,
        on_behalf_of,
    }
}
