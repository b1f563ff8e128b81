//! keepalived.conf's syntax, read as a stream: statements (a keyword, its
//! arguments, perhaps a block) one at a time, as slices of the text.
//!
//! Nothing is built for what the reader passes over: a block it does not
//! interpret is skipped by counting braces, and a statement keeps only its
//! first few arguments. So the memory an import needs grows with the table
//! it finds, not with the file (a 20 MB `global_defs` costs nothing), and
//! nesting is counted, never recursed into.

use super::super::At;
use crate::lab::error::SpecError;

/// Deepest nesting read (keepalived's own is 4: virtual_server, real_server,
/// HTTP_GET, url); deeper input is refused.
pub(crate) const MAX_DEPTH: usize = 16;

/// Arguments a statement keeps; more are counted (no statement lvslab reads
/// takes more than two).
const KEPT_ARGS: usize = 4;

/// One statement: its keyword, its first arguments, whether it opens a block.
pub(crate) struct Stmt<'a> {
    /// Where its keyword is.
    pub(crate) at: At,
    pub(crate) keyword: &'a str,
    /// Its first [`KEPT_ARGS`] arguments, with their places.
    pub(crate) args: Vec<(At, &'a str)>,
    /// Arguments past those.
    pub(crate) more_args: usize,
    /// Whether a `{` followed: its block comes next, to be read or skipped.
    pub(crate) opens: bool,
}

impl<'a> Stmt<'a> {
    /// Where argument `i` is (the keyword when it has none).
    pub(crate) fn arg(&self, i: usize) -> At {
        self.args.get(i).map_or(self.at, |(at, _)| *at)
    }

    /// The arguments, if it has no more than were kept.
    pub(crate) fn all_args(&self) -> Option<Vec<&'a str>> {
        (self.more_args == 0).then(|| self.args.iter().map(|(_, a)| *a).collect())
    }
}

/// What comes next in a block.
pub(crate) enum Next<'a> {
    Stmt(Stmt<'a>),
    /// A `}`, at its place.
    Close(At),
    /// The end of the text.
    End,
}

/// A token: a word, a brace, or the end of a line.
#[derive(Clone, Copy)]
enum Tok<'a> {
    Word(At, &'a str),
    Open(At),
    Close(At),
    EndOfLine,
}

/// The text's tokens, made one at a time.
struct Lexer<'a> {
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
    /// The line being read: its number, what is left of it, and the column
    /// of the first character left.
    line: Option<(usize, &'a str, usize)>,
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Tok<'a>;

    fn next(&mut self) -> Option<Tok<'a>> {
        let (n, rest, col) = match self.line {
            Some(line) => line,
            None => {
                let (i, line) = self.lines.next()?;
                (i + 1, strip_comment(line), 1)
            }
        };
        let trimmed = rest.trim_start();
        let col = col + rest[..rest.len() - trimmed.len()].chars().count();
        let at = (n, col);
        let Some(first) = trimmed.chars().next() else {
            self.line = None;
            return Some(Tok::EndOfLine);
        };
        if first == '{' || first == '}' {
            self.line = Some((n, &trimmed[1..], col + 1));
            return Some(if first == '{' { Tok::Open(at) } else { Tok::Close(at) });
        }
        let end = trimmed.find(|c: char| c.is_whitespace() || c == '{' || c == '}');
        let (word, rest) = trimmed.split_at(end.unwrap_or(trimmed.len()));
        self.line = Some((n, rest, col + word.chars().count()));
        Some(Tok::Word(at, word))
    }
}

/// A line without its comment (`#` or `!` to the end).
pub(crate) fn strip_comment(line: &str) -> &str {
    match line.find(['#', '!']) {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Reads statements from a keepalived.conf.
pub(crate) struct Reader<'a> {
    file: &'a str,
    tokens: std::iter::Peekable<Lexer<'a>>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        let lexer = Lexer { lines: text.lines().enumerate(), line: None };
        Self { file, tokens: lexer.peekable() }
    }

    /// An error at `at` of the file.
    pub(crate) fn error(&self, (line, col): At, message: String, help: &str) -> SpecError {
        SpecError { file: self.file.to_string(), line, col, message, help: Some(help.to_string()) }
    }

    /// The error for a block opened by the statement at `at` that the text
    /// never closes.
    pub(crate) fn never_closed(&self, at: At) -> SpecError {
        self.error(at, "this block is never closed".into(), "add the missing `}`")
    }

    /// The next statement, `}` or the end.
    pub(crate) fn next(&mut self) -> Result<Next<'a>, SpecError> {
        let (at, keyword) = loop {
            match self.tokens.next() {
                None => return Ok(Next::End),
                Some(Tok::EndOfLine) => {}
                Some(Tok::Close(at)) => return Ok(Next::Close(at)),
                Some(Tok::Open(at)) => {
                    return Err(self.error(
                        at,
                        "`{` without a keyword".into(),
                        "a block opens after its keyword",
                    ));
                }
                Some(Tok::Word(at, word)) => break (at, word),
            }
        };
        let mut stmt = Stmt { at, keyword, args: Vec::new(), more_args: 0, opens: false };
        loop {
            match self.tokens.peek().copied() {
                None | Some(Tok::EndOfLine) => {
                    self.tokens.next();
                    break;
                }
                // `}` ends the enclosing block: left for its reader.
                Some(Tok::Close(_)) => break,
                Some(Tok::Open(_)) => {
                    self.tokens.next();
                    stmt.opens = true;
                    break;
                }
                Some(Tok::Word(at, word)) => {
                    self.tokens.next();
                    if stmt.args.len() < KEPT_ARGS {
                        stmt.args.push((at, word));
                    } else {
                        stmt.more_args += 1;
                    }
                }
            }
        }
        Ok(Next::Stmt(stmt))
    }

    /// The next statement of the block `opener` opened, or `None` at its
    /// `}` (at once if it opened none); the end of the text is an error.
    pub(crate) fn inside(&mut self, opener: &Stmt<'_>) -> Result<Option<Stmt<'a>>, SpecError> {
        if !opener.opens {
            return Ok(None);
        }
        match self.next()? {
            Next::Stmt(stmt) => Ok(Some(stmt)),
            Next::Close(_) => Ok(None),
            Next::End => Err(self.never_closed(opener.at)),
        }
    }

    /// Passes over the block `stmt` opened, if it did, at nesting `depth`
    /// (of the block the statement is in), counting braces only.
    pub(crate) fn skip(&mut self, stmt: &Stmt<'_>, depth: usize) -> Result<(), SpecError> {
        if !stmt.opens {
            return Ok(());
        }
        let mut open = 1;
        while open > 0 {
            match self.tokens.next() {
                None => return Err(self.never_closed(stmt.at)),
                Some(Tok::Open(at)) => {
                    open += 1;
                    if depth + open > MAX_DEPTH {
                        return Err(self.too_deep(at));
                    }
                }
                Some(Tok::Close(_)) => open -= 1,
                Some(Tok::Word(..) | Tok::EndOfLine) => {}
            }
        }
        Ok(())
    }

    /// The error for a block opened deeper than [`MAX_DEPTH`].
    pub(crate) fn too_deep(&self, at: At) -> SpecError {
        self.error(
            at,
            format!("blocks nested deeper than {MAX_DEPTH}"),
            "keepalived.conf nests a few levels (virtual_server, real_server, check, url)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(text: &str) -> Vec<(At, String, Vec<String>, bool)> {
        let mut reader = Reader::new("k.conf", text);
        let mut out = Vec::new();
        loop {
            match reader.next().unwrap() {
                Next::Stmt(s) => out.push((
                    s.at,
                    s.keyword.to_string(),
                    s.args.iter().map(|(_, a)| a.to_string()).collect(),
                    s.opens,
                )),
                Next::Close(_) => out.push(((0, 0), "}".into(), vec![], false)),
                Next::End => return out,
            }
        }
    }

    #[test]
    fn statements_come_with_their_places_braces_and_comments_apart() {
        let got = statements("a 1  2{ # c {\n\tb\u{e9}x y}\n! all\n  c\n");
        assert_eq!(
            got,
            vec![
                ((1, 1), "a".into(), vec!["1".into(), "2".into()], true),
                ((2, 2), "b\u{e9}x".into(), vec!["y".into()], false),
                ((0, 0), "}".into(), vec![], false),
                ((4, 3), "c".into(), vec![], false),
            ]
        );
    }

    #[test]
    fn a_statement_keeps_its_first_arguments_and_counts_the_rest() {
        let text = format!("a {}\n", "x ".repeat(1000));
        let mut reader = Reader::new("k.conf", &text);
        let Next::Stmt(s) = reader.next().unwrap() else { panic!() };
        assert_eq!((s.args.len(), s.more_args, s.all_args()), (KEPT_ARGS, 1000 - KEPT_ARGS, None));
    }

    #[test]
    fn skipping_counts_braces_and_refuses_depth_and_unclosed_blocks() {
        let mut reader = Reader::new("k.conf", "g {\n a { b { } }\n}\nnext\n");
        let Next::Stmt(g) = reader.next().unwrap() else { panic!() };
        reader.skip(&g, 0).unwrap();
        let Next::Stmt(next) = reader.next().unwrap() else { panic!() };
        assert_eq!(next.keyword, "next");

        let deep = format!("g {{\n{}", "a {\n".repeat(100_000));
        let mut reader = Reader::new("k.conf", &deep);
        let Next::Stmt(g) = reader.next().unwrap() else { panic!() };
        let e = reader.skip(&g, 0).unwrap_err();
        assert_eq!(e.line, MAX_DEPTH + 1, "{e}");
        assert!(e.message.contains("nested deeper"), "{e}");

        let mut reader = Reader::new("k.conf", "g {\n a\n");
        let Next::Stmt(g) = reader.next().unwrap() else { panic!() };
        let e = reader.skip(&g, 0).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (1, "this block is never closed"));
    }
}
