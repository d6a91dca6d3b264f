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

// Internally tagged by `kind`, and deserialized by hand (see `CustomerVisitor`): serde's
// derived code for an internally tagged enum buffers the whole object before it looks at the
// tag, and every read of an application decrypts and parses it. (Not a doc comment: the doc
// comment is the OpenAPI description.)
/// The customer: an individual or an entity.
#[derive(Clone, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Customer {
    Individual(Individual),
    Entity(Entity),
}

/// The derived, buffering form of [`Customer`]: the fallback when `kind` is not the object's
/// first key.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum BufferedCustomer {
    Individual(Individual),
    Entity(Entity),
}

impl From<BufferedCustomer> for Customer {
    fn from(c: BufferedCustomer) -> Self {
        match c {
            BufferedCustomer::Individual(i) => Customer::Individual(i),
            BufferedCustomer::Entity(e) => Customer::Entity(e),
        }
    }
}

impl<'de> Deserialize<'de> for Customer {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(CustomerVisitor)
    }
}

/// When `kind` comes first, as lessee itself writes it (the tag leads in serde's output) and
/// as clients usually send it, the rest of the object is parsed straight into the variant's
/// struct, with its own strictness (unknown fields refused, a second `kind` among them).
/// Otherwise the object is buffered (refusing a key repeated at any depth, as the derived
/// buffer did) and parsed by the derived code. Either way an object is accepted or refused as
/// before, with the same reasons, except that `kind` must be a string (the derived code also
/// took a variant's number) and an array in place of the object is refused.
struct CustomerVisitor;

impl<'de> serde::de::Visitor<'de> for CustomerVisitor {
    type Value = Customer;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object with `kind` \"individual\" or \"entity\"")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Customer, A::Error> {
        use serde::de::Error as _;
        use serde::de::value::MapAccessDeserializer;
        let Some(first) = map.next_key::<String>()? else {
            return Err(A::Error::missing_field("kind"));
        };
        if first == "kind" {
            let kind = map.next_value::<String>()?;
            return match kind.as_str() {
                "individual" => Individual::deserialize(MapAccessDeserializer::new(map)).map(Customer::Individual),
                "entity" => Entity::deserialize(MapAccessDeserializer::new(map)).map(Customer::Entity),
                other => Err(A::Error::unknown_variant(other, &["individual", "entity"])),
            };
        }
        let mut object = serde_json::Map::new();
        object.insert(first, map.next_value::<StrictValue>()?.0);
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<StrictValue>()?.0;
            if object.insert(key.clone(), value).is_some() {
                return Err(A::Error::custom(format_args!("duplicate field `{key}`")));
            }
        }
        if let Some(kind) = object.get("kind").filter(|k| !k.is_string()) {
            return Err(A::Error::custom(format_args!("invalid type: {kind}, expected `kind` to be a string")));
        }
        BufferedCustomer::deserialize(serde_json::Value::Object(object)).map(Customer::from).map_err(A::Error::custom)
    }
}

/// A JSON value that refuses a key repeated in any of its objects: `serde_json::Value` keeps
/// the last one silently, where the derived code's buffer kept both and the struct refused them.
struct StrictValue(serde_json::Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictValueVisitor).map(StrictValue)
    }
}

struct StrictValueVisitor;

impl<'de> serde::de::Visitor<'de> for StrictValueVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        StrictValue::deserialize(deserializer).map(|v| v.0)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<StrictValue>()? {
            out.push(v.0);
        }
        Ok(serde_json::Value::Array(out))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<StrictValue>()?.0;
            if out.insert(key.clone(), value).is_some() {
                return Err(A::Error::custom(format_args!("duplicate field `{key}`")));
            }
        }
        Ok(serde_json::Value::Object(out))
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests report by panicking
mod tests {
    use serde_json::{Value, json};

    use super::{BufferedCustomer, Customer};

    fn fixtures() -> Vec<Value> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/applications");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                out.push(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap());
            }
        }
        assert!(out.len() >= 8, "the fixtures are missing");
        out
    }

    /// JSON text of `v` with `kind` first or last in every object (nested customers too);
    /// `serde_json::Map` itself keeps keys sorted.
    fn render(v: &Value, kind_first: bool) -> String {
        match v {
            Value::Object(m) => {
                let kind = m.get("kind").map(|k| format!("\"kind\":{k}"));
                let rest = m
                    .iter()
                    .filter(|(k, _)| *k != "kind")
                    .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), render(v, kind_first)));
                let fields: Vec<String> =
                    if kind_first { kind.into_iter().chain(rest).collect() } else { rest.chain(kind).collect() };
                format!("{{{}}}", fields.join(","))
            }
            Value::Array(a) => format!("[{}]", a.iter().map(|v| render(v, kind_first)).collect::<Vec<_>>().join(",")),
            other => other.to_string(),
        }
    }

    fn parse(text: &str) -> Result<Value, String> {
        serde_json::from_str::<Customer>(text).map(|c| serde_json::to_value(c).unwrap()).map_err(|e| e.to_string())
    }

    fn parse_derived(text: &str) -> Result<Value, String> {
        serde_json::from_str::<BufferedCustomer>(text)
            .map(|c| serde_json::to_value(Customer::from(c)).unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_fixture_customer_parses_as_the_derived_code_does_with_kind_first_or_last() {
        let mut kinds = std::collections::BTreeSet::new();
        for app in fixtures() {
            let customer = app.get("customer").unwrap();
            kinds.insert(customer.get("kind").unwrap().as_str().unwrap().to_owned());
            let first = render(customer, true);
            let last = render(customer, false);
            assert!(first.starts_with("{\"kind\":") && last.ends_with(&format!("\"kind\":{}}}", customer["kind"])));
            let expected = parse_derived(&first).unwrap();
            assert_eq!(expected["kind"], customer["kind"]);
            assert_eq!(parse(&first).unwrap(), expected);
            assert_eq!(parse(&last).unwrap(), expected);
            assert_eq!(parse_derived(&last).unwrap(), expected);
            // Whole applications (owners, sub-lessees, parties on whose behalf), in either
            // order and from a `Value` (keys sorted), and as lessee writes them.
            let mut seen = Vec::new();
            for app in [
                serde_json::from_str::<super::Application>(&render(&app, true)).unwrap(),
                serde_json::from_str::<super::Application>(&render(&app, false)).unwrap(),
                serde_json::from_value::<super::Application>(app.clone()).unwrap(),
            ] {
                let written = serde_json::to_vec(&app).unwrap();
                let read: super::Application = serde_json::from_slice(&written).unwrap();
                seen.push(serde_json::to_value(&read).unwrap());
            }
            assert!(seen.iter().all(|v| v == &seen[0]));
        }
        assert!(kinds.contains("individual") && kinds.contains("entity"), "{kinds:?}");
    }

    #[test]
    fn bad_customers_are_refused_with_the_reason_in_either_order() {
        let individual = json!({"kind": "individual", "name": {"given": "A", "family": "B"}});
        assert!(parse(&individual.to_string()).is_ok(), "{:?}", parse(&individual.to_string()));
        let cases = [
            (json!({"name": {"given": "A", "family": "B"}}), "missing field `kind`"),
            (json!({}), "missing field `kind`"),
            (json!({"kind": "robot", "name": {"given": "A"}}), "unknown variant `robot`"),
            (json!({"name": {"given": "A"}, "kind": "robot"}), "unknown variant `robot`"),
            (json!({"kind": "individual", "name": {"given": "A", "family": "B"}, "nmae": 1}), "unknown field `nmae`"),
            (json!({"name": {"given": "A", "family": "B"}, "nmae": 1, "kind": "individual"}), "unknown field `nmae`"),
            (json!({"kind": 7}), "invalid type: integer `7`"),
            (json!([1, 2]), "invalid type"),
            (json!("individual"), "invalid type"),
        ];
        for (value, reason) in cases {
            let err = parse(&value.to_string()).expect_err(&value.to_string());
            assert!(err.contains(reason), "{value}: {err}");
        }
        // A key repeated anywhere inside is refused, whichever order, as the derived code did.
        for text in [
            r#"{"kind": "individual", "name": {"given": "A", "given": "Evil", "family": "B"}}"#,
            r#"{"name": {"given": "A", "given": "Evil", "family": "B"}, "kind": "individual"}"#,
            r#"{"addresses": [{"a": 1, "a": 2}], "kind": "individual"}"#,
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains("duplicate field"), "{text}: {err}");
            if text.contains("Evil") {
                assert!(parse_derived(text).is_err(), "the derived code refused it too");
            }
        }
        // `kind` must be a string in either order (the derived code took a variant's number).
        for text in [r#"{"kind": 0, "name": {"given": "A"}}"#, r#"{"name": {"given": "A"}, "kind": 0}"#] {
            let err = parse(text).expect_err(text);
            assert!(err.contains("invalid type"), "{text}: {err}");
        }
        // A second `kind` is refused, not silently taken.
        for text in [
            r#"{"kind": "individual", "kind": "entity", "name": {"given": "A", "family": "B"}}"#,
            r#"{"name": {"given": "A", "family": "B"}, "kind": "individual", "kind": "entity"}"#,
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains("kind"), "{text}: {err}");
        }
    }
}
