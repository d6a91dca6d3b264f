//! Stable reason codes. A code never changes meaning once shipped; new situations get new
//! codes. [`ALL`] lists every code the engine can emit with its meaning (the README's table is
//! this list; a test checks that every emitted code is in it).

pub use lessee_domain::decision::codes::{
    BENEFICIAL_OWNER_VERIFICATION_PENDING, US_PERSON_NO_CIP_REQUIRED, VERIFICATION_PENDING,
};

// Engine.
pub const RISK_TIER: &str = "risk_tier";
pub const VERIFIED: &str = "verified";
pub const VERIFICATION_FAILED: &str = "verification_failed";
pub const VERIFICATION_WAIVED: &str = "verification_waived";
pub const EVIDENCE_FAILED: &str = "evidence_failed";
pub const EXEMPTION_APPLIED: &str = "exemption_applied";
pub const EXEMPTION_UNKNOWN: &str = "exemption_unknown";
pub const RESELLER_CIP_WAIVED: &str = "reseller_cip_waived";
pub const LOCATION_INCONSISTENT: &str = "location_inconsistent";
pub const RESELLER_TERMS_MISSING: &str = "reseller_terms_missing";
pub const RESELLER_OWN_CIP: &str = "reseller_own_cip";
pub const RESELLER_AGREEMENT_MISSING: &str = "reseller_agreement_missing";
pub const RESELLER_ADOPTS_PROVIDER_CIP: &str = "reseller_adopts_provider_cip";
// Screening against government lists (R3).
pub const SCREENING_CLEAR: &str = "screening_clear";
pub const SCREENING_NOT_POSSIBLE: &str = "screening_not_possible";
pub const SCREENING_HIT: &str = "screening_hit";
pub const SCREENING_STRONG_HIT: &str = "screening_strong_hit";
pub const SCREENING_TRUE_MATCH: &str = "screening_true_match";
pub const SCREENING_FALSE_POSITIVE: &str = "screening_false_positive";
// From the classifier (lessee_domain::classify), passed through.
pub const LOCATION_EVIDENCE_CONFLICT: &str = "location_evidence_conflict";
pub const ORGANIZATION_EVIDENCE_CONFLICT: &str = "organization_evidence_conflict";

// Documents.
pub const DOCUMENT_VERIFIED: &str = "document_verified";
pub const DOCUMENT_WITHOUT_MRZ: &str = "document_without_mrz";
pub const DOCUMENT_UNREADABLE: &str = "document_unreadable";
pub const DOCUMENT_CHECK_DIGIT_FAILED: &str = "document_check_digit_failed";
pub const DOCUMENT_DATE_INVALID: &str = "document_date_invalid";
pub const DOCUMENT_SEX_INVALID: &str = "document_sex_invalid";
pub const DOCUMENT_EXPIRED: &str = "document_expired";
pub const DOCUMENT_TYPE_MISMATCH: &str = "document_type_mismatch";
pub const DOCUMENT_NOT_IDENTITY: &str = "document_not_identity";
pub const DOCUMENT_SUBJECT_NOT_INDIVIDUAL: &str = "document_subject_not_individual";
pub const DOCUMENT_NAME_MISMATCH: &str = "document_name_mismatch";
pub const DOCUMENT_NAME_TRANSLITERATION_VARIANT: &str = "document_name_transliteration_variant";
pub const DOCUMENT_DATE_OF_BIRTH_MISMATCH: &str = "document_date_of_birth_mismatch";
pub const DOCUMENT_NATIONALITY_MISMATCH: &str = "document_nationality_mismatch";
pub const DOCUMENT_NATIONALITY_NOT_A_COUNTRY: &str = "document_nationality_not_a_country";
pub const DOCUMENT_NUMBER_MISMATCH: &str = "document_number_mismatch";
pub const DOCUMENT_ISSUER_MISMATCH: &str = "document_issuer_mismatch";

// Phone.
pub const PHONE_INVALID: &str = "phone_invalid";
pub const PHONE_MISSING: &str = "phone_missing";

// Payment.
pub const PAYMENT_MISSING: &str = "payment_missing";
pub const PAYMENT_METHOD_NOT_EVIDENCE: &str = "payment_method_not_evidence";
pub const PAYMENT_CARD_NUMBER_PRESENT: &str = "payment_card_number_present";
pub const PAYMENT_CARD_BIN_INVALID: &str = "payment_card_bin_invalid";
pub const PAYMENT_CARD_ISSUER_COUNTRY_UNKNOWN: &str = "payment_card_issuer_country_unknown";
pub const PAYMENT_IBAN_INVALID: &str = "payment_iban_invalid";
pub const PAYMENT_IBAN_COUNTRY_MISMATCH: &str = "payment_iban_country_mismatch";
pub const PAYMENT_BIC_INVALID: &str = "payment_bic_invalid";
pub const PAYMENT_BIC_COUNTRY_MISMATCH: &str = "payment_bic_country_mismatch";
pub const PAYMENT_ROUTING_NUMBER_INVALID: &str = "payment_routing_number_invalid";
pub const PAYMENT_BANK_ACCOUNT_INCOMPLETE: &str = "payment_bank_account_incomplete";
pub const PAYMENT_WALLET_INVALID: &str = "payment_wallet_invalid";
pub const PAYMENT_WALLET_NO_CHECKSUM: &str = "payment_wallet_no_checksum";
pub const PAYMENT_WALLET_UNSUPPORTED_ASSET: &str = "payment_wallet_unsupported_asset";

// Entities.
pub const REGISTRATION_MISSING: &str = "registration_missing";
pub const REGISTRATION_COUNTRY_MISMATCH: &str = "registration_country_mismatch";

/// Every code with its meaning.
pub const ALL: &[(&str, &str)] = &[
    (
        US_PERSON_NO_CIP_REQUIRED,
        "the subject is a United States person (EO 13984 § 5(k)); no CIP verification is required",
    ),
    (
        VERIFICATION_PENDING,
        "the customer's verification is not complete yet; the tier's `pending` (or `missing`) outcome applies",
    ),
    (BENEFICIAL_OWNER_VERIFICATION_PENDING, "a foreign beneficial owner's verification is not complete yet"),
    (RISK_TIER, "the risk tier the application falls in, with the score and the factors behind it"),
    (VERIFIED, "a foreign subject is verified: the tier's requirement is met"),
    (
        VERIFICATION_FAILED,
        "the tier's requirement can no longer be met with the evidence given; the `failed` outcome applies",
    ),
    (VERIFICATION_WAIVED, "an exemption waives the verification of this subject"),
    (EVIDENCE_FAILED, "evidence presented for the subject failed, and the tier fails on any failed evidence"),
    (
        EXEMPTION_APPLIED,
        "an exemption applies to the application: one the policy defines, or one granted by Commerce and in force (the message names it, its reference and what it waives)",
    ),
    (EXEMPTION_UNKNOWN, "the caller named an exemption the policy does not define; it is ignored"),
    (
        RESELLER_CIP_WAIVED,
        "an exemption granted by Commerce waives the requirement that this foreign reseller keep a CIP",
    ),
    (
        LOCATION_INCONSISTENT,
        "the countries of address, sign-up IP, phone, payment and document disagree beyond a threshold",
    ),
    (RESELLER_TERMS_MISSING, "a reseller account does not say how the reseller meets its CIP obligation"),
    (RESELLER_OWN_CIP, "the reseller keeps its own CIP, which must be reviewed"),
    (RESELLER_AGREEMENT_MISSING, "the reseller adopts the provider's CIP but no signed agreement date is given"),
    (RESELLER_ADOPTS_PROVIDER_CIP, "the reseller adopts the provider's CIP by a signed agreement"),
    (SCREENING_CLEAR, "the subjects were screened against the imported lists: no match at or above the threshold"),
    (
        SCREENING_NOT_POSSIBLE,
        "no screening list is imported: screening was not possible; `screening.not_screened` applies",
    ),
    (SCREENING_HIT, "an open screening alert (a possible list match); `screening.hit` applies"),
    (
        SCREENING_STRONG_HIT,
        "an open screening alert whose date of birth or identifier matches too; `screening.strong_hit` applies",
    ),
    (SCREENING_TRUE_MATCH, "an analyst confirmed a screening alert as a true match: denied"),
    (SCREENING_FALSE_POSITIVE, "an analyst decided a screening alert was a false positive; it weighs nothing"),
    (
        LOCATION_EVIDENCE_CONFLICT,
        "classifier: address and sign-up IP disagree on whether the person is in the United States; treated as foreign",
    ),
    (
        ORGANIZATION_EVIDENCE_CONFLICT,
        "classifier: place of organization and registration country disagree; treated as foreign",
    ),
    (DOCUMENT_VERIFIED, "an identity document's MRZ is valid, unexpired and consistent with the application"),
    (DOCUMENT_WITHOUT_MRZ, "a document was given without its machine-readable zone; it cannot be checked here"),
    (DOCUMENT_UNREADABLE, "the MRZ is not an MRZ (line count, line length, characters)"),
    (DOCUMENT_CHECK_DIGIT_FAILED, "an ICAO 9303 check digit of the MRZ is wrong (the detail names which)"),
    (DOCUMENT_DATE_INVALID, "a date in the MRZ is not a calendar date"),
    (DOCUMENT_SEX_INVALID, "the sex field of the MRZ is not F, M, X or <"),
    (DOCUMENT_EXPIRED, "the document expired before the decision date"),
    (DOCUMENT_TYPE_MISMATCH, "the stated document type disagrees with the MRZ document code"),
    (DOCUMENT_NOT_IDENTITY, "the document (a visa) does not establish identity on its own"),
    (DOCUMENT_SUBJECT_NOT_INDIVIDUAL, "the document's subject is not an individual"),
    (
        DOCUMENT_NAME_MISMATCH,
        "the name in the MRZ is not the application's name, even allowing ICAO transliteration and truncation",
    ),
    (
        DOCUMENT_NAME_TRANSLITERATION_VARIANT,
        "the names differ only as romanizations of one name (Yevgeniy / EVGENII); weighed as the policy's `documents.name_transliteration_variant` says",
    ),
    (DOCUMENT_DATE_OF_BIRTH_MISMATCH, "the date of birth in the MRZ is not the application's"),
    (DOCUMENT_NATIONALITY_MISMATCH, "the MRZ nationality is none of the stated citizenships"),
    (
        DOCUMENT_NATIONALITY_NOT_A_COUNTRY,
        "the MRZ nationality is an ICAO special code (stateless, refugee, UN, organisation)",
    ),
    (
        DOCUMENT_NUMBER_MISMATCH,
        "the MRZ document number is not the national_id number stated for the same document type",
    ),
    (
        DOCUMENT_ISSUER_MISMATCH,
        "the MRZ issuing state is not the national_id issuing country stated for the same document",
    ),
    (PHONE_INVALID, "the phone number is not valid (libphonenumber metadata)"),
    (PHONE_MISSING, "no phone number is given"),
    (PAYMENT_MISSING, "no payment instrument is given"),
    (
        PAYMENT_METHOD_NOT_EVIDENCE,
        "the payment method is checked but does not count as identity evidence under this policy",
    ),
    (PAYMENT_CARD_NUMBER_PRESENT, "a full card number was sent; it must never be"),
    (PAYMENT_CARD_BIN_INVALID, "the card BIN is not 6 to 8 digits"),
    (PAYMENT_CARD_ISSUER_COUNTRY_UNKNOWN, "the card's issuer country is missing or not a country code"),
    (PAYMENT_IBAN_INVALID, "the IBAN fails its structure or ISO 13616 checksum"),
    (PAYMENT_IBAN_COUNTRY_MISMATCH, "the IBAN's country is not the stated bank country"),
    (PAYMENT_BIC_INVALID, "the BIC is not an ISO 9362 code"),
    (PAYMENT_BIC_COUNTRY_MISMATCH, "the BIC's country is not the stated bank country"),
    (PAYMENT_ROUTING_NUMBER_INVALID, "the ABA routing number fails its checksum"),
    (
        PAYMENT_BANK_ACCOUNT_INCOMPLETE,
        "the bank account has neither an IBAN nor an account number with a bank identifier and country",
    ),
    (PAYMENT_WALLET_INVALID, "the wallet address fails its format or checksum (base58check, bech32/bech32m, EIP-55)"),
    (PAYMENT_WALLET_NO_CHECKSUM, "the Ethereum address is all one case, so it carries no EIP-55 checksum"),
    (PAYMENT_WALLET_UNSUPPORTED_ASSET, "no address check is known for this asset"),
    (REGISTRATION_MISSING, "the entity states no registration"),
    (REGISTRATION_COUNTRY_MISMATCH, "the registration country is not the place of organization"),
];

/// The CIP requirements an exemption granted by Commerce (EO 13984 § 1(c)) can waive, by code:
/// the exemption registry accepts these codes and no others in an exemption's `requirements`.
pub mod requirements {
    /// Verification of foreign customers and of their foreign beneficial owners.
    pub const CIP_VERIFICATION: &str = "cip_verification";
    /// Verification of foreign beneficial owners only.
    pub const BENEFICIAL_OWNER_VERIFICATION: &str = "beneficial_owner_verification";
    /// The requirement that a foreign reseller keep a CIP (its own, or the provider's by agreement).
    pub const RESELLER_CIP: &str = "reseller_cip";

    /// Every requirement code with its meaning.
    pub const ALL: &[(&str, &str)] = &[
        (CIP_VERIFICATION, "verification of foreign customers and of their foreign beneficial owners"),
        (BENEFICIAL_OWNER_VERIFICATION, "verification of foreign beneficial owners only"),
        (RESELLER_CIP, "the requirement that a foreign reseller keep a CIP (its own, or the provider's by agreement)"),
    ];

    /// Whether the policy knows this requirement code.
    pub fn is_known(code: &str) -> bool {
        ALL.iter().any(|(c, _)| *c == code)
    }
}

/// The meaning of a code, if it is one.
pub fn describe(code: &str) -> Option<&'static str> {
    ALL.iter().find(|(c, _)| *c == code).map(|(_, d)| *d)
}
