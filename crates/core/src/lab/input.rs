//! The one reader of every file a user points lvslab at: presets, saved
//! rules, keepalived.conf, themes, standard input, a lab's record. It
//! stops at [`ranges::INPUT_BYTES`], so `/dev/zero`, a FIFO that never
//! ends or a huge file is refused after reading at most that much (and a
//! regular file larger than that before reading any of it), with an error
//! naming the file and the limit.

use std::fmt;
use std::io::Read;
use std::path::Path;

use super::error::SpecError;
use super::ranges;
use super::text;

/// Why an input could not be read.
#[derive(Debug)]
pub struct InputError {
    /// The file as the user named it (shown escaped).
    pub file: String,
    /// What went wrong.
    pub kind: InputErrorKind,
}

/// What went wrong reading an input.
#[derive(Debug)]
pub enum InputErrorKind {
    /// Opening or reading it failed.
    Io(std::io::Error),
    /// It holds more than [`ranges::INPUT_BYTES`].
    TooLarge,
    /// It is not UTF-8 text; the 1-based line of the first bad byte.
    NotText {
        /// Line of the first byte that is not UTF-8.
        line: usize,
    },
}

impl InputError {
    /// 1-based line the error is on (0: the whole file).
    pub fn line(&self) -> usize {
        match self.kind {
            InputErrorKind::NotText { line } => line,
            _ => 0,
        }
    }

    /// What is wrong, without the file's name.
    pub fn message(&self) -> String {
        match &self.kind {
            InputErrorKind::Io(e) => format!("cannot read it: {e}"),
            InputErrorKind::TooLarge => format!(
                "it holds more than {} MiB ({} bytes), the most lvslab reads from one input",
                ranges::INPUT_BYTES.max >> 20,
                ranges::INPUT_BYTES.max
            ),
            InputErrorKind::NotText { .. } => "it is not UTF-8 text".into(),
        }
    }

    /// How to fix it.
    pub fn help(&self) -> &'static str {
        match self.kind {
            InputErrorKind::Io(_) => "give the path of a readable file",
            InputErrorKind::TooLarge => ranges::INPUT_BYTES.help,
            InputErrorKind::NotText { .. } => {
                "give a text file (a preset, `ipvsadm -Sn` output or a keepalived.conf)"
            }
        }
    }

    /// As a preset error, for the validator's report.
    pub fn to_spec_error(&self) -> SpecError {
        SpecError {
            file: self.file.clone(),
            line: self.line(),
            col: 0,
            message: self.message(),
            help: Some(self.help().into()),
        }
    }

    /// As an I/O error whose text names the file, the limit and the fix.
    pub fn into_io(self) -> std::io::Error {
        let kind = match &self.kind {
            InputErrorKind::Io(e) => e.kind(),
            _ => std::io::ErrorKind::InvalidData,
        };
        std::io::Error::new(kind, self.to_string())
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line() {
            0 => write!(f, "{}: {}", self.file, self.message())?,
            line => write!(f, "{}:{line}: {}", self.file, self.message())?,
        }
        write!(f, "\n  help: {}", self.help())
    }
}

impl std::error::Error for InputError {}

/// Reads the file at `path` as text, at most [`ranges::INPUT_BYTES`].
pub fn read_file(path: &Path) -> Result<String, InputError> {
    let label = text::shown(&path.display().to_string()).into_owned();
    let io = |e| InputError { file: label.clone(), kind: InputErrorKind::Io(e) };
    let file = std::fs::File::open(path).map_err(io)?;
    // A regular file's size is known: a large one is refused unread.
    let meta = file.metadata().map_err(io)?;
    if meta.is_file() && meta.len() > ranges::INPUT_BYTES.max as u64 {
        return Err(InputError { file: label, kind: InputErrorKind::TooLarge });
    }
    read_stream(&label, file)
}

/// Reads `reader` (standard input, a pipe) as text, at most
/// [`ranges::INPUT_BYTES`]; `label` names it in errors.
pub fn read_stream(label: &str, reader: impl Read) -> Result<String, InputError> {
    let error = |kind| InputError { file: label.to_string(), kind };
    let limit = ranges::INPUT_BYTES.max as u64;
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes).map_err(|e| error(InputErrorKind::Io(e)))?;
    if bytes.len() as u64 > limit {
        return Err(error(InputErrorKind::TooLarge));
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..good].iter().filter(|b| **b == b'\n').count() + 1;
        error(InputErrorKind::NotText { line })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_stream_stops_at_the_limit() {
        let err = read_stream("/dev/zero", std::io::repeat(0)).unwrap_err();
        assert!(matches!(err.kind, InputErrorKind::TooLarge), "{err}");
        let text = err.to_string();
        assert!(
            text.starts_with("/dev/zero: it holds more than 16 MiB (16777216 bytes)"),
            "{text}"
        );
        assert!(text.contains("help: "), "{text}");
    }

    #[test]
    fn exactly_the_limit_is_read_and_one_byte_more_is_not() {
        let max = ranges::INPUT_BYTES.max;
        let text = read_stream("x", std::io::repeat(b'#').take(max as u64)).unwrap();
        assert_eq!(text.len(), max);
        assert!(read_stream("x", std::io::repeat(b'#').take(max as u64 + 1)).is_err());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_with_their_line() {
        let err = read_stream("bin", &b"a\nb\n\xff\n"[..]).unwrap_err();
        assert_eq!(err.line(), 3);
        assert!(err.to_string().starts_with("bin:3: it is not UTF-8 text"), "{err}");
    }

    #[test]
    fn a_control_character_in_the_path_is_shown_escaped() {
        let err = read_file(Path::new("/nonexistent/\u{1b}[2J")).unwrap_err();
        assert!(!err.to_string().chars().any(|c| c.is_control() && c != '\n'), "{err}");
    }
}
