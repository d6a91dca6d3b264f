//! String similarity between name tokens.

/// Optimal-string-alignment distance (Levenshtein with adjacent transpositions) between two
/// byte strings, or `None` when it exceeds `max`.
pub fn osa_distance(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    if a == b {
        return Some(0);
    }
    let width = b.len() + 1;
    // Three rows: two back (for transpositions), previous, current.
    let mut prev2: Vec<usize> = vec![0; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur: Vec<usize> = vec![0; width];
    for (i, &ca) in a.iter().enumerate() {
        if let Some(first) = cur.first_mut() {
            *first = i + 1;
        }
        let mut row_min = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let deletion = prev.get(j + 1).copied().unwrap_or(usize::MAX - 1) + 1;
            let insertion = cur.get(j).copied().unwrap_or(usize::MAX - 1) + 1;
            let substitution = prev.get(j).copied().unwrap_or(usize::MAX - 1) + cost;
            let mut best = deletion.min(insertion).min(substitution);
            if i > 0 && j > 0 && a.get(i - 1) == Some(&cb) && b.get(j - 1) == Some(&ca) {
                let transposition = prev2.get(j - 1).copied().unwrap_or(usize::MAX - 1) + 1;
                best = best.min(transposition);
            }
            if let Some(cell) = cur.get_mut(j + 1) {
                *cell = best;
            }
            row_min = row_min.min(best);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().filter(|&d| d <= max)
}

/// Similarity in `[0, 1]` from an edit distance: `1 - distance / longer length`; 0 when the
/// strings are further apart than a quarter of the longer one (rounded up).
pub fn edit_similarity(a: &str, b: &str) -> f32 {
    let longer = a.len().max(b.len());
    if longer == 0 {
        return 1.0;
    }
    let max = longer.div_ceil(4);
    match osa_distance(a.as_bytes(), b.as_bytes(), max) {
        Some(d) => 1.0 - d as f32 / longer as f32,
        None => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        let cases = [
            ("bogachev", "bogachev", Some(0)),
            ("bogachev", "bogacehv", Some(1)),
            ("bogachev", "bogachv", Some(1)),
            ("bogachev", "bogachevv", Some(1)),
            ("bogachev", "bagachev", Some(1)),
            ("abc", "xyz", None),
            ("", "ab", Some(2)),
        ];
        for (a, b, want) in cases {
            assert_eq!(osa_distance(a.as_bytes(), b.as_bytes(), 2), want, "{a} {b}");
        }
    }
}
