//! Name normalization: one searchable Latin form for every way a name is written.
//!
//! [`normalize`] turns a name into lower-case ASCII tokens separated by single spaces: scripts are
//! transliterated (Cyrillic by a BGN/PCGN-style table, everything else through `any_ascii`, which
//! also drops diacritics), apostrophes are dropped (`O'Brien` = `obrien`), other punctuation splits
//! tokens, honorifics are removed and company forms are rewritten to one canonical token per
//! class (`ООО`, `OOO`, `Limited Liability Company`, `GmbH` -> `llc`). The result is a fixpoint:
//! `normalize(normalize(x)) == normalize(x)`.
//!
//! [`fold`] maps a normalized token to its romanization key, so that common transliteration
//! variants meet (`yevgeniy`, `evgeniy`, `evgeny`, `evgenii` -> `evgeni`; `ivanoff` -> `ivanov`;
//! `khalil` -> `halil`; `youssef` -> `yusef`); [`skeleton`] keeps the consonants only, so that
//! vowel variants meet too (`mohammed`, `muhammad`, Arabic `محمد` -> `mhmd`). Both are idempotent.

/// Lower-case ASCII tokens of a name, after transliteration, honorific removal and company-form
/// canonicalization. See the module documentation.
pub fn tokens(name: &str) -> Vec<String> {
    let mut current = first_pass(name);
    // Removing an honorific or rewriting a form can bring two tokens together that form a
    // phrase, and an ambiguous form before a form becomes a form, which can make the one
    // before it a form in turn (`ao sa sa ooo`); repeat until nothing changes so that the
    // result is a fixpoint (each pass that changes something shortens or rewrites a token).
    for _ in 0..current.len().max(4) + 1 {
        let next = token_pass(&current);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// [`tokens`] joined by single spaces.
pub fn normalize(name: &str) -> String {
    tokens(name).join(" ")
}

/// Canonical company-form tokens: every legal form is rewritten to one of these.
pub const FORM_TOKENS: [&str; 6] = ["llc", "jsc", "ltd", "inc", "co", "fze"];

/// Particles and connectives that carry little identifying weight.
const STOPWORDS: [&str; 33] = [
    "al", "el", "ul", "ud", "ad", "ar", "as", "bin", "ibn", "bint", "bn", "abu", "abou", "umm", "ben", "de", "da",
    "del", "della", "der", "di", "do", "dos", "das", "du", "la", "le", "van", "von", "the", "of", "and", "y",
];

/// Titles and honorifics, removed wherever they stand (unless the whole name is one).
const HONORIFICS: [&str; 37] = [
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "prof",
    "professor",
    "sir",
    "dame",
    "madam",
    "madame",
    "mme",
    "mlle",
    "herr",
    "frau",
    "sheikh",
    "shaikh",
    "shaykh",
    "sheik",
    "mullah",
    "mulla",
    "maulavi",
    "maulvi",
    "mawlawi",
    "mawlavi",
    "hajji",
    "haji",
    "alhaji",
    "hon",
    "rev",
    "gen",
    "col",
    "capt",
    "jr",
    "gospodin",
    "gospozha",
];

/// How a token counts in matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenClass {
    /// An ordinary name part.
    Name,
    /// A particle such as `al`, `bin`, `de`, `van`.
    Stop,
    /// A canonical company form (`llc`, `jsc`, `ltd`, `inc`, `co`, `fze`).
    Form,
    /// A single letter: an initial.
    Initial,
}

/// The class of a normalized token.
pub fn classify(token: &str) -> TokenClass {
    if FORM_TOKENS.contains(&token) {
        TokenClass::Form
    } else if STOPWORDS.contains(&token) {
        TokenClass::Stop
    } else if token.len() == 1 && token.bytes().all(|b| b.is_ascii_alphabetic()) {
        TokenClass::Initial
    } else {
        TokenClass::Name
    }
}

/// Company forms: token sequences and the canonical form they become. Longest match wins.
/// `edge_only` forms are also ordinary words or names (`AO`, `SA`, `Co`), so they are only read
/// as forms at the start or end of a name of two or more tokens.
struct Form {
    words: &'static [&'static str],
    canonical: &'static str,
    edge_only: bool,
}

const fn form(words: &'static [&'static str], canonical: &'static str) -> Form {
    Form { words, canonical, edge_only: false }
}

const fn edge(words: &'static [&'static str], canonical: &'static str) -> Form {
    Form { words, canonical, edge_only: true }
}

const FORMS: &[Form] = &[
    // Limited liability companies and their equivalents.
    form(&["llc"], "llc"),
    form(&["ooo"], "llc"),
    form(&["limited", "liability", "company"], "llc"),
    form(&["limited", "liability", "co"], "llc"),
    form(&["limited", "liability", "partnership"], "llc"),
    form(&["llp"], "llc"),
    form(&["pllc"], "llc"),
    form(&["obshchestvo", "s", "ogranichennoy", "otvetstvennostyu"], "llc"),
    form(&["obshchestvo", "s", "ogranichennoi", "otvetstvennostyu"], "llc"),
    form(&["obshchestvo", "s", "ogranichennoi", "otvetstvennostiu"], "llc"),
    form(&["obshchestvo", "s", "ogranichennoj", "otvetstvennostju"], "llc"),
    form(&["tovarystvo", "z", "obmezhenoyu", "vidpovidalnistyu"], "llc"),
    form(&["gmbh"], "llc"),
    form(&["mbh"], "llc"),
    form(&["sarl"], "llc"),
    form(&["srl"], "llc"),
    form(&["sro"], "llc"),
    form(&["kft"], "llc"),
    form(&["doo"], "llc"),
    form(&["sdn", "bhd"], "llc"),
    form(&["s", "de", "rl"], "llc"),
    form(&["s", "de", "r", "l"], "llc"),
    form(&["s", "de", "rl", "de", "cv"], "llc"),
    form(&["s", "de", "r", "l", "de", "c", "v"], "llc"),
    form(&["spr", "de", "rl"], "llc"),
    form(&["spr", "de", "rl", "de", "cv"], "llc"),
    form(&["sociedad", "de", "responsabilidad", "limitada"], "llc"),
    form(&["sociedad", "anonima", "de", "capital", "variable"], "jsc"),
    form(&["bhd"], "llc"),
    edge(&["tov"], "llc"),
    edge(&["too"], "llc"),
    edge(&["bv"], "llc"),
    // Joint-stock and public companies.
    form(&["jsc"], "jsc"),
    form(&["ojsc"], "jsc"),
    form(&["cjsc"], "jsc"),
    form(&["pjsc"], "jsc"),
    form(&["zao"], "jsc"),
    form(&["oao"], "jsc"),
    form(&["pao"], "jsc"),
    form(&["jstc"], "jsc"),
    form(&["joint", "stock", "company"], "jsc"),
    form(&["joint", "stock", "co"], "jsc"),
    form(&["jointstock", "company"], "jsc"),
    form(&["open", "joint", "stock", "company"], "jsc"),
    form(&["closed", "joint", "stock", "company"], "jsc"),
    form(&["public", "joint", "stock", "company"], "jsc"),
    form(&["private", "joint", "stock", "company"], "jsc"),
    form(&["open", "joint", "stock", "co"], "jsc"),
    form(&["closed", "joint", "stock", "co"], "jsc"),
    form(&["public", "joint", "stock", "co"], "jsc"),
    form(&["aktsionernoe", "obshchestvo"], "jsc"),
    form(&["aktsionernoye", "obshchestvo"], "jsc"),
    form(&["otkrytoe", "aktsionernoe", "obshchestvo"], "jsc"),
    form(&["otkrytoye", "aktsionernoye", "obshchestvo"], "jsc"),
    form(&["zakrytoe", "aktsionernoe", "obshchestvo"], "jsc"),
    form(&["zakrytoye", "aktsionernoye", "obshchestvo"], "jsc"),
    form(&["publichnoe", "aktsionernoe", "obshchestvo"], "jsc"),
    form(&["publichnoye", "aktsionernoye", "obshchestvo"], "jsc"),
    form(&["aktsionerne", "tovarystvo"], "jsc"),
    form(&["public", "limited", "company"], "jsc"),
    form(&["plc"], "jsc"),
    form(&["psc"], "jsc"),
    form(&["pjs"], "jsc"),
    form(&["sae"], "jsc"),
    form(&["spa"], "jsc"),
    form(&["aktiengesellschaft"], "jsc"),
    form(&["societe", "anonyme"], "jsc"),
    form(&["sociedad", "anonima"], "jsc"),
    form(&["sa", "de", "cv"], "jsc"),
    form(&["s", "a", "de", "c", "v"], "jsc"),
    form(&["sapi", "de", "cv"], "jsc"),
    edge(&["de", "cv"], "jsc"),
    edge(&["de", "c", "v"], "jsc"),
    edge(&["sas"], "jsc"),
    edge(&["sac"], "jsc"),
    edge(&["sal"], "jsc"),
    edge(&["ao"], "jsc"),
    edge(&["sa"], "jsc"),
    edge(&["ag"], "jsc"),
    edge(&["nv"], "jsc"),
    edge(&["pt"], "jsc"),
    // Limited companies.
    form(&["ltd"], "ltd"),
    form(&["limited"], "ltd"),
    form(&["ltda"], "ltd"),
    form(&["limitada"], "ltd"),
    form(&["pte"], "ltd"),
    form(&["pty"], "ltd"),
    form(&["pvt"], "ltd"),
    form(&["private", "limited"], "ltd"),
    form(&["pte", "ltd"], "ltd"),
    form(&["pvt", "ltd"], "ltd"),
    form(&["pty", "ltd"], "ltd"),
    form(&["private", "ltd"], "ltd"),
    form(&["co", "ltd"], "ltd"),
    form(&["company", "limited"], "ltd"),
    form(&["company", "ltd"], "ltd"),
    form(&["co", "limited"], "ltd"),
    edge(&["private"], "ltd"),
    // Corporations.
    form(&["inc"], "inc"),
    form(&["incorporated"], "inc"),
    form(&["corp"], "inc"),
    form(&["corporation"], "inc"),
    // Plain "company".
    form(&["company"], "co"),
    form(&["cie"], "co"),
    form(&["compania"], "co"),
    form(&["compagnie"], "co"),
    form(&["kompaniya"], "co"),
    form(&["kompaniia"], "co"),
    edge(&["co"], "co"),
    edge(&["ko"], "co"),
    edge(&["cia"], "co"),
    // Free-zone establishments.
    form(&["fze"], "fze"),
    form(&["fzco"], "fze"),
    form(&["fzc"], "fze"),
    form(&["fzllc"], "fze"),
    form(&["fz", "llc"], "fze"),
    form(&["fz", "co"], "fze"),
    form(&["free", "zone", "establishment"], "fze"),
    form(&["free", "zone", "company"], "fze"),
];

/// Dotted acronyms that are company forms (`L.L.C.`, `S.A.`, `S.R.L.`): joined into one token.
/// Other dotted single letters stay separate initials (`J.R. Smith` = `j r smith`).
const DOTTED_FORMS: [&str; 25] = [
    "llc", "sa", "srl", "plc", "jsc", "ooo", "zao", "oao", "pao", "ag", "nv", "bv", "spa", "sarl", "sro", "ao", "fze",
    "cv", "rl", "sas", "sal", "sac", "spr", "sapi", "ltd",
];

/// Dotted letters one typo from a dotted form (`S.VA.`, `S.A.DS.`, `S.TA.` for `S.A.`,
/// `S.A.S.`): short parts, the same first letter, one edit.
fn garbled_dotted_form(parts: &[&str], joined: &str) -> Option<&'static str> {
    if parts.len() < 2 || parts.iter().any(|p| p.len() > 2) || joined.len() > 5 {
        return None;
    }
    DOTTED_FORMS.into_iter().find(|form| {
        form.len() >= 2
            && form.as_bytes().first() == joined.as_bytes().first()
            && crate::similarity::osa_distance(form.as_bytes(), joined.as_bytes(), 1).is_some()
    })
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '`' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{02BB}' | '\u{02BF}' | '\u{02BE}')
}

/// Transliterates, lower-cases and splits into raw tokens (before honorifics and forms).
fn first_pass(name: &str) -> Vec<String> {
    let mut latin = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        transliterate_char(c, &mut latin);
    }
    let mut out = Vec::new();
    for chunk in latin.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.')) {
        if chunk.is_empty() {
            continue;
        }
        let parts: Vec<&str> = chunk.split('.').filter(|p| !p.is_empty()).collect();
        let dotted_acronym = parts.len() > 1 && parts.iter().all(|p| p.len() == 1);
        let joined: String = parts.concat();
        if dotted_acronym && DOTTED_FORMS.contains(&joined.as_str()) {
            out.push(joined);
        } else if let Some(form) = garbled_dotted_form(&parts, &joined) {
            out.push(form.to_owned());
        } else {
            out.extend(parts.into_iter().map(str::to_owned));
        }
    }
    out
}

/// Words of company forms that are recognised through a typo or a romanization variant
/// (`limitad`, `kompany`, `korporation`, `obshchestao`) and corrected before forms are read.
/// Short words must have the same romanization key; long ones may also be one edit away (two
/// from twelve letters on).
const FORM_WORDS: [&str; 27] = [
    "private",
    "public",
    "closed",
    "sociedad",
    "anonima",
    "responsabilidad",
    "limitada",
    "limited",
    "liability",
    "company",
    "corporation",
    "incorporated",
    "joint",
    "stock",
    "aktsionernoe",
    "obshchestvo",
    "ogranichennoy",
    "otvetstvennostyu",
    "establishment",
    "compania",
    "compagnie",
    "kompaniya",
    "otkrytoe",
    "zakrytoe",
    "publichnoe",
    "tovarystvo",
    "aktiengesellschaft",
];

fn correct_form_word(token: &str, folded: &str) -> Option<&'static str> {
    if token.len() < 5 || FORM_WORDS.contains(&token) {
        return None;
    }
    static FOLDED: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| FORM_WORDS.iter().map(|w| fold(w)).collect());
    FORM_WORDS.into_iter().zip(FOLDED.iter()).find_map(|(word, word_folded)| {
        if word_folded == folded {
            return Some(word);
        }
        let max = match word.len() {
            0..=4 => 0,
            5..=11 => 1,
            _ => 2,
        };
        let near = |a: &str, b: &str| crate::similarity::osa_distance(a.as_bytes(), b.as_bytes(), max).is_some();
        (max > 0 && (near(folded, word_folded) || near(token, word))).then_some(word)
    })
}

/// The canonical form of a word that is a company form only at the edge of a name (`ag`,
/// `sa`, `ao`, `co`...).
pub(crate) fn edge_form(token: &str) -> Option<&'static str> {
    FORMS.iter().find(|f| f.edge_only && f.words == [token]).map(|f| f.canonical)
}

/// The romanization keys of the form words, computed once (`FORMS` order, word by word).
fn folded_forms() -> &'static [Vec<String>] {
    static FOLDED: std::sync::LazyLock<Vec<Vec<String>>> =
        std::sync::LazyLock::new(|| FORMS.iter().map(|f| f.words.iter().map(|w| fold(w)).collect()).collect());
    &FOLDED
}

/// The canonical form of a short token one edit away from a common abbreviated form and
/// starting with the same letter (`ltga` -> `ltd`, `lt` -> `ltd`, `in` -> `inc`).
pub(crate) fn near_form(token: &str) -> Option<&'static str> {
    const GARBLED: [(&str, &str); 13] = [
        ("co", "co"),
        ("ltd", "ltd"),
        ("ltda", "ltd"),
        ("inc", "inc"),
        ("corp", "inc"),
        ("llc", "llc"),
        ("gmbh", "llc"),
        ("srl", "llc"),
        ("jsc", "jsc"),
        ("pjsc", "jsc"),
        ("ojsc", "jsc"),
        ("plc", "jsc"),
        ("fze", "fze"),
    ];
    if !(2..=5).contains(&token.len()) {
        return None;
    }
    GARBLED
        .iter()
        .find(|(word, _)| {
            word.as_bytes().first() == token.as_bytes().first()
                && crate::similarity::osa_distance(token.as_bytes(), word.as_bytes(), 1).is_some()
        })
        .map(|(_, canonical)| *canonical)
}

/// A two- or three-letter token one edit from a particle, with the same first letter (`aj`,
/// `alc` for `al`).
pub(crate) fn near_stopword(token: &str) -> bool {
    (2..=3).contains(&token.len())
        && STOPWORDS.iter().any(|w| {
            w.len() >= 2
                && w.as_bytes().first() == token.as_bytes().first()
                && crate::similarity::osa_distance(token.as_bytes(), w.as_bytes(), 1).is_some()
        })
}

/// A token one edit from a title or honorific of four letters or more, with the same first
/// letter (`hasji`, `sheich`, `mullam`), also when written with `zh` for `j` (`haizh`).
pub(crate) fn near_honorific(token: &str) -> bool {
    let near = |t: &str| {
        t.len() >= 4
            && HONORIFICS.iter().any(|h| {
                h.len() >= 4
                    && h.as_bytes().first() == t.as_bytes().first()
                    && crate::similarity::osa_distance(t.as_bytes(), h.as_bytes(), 1).is_some()
            })
    };
    near(token) || token.contains("zh") && near(&token.replace("zh", "j"))
}

/// Whether a word is a title or honorific (`Mr.`, `Haji`, `Sheikh`), in any spelling
/// [`normalize`] recognises.
pub fn is_honorific_word(word: &str) -> bool {
    let parts = first_pass(word);
    match parts.as_slice() {
        [one] => is_honorific(one, &fold(one)),
        _ => false,
    }
}

/// Honorifics, also in romanization variants (`khadzhi` for `haji`), given the token's key.
fn is_honorific(token: &str, folded: &str) -> bool {
    static FOLDED: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| HONORIFICS.iter().map(|w| fold(w)).collect());
    HONORIFICS.contains(&token) || (token.len() >= 4 && FOLDED.iter().any(|h| h == folded))
}

/// Removes honorifics and canonicalizes company forms, once. Form words also match through
/// their romanization key (`kompaniya` / `kompania`), but only from four letters on, so that
/// short words (`o`, `co`) are never read as forms by accident.
fn token_pass(tokens: &[String]) -> Vec<String> {
    let mut kept: Vec<(String, String)> = Vec::with_capacity(tokens.len());
    for token in tokens {
        let folded = fold(token);
        let token = match correct_form_word(token, &folded) {
            Some(word) => word.to_owned(),
            None => token.clone(),
        };
        let folded = if token.len() >= 4 { fold(&token) } else { String::new() };
        if !is_honorific(&token, &folded) {
            kept.push((token, folded));
        }
    }
    if kept.is_empty() {
        kept = tokens.iter().map(|t| (t.clone(), String::new())).collect();
    }
    let folded_forms = folded_forms();
    let n = kept.len();
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    // The longest form starting at `i`, at most `max` words long.
    let longest = |i: usize, max: usize| -> Option<&Form> {
        let mut best: Option<&Form> = None;
        for (f, folded_words) in FORMS.iter().zip(folded_forms) {
            let len = f.words.len();
            if len > max || i + len > n || best.is_some_and(|b| b.words.len() >= len) {
                continue;
            }
            // A form of three words or more may have one word one edit off (same first letter,
            // four letters or more): the rest of the phrase makes it unmistakable (`free zune
            // establishment`, `joint sock company`).
            let mut slack = usize::from(len >= 3);
            let matches = kept.get(i..i + len).is_some_and(|window| {
                window.iter().zip(f.words.iter().zip(folded_words)).all(|((t, t_folded), (w, w_folded))| {
                    if t.as_str() == *w || (w.len() >= 4 && !t_folded.is_empty() && t_folded == w_folded) {
                        return true;
                    }
                    let near = slack > 0
                        && w.len() >= 4
                        && t.len() >= 3
                        && t.as_bytes().first() == w.as_bytes().first()
                        && crate::similarity::osa_distance(t.as_bytes(), w.as_bytes(), 1).is_some();
                    if near {
                        slack -= 1;
                    }
                    near
                })
            });
            if !matches {
                continue;
            }
            // An ambiguous form counts at either end of the name, or just before another form.
            let before_form = kept.get(i + len).is_some_and(|(t, _)| FORM_TOKENS.contains(&t.as_str()));
            if f.edge_only && (n < 2 || (i != 0 && i + len != n && !before_form)) {
                continue;
            }
            best = Some(f);
        }
        best
    };
    while i < n {
        let mut best = longest(i, usize::MAX);
        // A longer form that starts inside this one and ends past it wins the overlap
        // (`company limited liability company` is `co` + `llc`, not `ltd` + `liability co`).
        if let Some(b) = best {
            let len = b.words.len();
            let overlapped = (i + 1..i + len)
                .any(|j| longest(j, usize::MAX).is_some_and(|f| j + f.words.len() > i + len && f.words.len() > len));
            if overlapped {
                best = longest(i, 1);
            }
        }
        match best {
            Some(f) => {
                out.push(f.canonical.to_owned());
                i += f.words.len();
            }
            None => {
                if let Some((t, _)) = kept.get(i) {
                    out.push(t.clone());
                }
                i += 1;
            }
        }
    }
    out
}

/// Appends the lower-case Latin form of one character.
fn transliterate_char(c: char, out: &mut String) {
    if is_apostrophe(c) {
        // Dropped, not a separator: `O'Brien` = `obrien`, `Isma'il` = `ismail`.
        return;
    }
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let lower = c.to_lowercase().next().unwrap_or(c);
    if let Some(latin) = cyrillic(lower) {
        out.push_str(latin);
        return;
    }
    let latin = any_ascii::any_ascii_char(c).replace(['\'', '`'], "");
    if is_syllabic(c) {
        // Han, kana and hangul: one syllable per character; keep them apart so that the name
        // parts can be matched (joined again by compound matching).
        out.push(' ');
        out.push_str(&latin.to_ascii_lowercase());
        out.push(' ');
    } else {
        out.push_str(&latin.to_ascii_lowercase());
    }
}

fn is_syllabic(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

/// Cyrillic in the BGN/PCGN style OFAC mostly follows (Russian, with Ukrainian and Belarusian
/// letters). Soft and hard signs are dropped.
fn cyrillic(c: char) -> Option<&'static str> {
    Some(match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' => "e",
        'ё' => "yo",
        'ж' => "zh",
        'з' => "z",
        'и' => "i",
        'й' => "y",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ы' => "y",
        'э' => "e",
        'ю' => "yu",
        'я' => "ya",
        'і' => "i",
        'ї' => "yi",
        'є' => "ye",
        'ґ' => "g",
        'ў' => "u",
        'ђ' => "dj",
        'ј' => "j",
        'љ' => "lj",
        'њ' => "nj",
        'ћ' => "c",
        'џ' => "dz",
        'ѓ' => "gj",
        'ќ' => "kj",
        'ѕ' => "dz",
        _ => return None,
    })
}

/// Common names whose romanizations the generic rules below cannot bring together.
const NAME_GROUPS: &[(&str, &[&str])] = &[
    (
        "muhamad",
        &[
            "mohammed",
            "mohammad",
            "mohamed",
            "mohamad",
            "muhammad",
            "muhammed",
            "muhamad",
            "muhamed",
            "mohamud",
            "mahomed",
            "mehmet",
            "mehmed",
            "muhammet",
            "mohd",
            "mhd",
            "mukhammad",
            "mukhammed",
            "magomed",
            "mohammod",
            "mouhamed",
            "mouhammad",
            "muhamet",
            "mokhammed",
            "makhmed",
        ],
    ),
    ("ahmad", &["ahmed", "ahmet", "akhmed", "akhmad", "ahmat", "achmed"]),
    (
        "husein",
        &[
            "hussein", "husein", "husain", "hussain", "husayn", "hossein", "hosein", "hussien", "huseyin", "gusein",
            "guseyn", "khusein", "khusayn",
        ],
    ),
    ("hasan", &["hassan", "hasan", "hasen", "gasan", "khasan", "hassen"]),
    (
        "yusuf",
        &[
            "yusuf", "yousef", "youssef", "yousif", "yusef", "yousuf", "yosef", "joseph", "iosif", "yussuf", "jusuf",
            "youcef",
        ],
    ),
    ("umar", &["umar", "omar", "omer", "oumar", "umer"]),
    ("usama", &["usama", "osama", "oussama", "usamah", "osamah"]),
    ("abdulah", &["abdullah", "abdallah", "abdulla", "abdoulaye", "abdula", "abdalla", "abdollah", "abdullo"]),
    ("aleksandr", &["aleksandr", "alexander", "alexandr", "aleksander", "oleksandr", "alexandre"]),
    ("aleksei", &["aleksei", "alexei", "alexey", "aleksey", "aleksej", "oleksiy", "oleksii"]),
    ("dmitri", &["dmitri", "dmitry", "dmitriy", "dmitrii", "dmytro", "dimitri", "dmitrij"]),
    ("yuri", &["yuri", "yury", "yuriy", "yurii", "iurii", "iouri", "juri", "jurij", "yurij"]),
    ("mikhail", &["mikhail", "mihail", "michail", "mykhailo", "mikhael", "mikhayl"]),
    ("evgeni", &["evgeni", "yevgeni", "jewgeni", "evgenij", "yevhen", "ievgen", "yevgen", "evgen"]),
    ("sergei", &["sergei", "sergey", "sergej", "serhiy", "serhii", "sergiy", "sergii"]),
    ("andrei", &["andrei", "andrey", "andrej", "andriy", "andrii"]),
    ("nikolai", &["nikolai", "nikolay", "nikolaj", "mykola"]),
    ("vladimir", &["vladimir", "volodymyr", "wladimir", "uladzimir"]),
    ("ali", &["ali", "aly", "alee"]),
    ("mahmud", &["mahmoud", "mahmud", "makhmud", "mahmood", "mehmood"]),
    ("mustafa", &["mustafa", "mostafa", "moustafa", "mustapha", "mostapha", "mustafo"]),
    ("ibrahim", &["ibrahim", "ebrahim", "ibraheem", "ibragim", "brahim"]),
    ("ismail", &["ismail", "ismael", "esmail", "ismoil", "ismayil"]),
    ("abdul", &["abdul", "abdel", "abdal", "abdol", "abdoul", "abd"]),
    ("jafar", &["jafar", "jaafar", "djafar", "dzhafar", "jafer"]),
    ("khalid", &["khalid", "khaled", "halid", "haled", "chalid"]),
];

/// The romanization key of a normalized token. See the module documentation.
pub fn fold(token: &str) -> String {
    let mut current = fold_once(token);
    // Rules can feed each other (`ckh` -> `kh` -> `h`): repeat to a fixpoint.
    for _ in 0..4 {
        let next = fold_once(&current);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

fn fold_once(token: &str) -> String {
    if let Some((canonical, _)) = NAME_GROUPS.iter().find(|(_, v)| v.contains(&token)) {
        return (*canonical).to_owned();
    }
    let mut s = token.to_owned();
    if s.bytes().any(|b| b.is_ascii_digit()) {
        return s;
    }
    // Endings: -off/-eff (French and German spellings of -ov/-ev), -ow/-ew (Polish, German).
    for (from, to) in [("off", "ov"), ("eff", "ev"), ("ow", "ov"), ("ew", "ev")] {
        if s.len() > from.len() + 2
            && let Some(stem) = s.strip_suffix(from)
        {
            s = format!("{stem}{to}");
        }
    }
    // Consonant digraphs first, through placeholders so that later rules leave them alone.
    const RULES: [(&str, &str); 25] = [
        ("shch", "S"),
        ("sch", "S"),
        ("tch", "C"),
        ("dzh", "j"),
        ("dj", "j"),
        ("ch", "C"),
        ("sh", "S"),
        ("zh", "Z"),
        ("kh", "h"),
        ("gh", "g"),
        ("ph", "f"),
        ("th", "t"),
        ("dh", "d"),
        ("ck", "k"),
        ("x", "ks"),
        ("q", "k"),
        ("c", "k"),
        ("w", "v"),
        ("tz", "ts"),
        ("ou", "u"),
        ("oo", "u"),
        ("ee", "i"),
        ("iy", "i"),
        ("yi", "i"),
        ("ij", "i"),
    ];
    for (from, to) in RULES {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    for (from, to) in [("ey", "ei"), ("ay", "ai"), ("oy", "oi"), ("uy", "ui")] {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    if s.len() > 3
        && let Some(rest) = s.strip_prefix("ye")
    {
        s = format!("e{rest}");
    }
    if s.len() > 2
        && let Some(stem) = s.strip_suffix('y')
    {
        s = format!("{stem}i");
    }
    if s.len() > 2
        && let Some(stem) = s.strip_suffix('j')
        && stem.ends_with(['a', 'e', 'o', 'u'])
    {
        s = format!("{stem}i");
    }
    // Doubled letters (ii from iy+i, aa, ss...) are one.
    let mut out = String::with_capacity(s.len() + 4);
    let mut last = None;
    for c in s.chars() {
        if Some(c) != last {
            out.push(c);
        }
        last = Some(c);
    }
    // `yo` after a consonant is how `ё` is often romanized where others write `e`
    // (Fyodorov / Fedorov).
    let bytes: Vec<char> = out.chars().collect();
    let mut result = String::with_capacity(out.len());
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        let prev_consonant =
            i > 0 && bytes.get(i - 1).is_some_and(|p| p.is_ascii_alphabetic() && !is_vowel(p.to_ascii_lowercase()));
        if c == 'y' && bytes.get(i + 1) == Some(&'o') && prev_consonant {
            result.push('e');
            i += 2;
            continue;
        }
        result.push(c);
        i += 1;
    }
    // `zh` stays apart from `j`: pinyin has both (Zhang is not Jiang).
    result.replace('S', "sh").replace('C', "ch").replace('Z', "zh")
}

/// The consonant skeleton of a folded token: its first letter (any vowel as `a`) and the
/// consonants after it, `h` and doubled letters dropped.
pub fn skeleton(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len());
    let mut last = None;
    for (i, c) in folded.chars().enumerate() {
        let mapped = if i == 0 {
            if is_vowel(c) { 'a' } else { c }
        } else if is_vowel(c) || c == 'h' {
            continue;
        } else {
            c
        };
        if Some(mapped) != last {
            out.push(mapped);
        }
        last = Some(mapped);
    }
    out
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_romanizations_together() {
        for group in [
            &["yevgeniy", "evgeniy", "evgeny", "evgenii"][..],
            &["ivanov", "ivanoff", "ivanow"][..],
            &["bogachev", "bogatchev"][..],
            &["sergey", "sergei"][..],
        ] {
            let folded: Vec<String> = group.iter().map(|t| fold(t)).collect();
            assert!(folded.windows(2).all(|w| w.first() == w.get(1)), "{group:?} -> {folded:?}");
        }
    }
}
