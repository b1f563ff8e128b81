//! Numbers and times as the panes print them: short, fixed-width friendly,
//! and deterministic (UTC clock of the snapshot, never the wall clock).

use std::time::SystemTime;

/// `HH:MM:SS` (UTC) of a snapshot time; `--:--:--` when unknown.
pub fn clock(at: Option<SystemTime>) -> String {
    let Some(secs) = at.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()) else {
        return "--:--:--".into();
    };
    let s = secs.as_secs() % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A count or rate with an SI suffix: `999`, `12.3K`, `4.5M`.
pub fn si(value: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "G"), (1_000_000, "M"), (1_000, "K")];
    for (size, unit) in UNITS {
        if value >= size {
            let tenths = value * 10 / size;
            return format!("{}.{}{unit}", tenths / 10, tenths % 10);
        }
    }
    value.to_string()
}

/// Bytes in binary units: `512 B`, `1.5 GiB`.
pub fn bytes(value: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if value >= size {
            let tenths = value * 10 / size;
            return format!("{}.{} {unit}", tenths / 10, tenths % 10);
        }
    }
    format!("{value} B")
}

/// A signed change, `+12` / `-3`, empty when zero.
pub fn delta(value: i64) -> String {
    match value {
        0 => String::new(),
        v if v > 0 => format!("+{v}"),
        v => v.to_string(),
    }
}

/// A share of a whole as a percentage, `0%` for an empty whole.
#[expect(clippy::cast_precision_loss, reason = "counters far below 2^52 in a lab")]
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

/// Milliseconds, or a dash before there are results.
pub fn millis(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |ms| format!("{ms:.1} ms"))
}

/// The first of `variants` (longest first) that fits in `width` columns;
/// when none does, the last one cut at a word boundary with `…`, so no
/// pane ends a sentence in the middle of a word.
pub fn fitting(variants: &[&str], width: u16) -> String {
    let width = usize::from(width);
    if let Some(v) = variants.iter().find(|v| v.chars().count() <= width) {
        return (*v).to_string();
    }
    cut_at_word(variants.last().copied().unwrap_or(""), width)
}

/// `text` cut to `width` columns at a word boundary, ending in `…` when cut.
pub fn cut_at_word(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let room = width.saturating_sub(1);
    let head: String = text.chars().take(room + 1).collect();
    let kept = match head.rfind(' ') {
        Some(space) => head[..space].trim_end().to_string(),
        None => head.chars().take(room).collect(),
    };
    if width == 0 { String::new() } else { format!("{kept}…") }
}

/// `text` word-wrapped to lines of at most `width` columns; a word longer
/// than a line is split.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn formats() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400 * 3 + 3_723);
        assert_eq!(clock(Some(t)), "01:02:03");
        assert_eq!(clock(None), "--:--:--");
        assert_eq!(
            (si(999), si(12_345), si(4_500_000)),
            ("999".into(), "12.3K".into(), "4.5M".into())
        );
        assert_eq!(bytes(1_610_612_736), "1.5 GiB");
        assert_eq!((delta(0), delta(12), delta(-3)), (String::new(), "+12".into(), "-3".into()));
        assert!((percent(3, 5) - 60.0).abs() < 1e-9);
        assert_eq!(millis(None), "–");
    }

    #[test]
    fn fitting_picks_the_longest_variant_that_fits_and_cuts_at_words() {
        let variants = ["a long sentence here", "short one"];
        assert_eq!(fitting(&variants, 30), "a long sentence here");
        assert_eq!(fitting(&variants, 12), "short one");
        assert_eq!(fitting(&variants, 7), "short…");
        assert_eq!(cut_at_word("abcdefgh", 5), "abcd…");
        assert_eq!(cut_at_word("one two three", 9), "one two…");
        assert_eq!(cut_at_word("one two", 7), "one two");
        assert_eq!(cut_at_word("one two", 0), "");
    }

    #[test]
    fn wrap_breaks_at_words_and_splits_only_overlong_words() {
        assert_eq!(wrap("one two three four", 9), ["one two", "three", "four"]);
        assert_eq!(wrap("  spaced   out  ", 20), ["spaced out"]);
        assert_eq!(wrap("abcdefghij xy", 4), ["abcd", "efgh", "ij", "xy"]);
        assert!(wrap("", 10).is_empty());
    }
}
