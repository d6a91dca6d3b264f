//! The account application as the provider's control plane sends it (`POST /v1/accounts`).
//!
//! Parsing is strict: unknown fields are refused so that a misspelt field never silently drops
//! evidence. Values that need checking against tables (countries, dates, IP addresses) stay
//! strings here and are checked by [`crate::validate`], which reports every problem at once
//! with a JSON pointer to it.
//!
//! None of these types implements `Debug` with its contents: they carry personal data, and a
//! stray `{:?}` in a log line must not print it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An application to open an account.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// The provider's own identifier for the account; unique per provider.
    #[schema(example = "acct-1001")]
    pub external_id: String,
    pub account_type: AccountType,
    pub opening_method: OpeningMethod,
    /// Products the account may use, e.g. `compute`, `storage`, `gpu`, `bare_metal`.
    #[serde(default)]
    pub products: Vec<String>,
    /// Version of the customer notice shown at sign-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_version: Option<String>,
    pub customer: Customer,
    /// Identity documents, each optionally naming its subject (`customer`, `beneficial_owner:N`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<Document>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signup: Option<Signup>,
    /// Present on reseller accounts: how the reseller meets its CIP obligation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reseller: Option<ResellerTerms>,
    /// A reseller account's own customers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_lessees: Vec<SubLessee>,
    /// Persons on whose behalf the account is opened or held (EO 13984 § 2(d): accounts opened
    /// "by or on behalf of" a foreign person). Each is classified, screened and weighed by
    /// special measures whose scope covers `on_behalf_of`; the CIP verifies the customer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_behalf_of: Vec<OnBehalfOf>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("external_id", &self.external_id)
            .field("account_type", &self.account_type)
            .field("opening_method", &self.opening_method)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    Trial,
    Standard,
    Reseller,
    Enterprise,
}

impl AccountType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::Trial => "trial",
            AccountType::Standard => "standard",
            AccountType::Reseller => "reseller",
            AccountType::Enterprise => "enterprise",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpeningMethod {
    SelfService,
    SalesAssisted,
    Marketplace,
    Reseller,
}

impl OpeningMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            OpeningMethod::SelfService => "self_service",
            OpeningMethod::SalesAssisted => "sales_assisted",
            OpeningMethod::Marketplace => "marketplace",
            OpeningMethod::Reseller => "reseller",
        }
    }
}

/// The customer: an individual or an entity.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Customer {
    Individual(Individual),
    Entity(Entity),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    Individual,
    Entity,
}

impl CustomerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerKind::Individual => "individual",
            CustomerKind::Entity => "entity",
        }
    }
}

impl Customer {
    pub fn kind(&self) -> CustomerKind {
        match self {
            Customer::Individual(_) => CustomerKind::Individual,
            Customer::Entity(_) => CustomerKind::Entity,
        }
    }

    pub fn address(&self) -> Option<&Address> {
        match self {
            Customer::Individual(i) => i.address.as_ref(),
            Customer::Entity(e) => e.address.as_ref(),
        }
    }
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Individual {
    pub name: PersonName,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "1989-04-12")]
    pub date_of_birth: Option<String>,
    /// Countries of citizenship (ISO 3166-1 alpha-2).
    #[serde(default)]
    pub citizenships: Vec<String>,
    /// Countries where the person holds lawful permanent residence (e.g. a US green card: `US`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permanent_residences: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_id: Option<NationalId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonName {
    #[serde(default)]
    pub given: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle: Option<String>,
    #[serde(default)]
    pub family: String,
}

impl PersonName {
    pub fn full(&self) -> String {
        let mut parts = vec![self.given.trim()];
        if let Some(m) = &self.middle {
            parts.push(m.trim());
        }
        parts.push(self.family.trim());
        parts.retain(|p| !p.is_empty());
        parts.join(" ")
    }
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Entity {
    pub legal_name: String,
    /// Jurisdiction of organization (ISO 3166-1 alpha-2).
    pub organized_in: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beneficial_owners: Vec<BeneficialOwner>,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub country: String,
    pub number: String,
}

/// An individual who owns at least 25 % of the entity or exercises substantial control.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BeneficialOwner {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership_percent: Option<f64>,
    #[serde(default)]
    pub control: bool,
    /// The owner; must be of kind `individual`. (Typed as a customer so that an entity here
    /// gets a precise validation error rather than a parse failure.)
    #[schema(no_recursion)]
    pub person: Customer,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default)]
    pub lines: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Subdivision (state, province, oblast), free text or ISO 3166-2 suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub country: String,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NationalId {
    /// `passport`, `national_id_card`, `tax_id`, `driver_license`, `residence_permit`, ...
    #[serde(rename = "type")]
    pub id_type: String,
    pub number: String,
    pub issuing_country: String,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// `passport`, `national_id_card`, `visa`, `residence_permit`, ...
    #[serde(rename = "type")]
    pub doc_type: String,
    /// Whose document: `customer` (default) or `beneficial_owner:N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The machine-readable zone, lines separated by `\n`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mrz: Option<String>,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    pub method: PaymentMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Card>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<BankAccount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crypto: Option<CryptoWallet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    /// Where the funds come from, as the customer stated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_of_funds: Option<String>,
    /// The provider's customer identifier at its payment processor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor_customer_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Card,
    BankTransfer,
    Crypto,
    Invoice,
    Marketplace,
}

/// A payment card, never its full number (PAN): network token or fingerprint, BIN, last four.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Card {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last4: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_country: Option<String>,
    /// Refused if present: a full card number must never be sent or stored.
    #[serde(default, skip_serializing)]
    #[schema(write_only)]
    pub number: Option<serde_json::Value>,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CryptoWallet {
    /// Asset ticker, e.g. `BTC`, `ETH`.
    pub asset: String,
    pub wallet: String,
}

/// Where and when the customer signed up.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Signup {
    /// IPv4 or IPv6 address.
    #[schema(example = "80.133.10.7")]
    pub ip: String,
    /// RFC 3339 time.
    #[schema(example = "2026-11-20T09:14:03Z")]
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResellerTerms {
    pub cip: ResellerCip,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_signed: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResellerCip {
    /// The reseller adopts the provider's CIP by agreement.
    AdoptsProviderCip,
    /// The reseller keeps its own CIP, filed with the provider.
    OwnCip,
}

/// A person on whose behalf the account is opened or held.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnBehalfOf {
    /// How the party relates to the customer, e.g. `principal`, `employer`, `client`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "principal")]
    pub relationship: Option<String>,
    /// The party, identified like a customer (individual or entity).
    pub party: Customer,
}

/// A reseller's customer.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubLessee {
    pub external_id: String,
    pub customer: Customer,
}
