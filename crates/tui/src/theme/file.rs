//! Reading theme files: built-ins embedded with `include_str!`, user files
//! by path. Errors name `file:line:col`, quote the bad value and list the
//! valid choices; the caller prints them and falls back to the default, so a
//! broken theme is never silently replaced.

use super::{Palette, Theme, ThemeFile};

/// The built-in themes, by name, with their embedded TOML.
pub const BUILTIN_THEMES: &[(&str, &str)] = &[
    ("dark", include_str!("../../../../themes/dark.toml")),
    ("light", include_str!("../../../../themes/light.toml")),
    ("mono", include_str!("../../../../themes/mono.toml")),
];

/// Why a theme could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// The theme file could not be read.
    #[error("{path}: cannot read theme: {source}")]
    Read {
        /// The path given.
        path: String,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The file is not a valid theme.
    #[error("{file}:{line}:{col}: {message}")]
    Invalid {
        /// The file (or built-in name) the text came from.
        file: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        col: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Neither a built-in name nor a path to a file.
    #[error("no theme named '{name}'; use one of {choices}, or a path to a .toml file")]
    UnknownName {
        /// The name given.
        name: String,
        /// The built-in names, comma-separated.
        choices: String,
    },
}

fn builtin_names() -> String {
    BUILTIN_THEMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// A built-in theme by name (`dark`, `light`, `mono`).
pub fn builtin(name: &str) -> Option<Theme> {
    let (name, text) = BUILTIN_THEMES.iter().find(|(n, _)| *n == name)?;
    parse(text, name).ok()
}

/// Where a theme comes from; reading a file is the caller's (the dashboard
/// is pure: it is handed the file's text, never opens one).
pub type ReadFile<'a> = &'a dyn Fn(&str) -> std::io::Result<String>;

/// Loads a theme by built-in name, or by path to a TOML file read with `read_file`.
pub fn load(name_or_path: &str, read_file: ReadFile<'_>) -> Result<Theme, ThemeError> {
    if let Some((name, text)) = BUILTIN_THEMES.iter().find(|(n, _)| *n == name_or_path) {
        return parse(text, name);
    }
    let looks_like_path = name_or_path.contains('/') || name_or_path.ends_with(".toml");
    if !looks_like_path {
        return Err(ThemeError::UnknownName {
            name: name_or_path.into(),
            choices: builtin_names(),
        });
    }
    let text = read_file(name_or_path)
        .map_err(|source| ThemeError::Read { path: name_or_path.into(), source })?;
    parse(&text, name_or_path)
}

/// The theme asked for (or the default), with the reason it could not be
/// used; `no_color` (from [`no_color_requested`]) turns colours off.
pub fn load_or_default(
    name_or_path: Option<&str>,
    no_color: bool,
    read_file: ReadFile<'_>,
) -> (Theme, Option<ThemeError>) {
    let (theme, error) = match name_or_path.map(|n| load(n, read_file)) {
        None => (Theme::default(), None),
        Some(Ok(theme)) => (theme, None),
        Some(Err(e)) => (Theme::default(), Some(e)),
    };
    (if no_color { theme.without_colors() } else { theme }, error)
}

/// Whether the `NO_COLOR` convention (<https://no-color.org>) asks for no colours.
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Parses theme TOML; `origin` names the file in error messages.
pub fn parse(text: &str, origin: &str) -> Result<Theme, ThemeError> {
    let file: ThemeFile = toml::from_str(text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        invalid(text, origin, at, reword(e.message()))
    })?;
    let base = match &file.base {
        None if origin == "dark" => Palette::blank(),
        None => dark_palette(),
        Some(name) => base_palette(name.get_ref()).ok_or_else(|| {
            let message = format!(
                "'{}' is not a built-in theme; use one of {}",
                name.get_ref(),
                builtin_names()
            );
            invalid(text, origin, name.span().start, message)
        })?,
    };
    Ok(Theme { name: origin.into(), palette: base.overlaid(&file), colored: true })
}

fn dark_palette() -> Palette {
    builtin("dark").map_or_else(Palette::blank, |t| t.palette)
}

fn base_palette(name: &str) -> Option<Palette> {
    let (_, text) = BUILTIN_THEMES.iter().find(|(n, _)| *n == name)?;
    let file: ThemeFile = toml::from_str(text).ok()?;
    // Built-ins name no base other than dark, so this cannot recurse.
    let under = if name == "dark" { Palette::blank() } else { dark_palette() };
    Some(under.overlaid(&file))
}

/// serde's unknown-field message, said the way the rest of our errors are.
fn reword(message: &str) -> String {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let key = rest.split('`').next().unwrap_or_default();
        return format!("unknown key '{key}'; valid keys are {}", Palette::keys().join(", "));
    }
    message.to_string()
}

fn invalid(text: &str, origin: &str, offset: usize, message: String) -> ThemeError {
    let (line, col) = lvslab_core::lab::error::line_col(text, offset);
    ThemeError::Invalid { file: origin.into(), line, col, message }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
