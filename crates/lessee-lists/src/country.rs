//! Country names as the lists write them, mapped to ISO 3166-1 alpha-2 codes.
//!
//! The names come from [`lessee_domain::Country`]'s table plus the spellings OFAC
//! (`Korea, North`, `Burma`, `Cote d Ivoire`) and the UN (`Iran (Islamic Republic of)`,
//! `United Kingdom of Great Britain and Northern Ireland`) use. Regions (`Region: Crimea`) and
//! historic states (`Serbia and Montenegro`, `Netherlands Antilles`) map to nothing on purpose.

use std::collections::HashMap;
use std::sync::LazyLock;

use lessee_domain::Country;

/// List spellings that the ISO short names do not cover, in normalized form (see [`normalize`]).
const ALIASES: &[(&str, &str)] = &[
    ("korea north", "KP"),
    ("north korea", "KP"),
    ("democratic people s republic of korea", "KP"),
    ("dprk", "KP"),
    ("korea south", "KR"),
    ("south korea", "KR"),
    ("republic of korea", "KR"),
    ("burma", "MM"),
    ("russia", "RU"),
    ("syria", "SY"),
    ("iran islamic republic of", "IR"),
    ("democratic republic of the congo", "CD"),
    ("congo democratic republic", "CD"),
    ("drc", "CD"),
    ("congo republic of the", "CG"),
    ("republic of the congo", "CG"),
    ("ivory coast", "CI"),
    ("brunei", "BN"),
    ("laos", "LA"),
    ("macau", "MO"),
    ("china macao special administrative region", "MO"),
    ("vietnam", "VN"),
    ("virgin islands british", "VG"),
    ("british virgin islands", "VG"),
    ("virgin islands u s", "VI"),
    ("us virgin islands", "VI"),
    ("west bank", "PS"),
    ("gaza", "PS"),
    ("gaza strip", "PS"),
    ("region gaza", "PS"),
    ("palestinian", "PS"),
    ("palestinian territories", "PS"),
    ("palestinian territory", "PS"),
    ("palestine", "PS"),
    ("state of palestine", "PS"),
    ("macedonia the former yugoslav republic of", "MK"),
    ("the former yugoslav republic of macedonia", "MK"),
    ("macedonia", "MK"),
    ("czech republic", "CZ"),
    ("china hong kong special administrative region", "HK"),
    ("bosnia herzegovina", "BA"),
    ("cape verde", "CV"),
    ("turkey", "TR"),
    ("swaziland", "SZ"),
    ("east timor", "TL"),
    ("vatican", "VA"),
    ("vatican city", "VA"),
    ("micronesia federated states of", "FM"),
    ("united kingdom of great britain and northern ireland", "GB"),
    ("great britain", "GB"),
    ("england", "GB"),
    ("uk", "GB"),
    ("united states", "US"),
    ("usa", "US"),
    ("u s a", "US"),
    ("united republic of tanzania", "TZ"),
    ("tanzania united republic of", "TZ"),
    ("bolivia plurinational state of", "BO"),
    ("venezuela bolivarian republic of", "VE"),
    ("republic of moldova", "MD"),
    ("moldova republic of", "MD"),
    ("netherlands kingdom of the", "NL"),
    ("holland", "NL"),
    ("uae", "AE"),
    ("st kitts and nevis", "KN"),
    ("st lucia", "LC"),
    ("st vincent and the grenadines", "VC"),
    ("sint maarten", "SX"),
    ("falkland islands", "FK"),
    ("kyrgyz republic", "KG"),
    ("slovak republic", "SK"),
    ("sao tome", "ST"),
    ("timor leste", "TL"),
    ("man isle of", "IM"),
    ("eritrean", "ER"),
];

static NAMES: LazyLock<HashMap<String, Country>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for a in b'A'..=b'Z' {
        for b in b'A'..=b'Z' {
            let code = [a, b];
            let Ok(code) = std::str::from_utf8(&code) else {
                continue;
            };
            if let Ok(country) = Country::parse(code) {
                map.insert(normalize(country.name()), country);
            }
        }
    }
    for (name, code) in ALIASES {
        if let Ok(country) = Country::parse(code) {
            map.insert(normalize(name), country);
        }
    }
    map
});

/// Lower case, diacritics folded, punctuation turned into spaces, spaces collapsed, a leading
/// or trailing `the` dropped (`Bahamas, The`): `Côte d'Ivoire` and `Cote d Ivoire` both become `cote d ivoire`.
pub(crate) fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = fold(c);
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else {
            space = true;
        }
    }
    let out = out.strip_prefix("the ").unwrap_or(&out);
    let out = out.strip_suffix(" the").unwrap_or(out);
    out.to_owned()
}

fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

/// The country a name or code denotes, if any. Two- and three-letter upper-case codes are read
/// as ISO alpha-2 and alpha-3 codes.
pub fn lookup(text: &str) -> Option<Country> {
    let text = text.trim().trim_end_matches('.').trim();
    if text.is_empty() {
        return None;
    }
    let upper = text.bytes().all(|b| b.is_ascii_uppercase());
    if upper
        && text.len() == 2
        && let Ok(country) = Country::parse(text)
    {
        return Some(country);
    }
    let key = normalize(text);
    if let Some(country) = NAMES.get(&key) {
        return Some(*country);
    }
    if upper
        && text.len() == 3
        && let Some(country) = Country::from_alpha3(text)
    {
        return Some(country);
    }
    // `Iran (Islamic Republic of)`, `Bolivia (Plurinational State of)`: try without the
    // parenthesis.
    if let Some(open) = text.find('(') {
        let before = text.get(..open).unwrap_or_default();
        let key = normalize(before);
        if let Some(country) = NAMES.get(&key) {
            return Some(*country);
        }
    }
    // `possibly Palestinian`
    for prefix in ["possibly ", "reportedly ", "probably "] {
        if let Some(rest) = key.strip_prefix(prefix) {
            return NAMES.get(rest).copied();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_spellings_map_to_codes() {
        let cases: &[(&str, Option<&str>)] = &[
            ("Korea, North", Some("KP")),
            ("Democratic People's Republic of Korea", Some("KP")),
            ("Iran (Islamic Republic of)", Some("IR")),
            ("Iran", Some("IR")),
            ("United Kingdom of Great Britain and Northern Ireland", Some("GB")),
            ("United Kingdom", Some("GB")),
            ("Congo, Democratic Republic of the", Some("CD")),
            ("Democratic Republic of the Congo", Some("CD")),
            ("Congo, Republic of the", Some("CG")),
            ("Cote d Ivoire", Some("CI")),
            ("Côte d'Ivoire", Some("CI")),
            ("Türkiye", Some("TR")),
            ("Turkey", Some("TR")),
            ("Burma", Some("MM")),
            ("Bahamas, The", Some("BS")),
            ("The Gambia", Some("GM")),
            ("Viet Nam", Some("VN")),
            ("Russian Federation", Some("RU")),
            ("Russia.", Some("RU")),
            ("Syrian Arab Republic", Some("SY")),
            ("China, Hong Kong Special Administrative Region", Some("HK")),
            ("Virgin Islands, British", Some("VG")),
            ("Macedonia, The Former Yugoslav Republic of", Some("MK")),
            ("Kosovo", Some("XK")),
            ("West Bank", Some("PS")),
            ("possibly Palestinian", Some("PS")),
            ("Bosnia-Herzegovina", Some("BA")),
            ("Guinea-Bissau", Some("GW")),
            ("Guinea", Some("GN")),
            ("Niger", Some("NE")),
            ("Nigeria", Some("NG")),
            ("SY", Some("SY")),
            ("USA", Some("US")),
            ("DEU", Some("DE")),
            ("UK", Some("GB")),
            ("Region: Crimea", None),
            ("Serbia and Montenegro", None),
            ("undetermined", None),
            ("", None),
            ("zz", None),
        ];
        for (name, want) in cases {
            let got = lookup(name).map(|c| c.to_string());
            assert_eq!(got.as_deref(), *want, "{name:?}");
        }
    }
}
