//! Documentary verification: an identity document's ICAO 9303 MRZ is valid (every check digit
//! and the composite), unexpired at the decision date, of the stated type, and consistent with
//! the application's subject (name with ICAO transliteration, date of birth, nationality, and
//! the document number and issuing country when the application states the same document).
//!
//! # Transliteration variants
//!
//! A name written in another script has several romanizations: Евгений is `Yevgeniy` in
//! English usage, `EVGENIY` in older Russian passports and `EVGENII` under ICAO 9303 (2013).
//! [`lessee_domain::mrz::name_matches`] handles diacritics and truncation but not these.
//! When it fails, [`romanization_key`] reduces both names to a key in which the usual variants
//! (`YE`/`E`, `Y`/`I`/`J`, `YA`/`IA`, `KH`/`H`, `TS`/`C`, `KS`/`X`, `W`/`V`, doubled letters)
//! coincide. Equal keys make a [`codes::DOCUMENT_NAME_TRANSLITERATION_VARIANT`] finding, whose
//! weight the policy chooses (`documents.name_transliteration_variant`): by default it is
//! accepted as consistent and recorded. Different keys are a name mismatch.

use chrono::NaiveDate;
use lessee_domain::Country;
use lessee_domain::application::{Application, Customer, Document, Individual};
use lessee_domain::mrz::{self, CheckName, Expected, MismatchField, Mrz, MrzFormat};
use serde::{Deserialize, Serialize};

use crate::codes;
use crate::evidence::{EvidenceKind, EvidenceRef, EvidenceState, Finding, Severity, Subject};

/// How a name that differs only as a romanization weighs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariantRule {
    /// Consistent; the finding is recorded for the reviewer.
    #[default]
    Accept,
    /// Consistent for the document, but the application goes to manual review.
    Review,
    /// A mismatch: the document fails.
    Fail,
}

/// The verdict on one document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DocumentCheck {
    /// Index into `documents`.
    pub index: usize,
    pub subject: Subject,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<MrzFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuing_country: Option<Country>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nationality: Option<Country>,
    /// `confirmed` (valid and consistent), `failed`, or `not_started` (no MRZ, not an identity
    /// document, or about someone who is not an individual).
    pub state: EvidenceState,
    pub findings: Vec<Finding>,
}

/// The person a document subject points at, if it is an individual.
pub fn subject_person(app: &Application, subject: Subject) -> Option<&Individual> {
    let person = match (subject, &app.customer) {
        (Subject::Customer, c) => c,
        (Subject::BeneficialOwner(n), Customer::Entity(e)) => &e.beneficial_owners.get(n)?.person,
        (Subject::BeneficialOwner(_), Customer::Individual(_)) => return None,
    };
    match person {
        Customer::Individual(i) => Some(i),
        Customer::Entity(_) => None,
    }
}

/// The subject of a document (`customer` when not stated).
pub fn document_subject(doc: &Document) -> Option<Subject> {
    match doc.subject.as_deref() {
        None => Some(Subject::Customer),
        Some(s) => Subject::parse(s.trim()),
    }
}

/// Which MRZ document codes a stated document type may carry (Doc 9303-4/5/6: `P` for
/// passports; `I`, `A`, `C` for identity cards and residence permits; `V` for visas).
fn type_matches(doc_type: &str, code: &str) -> Option<bool> {
    let first = code.chars().next()?;
    Some(match doc_type {
        "passport" => first == 'P',
        "national_id_card" | "id_card" | "residence_permit" => matches!(first, 'I' | 'A' | 'C'),
        "visa" => first == 'V',
        _ => return None,
    })
}

fn finding(code: &'static str, severity: Severity, message: String, ev: &EvidenceRef) -> Finding {
    Finding { code, severity, message, evidence: ev.clone() }
}

/// Checks document `index` of `app` against its subject, on date `today`.
pub fn check_document(
    app: &Application,
    index: usize,
    doc: &Document,
    today: NaiveDate,
    variants: VariantRule,
) -> DocumentCheck {
    let subject = document_subject(doc).unwrap_or(Subject::Customer);
    let mut ev = EvidenceRef::new(EvidenceKind::Document, format!("/documents/{index}"));
    let mut out = DocumentCheck {
        index,
        subject,
        format: None,
        issuing_country: None,
        nationality: None,
        state: EvidenceState::NotStarted,
        findings: Vec::new(),
    };
    let Some(person) = subject_person(app, subject) else {
        out.findings.push(finding(
            codes::DOCUMENT_SUBJECT_NOT_INDIVIDUAL,
            Severity::Info,
            format!("document {index} is about {subject}, which is not an individual; it is not used"),
            &ev,
        ));
        return out;
    };
    let Some(text) = doc.mrz.as_deref() else {
        out.findings.push(finding(
            codes::DOCUMENT_WITHOUT_MRZ,
            Severity::Info,
            format!("document {index} has no machine-readable zone to check"),
            &ev,
        ));
        return out;
    };
    let m = match Mrz::parse(text, today) {
        Ok(m) => m,
        Err(e) => {
            out.state = EvidenceState::Failed;
            ev = ev.state(EvidenceState::Failed);
            out.findings.push(finding(
                codes::DOCUMENT_UNREADABLE,
                Severity::Fail,
                format!("the MRZ of document {index} cannot be read: {e}"),
                &ev,
            ));
            return out;
        }
    };
    out.format = Some(m.format);
    out.issuing_country = m.issuing_state.country;
    out.nationality = m.nationality.country;
    ev = ev.detail(m.format.as_str()).country(m.issuing_state.country);

    if matches!(m.format, MrzFormat::MrvA | MrzFormat::MrvB) {
        out.findings.push(finding(
            codes::DOCUMENT_NOT_IDENTITY,
            Severity::Info,
            format!("document {index} is a visa ({}); a visa does not establish identity on its own", m.format),
            &ev,
        ));
        return out;
    }

    for c in m.failed_checks() {
        let (code, what) = match c.name {
            CheckName::DateOfBirthValid | CheckName::DateOfExpiryValid => {
                (codes::DOCUMENT_DATE_INVALID, "is not a calendar date")
            }
            CheckName::SexValid => (codes::DOCUMENT_SEX_INVALID, "is not F, M, X or <"),
            _ => (codes::DOCUMENT_CHECK_DIGIT_FAILED, "does not match its field"),
        };
        // The check's own detail quotes the field (personal data): only its name is kept.
        out.findings.push(finding(
            code,
            Severity::Fail,
            format!("document {index}: the MRZ {} {what}", c.name.as_str().replace('_', " ")),
            &ev.clone().detail(c.name.as_str()),
        ));
    }

    if let Some(false) = type_matches(doc.doc_type.trim(), &m.document_code) {
        out.findings.push(finding(
            codes::DOCUMENT_TYPE_MISMATCH,
            Severity::Review,
            format!(
                "document {index} is stated to be a {} but its MRZ document code is `{}`",
                doc.doc_type.trim(),
                m.document_code
            ),
            &ev,
        ));
    }

    if m.is_expired(today) {
        out.findings.push(finding(
            codes::DOCUMENT_EXPIRED,
            Severity::Fail,
            format!("document {index} expired before the decision date ({today})"),
            &ev.clone().detail("date_of_expiry"),
        ));
    }

    // The same document as `national_id` (same type): its number and issuer must agree.
    let same_id = person.national_id.as_ref().filter(|n| n.id_type.trim() == doc.doc_type.trim());
    let given = match &person.name.middle {
        Some(mid) if !mid.trim().is_empty() => format!("{} {}", person.name.given, mid),
        _ => person.name.given.clone(),
    };
    let expected = Expected {
        family_name: Some(person.name.family.clone()),
        given_names: Some(given.clone()),
        date_of_birth: person
            .date_of_birth
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()),
        nationality: None,
        document_number: same_id.map(|n| n.number.clone()),
    };
    let mismatches = m.compare(&expected);
    let mut names_differ = false;
    for mm in &mismatches {
        match mm.field {
            MismatchField::FamilyName | MismatchField::GivenNames => names_differ = true,
            MismatchField::DateOfBirth => out.findings.push(finding(
                codes::DOCUMENT_DATE_OF_BIRTH_MISMATCH,
                Severity::Fail,
                format!("document {index}: the date of birth in the MRZ is not the one stated for {subject}"),
                &ev.clone().detail("date_of_birth"),
            )),
            MismatchField::DocumentNumber => out.findings.push(finding(
                codes::DOCUMENT_NUMBER_MISMATCH,
                Severity::Fail,
                format!("document {index}: the document number in the MRZ is not the national_id number stated for {subject}"),
                &ev.clone().detail("document_number"),
            )),
            MismatchField::Nationality => {}
        }
    }
    if names_differ {
        let stated = format!("{given} {}", person.name.family);
        let in_mrz = format!("{} {}", m.given_names, m.surname);
        if romanization_key(&mrz::to_mrz_name(&stated)) == romanization_key(&in_mrz) {
            let severity = match variants {
                VariantRule::Accept => Severity::Info,
                VariantRule::Review => Severity::Review,
                VariantRule::Fail => Severity::Fail,
            };
            out.findings.push(finding(
                codes::DOCUMENT_NAME_TRANSLITERATION_VARIANT,
                severity,
                format!(
                    "document {index}: the name in the MRZ is another romanization of the name stated for {subject}"
                ),
                &ev.clone().detail("name"),
            ));
        } else {
            out.findings.push(finding(
                codes::DOCUMENT_NAME_MISMATCH,
                Severity::Fail,
                format!("document {index}: the name in the MRZ is not the name stated for {subject}"),
                &ev.clone().detail("name"),
            ));
        }
    }

    match m.nationality.country {
        Some(nat) => {
            let stated: Vec<Country> = person.citizenships.iter().filter_map(|c| Country::parse(c).ok()).collect();
            if !stated.is_empty() && !stated.contains(&nat) {
                out.findings.push(finding(
                    codes::DOCUMENT_NATIONALITY_MISMATCH,
                    Severity::Fail,
                    format!("document {index}: the nationality in the MRZ ({nat}) is none of the citizenships stated for {subject}"),
                    &ev.clone().detail("nationality").country(Some(nat)),
                ));
            }
        }
        None => out.findings.push(finding(
            codes::DOCUMENT_NATIONALITY_NOT_A_COUNTRY,
            Severity::Info,
            format!(
                "document {index}: the MRZ nationality `{}` is an ICAO special code, not a country",
                m.nationality.code
            ),
            &ev.clone().detail("nationality"),
        )),
    }

    if let Some(id) = same_id
        && let Ok(stated) = Country::parse(&id.issuing_country)
        && m.issuing_state.country != Some(stated)
    {
        out.findings.push(finding(
            codes::DOCUMENT_ISSUER_MISMATCH,
            Severity::Fail,
            format!(
                "document {index}: the issuing state in the MRZ ({}) is not the issuing country stated in national_id ({stated})",
                m.issuing_state
            ),
            &ev.clone().detail("issuing_state"),
        ));
    }

    let failed = out.findings.iter().any(|f| f.severity == Severity::Fail);
    out.state = if failed { EvidenceState::Failed } else { EvidenceState::Confirmed };
    if !failed {
        out.findings.push(finding(
            codes::DOCUMENT_VERIFIED,
            Severity::Info,
            format!(
                "document {index} ({}, {}) is valid, unexpired and consistent with {subject}",
                m.format, m.issuing_state
            ),
            &ev.clone().state(EvidenceState::Confirmed),
        ));
    }
    for f in &mut out.findings {
        f.evidence.state = Some(out.state);
    }
    out
}

/// Checks every document of `app` whose subject is `subject`.
pub fn check_documents_of(
    app: &Application,
    subject: Subject,
    today: NaiveDate,
    variants: VariantRule,
) -> Vec<DocumentCheck> {
    app.documents
        .iter()
        .enumerate()
        .filter(|(_, d)| document_subject(d) == Some(subject))
        .map(|(i, d)| check_document(app, i, d, today, variants))
        .collect()
}

/// The state of the `document` evidence for a subject: confirmed if any of its documents
/// verifies, failed if some were given and all failed, not started otherwise.
pub fn documents_state(checks: &[DocumentCheck]) -> EvidenceState {
    if checks.iter().any(|c| c.state == EvidenceState::Confirmed) {
        EvidenceState::Confirmed
    } else if checks.iter().any(|c| c.state == EvidenceState::Failed) {
        EvidenceState::Failed
    } else {
        EvidenceState::NotStarted
    }
}

/// Spellings that romanize one letter or sound differently, longest first (see the module
/// documentation). Applied left to right on an upper-case MRZ-form name.
const ROMANIZATION: &[(&str, &str)] = &[
    ("SHCH", "S"),
    ("TSCH", "C"),
    ("SCH", "S"),
    ("TCH", "C"),
    ("YA", "IA"),
    ("JA", "IA"),
    ("YU", "IU"),
    ("JU", "IU"),
    ("YE", "E"),
    ("JE", "E"),
    ("YO", "E"),
    ("JO", "E"),
    ("KH", "H"),
    ("ZH", "Z"),
    ("CH", "C"),
    ("TS", "C"),
    ("TZ", "C"),
    ("SH", "S"),
    ("KS", "X"),
    ("PH", "F"),
    ("W", "V"),
    ("Y", "I"),
    ("J", "I"),
];

/// A key equal for the usual romanizations of one name: `Yevgeniy`, `EVGENIY` and `EVGENII`
/// all give `EVGENI`. Word boundaries (spaces, `<`) are dropped; doubled letters collapse.
pub fn romanization_key(name: &str) -> String {
    let upper: String = name.chars().filter(char::is_ascii_alphabetic).map(|c| c.to_ascii_uppercase()).collect();
    let mut raw = String::with_capacity(upper.len());
    let mut rest = upper.as_str();
    while !rest.is_empty() {
        if let Some((pat, rep)) = ROMANIZATION.iter().find(|(p, _)| rest.starts_with(p)) {
            raw.push_str(rep);
            rest = rest.get(pat.len()..).unwrap_or("");
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                raw.push(c);
            }
            rest = chars.as_str();
        }
    }
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}
