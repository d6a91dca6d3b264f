//! The structured facts OFAC writes into free-text remarks, and the identifier labels shared
//! with the CSL's `ids` column.
//!
//! Remarks are `;`-separated statements such as `DOB 28 Oct 1983`, `POB Riga, Latvia`,
//! `nationality Latvia`, `Passport RU0313455106 (Russia)`, `a.k.a. 'Slavik'`,
//! `Linked To: INTERNET RESEARCH AGENCY LLC`. An `alt. ` prefix marks a further value of the
//! same kind. Statements that are not recognised stay in the verbatim remarks only.

use crate::dates::parse_dob;
use crate::model::{AliasQuality, CountryRef, DateOfBirth, Gender, IdCategory, Identifier, PlaceOfBirth};
use crate::text::clean;

/// Identifier labels, as OFAC writes them, and their category. Matched case-insensitively at a
/// word boundary, longest first.
const LABELS: &[(&str, IdCategory)] = &[
    ("Passport", IdCategory::Passport),
    ("Diplomatic Passport", IdCategory::Passport),
    ("Passport Booklet", IdCategory::Passport),
    ("Travel Document Number", IdCategory::Passport),
    ("National ID No.", IdCategory::NationalId),
    ("Cedula No.", IdCategory::NationalId),
    ("C.U.R.P.", IdCategory::NationalId),
    ("CURP", IdCategory::NationalId),
    ("D.N.I.", IdCategory::NationalId),
    ("Identification Number", IdCategory::NationalId),
    ("Personal ID Card", IdCategory::NationalId),
    ("Citizen's Card Number", IdCategory::NationalId),
    ("Kenyan ID No.", IdCategory::NationalId),
    ("Turkish Identification Number", IdCategory::NationalId),
    ("Numero de Identidad", IdCategory::NationalId),
    ("Tazkira National ID Card", IdCategory::NationalId),
    ("National Foreign ID Number", IdCategory::NationalId),
    ("Electoral Registry No.", IdCategory::NationalId),
    ("Credencial electoral", IdCategory::NationalId),
    ("I.F.E.", IdCategory::NationalId),
    ("Residency Number", IdCategory::NationalId),
    ("Birth Certificate Number", IdCategory::NationalId),
    ("Cartilla de Servicio Militar Nacional", IdCategory::NationalId),
    ("C.U.I.", IdCategory::NationalId),
    ("C.U.I.P.", IdCategory::NationalId),
    ("Immigration No.", IdCategory::NationalId),
    ("VisaNumberID", IdCategory::NationalId),
    ("Driver's License No.", IdCategory::NationalId),
    ("LE Number", IdCategory::NationalId),
    ("SSN", IdCategory::NationalId),
    ("Tax ID No.", IdCategory::TaxId),
    ("NIT #", IdCategory::TaxId),
    ("R.F.C.", IdCategory::TaxId),
    ("RFC", IdCategory::TaxId),
    ("RUC #", IdCategory::TaxId),
    ("RIF #", IdCategory::TaxId),
    ("V.A.T. Number", IdCategory::TaxId),
    ("C.U.I.T.", IdCategory::TaxId),
    ("US FEIN", IdCategory::TaxId),
    ("Italian Fiscal Code", IdCategory::TaxId),
    ("Numero Unico de Identificacao Tributaria (NUIT)", IdCategory::TaxId),
    ("C.I.F.", IdCategory::TaxId),
    ("Registration Number", IdCategory::Registration),
    ("Registration ID", IdCategory::Registration),
    ("Company Number", IdCategory::Registration),
    ("UK Company Number", IdCategory::Registration),
    ("Folio Mercantil No.", IdCategory::Registration),
    ("Government Gazette Number", IdCategory::Registration),
    ("Commercial Registry Number", IdCategory::Registration),
    ("Matricula Mercantil No", IdCategory::Registration),
    ("Trade License No.", IdCategory::Registration),
    ("D-U-N-S Number", IdCategory::Registration),
    ("C.R. No.", IdCategory::Registration),
    ("Business Registration Number", IdCategory::Registration),
    ("Business Registration Document #", IdCategory::Registration),
    ("Business Number", IdCategory::Registration),
    ("Chamber of Commerce Number", IdCategory::Registration),
    ("Public Registration Number", IdCategory::Registration),
    ("Registered Charity No.", IdCategory::Registration),
    ("Branch Unit Number", IdCategory::Registration),
    ("Certificate of Incorporation Number", IdCategory::Registration),
    ("United Social Credit Code Certificate (USCCC)", IdCategory::Registration),
    ("Unified Social Credit Code (USCC)", IdCategory::Registration),
    ("Legal Entity Number", IdCategory::Registration),
    ("Dubai Chamber of Commerce Membership No.", IdCategory::Registration),
    ("Enterprise Number", IdCategory::Registration),
    ("File Number", IdCategory::Registration),
    ("License", IdCategory::Registration),
    ("SRE Permit No.", IdCategory::Registration),
    ("Afghan Money Service Provider License Number", IdCategory::Registration),
    ("Pilot License Number", IdCategory::Registration),
    ("Chinese Commercial Code", IdCategory::Other),
    ("SWIFT/BIC", IdCategory::Bank),
    ("BIK (RU)", IdCategory::Bank),
    ("Vessel Registration Identification", IdCategory::Vessel),
    ("MMSI", IdCategory::Vessel),
    ("Call Sign", IdCategory::Vessel),
    ("Aircraft Tail Number", IdCategory::Aircraft),
    ("Aircraft Manufacturer's Serial Number (MSN)", IdCategory::Aircraft),
    ("Aircraft Construction Number (also called L/N or S/N or F/N)", IdCategory::Aircraft),
    ("Aircraft Mode S Transponder Code", IdCategory::Aircraft),
    ("Aircraft Serial Identification", IdCategory::Aircraft),
    ("Digital Currency Address", IdCategory::DigitalCurrency),
    ("Website", IdCategory::Website),
    ("Email Address", IdCategory::Email),
    ("Email", IdCategory::Email),
    ("Telephone", IdCategory::Phone),
    ("Phone Number", IdCategory::Phone),
    ("Phone", IdCategory::Phone),
    ("Fax", IdCategory::Phone),
];

/// Statement labels (OFAC remarks, CSL `ids`) that are facts about sanctions, not identifiers.
const NOT_IDENTIFIERS: &[&str] = &[
    "Additional Sanctions Information",
    "Secondary sanctions risk",
    "Transactions Prohibited For Persons Owned or Controlled By U.S. Financial Institutions",
    "Executive Order 13662 Directive Determination",
    "Executive Order 13846 information",
    "CAATSA Section 235 Information",
    "Organization Established Date",
    "Organization Type",
    "Target Type",
    "Former Vessel Flag",
    "Vessel Year of Build",
    "Aircraft Manufacture Date",
    "Aircraft Model",
    "Aircraft Operator",
    "Other Vessel Type",
    "Other Vessel Flag",
    "Gender",
    "IFCA Determination",
];

/// A label that introduces a sanctions fact rather than an identifier (CSL `ids` column).
pub(crate) fn is_fact_label(label: &str) -> bool {
    NOT_IDENTIFIERS.iter().any(|l| strip_label(label, l).is_some())
}

/// What the remarks of one entry say.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    pub dates_of_birth: Vec<DateOfBirth>,
    pub places_of_birth: Vec<PlaceOfBirth>,
    pub nationalities: Vec<CountryRef>,
    pub citizenships: Vec<CountryRef>,
    pub identifiers: Vec<Identifier>,
    pub aliases: Vec<(String, AliasQuality)>,
    pub linked_to: Vec<String>,
    pub gender: Option<Gender>,
    /// A vessel's `Nationality of Registration`.
    pub registration: Option<CountryRef>,
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| s.get(prefix.len()..)).flatten()
}

/// `s` starts with `label` followed by a word boundary.
fn strip_label<'a>(s: &'a str, label: &str) -> Option<&'a str> {
    let rest = strip_prefix_ci(s, label)?;
    match rest.chars().next() {
        None => Some(rest),
        Some(c) if c.is_whitespace() || matches!(c, '#' | ':' | '-' | '.' | ',') => Some(rest),
        Some(_) if !label.ends_with(|c: char| c.is_alphanumeric()) => Some(rest),
        Some(_) => None,
    }
}

/// The OFAC remark drops the final period of the whole text; keep it when it belongs to an
/// abbreviation such as `S.A.` or `LTD.`.
fn strip_final_period(s: &str) -> &str {
    let Some(without) = s.strip_suffix('.') else {
        return s;
    };
    let last_word = without.rsplit(' ').next().unwrap_or_default();
    let abbreviations = ["LTD", "INC", "CO", "CORP", "JR", "SR", "NO", "LLC", "S.A", "S.L"];
    if last_word.contains('.') || abbreviations.iter().any(|a| last_word.eq_ignore_ascii_case(a)) { s } else { without }
}

pub(crate) fn parse_remarks(remarks: &str) -> Facts {
    let mut facts = Facts::default();
    let remarks = strip_final_period(remarks.trim());
    for statement in remarks.split(';') {
        let statement = statement.trim();
        let statement = strip_prefix_ci(statement, "alt. ").map(str::trim).unwrap_or(statement);
        if statement.is_empty() {
            continue;
        }
        parse_statement(statement, &mut facts);
    }
    facts
}

fn parse_statement(s: &str, facts: &mut Facts) {
    if let Some(rest) = strip_label(s, "DOB") {
        facts.dates_of_birth.push(parse_dob(rest));
    } else if let Some(rest) = strip_label(s, "POB") {
        let text = clean(rest);
        if !text.is_empty() {
            facts.places_of_birth.push(place_of_birth(&text));
        }
    } else if let Some(rest) = strip_label(s, "Nationality of Registration") {
        let text = clean(rest);
        if !text.is_empty() {
            facts.registration = Some(CountryRef::from_text(&text));
        }
    } else if let Some(rest) = strip_label(s, "nationality") {
        facts.nationalities.push(CountryRef::from_text(&clean(rest.trim_start_matches([':', ' ']))));
    } else if let Some(rest) = strip_label(s, "citizen") {
        facts.citizenships.push(CountryRef::from_text(&clean(rest.trim_start_matches([':', ' ']))));
    } else if let Some(rest) = strip_prefix_ci(s, "a.k.a. ") {
        push_alias(facts, rest, AliasQuality::Weak);
    } else if let Some(rest) = strip_prefix_ci(s, "f.k.a. ") {
        push_alias(facts, rest, AliasQuality::Fka);
    } else if let Some(rest) = strip_prefix_ci(s, "n.k.a. ") {
        push_alias(facts, rest, AliasQuality::Nka);
    } else if let Some(rest) = strip_label(s, "Linked To") {
        let name = clean(rest.trim_start_matches([':', ' ']));
        if !name.is_empty() {
            facts.linked_to.push(name);
        }
    } else if let Some(rest) = strip_label(s, "Gender") {
        facts.gender = match clean(rest).trim_end_matches('.').to_ascii_lowercase().as_str() {
            "male" => Some(Gender::Male),
            "female" => Some(Gender::Female),
            _ => facts.gender,
        };
    } else if let Some(id) = parse_identifier(s) {
        facts.identifiers.push(id);
    }
}

fn push_alias(facts: &mut Facts, rest: &str, quality: AliasQuality) {
    let name = rest.trim().trim_end_matches('.');
    let name = name.strip_prefix('\'').and_then(|n| n.strip_suffix('\'')).unwrap_or(name);
    let name = clean(name);
    if !name.is_empty() {
        facts.aliases.push((name, quality));
    }
}

/// `Riga, Latvia` names its country last.
pub(crate) fn place_of_birth(text: &str) -> PlaceOfBirth {
    let last = text.rsplit(',').next().unwrap_or(text).trim();
    let country = crate::country::lookup(last).map(|_| CountryRef::from_text(last));
    PlaceOfBirth { text: text.to_owned(), country }
}

fn find_label(s: &str) -> Option<(&'static str, IdCategory, &str)> {
    let mut best: Option<(&'static str, IdCategory, &str)> = None;
    for (label, category) in LABELS {
        if let Some(rest) = strip_label(s, label)
            && best.is_none_or(|(b, _, _)| label.len() > b.len())
        {
            best = Some((label, *category, rest));
        }
    }
    best
}

/// `Passport RU0313455106 (Russia)`, `NIT # 800146749-7 (Colombia)`,
/// `Passport G025057 issued 23 Jun 1999 expires 05 Feb 2004`,
/// `Digital Currency Address - XBT 12QtD5BF...`.
pub(crate) fn parse_identifier(s: &str) -> Option<Identifier> {
    if NOT_IDENTIFIERS.iter().any(|label| strip_label(s, label).is_some()) {
        return None;
    }
    let (label, category, rest) = find_label(s)?;
    let mut kind = clean(label.trim_end_matches([' ', '#']));
    let mut rest = rest.trim_start_matches([' ', '#', ':', '-']).trim();
    if category == IdCategory::DigitalCurrency {
        // `XBT 12QtD5BF...`: the currency belongs to the kind.
        if let Some((currency, address)) = rest.split_once(' ')
            && !currency.is_empty()
            && currency.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            kind = format!("{kind} - {currency}");
            rest = address.trim();
        }
    }
    let (number, country, note) = split_number(rest);
    if number.is_empty() {
        return None;
    }
    Some(Identifier { kind, category, number, country, note })
}

/// Splits `G025057 (Egypt) issued 23 Jun 1999 expires 05 Feb 2004` into number, country and note.
fn split_number(rest: &str) -> (String, Option<CountryRef>, Option<String>) {
    let mut body = rest.to_owned();
    let mut note = None;
    for marker in [" issued ", " expires ", " Issue Date ", " Expiration Date "] {
        if let Some(at) = body.find(marker) {
            note = Some(clean(body.get(at..).unwrap_or_default()));
            body.truncate(at);
            break;
        }
    }
    let mut country = None;
    if let (Some(open), Some(close)) = (body.rfind('('), body.rfind(')'))
        && open < close
    {
        let inside = body.get(open + 1..close).unwrap_or_default().trim();
        if crate::country::lookup(inside).is_some() {
            country = Some(CountryRef::from_text(inside));
            let after = body.get(close + 1..).unwrap_or_default().trim().to_owned();
            body.truncate(open);
            if !after.is_empty() && after != "." {
                let after = after.trim_start_matches('.').trim().to_owned();
                if !after.is_empty() {
                    note = Some(match note {
                        Some(n) => format!("{after} {n}"),
                        None => after,
                    });
                }
            }
        }
    }
    let number = clean(body.trim().trim_end_matches([',', '.', ';']).trim());
    (number, country, note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PartialDate;

    fn country(name: &str) -> Option<CountryRef> {
        Some(CountryRef::from_text(name))
    }

    #[test]
    fn reads_bogachev() {
        let facts = parse_remarks(
            "DOB 28 Oct 1983; a.k.a. 'Slavik'; a.k.a. 'Monstr'; a.k.a. 'Pollingsoon'; a.k.a. 'Lastik'; a.k.a. 'lucky12345'.",
        );
        assert_eq!(
            facts.dates_of_birth,
            vec![DateOfBirth::Date {
                date: PartialDate { year: 1983, month: Some(10), day: Some(28) },
                approximate: false
            }]
        );
        let names: Vec<&str> = facts.aliases.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Slavik", "Monstr", "Pollingsoon", "Lastik", "lucky12345"]);
        assert!(facts.aliases.iter().all(|(_, q)| *q == AliasQuality::Weak));
    }

    /// kind, category, number, country code, note
    type Expected<'a> = (&'a str, IdCategory, &'a str, Option<&'a str>, Option<&'a str>);

    #[test]
    fn reads_identifiers() {
        let cases: Vec<(&str, Option<Expected<'_>>)> = vec![
            (
                "Passport RU0313455106 (Russia)",
                Some(("Passport", IdCategory::Passport, "RU0313455106", Some("RU"), None)),
            ),
            ("NIT # 800146749-7 (Colombia)", Some(("NIT", IdCategory::TaxId, "800146749-7", Some("CO"), None))),
            (
                "Passport G025057 issued 23 Jun 1999 expires 05 Feb 2004",
                Some((
                    "Passport",
                    IdCategory::Passport,
                    "G025057",
                    None,
                    Some("issued 23 Jun 1999 expires 05 Feb 2004"),
                )),
            ),
            (
                "Passport E590976 (Tunisia) issued 19 Jun 1987 expires 18 Jun 1992",
                Some((
                    "Passport",
                    IdCategory::Passport,
                    "E590976",
                    Some("TN"),
                    Some("issued 19 Jun 1987 expires 18 Jun 1992"),
                )),
            ),
            (
                "Passport Booklet A5250088 (Pakistan)",
                Some(("Passport Booklet", IdCategory::Passport, "A5250088", Some("PK"), None)),
            ),
            (
                "National ID No. 660000 73767 (Belgium)",
                Some(("National ID No.", IdCategory::NationalId, "660000 73767", Some("BE"), None)),
            ),
            (
                "Digital Currency Address - XBT 12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h",
                Some((
                    "Digital Currency Address - XBT",
                    IdCategory::DigitalCurrency,
                    "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h",
                    None,
                    None,
                )),
            ),
            (
                "Vessel Registration Identification IMO 9187629",
                Some(("Vessel Registration Identification", IdCategory::Vessel, "IMO 9187629", None, None)),
            ),
            ("Website stc-spb.ru", Some(("Website", IdCategory::Website, "stc-spb.ru", None, None))),
            (
                "Email Address stcspb1@mail.ru",
                Some(("Email Address", IdCategory::Email, "stcspb1@mail.ru", None, None)),
            ),
            (
                "Aircraft Manufacturer's Serial Number (MSN) 1023409321",
                Some(("Aircraft Manufacturer's Serial Number (MSN)", IdCategory::Aircraft, "1023409321", None, None)),
            ),
            ("Additional Sanctions Information - Subject to Secondary Sanctions", None),
            ("Linked To: HIZBALLAH", None),
            ("Minister of Information", None),
            ("Licensed to practise", None),
        ];
        for (input, want) in cases {
            let got = parse_identifier(input);
            let got = got.as_ref().map(|id| {
                (
                    id.kind.as_str(),
                    id.category,
                    id.number.as_str(),
                    id.country.as_ref().and_then(|c| c.code).map(|c| c.to_string()),
                    id.note.as_deref(),
                )
            });
            let want = want.map(|(k, c, n, cc, note)| (k, c, n, cc.map(str::to_owned), note));
            assert_eq!(got, want, "{input:?}");
        }
    }

    #[test]
    fn reads_people_facts() {
        let facts = parse_remarks(
            "DOB 27 Jun 1987; alt. DOB circa 1986; POB Riga, Latvia; nationality Latvia; citizen Korea, North; alt. citizen Russia; Gender Male; Linked To: AGROPECUARIA LA ROBLEDA S.A.; Linked To: HIZBALLAH.",
        );
        assert_eq!(facts.dates_of_birth.len(), 2);
        assert_eq!(
            facts.places_of_birth,
            vec![PlaceOfBirth { text: "Riga, Latvia".into(), country: country("Latvia") }]
        );
        assert_eq!(facts.nationalities, vec![CountryRef::from_text("Latvia")]);
        let codes: Vec<String> = facts.citizenships.iter().filter_map(|c| c.code.map(|c| c.to_string())).collect();
        assert_eq!(codes, ["KP", "RU"]);
        assert_eq!(facts.gender, Some(Gender::Male));
        assert_eq!(facts.linked_to, ["AGROPECUARIA LA ROBLEDA S.A.", "HIZBALLAH"]);
    }

    #[test]
    fn keeps_abbreviation_periods_and_inner_apostrophes() {
        let facts = parse_remarks("a.k.a. 'ABU-'UMAR'; Linked To: GOLDEN CO., LTD.");
        assert_eq!(facts.aliases, vec![("ABU-'UMAR".to_owned(), AliasQuality::Weak)]);
        assert_eq!(facts.linked_to, ["GOLDEN CO., LTD."]);
    }
}
