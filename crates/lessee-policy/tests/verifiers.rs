//! Data-driven tables for each evidence verifier: documents (MRZ against the application),
//! phone numbers, payment instruments (card, IBAN, BIC, ABA, Bitcoin, Ethereum), location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
#![allow(clippy::type_complexity)] // case tables are tuples on purpose

use chrono::NaiveDate;
use lessee_domain::Country;
use lessee_domain::application::{Application, Document, Payment};
use lessee_domain::mrz::check_digit;
use lessee_policy::documents::{VariantRule, check_document, romanization_key};
use lessee_policy::evidence::Severity;
use lessee_policy::location::{Category, Observation, Weights, assess};
use lessee_policy::payment::{WalletKind, aba_routing_valid, bic_country, check_payment, check_wallet, iban_country};
use lessee_policy::phone::{LineType, check_phone};
use lessee_policy::{EvidenceState, codes};
use serde_json::{Value, json};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn cc(c: &str) -> Country {
    Country::parse(c).unwrap()
}

fn pad(s: &str, n: usize) -> String {
    format!("{s:<<n$}")
}

/// A TD3 (passport) MRZ with correct check digits.
fn td3(issuer: &str, surname: &str, given: &str, number: &str, nat: &str, dob: &str, expiry: &str) -> String {
    let name = pad(&format!("{surname}<<{}", given.replace(' ', "<")), 39);
    let line1 = format!("P<{}{name}", pad(issuer, 3));
    let num = pad(number, 9);
    let personal = pad("", 14);
    let d = |s: &str| check_digit(s).unwrap().to_string();
    let composite = format!("{num}{}{dob}{}{expiry}{}{personal}{}", d(&num), d(dob), d(expiry), d(&personal));
    let line2 = format!(
        "{num}{}{}{dob}{}F{expiry}{}{personal}{}{}",
        d(&num),
        pad(nat, 3),
        d(dob),
        d(expiry),
        d(&personal),
        d(&composite)
    );
    format!("{line1}\n{line2}")
}

/// An individual application: Katharina Müller, German, passport C01X00T47; `patch` overrides
/// customer fields.
fn app(patch: Value, doc_type: &str, mrz: Option<String>) -> Application {
    let mut customer = json!({
        "kind": "individual",
        "name": {"given": "Katharina", "family": "Müller"},
        "date_of_birth": "1989-04-12",
        "citizenships": ["DE"],
        "address": {"country": "DE"},
        "national_id": {"type": "passport", "number": "C01X00T47", "issuing_country": "DE"}
    });
    for (k, v) in patch.as_object().unwrap() {
        customer[k] = v.clone();
    }
    let v = json!({
        "external_id": "t-1", "account_type": "standard", "opening_method": "self_service",
        "customer": customer,
        "documents": [{"type": doc_type, "mrz": mrz}]
    });
    serde_json::from_value(v).unwrap()
}

const DE_PASSPORT: &str = "P<D<<MUELLER<<KATHARINA<<<<<<<<<<<<<<<<<<<<<\nC01X00T478D<<8904126F3208151<<<<<<<<<<<<<<00";

#[test]
fn documents_table() {
    let bogachev = json!({"name": {"given": "Yevgeniy", "family": "Bogachev"}, "date_of_birth": "1983-10-28",
        "citizenships": ["RU"], "national_id": {"type": "passport", "number": "RU0313455", "issuing_country": "RU"}});
    let bogachev_mrz = "P<RUSBOGACHEV<<EVGENIY<<<<<<<<<<<<<<<<<<<<<<\nRU03134554RUS8310280M3005121<<<<<<<<<<<<<<06";
    let visa = "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL8988901C4XXX4009078F96121096ZE184226B<<<<<<";
    let expired = td3("D", "MUELLER", "KATHARINA", "C01X00T47", "D", "890412", "250101");
    let corrupted = DE_PASSPORT.replace("C01X00T478", "C01X00T479");
    // (case, customer patch, stated type, MRZ, variant rule, state, codes of non-info findings + info codes)
    type Row<'a> = (&'a str, Value, &'a str, Option<String>, VariantRule, EvidenceState, Vec<&'a str>);
    let rows: Vec<Row> = vec![
        (
            "German passport, D issuer, Ü as UE",
            json!({}),
            "passport",
            Some(DE_PASSPORT.into()),
            VariantRule::Accept,
            EvidenceState::Confirmed,
            vec![codes::DOCUMENT_VERIFIED],
        ),
        (
            "generated passport with middle name",
            json!({"name": {"given": "Katharina", "middle": "Anna", "family": "Müller"}}),
            "passport",
            Some(td3("D", "MUELLER", "KATHARINA ANNA", "C01X00T47", "D", "890412", "320815")),
            VariantRule::Accept,
            EvidenceState::Confirmed,
            vec![codes::DOCUMENT_VERIFIED],
        ),
        (
            "date of birth differs",
            json!({"date_of_birth": "1989-04-13"}),
            "passport",
            Some(DE_PASSPORT.into()),
            VariantRule::Accept,
            EvidenceState::Failed,
            vec![codes::DOCUMENT_DATE_OF_BIRTH_MISMATCH],
        ),
        (
            "nationality is none of the citizenships",
            json!({"citizenships": ["FR"]}),
            "passport",
            Some(DE_PASSPORT.into()),
            VariantRule::Accept,
            EvidenceState::Failed,
            vec![codes::DOCUMENT_NATIONALITY_MISMATCH],
        ),
        (
            "second citizenship matches",
            json!({"citizenships": ["FR", "DE"]}),
            "passport",
            Some(DE_PASSPORT.into()),
            VariantRule::Accept,
            EvidenceState::Confirmed,
            vec![codes::DOCUMENT_VERIFIED],
        ),
        (
            "document number differs from national_id",
            json!({"national_id": {"type": "passport", "number": "C01X00T48", "issuing_country": "DE"}}),
            "passport",
            Some(DE_PASSPORT.into()),
            VariantRule::Accept,
            EvidenceState::Failed,
            vec![codes::DOCUMENT_NUMBER_MISMATCH],
        ),
        (
            "national_id of another type is not compared",
            json!({"national_id": {"type": "tax_id", "number": "12345678901", "issuing_country": "DE"}}),
            "passport",
            Some(DE_PASSPORT.into()),
            VariantRule::Accept,
            EvidenceState::Confirmed,
            vec![codes::DOCUMENT_VERIFIED],
        ),
        (
            "issuing country differs from national_id",
            json!({"national_id": {"type": "passport", "number": "C01X00T47", "issuing_country": "AT"}}),
            "passport",
            Some(DE_PASSPORT.into()),
            VariantRule::Accept,
            EvidenceState::Failed,
            vec![codes::DOCUMENT_ISSUER_MISMATCH],
        ),
        (
            "another name",
            json!({"name": {"given": "Katharina", "family": "Schmidt"}}),
            "passport",
            Some(DE_PASSPORT.into()),
            VariantRule::Accept,
            EvidenceState::Failed,
            vec![codes::DOCUMENT_NAME_MISMATCH],
        ),
        (
            "romanization variant accepted",
            bogachev.clone(),
            "passport",
            Some(bogachev_mrz.into()),
            VariantRule::Accept,
            EvidenceState::Confirmed,
            vec![codes::DOCUMENT_NAME_TRANSLITERATION_VARIANT, codes::DOCUMENT_VERIFIED],
        ),
        (
            "romanization variant sent to review",
            bogachev.clone(),
            "passport",
            Some(bogachev_mrz.into()),
            VariantRule::Review,
            EvidenceState::Confirmed,
            vec![codes::DOCUMENT_NAME_TRANSLITERATION_VARIANT, codes::DOCUMENT_VERIFIED],
        ),
        (
            "romanization variant refused",
            bogachev,
            "passport",
            Some(bogachev_mrz.into()),
            VariantRule::Fail,
            EvidenceState::Failed,
            vec![codes::DOCUMENT_NAME_TRANSLITERATION_VARIANT],
        ),
        (
            "expired",
            json!({}),
            "passport",
            Some(expired),
            VariantRule::Accept,
            EvidenceState::Failed,
            vec![codes::DOCUMENT_EXPIRED],
        ),
        (
            "document-number check digit wrong",
            json!({}),
            "passport",
            Some(corrupted),
            VariantRule::Accept,
            EvidenceState::Failed,
            vec![codes::DOCUMENT_CHECK_DIGIT_FAILED, codes::DOCUMENT_CHECK_DIGIT_FAILED],
        ),
        (
            "not an MRZ",
            json!({}),
            "passport",
            Some("P<D<<MUELLER".into()),
            VariantRule::Accept,
            EvidenceState::Failed,
            vec![codes::DOCUMENT_UNREADABLE],
        ),
        (
            "no MRZ",
            json!({}),
            "passport",
            None,
            VariantRule::Accept,
            EvidenceState::NotStarted,
            vec![codes::DOCUMENT_WITHOUT_MRZ],
        ),
        (
            "passport stated as an ID card",
            json!({}),
            "national_id_card",
            Some(DE_PASSPORT.into()),
            VariantRule::Accept,
            EvidenceState::Confirmed,
            vec![codes::DOCUMENT_TYPE_MISMATCH, codes::DOCUMENT_VERIFIED],
        ),
        (
            "a visa is not an identity document",
            json!({}),
            "visa",
            Some(visa.into()),
            VariantRule::Accept,
            EvidenceState::NotStarted,
            vec![codes::DOCUMENT_NOT_IDENTITY],
        ),
    ];
    for (case, patch, doc_type, mrz, rule, state, want) in rows {
        let a = app(patch, doc_type, mrz);
        let doc: &Document = &a.documents[0];
        let got = check_document(&a, 0, doc, today(), rule);
        let codes: Vec<&str> = got.findings.iter().map(|f| f.code).collect();
        assert_eq!((got.state, codes.clone()), (state, want), "{case}");
        // Findings never quote the personal data they are about.
        for f in &got.findings {
            for secret in ["C01X00T4", "MUELLER", "Müller", "1989", "890412", "RU031345", "BOGACHEV"] {
                assert!(!f.message.contains(secret), "{case}: `{}` quotes {secret}", f.message);
            }
        }
        if case == "romanization variant sent to review" {
            assert_eq!(got.findings[0].severity, Severity::Review);
        }
    }
}

#[test]
fn the_td1_card_of_a_beneficial_owner_verifies() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/applications/entity_foreign_with_owners.json"),
    )
    .unwrap();
    let a: Application = serde_json::from_str(&text).unwrap();
    let got = check_document(&a, 0, &a.documents[0], today(), VariantRule::Accept);
    assert_eq!(got.state, EvidenceState::Confirmed, "{:?}", got.findings);
    assert_eq!(got.subject, lessee_policy::Subject::BeneficialOwner(0));
    assert_eq!((got.issuing_country, got.nationality), (Some(cc("GB")), Some(cc("GB"))));
}

#[test]
fn romanization_keys() {
    let rows = [
        ("Yevgeniy", "EVGENIY", true),
        ("Yevgeniy", "EVGENII", true),
        ("Yevgeny", "EVGENII", true),
        ("Mariya", "MARIIA", true),
        ("Yulia", "IULIIA", true),
        ("Julia", "YULIYA", true),
        ("Khodorkovsky", "HODORKOVSKII", true),
        ("Tsvetkov", "CVETKOV", true),
        ("Alexei", "ALEKSEI", true),
        ("Fyodor", "FEDOR", true),
        ("Wladimir", "VLADIMIR", true),
        ("Yevgeniy", "EVGENIYA", false),
        ("Ivan", "IGOR", false),
        ("Katharina", "KATHARINE", false),
    ];
    for (a, b, same) in rows {
        assert_eq!(
            romanization_key(a) == romanization_key(b),
            same,
            "{a} / {b}: {} vs {}",
            romanization_key(a),
            romanization_key(b)
        );
    }
}

#[test]
fn phone_table() {
    use LineType::*;
    // (number, valid, country, line type)
    let rows: &[(&str, bool, Option<&str>, Option<LineType>)] = &[
        // The fixtures' numbers.
        ("+49 30 23125000", true, Some("DE"), Some(FixedLine)),
        ("+44 20 7946 0321", true, Some("GB"), Some(FixedLine)),
        ("+1 514 555 0199", true, Some("CA"), Some(FixedLineOrMobile)),
        ("+55 11 91234 5678", true, Some("BR"), Some(Mobile)),
        ("+1 202 555 0143", true, Some("US"), Some(FixedLineOrMobile)),
        ("+1 415 555 0132", true, Some("US"), Some(FixedLineOrMobile)),
        ("+7 495 123 45 67", true, Some("RU"), Some(FixedLine)),
        ("+65 6123 4567", true, Some("SG"), Some(FixedLine)),
        // Other forms.
        ("+4930 23125000", true, Some("DE"), Some(FixedLine)),
        ("+49 30", false, Some("DE"), None),
        ("+999 123 4567", false, None, None),
        ("030 23125000", false, None, None), // not international: no region to read it in
        ("garbage", false, None, None),
        ("", false, None, None),
    ];
    for (n, valid, country, line) in rows {
        let got = check_phone(n);
        assert_eq!(
            (got.valid, got.country.map(|c| c.to_string()), got.line_type),
            (*valid, country.map(str::to_owned), *line),
            "{n:?}"
        );
    }
    assert!(!check_phone(&"9".repeat(500)).valid);
}

#[test]
fn iban_table() {
    let rows = [
        ("GB82WEST12345698765432", Some("GB")),
        ("GB82 WEST 1234 5698 7654 32", Some("GB")),
        ("DE89370400440532013000", Some("DE")),
        ("FR1420041010050500013M02606", Some("FR")),
        ("GB82WEST12345698765433", None), // checksum
        ("GB83WEST12345698765432", None), // check digits
        ("DE89370400440532013001", None),
        ("GB82WEST1234569876543", None), // length
        ("XX82WEST12345698765432", None),
        ("", None),
    ];
    for (iban, want) in rows {
        assert_eq!(iban_country(iban).map(|c| c.to_string()).as_deref(), want, "{iban}");
    }
}

#[test]
fn bic_and_routing_number_tables() {
    for (bic, want) in [
        ("WESTGB2L", Some("GB")),
        ("DBSSSGSG", Some("SG")),
        ("DEUTDEFF500", Some("DE")),
        ("DEUTDEFF50", None),
        ("WESTXX2L", None),
        ("west gb2l", None),
    ] {
        assert_eq!(bic_country(bic).map(|c| c.to_string()).as_deref(), want, "{bic}");
    }
    for (rtn, ok) in
        [("011000015", true), ("021000021", true), ("021000022", false), ("02100002", false), ("02100002a", false)]
    {
        assert_eq!(aba_routing_valid(rtn), ok, "{rtn}");
    }
}

#[test]
fn wallet_table() {
    use WalletKind::*;
    let valid_bech32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";
    let rows: Vec<(&str, String, Result<WalletKind, ()>)> = vec![
        ("BTC", valid_bech32.into(), Ok(BitcoinSegwitV0)),
        ("BTC", valid_bech32.replace("ar0s", "ar1s"), Err(())), // one character changed
        ("BTC", valid_bech32.replace("mdq", "mdp"), Err(())),
        ("BTC", valid_bech32.to_uppercase(), Ok(BitcoinSegwitV0)),
        ("BTC", "bc1qAr0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq".into(), Err(())), // mixed case
        ("BTC", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4".into(), Ok(BitcoinSegwitV0)),
        ("BTC", "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297".into(), Ok(BitcoinSegwitV1Plus)),
        ("BTC", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx".into(), Err(())), // testnet
        ("BTC", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa".into(), Ok(BitcoinP2pkh)),
        ("BTC", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb".into(), Err(())),
        ("BTC", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy".into(), Ok(BitcoinP2sh)),
        ("BTC", "0A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa".into(), Err(())), // 0 is not base58
        ("ETH", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".into(), Ok(EthereumChecksummed)),
        ("ETH", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359".into(), Ok(EthereumChecksummed)),
        ("ETH", "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB".into(), Ok(EthereumChecksummed)),
        ("ETH", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb".into(), Ok(EthereumChecksummed)),
        ("ETH", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD".into(), Err(())),
        ("ETH", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed".into(), Ok(EthereumNoChecksum)),
        ("ETH", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA".into(), Err(())),
        ("USDC", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".into(), Ok(EthereumChecksummed)),
    ];
    for (asset, addr, want) in rows {
        assert_eq!(check_wallet(asset, &addr).map_err(|_| ()), want, "{asset} {addr}");
    }
    assert!(matches!(
        check_wallet("XMR", "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx"),
        Err(lessee_policy::payment::WalletError::UnsupportedAsset)
    ));
}

#[test]
fn payment_table() {
    // (case, payment JSON, state, finding codes, countries)
    let rows: Vec<(&str, Value, EvidenceState, Vec<&str>, Vec<&str>)> = vec![
        (
            "card",
            json!({"method": "card", "card": {"bin": "457173", "last4": "4242", "issuer_country": "DE"}}),
            EvidenceState::Confirmed,
            vec![],
            vec!["DE"],
        ),
        (
            "card with billing address",
            json!({"method": "card", "card": {"bin": "45717312", "issuer_country": "DE"}, "billing_address": {"country": "AT"}}),
            EvidenceState::Confirmed,
            vec![],
            vec!["DE", "AT"],
        ),
        (
            "card BIN too short",
            json!({"method": "card", "card": {"bin": "45717", "issuer_country": "DE"}}),
            EvidenceState::Failed,
            vec![codes::PAYMENT_CARD_BIN_INVALID],
            vec!["DE"],
        ),
        (
            "card without issuer country",
            json!({"method": "card", "card": {"bin": "457173"}}),
            EvidenceState::NotStarted,
            vec![codes::PAYMENT_CARD_ISSUER_COUNTRY_UNKNOWN],
            vec![],
        ),
        (
            "full card number",
            json!({"method": "card", "card": {"bin": "457173", "issuer_country": "DE", "number": "4571731234564242"}}),
            EvidenceState::Failed,
            vec![codes::PAYMENT_CARD_NUMBER_PRESENT],
            vec!["DE"],
        ),
        (
            "IBAN",
            json!({"method": "bank_transfer", "bank": {"iban": "GB82WEST12345698765432", "bic": "WESTGB2L", "country": "GB"}}),
            EvidenceState::Confirmed,
            vec![],
            vec!["GB", "GB", "GB"],
        ),
        (
            "bad IBAN",
            json!({"method": "bank_transfer", "bank": {"iban": "GB82WEST12345698765433", "country": "GB"}}),
            EvidenceState::Failed,
            vec![codes::PAYMENT_IBAN_INVALID],
            vec!["GB"],
        ),
        (
            "IBAN of another country",
            json!({"method": "bank_transfer", "bank": {"iban": "DE89370400440532013000", "country": "GB"}}),
            EvidenceState::Failed,
            vec![codes::PAYMENT_IBAN_COUNTRY_MISMATCH],
            vec!["GB", "DE"],
        ),
        (
            "account number and BIC",
            json!({"method": "bank_transfer", "bank": {"account_number": "0123456789", "bic": "DBSSSGSG", "country": "SG"}}),
            EvidenceState::Confirmed,
            vec![],
            vec!["SG", "SG"],
        ),
        (
            "BIC of another country",
            json!({"method": "bank_transfer", "bank": {"account_number": "0123456789", "bic": "DBSSSGSG", "country": "MY"}}),
            EvidenceState::Failed,
            vec![codes::PAYMENT_BIC_COUNTRY_MISMATCH],
            vec!["MY", "SG"],
        ),
        (
            "US account",
            json!({"method": "bank_transfer", "bank": {"account_number": "12345", "routing_number": "021000021", "country": "US"}}),
            EvidenceState::Confirmed,
            vec![],
            vec!["US"],
        ),
        (
            "bad routing number",
            json!({"method": "bank_transfer", "bank": {"account_number": "12345", "routing_number": "021000022", "country": "US"}}),
            EvidenceState::Failed,
            vec![codes::PAYMENT_ROUTING_NUMBER_INVALID],
            vec!["US"],
        ),
        (
            "bank name only",
            json!({"method": "bank_transfer", "bank": {"institution": "Some Bank"}}),
            EvidenceState::NotStarted,
            vec![codes::PAYMENT_BANK_ACCOUNT_INCOMPLETE],
            vec![],
        ),
        (
            "wallet",
            json!({"method": "crypto", "crypto": {"asset": "BTC", "wallet": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"}}),
            EvidenceState::Confirmed,
            vec![],
            vec![],
        ),
        (
            "bad wallet",
            json!({"method": "crypto", "crypto": {"asset": "BTC", "wallet": "bc1qar1srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"}}),
            EvidenceState::Failed,
            vec![codes::PAYMENT_WALLET_INVALID],
            vec![],
        ),
        (
            "unchecksummed ETH",
            json!({"method": "crypto", "crypto": {"asset": "ETH", "wallet": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"}}),
            EvidenceState::Confirmed,
            vec![codes::PAYMENT_WALLET_NO_CHECKSUM],
            vec![],
        ),
        ("invoice", json!({"method": "invoice"}), EvidenceState::NotStarted, vec![], vec![]),
    ];
    for (case, p, state, findings, countries) in rows {
        let p: Payment = serde_json::from_value(p).unwrap();
        let got = check_payment(Some(&p));
        let codes: Vec<&str> = got.findings.iter().map(|f| f.code).collect();
        let cs: Vec<String> = got.countries.iter().map(|c| c.country.to_string()).collect();
        assert_eq!(
            (got.state, codes, cs),
            (state, findings, countries.iter().map(|c| c.to_string()).collect()),
            "{case}"
        );
        for f in &got.findings {
            assert!(!f.message.contains("4571731234564242") && !f.message.contains("GB82"), "{case}: {}", f.message);
        }
    }
    assert_eq!(check_payment(None).state, EvidenceState::NotStarted);
}

#[test]
fn location_table() {
    let w = Weights { signup_ip: 2, phone: 1, payment: 2, document: 0 };
    let o = |cat: Category, c: &str| Observation { category: cat, country: cc(c), source: String::new() };
    use Category::*;
    let risky = [cc("RU")];
    // (case, observations, weight, disagreeing categories, high-risk countries)
    let rows: Vec<(&str, Vec<Observation>, u32, Vec<Category>, Vec<&str>)> = vec![
        ("all agree", vec![o(Address, "DE"), o(SignupIp, "DE"), o(Phone, "DE"), o(Payment, "DE")], 0, vec![], vec![]),
        (
            "travelling",
            vec![o(Address, "DE"), o(SignupIp, "FR"), o(Phone, "DE"), o(Payment, "DE")],
            2,
            vec![SignupIp],
            vec![],
        ),
        (
            "foreign card counted once",
            vec![o(Address, "DE"), o(Payment, "US"), o(Payment, "US"), o(Payment, "GB")],
            2,
            vec![Payment],
            vec![],
        ),
        (
            "IP and card elsewhere",
            vec![o(Address, "DE"), o(SignupIp, "FR"), o(Payment, "FR")],
            4,
            vec![SignupIp, Payment],
            vec![],
        ),
        (
            "IP and card in a high-risk country",
            vec![o(Address, "BR"), o(SignupIp, "RU"), o(Phone, "BR"), o(Payment, "RU")],
            8,
            vec![SignupIp, Payment],
            vec!["RU"],
        ),
        ("nationality is not location", vec![o(Address, "DE"), o(Document, "RU")], 0, vec![], vec![]),
        ("no address: the IP anchors", vec![o(SignupIp, "SG"), o(Phone, "MY")], 1, vec![Phone], vec![]),
        ("nothing known", vec![], 0, vec![], vec![]),
    ];
    for (case, obs, weight, cats, high) in rows {
        let r = assess(&obs, &w, 2, |c| risky.contains(&c));
        let high_got: Vec<String> = r.high_risk.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            (r.weight, r.categories, high_got),
            (weight, cats, high.iter().map(|c| c.to_string()).collect()),
            "{case}"
        );
    }
}

/// Every example number of libphonenumber's metadata (fixed line, mobile, toll free, premium
/// rate, VoIP of every region) is valid, and is placed in its own region where the calling code
/// has only one (shared codes such as +7 place a number by leading digits, as libphonenumber does).
#[test]
fn phone_metadata_examples_are_valid() {
    use phonenumber::metadata::DATABASE;
    let mut checked = 0;
    for meta in DATABASE.iter() {
        let d = meta.descriptors();
        let single = DATABASE.region(&meta.country_code()).is_some_and(|r| r.len() == 1);
        for desc in [d.fixed_line(), d.mobile(), d.toll_free(), d.premium_rate(), d.voip()] {
            let Some(example) = desc.and_then(|d| d.example()) else { continue };
            let text = format!("+{} {example}", meta.country_code());
            let got = check_phone(&text);
            assert!(got.valid, "{} {text}", meta.id());
            if single && let Ok(c) = Country::parse(meta.id()) {
                assert_eq!(got.country, Some(c), "{text}");
            }
            checked += 1;
        }
    }
    assert!(checked > 800, "{checked}");
}
