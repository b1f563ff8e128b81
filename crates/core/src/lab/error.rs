//! Errors about a preset file: where (file:line:col), what, and how to fix it.

use std::fmt;
use std::ops::Range;

/// One problem in a preset file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The file as the user named it (or `preset:<name>` for embedded ones).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong, quoting the bad value.
    pub message: String,
    /// What to change.
    pub help: Option<String>,
}

impl SpecError {
    /// An error at byte range `span` of `source`.
    pub fn at(file: &str, source: &str, span: Range<usize>, message: String) -> Self {
        let (line, col) = line_col(source, span.start);
        Self { file: file.to_string(), line, col, message, help: None }
    }

    /// Adds what to change.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Every part shown escaped ([`super::text::shown`]): the file's name is
/// the user's, and a message may quote what the file held, so neither can
/// send a control character to the terminal.
impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use super::text::shown;
        write!(f, "{}:{}:{}: {}", shown(&self.file), self.line, self.col, shown(&self.message))?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {}", shown(help))?;
        }
        Ok(())
    }
}

/// All problems found in one file (validation reports every one it finds).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, err) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{err}")?;
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of byte `offset` in `source`:
/// the one helper for every file:line:col message (presets, themes, steps).
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Where each line of a source starts, so that many errors in one large
/// file each find their line by a binary search instead of a scan from the
/// top (a scan per error made a file of many bad entries quadratic).
pub struct LineIndex<'a> {
    source: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes `source` (one pass).
    pub fn new(source: &'a str) -> Self {
        let starts =
            std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Self { source, starts }
    }

    /// As [`line_col`], in O(log lines + line length).
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.source.len());
        while !self.source.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|start| *start <= offset);
        let start = self.starts[line - 1];
        (line, self.source[start..offset].chars().count() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::{LineIndex, line_col};

    #[test]
    fn the_index_agrees_with_the_scan() {
        let source = "a = 1\nbb = 2\n\né = 3\nlast";
        let index = LineIndex::new(source);
        for offset in (0..=source.len()).filter(|o| source.is_char_boundary(*o)) {
            assert_eq!(index.line_col(offset), line_col(source, offset), "{offset}");
        }
        assert_eq!(index.line_col(usize::MAX), line_col(source, usize::MAX));
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("a = 1\nbb = 2\n", 0), (1, 1));
        assert_eq!(line_col("a = 1\nbb = 2\n", 11), (2, 6));
    }
}
