//! Free text that comes from a preset or a lab's record (descriptions,
//! names, file paths) and goes somewhere it could do harm: a generated
//! script or preset, or the user's terminal.
//!
//! Three defences, each in one place:
//! - [`line_problem`]: the validator's rule for free text (one line,
//!   printable, bounded), so a preset cannot carry a line break or an
//!   escape sequence in the first place;
//! - [`shell_word`] / [`shell_dq`] / [`shown`]: quoting where text is
//!   written into a script or a comment, so even text that bypassed the
//!   validator (a record edited by hand) stays inert;
//! - [`shown`]: what the terminal gets (`status`, `ls`, the picker): control
//!   characters are printed as escapes, never sent raw.

use std::borrow::Cow;
use std::fmt::Write;

/// Longest description (and other one-line free text) a preset may have.
pub const MAX_LINE: usize = 200;

/// Characters that are not control characters (Unicode Cc) but still
/// reorder or break what a terminal or an editor shows: line and paragraph
/// separators, and the bidirectional overrides and isolates.
fn is_invisible_control(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` must never reach generated text or a terminal raw.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_invisible_control(c)
}

/// Why `value` is no usable one-line text of at most `max` characters, or
/// `None` when it is. The reason names the first bad character.
pub fn line_problem(value: &str, max: usize) -> Option<String> {
    if let Some(c) = value.chars().find(|c| is_unsafe(*c)) {
        let what = match c {
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => "a line break",
            '\t' => "a tab",
            '\u{1b}' => "an escape character (terminal control sequence)",
            _ => "a control character",
        };
        return Some(format!("it contains {what} ({})", c.escape_unicode()));
    }
    let len = value.chars().count();
    (len > max).then(|| format!("it is {len} characters long (at most {max})"))
}

/// `text` made safe to print on a terminal or in a one-line comment: each
/// control character is written as an escape (`\n`, `\u{1b}`), so it is
/// seen, never obeyed. Text without any is returned as it is.
pub fn shown(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A message for the terminal (an error, a report of several lines):
/// like [`shown`], but its own line breaks and tabs stay as they are. The
/// one step every error and report passes on its way out, so a value from
/// a preset, a rules file or a record that reached a message is seen,
/// never obeyed (no retitling, clearing or clipboard writes by OSC).
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    let unsafe_here = |c: char| is_unsafe(c) && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_here) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_here(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` made safe for one line of generated text (a comment, a header)
/// and at most `max` bytes long: [`shown`], then cut at a character
/// boundary with `…` when longer. keepalived reads lines of at most 1,023
/// bytes (the rest of a longer one is read as the next line, and parsed),
/// so no free text may make a line longer than the writer allows it.
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    let shown = shown(text);
    if shown.len() <= max {
        return shown;
    }
    const ELLIPSIS: &str = "…";
    let mut end = max.saturating_sub(ELLIPSIS.len());
    while !shown.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{ELLIPSIS}", &shown[..end]))
}

/// A file as generated text may name it: its last component (no
/// directories, which are the user's own business and of any length),
/// shown escaped and clipped to [`MAX_LINE`] bytes. `labs/NAME` (a built-in
/// preset) is kept whole.
pub fn file_label(path: &str) -> String {
    let name = if path.starts_with("labs/") && !path[5..].contains('/') {
        path
    } else {
        std::path::Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or(path)
    };
    clip(name, MAX_LINE).into_owned()
}

/// `text` as one shell word on one line: unchanged when it holds only
/// characters the shell takes literally, else quoted so that the shell reads
/// it back as exactly that text, control characters shown escaped (so a
/// script stays one command per line, and a NUL never reaches an argument).
pub fn shell_word(text: &str) -> Cow<'_, str> {
    match shown(text) {
        Cow::Borrowed(text) => shlex::try_quote(text).unwrap_or(Cow::Borrowed("''")),
        Cow::Owned(text) => {
            Cow::Owned(shlex::try_quote(&text).map(Cow::into_owned).unwrap_or_default())
        }
    }
}

/// `text` for the inside of a double-quoted shell string: `$`, `` ` ``, `"`
/// and `\` (the characters bash still interprets there) are escaped, and
/// control characters are shown escaped, so nothing in it is expanded.
pub fn shell_dq(text: &str) -> Cow<'_, str> {
    let text = shown(text);
    if !text.contains(['$', '`', '"', '\\']) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(c, '$' | '`' | '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_printable_bounded_line_is_the_rule() {
        assert_eq!(line_problem("LVS-NAT: wrr 3:2 ‘quoted’ ✓", MAX_LINE), None);
        assert!(line_problem("x\necho INJECTED", MAX_LINE).unwrap().contains("a line break"));
        assert!(line_problem("\u{1b}[2J", MAX_LINE).unwrap().contains("escape"));
        assert!(line_problem("a\u{202e}b", MAX_LINE).is_some());
        assert!(line_problem(&"x".repeat(201), MAX_LINE).unwrap().contains("201 characters"));
    }

    #[test]
    fn shown_escapes_control_characters_only() {
        assert_eq!(shown("plain ‘text’"), "plain ‘text’");
        assert_eq!(shown("a\nb\u{1b}[31m\u{7}"), "a\\nb\\u{1b}[31m\\u{7}");
        assert!(!shown("\r\t\u{0}\u{9b}\u{2028}").chars().any(is_unsafe));
    }

    #[test]
    fn clipped_text_is_one_line_within_its_bytes() {
        assert_eq!(clip("short", 10), "short");
        let long = "é".repeat(600);
        let clipped = clip(&long, 100);
        assert!(clipped.len() <= 100 && clipped.ends_with('…'), "{clipped}");
        let hostile = format!("{}\nvirtual_server 10.9.9.9 1 {{", "x".repeat(2000));
        let clipped = clip(&hostile, 64);
        assert!(clipped.len() <= 64 && !clipped.contains('\n'), "{clipped}");
        assert_eq!(file_label("/very/long/dir/virtual_server 1 {/saved.rules"), "saved.rules");
        assert_eq!(file_label("labs/tutorial-nat.toml"), "labs/tutorial-nat.toml");
        assert_eq!(file_label("a\nb.toml"), "a\\nb.toml");
    }

    #[test]
    fn shell_quoting_reads_back_as_the_same_text() {
        for text in ["rs1", "a b", "it's", "$(touch /x)", "`id`", "\"q\"", "*", "-n", "a\\nb"] {
            let word = shell_word(text);
            assert_eq!(shlex::split(&word).unwrap(), vec![text.to_string()], "{word}");
        }
        assert_eq!(shell_word("tutorial"), "tutorial");
        assert_eq!(shlex::split(&shell_word("a\nb\0")).unwrap(), vec!["a\\nb\\u{0}".to_string()]);
        assert_eq!(shell_dq("a$b`c\"d\\e"), "a\\$b\\`c\\\"d\\\\e");
    }
}
