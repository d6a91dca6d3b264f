//! Dates of birth as the lists write them.

use crate::model::{DateOfBirth, PartialDate};

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

const APPROXIMATE: [&str; 6] = ["circa ", "approximately ", "approx. ", "approx ", "about ", "c. "];

/// Reads `28 Oct 1983`, `Oct 1983`, `1984`, `1983-10-28`, `1983-10`, `circa 1970`,
/// `1970 to 1972`, `circa 1970-1972`, `01 Jan 1960 to 31 Dec 1962`, `between 1970 and 1972`.
/// Anything else is kept as [`DateOfBirth::Text`].
pub fn parse_dob(text: &str) -> DateOfBirth {
    let cleaned = crate::text::clean(text);
    let s = cleaned.trim_end_matches(['.', ';', ',']).trim();
    let (approximate, rest) = strip_approximate(s);
    if let Some((from, to)) = split_range(rest) {
        if let (Some(from), Some(to)) = (parse_partial(from), parse_partial(to))
            && from <= to
        {
            return DateOfBirth::Range { from, to, approximate };
        }
    } else if let Some(date) = parse_partial(rest) {
        return DateOfBirth::Date { date, approximate };
    }
    DateOfBirth::Text { text: s.to_owned() }
}

fn strip_approximate(s: &str) -> (bool, &str) {
    for prefix in APPROXIMATE {
        if let Some(head) = s.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
        {
            return (true, s.get(prefix.len()..).unwrap_or_default().trim());
        }
    }
    (false, s)
}

fn split_range(s: &str) -> Option<(&str, &str)> {
    if let Some((a, b)) = s.split_once(" to ") {
        return Some((a.trim(), b.trim()));
    }
    if let Some(rest) = s.strip_prefix("between ").or_else(|| s.strip_prefix("Between "))
        && let Some((a, b)) = rest.split_once(" and ")
    {
        return Some((a.trim(), b.trim()));
    }
    // `1970-1972` or `1970 - 1972`, but not the ISO date `1970-01-02`.
    if let Some((a, b)) = s.split_once('-') {
        let (a, b) = (a.trim(), b.trim());
        if is_year(a) && is_year(b) {
            return Some((a, b));
        }
    }
    None
}

fn is_year(s: &str) -> bool {
    s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit())
}

fn month(word: &str) -> Option<u8> {
    let w = word.trim_end_matches('.').to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    let prefix = w.get(..3)?;
    let index = MONTHS.iter().position(|m| *m == prefix)?;
    // Accept `Oct`, `October`, `Sept`, not `Octopus`.
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let full = FULL.get(index)?;
    if w.len() == 3 || full.starts_with(w.as_str()) { u8::try_from(index + 1).ok() } else { None }
}

fn number<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `28 Oct 1983`, `Oct 1983`, `1983`, `1983-10-28`, `1983-10`.
pub(crate) fn parse_partial(s: &str) -> Option<PartialDate> {
    let s = s.trim();
    if s.contains('-') {
        let mut parts = s.split('-');
        let year = parts.next().filter(|y| is_year(y)).and_then(number)?;
        let month = parts.next().filter(|m| m.len() == 2).and_then(number);
        let day = parts.next().filter(|d| d.len() == 2).and_then(number);
        if parts.next().is_some() || (month.is_none() && s.len() > 4) {
            return None;
        }
        let expected_len = 4 + month.map_or(0, |_| 3) + day.map_or(0, |_| 3);
        if s.len() != expected_len {
            return None;
        }
        return PartialDate::new(year, month, day);
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    match words.as_slice() {
        [y] if is_year(y) => PartialDate::new(number(y)?, None, None),
        [m, y] if is_year(y) => PartialDate::new(number(y)?, Some(month(m)?), None),
        [d, m, y] if is_year(y) && d.len() <= 2 => PartialDate::new(number(y)?, Some(month(m)?), Some(number(d)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: u16, m: Option<u8>, d: Option<u8>) -> PartialDate {
        PartialDate { year: y, month: m, day: d }
    }

    #[test]
    fn reads_the_list_forms() {
        let cases: Vec<(&str, DateOfBirth)> = vec![
            ("28 Oct 1983", DateOfBirth::Date { date: date(1983, Some(10), Some(28)), approximate: false }),
            ("05 Feb 2004.", DateOfBirth::Date { date: date(2004, Some(2), Some(5)), approximate: false }),
            ("Oct 1983", DateOfBirth::Date { date: date(1983, Some(10), None), approximate: false }),
            ("1984", DateOfBirth::Date { date: date(1984, None, None), approximate: false }),
            ("1978-04-28", DateOfBirth::Date { date: date(1978, Some(4), Some(28)), approximate: false }),
            ("circa 1970", DateOfBirth::Date { date: date(1970, None, None), approximate: true }),
            (
                "1970 to 1972",
                DateOfBirth::Range { from: date(1970, None, None), to: date(1972, None, None), approximate: false },
            ),
            (
                "circa 1957-1958",
                DateOfBirth::Range { from: date(1957, None, None), to: date(1958, None, None), approximate: true },
            ),
            (
                "01 Jan 1960 to 31 Dec 1962",
                DateOfBirth::Range {
                    from: date(1960, Some(1), Some(1)),
                    to: date(1962, Some(12), Some(31)),
                    approximate: false,
                },
            ),
            (
                "Jan 1960 to Feb 1962",
                DateOfBirth::Range {
                    from: date(1960, Some(1), None),
                    to: date(1962, Some(2), None),
                    approximate: false,
                },
            ),
            ("29 Feb 1984", DateOfBirth::Date { date: date(1984, Some(2), Some(29)), approximate: false }),
            ("29 Feb 1983", DateOfBirth::Text { text: "29 Feb 1983".into() }),
            ("1972 to 1970", DateOfBirth::Text { text: "1972 to 1970".into() }),
            ("1983-13-01", DateOfBirth::Text { text: "1983-13-01".into() }),
            ("Octopus 1983", DateOfBirth::Text { text: "Octopus 1983".into() }),
            ("unknown", DateOfBirth::Text { text: "unknown".into() }),
            ("", DateOfBirth::Text { text: "".into() }),
        ];
        for (input, want) in cases {
            assert_eq!(parse_dob(input), want, "{input:?}");
        }
    }
}
