//! What is known of an account for measure purposes: a pure, I/O-free profile built by the
//! caller from the stored application, its sub-lessees and its access events.
//!
//! Locations are resolved to codes when the profile is built ([`Location::from_address`]), so
//! evaluating a jurisdiction measure against a subject compares codes only.
//!
//! `Party` and `Subject` carry personal data (names, dates of birth, identifiers): their `Debug`
//! prints counts and codes, never the data.

use std::fmt;

use chrono::NaiveDate;
use lessee_domain::Country;
use lessee_domain::application::{AccountType, Address, Application, Customer, CustomerKind};
use serde::{Deserialize, Serialize};

use crate::jurisdiction::Location;
use crate::person::Identifier;

/// Why a place is connected to a party.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceBasis {
    /// A postal address (the customer's, or an owner's).
    Address,
    /// Country of residence or lawful permanent residence.
    Residence,
    /// Place of incorporation or organization (entities).
    Incorporation,
    /// Citizenship (individuals).
    Nationality,
}

impl PlaceBasis {
    /// The word used in reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceBasis::Address => "address",
            PlaceBasis::Residence => "residence",
            PlaceBasis::Incorporation => "place of incorporation",
            PlaceBasis::Nationality => "nationality",
        }
    }
}

/// A place connected to a party, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// Why it is connected.
    pub basis: PlaceBasis,
    /// Where, as codes.
    pub location: Location,
}

impl Place {
    /// A place.
    pub fn new(basis: PlaceBasis, location: Location) -> Self {
        Place { basis, location }
    }
}

/// A person connected to an account: the customer, a beneficial owner, a sub-lessee, or the
/// person the account is held on behalf of.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Party {
    /// Legal name first, then other names known.
    pub names: Vec<String>,
    /// Date of birth (individuals) or incorporation (entities), when known.
    pub date_of_birth: Option<NaiveDate>,
    /// Identifiers known (passport, registration, tax id).
    pub identifiers: Vec<Identifier>,
    /// Places: addresses, residences, incorporation, nationalities.
    pub places: Vec<Place>,
}

impl Party {
    /// A party with one place and nothing else known.
    pub fn at(basis: PlaceBasis, location: Location) -> Self {
        Party { places: vec![Place::new(basis, location)], ..Party::default() }
    }

    /// Adds a name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.names.push(name.into());
        self
    }

    /// Sets the date of birth.
    pub fn with_date_of_birth(mut self, date: NaiveDate) -> Self {
        self.date_of_birth = Some(date);
        self
    }

    /// Adds an identifier.
    pub fn with_identifier(mut self, id: Identifier) -> Self {
        self.identifiers.push(id);
        self
    }

    /// Adds a place.
    pub fn with_place(mut self, basis: PlaceBasis, location: Location) -> Self {
        self.places.push(Place::new(basis, location));
        self
    }

    /// The country a country-scoped exemption looks at: the first address's country, else the
    /// place of incorporation, else the residence, else the nationality.
    pub fn home_country(&self) -> Option<Country> {
        [PlaceBasis::Address, PlaceBasis::Incorporation, PlaceBasis::Residence, PlaceBasis::Nationality]
            .into_iter()
            .find_map(|b| self.places.iter().filter(|p| p.basis == b).find_map(|p| p.location.effective_country()))
    }
}

impl fmt::Debug for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Party")
            .field("names", &self.names.len())
            .field("date_of_birth", &self.date_of_birth.is_some())
            .field("identifiers", &self.identifiers.len())
            .field("places", &self.places)
            .finish()
    }
}

/// An account as measures see it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// The account's reference (lessee id or the provider's external id), echoed in reports.
    pub account: String,
    /// The account type (`trial`, `standard`, `reseller`, `enterprise`), when known.
    pub account_type: Option<AccountType>,
    /// Whether the account is a reseller account (also true when `account_type` is `reseller`).
    pub reseller: bool,
    /// Whether the lessee is an individual or an entity, when known.
    pub lessee_type: Option<CustomerKind>,
    /// The customer (the lessee).
    pub customer: Party,
    /// The customer's beneficial owners.
    pub beneficial_owners: Vec<Party>,
    /// A reseller account's sub-lessees.
    pub sub_lessees: Vec<Party>,
    /// Persons on whose behalf the account is held.
    pub on_behalf_of: Vec<Party>,
    /// Locations seen in the account's access and administrative events (geolocated IPs).
    pub access_locations: Vec<Location>,
}

impl Subject {
    /// A subject with only a customer.
    pub fn new(account: impl Into<String>, customer: Party) -> Self {
        Subject { account: account.into(), customer, ..Subject::default() }
    }

    /// Whether the account is a reseller account: flagged, typed `reseller`, or with sub-lessees.
    pub fn is_reseller(&self) -> bool {
        self.reseller || self.account_type == Some(AccountType::Reseller) || !self.sub_lessees.is_empty()
    }

    /// What an exemption's scope is judged on ([`crate::Exemption::covers_subject`]): the
    /// account type, the lessee type and the customer. No owners, sub-lessees or parties, so it
    /// stays cheap on every decision, a reseller's with thousands of sub-lessees included.
    pub fn scope_of(application: &Application) -> Self {
        Subject {
            account_type: Some(application.account_type),
            lessee_type: Some(application.customer.kind()),
            customer: party_of(&application.customer),
            ..Subject::default()
        }
    }

    /// The profile of an application as lessee stores it: the customer (names, date of birth,
    /// national id or registration, citizenships, permanent residences, place of organization,
    /// address with region and city), its beneficial owners, sub-lessees and the parties on
    /// whose behalf it is held. Unparseable
    /// countries and dates are left out (validation reports them elsewhere). Access locations
    /// are not in an application: the caller adds them.
    pub fn from_application(account: impl Into<String>, application: &Application) -> Self {
        let beneficial_owners = match &application.customer {
            Customer::Entity(e) => e.beneficial_owners.iter().map(|bo| party_of(&bo.person)).collect(),
            Customer::Individual(_) => Vec::new(),
        };
        Subject {
            account: account.into(),
            account_type: Some(application.account_type),
            reseller: application.account_type == AccountType::Reseller
                || application.reseller.is_some()
                || !application.sub_lessees.is_empty(),
            lessee_type: Some(application.customer.kind()),
            customer: party_of(&application.customer),
            beneficial_owners,
            sub_lessees: application.sub_lessees.iter().map(|s| party_of(&s.customer)).collect(),
            on_behalf_of: application.on_behalf_of.iter().map(|o| party_of(&o.party)).collect(),
            access_locations: Vec::new(),
        }
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subject")
            .field("account", &self.account)
            .field("account_type", &self.account_type)
            .field("reseller", &self.reseller)
            .field("lessee_type", &self.lessee_type)
            .field("customer", &self.customer)
            .field("beneficial_owners", &self.beneficial_owners)
            .field("sub_lessees", &self.sub_lessees)
            .field("on_behalf_of", &self.on_behalf_of)
            .field("access_locations", &self.access_locations)
            .finish()
    }
}

fn country(code: &str) -> Option<Country> {
    Country::parse(code).ok()
}

fn address_location(address: &Address) -> Location {
    Location::from_address(country(&address.country), address.region.as_deref(), address.city.as_deref())
}

fn party_of(customer: &Customer) -> Party {
    let mut party = Party::default();
    match customer {
        Customer::Individual(i) => {
            let full = i.name.full();
            if !full.is_empty() {
                party.names.push(full);
            }
            party.date_of_birth =
                i.date_of_birth.as_deref().and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
            if let Some(id) = &i.national_id {
                party.identifiers.push(Identifier::new(&id.id_type, country(&id.issuing_country), &id.number));
            }
            for c in i.citizenships.iter().filter_map(|c| country(c)) {
                party.places.push(Place::new(PlaceBasis::Nationality, Location::country(c)));
            }
            for c in i.permanent_residences.iter().filter_map(|c| country(c)) {
                party.places.push(Place::new(PlaceBasis::Residence, Location::country(c)));
            }
            if let Some(a) = &i.address {
                party.places.insert(0, Place::new(PlaceBasis::Address, address_location(a)));
            }
        }
        Customer::Entity(e) => {
            if !e.legal_name.trim().is_empty() {
                party.names.push(e.legal_name.clone());
            }
            if let Some(r) = &e.registration {
                party.identifiers.push(Identifier::new("registration", country(&r.country), &r.number));
            }
            if let Some(a) = &e.address {
                party.places.push(Place::new(PlaceBasis::Address, address_location(a)));
            }
            if let Some(c) = country(&e.organized_in) {
                party.places.push(Place::new(PlaceBasis::Incorporation, Location::country(c)));
            }
        }
    }
    party
}
