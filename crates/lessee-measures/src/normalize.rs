//! Text folding shared by the address rules and the name matcher: transliterated to ASCII
//! (`any_ascii`: Cyrillic, Greek, accented Latin, ...), lower case, apostrophes dropped
//! (`Donets'k` = `Donetsk`), every other non-alphanumeric character a word break.

/// Folds `text`: ASCII, lower case, words of letters and digits separated by one space.
pub fn fold(text: &str) -> String {
    let ascii = any_ascii::any_ascii(text);
    let mut out = String::with_capacity(ascii.len());
    let mut pending_space = false;
    for c in ascii.chars() {
        if matches!(c, '\'' | '`' | '"') {
            continue;
        }
        if c.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// The key two names are compared by: folded words in sorted order, so that case, diacritics,
/// punctuation, script (through transliteration) and word order do not matter.
/// `Иванов, Иван` and `ivan IVANOV` have the same key.
pub fn name_key(name: &str) -> String {
    let folded = fold(name);
    let mut words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    words.sort_unstable();
    words.join(" ")
}

/// An identifier number as compared: letters and digits only, upper case.
pub fn identifier_number(number: &str) -> String {
    number.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_scripts_case_and_punctuation() {
        let cases: &[(&str, &str)] = &[
            ("Симферополь", "simferopol"),
            ("Сімферополь", "simferopol"),
            ("Донецьк", "donetsk"),
            ("  São   Paulo! ", "sao paulo"),
            ("O'Brien-Smith", "obrien smith"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(fold(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn name_key_ignores_order() {
        assert_eq!(name_key("Иванов, Иван"), name_key("ivan IVANOV"));
        assert_eq!(name_key("José  Müller"), "jose muller");
    }
}
