//! Semantic validation of an [`Application`] after it parsed: country codes, dates, IP
//! addresses, sizes. Every problem is reported at once, each with a JSON pointer, so a client
//! fixes its request in one round trip.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::application::{
    Address, Application, BeneficialOwner, Customer, Document, Entity, Individual, OnBehalfOf, Payment, Signup,
    SubLessee,
};
use crate::country::Country;

/// Limits on the sizes of an application's parts.
pub const MAX_BENEFICIAL_OWNERS: usize = 100;
pub const MAX_SUB_LESSEES: usize = 10_000;
/// At most this many parties on whose behalf one account is held.
pub const MAX_ON_BEHALF_OF: usize = 100;
pub const MAX_DOCUMENTS: usize = 20;
pub const MAX_PRODUCTS: usize = 32;
const MAX_TEXT: usize = 500;
const MAX_ID: usize = 128;

/// One problem in a request, located by a JSON pointer (RFC 6901).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer to the offending value, e.g. `/customer/citizenships/0`.
    pub pointer: String,
    /// Stable machine-readable code, e.g. `invalid_country`.
    pub code: String,
    pub message: String,
}

struct Checker {
    errors: Vec<FieldError>,
    today: NaiveDate,
    now: DateTime<Utc>,
}

impl Checker {
    fn push(&mut self, pointer: impl Into<String>, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError { pointer: pointer.into(), code: code.to_owned(), message: message.into() });
    }

    fn text(&mut self, p: &str, value: &str, required: bool, max: usize) {
        if required && value.trim().is_empty() {
            self.push(p, "required", "must not be empty");
        } else if value.chars().count() > max {
            self.push(p, "too_long", format!("must be at most {max} characters"));
        } else if value.chars().any(|c| c.is_control() && c != '\n') {
            self.push(p, "invalid_characters", "must not contain control characters");
        }
    }

    fn opt_text(&mut self, p: &str, value: Option<&String>, max: usize) {
        if let Some(v) = value {
            self.text(p, v, false, max);
        }
    }

    fn country(&mut self, p: &str, value: &str) {
        if Country::parse(value).is_err() {
            self.push(p, "invalid_country", format!("`{}` is not an ISO 3166-1 alpha-2 country code", clip(value)));
        }
    }

    fn past_date(&mut self, p: &str, value: &str) {
        match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Err(_) => self.push(p, "invalid_date", "must be a date written YYYY-MM-DD"),
            Ok(d) if d > self.today => self.push(p, "date_in_future", "must not be in the future"),
            Ok(d) if d < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(d) => {
                self.push(p, "date_out_of_range", "must not be before 1900-01-01")
            }
            Ok(_) => {}
        }
    }

    fn countries(&mut self, p: &str, values: &[String]) {
        if values.len() > 10 {
            self.push(p, "too_many", "at most 10 countries");
            return;
        }
        for (i, c) in values.iter().enumerate() {
            self.country(&format!("{p}/{i}"), c);
        }
    }

    fn address(&mut self, p: &str, a: &Address) {
        if a.lines.len() > 10 {
            self.push(format!("{p}/lines"), "too_many", "at most 10 address lines");
        }
        for (i, l) in a.lines.iter().take(10).enumerate() {
            self.text(&format!("{p}/lines/{i}"), l, false, MAX_TEXT);
        }
        self.opt_text(&format!("{p}/city"), a.city.as_ref(), MAX_TEXT);
        self.opt_text(&format!("{p}/postal_code"), a.postal_code.as_ref(), 32);
        self.opt_text(&format!("{p}/region"), a.region.as_ref(), 100);
        self.country(&format!("{p}/country"), &a.country);
    }

    fn contact(&mut self, p: &str, email: Option<&String>, phone: Option<&String>) {
        if let Some(e) = email {
            let ep = format!("{p}/email");
            self.text(&ep, e, true, 254);
            let well_formed =
                e.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
            if !well_formed {
                self.push(ep, "invalid_email", "must be an email address");
            }
        }
        if let Some(ph) = phone {
            let pp = format!("{p}/phone");
            self.text(&pp, ph, true, 40);
            let digits = ph.chars().filter(char::is_ascii_digit).count();
            let allowed = ph.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
            if !allowed || !(4..=17).contains(&digits) {
                self.push(pp, "invalid_phone", "must be a phone number, ideally E.164");
            }
        }
    }

    fn individual(&mut self, p: &str, i: &Individual) {
        self.text(&format!("{p}/name/given"), &i.name.given, false, 200);
        self.text(&format!("{p}/name/family"), &i.name.family, false, 200);
        self.opt_text(&format!("{p}/name/middle"), i.name.middle.as_ref(), 200);
        if i.name.full().is_empty() {
            self.push(format!("{p}/name"), "required", "a given or family name is required");
        }
        if let Some(d) = &i.date_of_birth {
            self.past_date(&format!("{p}/date_of_birth"), d);
        }
        self.countries(&format!("{p}/citizenships"), &i.citizenships);
        self.countries(&format!("{p}/permanent_residences"), &i.permanent_residences);
        if let Some(a) = &i.address {
            self.address(&format!("{p}/address"), a);
        }
        if let Some(n) = &i.national_id {
            self.text(&format!("{p}/national_id/type"), &n.id_type, true, 40);
            self.text(&format!("{p}/national_id/number"), &n.number, true, 64);
            self.country(&format!("{p}/national_id/issuing_country"), &n.issuing_country);
        }
        self.contact(p, i.email.as_ref(), i.phone.as_ref());
    }

    fn entity(&mut self, p: &str, e: &Entity) {
        self.text(&format!("{p}/legal_name"), &e.legal_name, true, MAX_TEXT);
        self.country(&format!("{p}/organized_in"), &e.organized_in);
        if let Some(r) = &e.registration {
            self.country(&format!("{p}/registration/country"), &r.country);
            self.text(&format!("{p}/registration/number"), &r.number, true, 64);
        }
        if let Some(a) = &e.address {
            self.address(&format!("{p}/address"), a);
        }
        self.contact(p, e.email.as_ref(), e.phone.as_ref());
        if e.beneficial_owners.len() > MAX_BENEFICIAL_OWNERS {
            self.push(
                format!("{p}/beneficial_owners"),
                "too_many",
                format!("at most {MAX_BENEFICIAL_OWNERS} beneficial owners"),
            );
            return;
        }
        for (i, bo) in e.beneficial_owners.iter().enumerate() {
            self.beneficial_owner(&format!("{p}/beneficial_owners/{i}"), bo);
        }
    }

    fn beneficial_owner(&mut self, p: &str, bo: &BeneficialOwner) {
        if let Some(pct) = bo.ownership_percent
            && !(0.0..=100.0).contains(&pct)
        {
            self.push(format!("{p}/ownership_percent"), "out_of_range", "must be between 0 and 100");
        }
        match &bo.person {
            Customer::Individual(i) => self.individual(&format!("{p}/person"), i),
            Customer::Entity(_) => self.push(
                format!("{p}/person/kind"),
                "beneficial_owner_not_individual",
                "a beneficial owner is an individual; list the individuals behind an owning entity",
            ),
        }
    }

    fn customer(&mut self, p: &str, c: &Customer) {
        match c {
            Customer::Individual(i) => self.individual(p, i),
            Customer::Entity(e) => self.entity(p, e),
        }
    }

    fn document(&mut self, p: &str, d: &Document, owners: usize) {
        self.text(&format!("{p}/type"), &d.doc_type, true, 40);
        if let Some(s) = &d.subject
            && subject_index(s, owners).is_none()
        {
            self.push(
                format!("{p}/subject"),
                "invalid_subject",
                format!("must be `customer` or `beneficial_owner:N` with N below {owners}"),
            );
        }
        if let Some(m) = &d.mrz {
            if m.len() > 200 {
                self.push(format!("{p}/mrz"), "too_long", "an MRZ has at most 3 lines of 44");
            } else if !m.chars().all(|c| c.is_ascii_alphanumeric() || c == '<' || c == '\n' || c == '\r' || c == ' ') {
                self.push(format!("{p}/mrz"), "invalid_mrz_characters", "an MRZ holds only A-Z, 0-9 and <");
            }
        }
    }

    fn payment(&mut self, p: &str, pay: &Payment) {
        if let Some(card) = &pay.card {
            if card.number.is_some() {
                self.push(
                    format!("{p}/card/number"),
                    "full_card_number_forbidden",
                    "never send a full card number (PAN); send a network token or fingerprint, the BIN and the last four digits",
                );
            }
            if let Some(bin) = &card.bin
                && (!(6..=8).contains(&bin.len()) || !bin.chars().all(|c| c.is_ascii_digit()))
            {
                self.push(format!("{p}/card/bin"), "invalid_bin", "a BIN is 6 to 8 digits");
            }
            if let Some(l4) = &card.last4
                && (l4.len() != 4 || !l4.chars().all(|c| c.is_ascii_digit()))
            {
                self.push(format!("{p}/card/last4"), "invalid_last4", "must be 4 digits");
            }
            if let Some(c) = &card.issuer_country {
                self.country(&format!("{p}/card/issuer_country"), c);
            }
            self.opt_text(&format!("{p}/card/network_token"), card.network_token.as_ref(), 200);
            self.opt_text(&format!("{p}/card/fingerprint"), card.fingerprint.as_ref(), 200);
        }
        if let Some(bank) = &pay.bank {
            if let Some(c) = &bank.country {
                self.country(&format!("{p}/bank/country"), c);
            }
            if let Some(iban) = &bank.iban
                && (iban.len() > 42 || !iban.chars().all(|c| c.is_ascii_alphanumeric() || c == ' '))
            {
                self.push(format!("{p}/bank/iban"), "invalid_iban", "an IBAN holds at most 34 letters and digits");
            }
            self.opt_text(&format!("{p}/bank/account_number"), bank.account_number.as_ref(), 64);
            self.opt_text(&format!("{p}/bank/routing_number"), bank.routing_number.as_ref(), 64);
            self.opt_text(&format!("{p}/bank/bic"), bank.bic.as_ref(), 11);
            self.opt_text(&format!("{p}/bank/institution"), bank.institution.as_ref(), MAX_TEXT);
        }
        if let Some(w) = &pay.crypto {
            self.text(&format!("{p}/crypto/asset"), &w.asset, true, 16);
            self.text(&format!("{p}/crypto/wallet"), &w.wallet, true, 128);
        }
        if let Some(a) = &pay.billing_address {
            self.address(&format!("{p}/billing_address"), a);
        }
        self.opt_text(&format!("{p}/source_of_funds"), pay.source_of_funds.as_ref(), MAX_TEXT);
        self.opt_text(&format!("{p}/processor_customer_id"), pay.processor_customer_id.as_ref(), MAX_ID);
    }

    fn signup(&mut self, p: &str, s: &Signup) {
        if s.ip.trim().parse::<IpAddr>().is_err() {
            self.push(format!("{p}/ip"), "invalid_ip", "must be an IPv4 or IPv6 address");
        }
        match DateTime::parse_from_rfc3339(&s.at) {
            Err(_) => self.push(format!("{p}/at"), "invalid_datetime", "must be an RFC 3339 date-time"),
            Ok(t) if t.with_timezone(&Utc) > self.now + chrono::Duration::hours(1) => {
                self.push(format!("{p}/at"), "date_in_future", "must not be in the future")
            }
            Ok(_) => {}
        }
        self.opt_text(&format!("{p}/user_agent"), s.user_agent.as_ref(), 1000);
    }

    fn sub_lessees(&mut self, p: &str, subs: &[SubLessee]) {
        if subs.len() > MAX_SUB_LESSEES {
            self.push(p, "too_many", format!("at most {MAX_SUB_LESSEES} sub-lessees per request"));
            return;
        }
        let mut seen = std::collections::HashSet::new();
        for (i, s) in subs.iter().enumerate() {
            let sp = format!("{p}/{i}");
            self.text(&format!("{sp}/external_id"), &s.external_id, true, MAX_ID);
            if !seen.insert(s.external_id.as_str()) {
                self.push(format!("{sp}/external_id"), "duplicate", "sub-lessee external_id repeated");
            }
            self.customer(&format!("{sp}/customer"), &s.customer);
        }
    }

    fn on_behalf_of(&mut self, p: &str, parties: &[OnBehalfOf]) {
        if parties.len() > MAX_ON_BEHALF_OF {
            self.push(p, "too_many", format!("at most {MAX_ON_BEHALF_OF} parties on whose behalf the account is held"));
            return;
        }
        for (i, o) in parties.iter().enumerate() {
            let op = format!("{p}/{i}");
            self.opt_text(&format!("{op}/relationship"), o.relationship.as_ref(), 64);
            self.customer(&format!("{op}/party"), &o.party);
            if let Customer::Entity(e) = &o.party
                && !e.beneficial_owners.is_empty()
            {
                self.push(
                    format!("{op}/party/beneficial_owners"),
                    "not_supported",
                    "the beneficial owners of a party the account is held for are not taken; name them as parties",
                );
            }
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(16).collect()
}

/// Resolves a document subject to `None` for an invalid subject, `Some(None)` for the customer
/// and `Some(Some(n))` for beneficial owner `n`.
pub fn subject_index(subject: &str, owners: usize) -> Option<Option<usize>> {
    if subject == "customer" {
        return Some(None);
    }
    let n: usize = subject.strip_prefix("beneficial_owner:")?.parse().ok()?;
    (n < owners).then_some(Some(n))
}

/// Checks an application; `now` is the time of the decision (the domain reads no clock).
pub fn validate(app: &Application, now: DateTime<Utc>) -> Result<(), Vec<FieldError>> {
    let mut c = Checker { errors: Vec::new(), today: now.date_naive(), now };
    c.text("/external_id", &app.external_id, true, MAX_ID);
    if app.products.len() > MAX_PRODUCTS {
        c.push("/products", "too_many", format!("at most {MAX_PRODUCTS} products"));
    }
    for (i, prod) in app.products.iter().take(MAX_PRODUCTS).enumerate() {
        let ok = !prod.is_empty()
            && prod.len() <= 40
            && prod.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
        if !ok {
            c.push(format!("/products/{i}"), "invalid_product", "a product is a lower-case identifier such as `gpu`");
        }
    }
    c.opt_text("/notice_version", app.notice_version.as_ref(), 64);
    c.customer("/customer", &app.customer);
    let owners = match &app.customer {
        Customer::Entity(e) => e.beneficial_owners.len(),
        Customer::Individual(_) => 0,
    };
    if app.documents.len() > MAX_DOCUMENTS {
        c.push("/documents", "too_many", format!("at most {MAX_DOCUMENTS} documents"));
    }
    for (i, d) in app.documents.iter().take(MAX_DOCUMENTS).enumerate() {
        c.document(&format!("/documents/{i}"), d, owners);
    }
    if let Some(pay) = &app.payment {
        c.payment("/payment", pay);
    }
    if let Some(s) = &app.signup {
        c.signup("/signup", s);
    }
    if let Some(r) = &app.reseller
        && let Some(d) = &r.agreement_signed
    {
        c.past_date("/reseller/agreement_signed", d);
    }
    c.sub_lessees("/sub_lessees", &app.sub_lessees);
    c.on_behalf_of("/on_behalf_of", &app.on_behalf_of);
    if c.errors.is_empty() { Ok(()) } else { Err(c.errors) }
}
