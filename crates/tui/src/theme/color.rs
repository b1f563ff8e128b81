//! Colour values as users write them in theme files: an ANSI name, `#rrggbb`
//! or `#rgb`. Parsing is strict and the error lists every valid choice.

use ratatui::style::Color;
use serde::Deserialize;

/// The ANSI colour names a theme may use, with the colour each means.
pub const NAMED_COLORS: &[(&str, Color)] = &[
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark-gray", Color::DarkGray),
    ("light-red", Color::LightRed),
    ("light-green", Color::LightGreen),
    ("light-yellow", Color::LightYellow),
    ("light-blue", Color::LightBlue),
    ("light-magenta", Color::LightMagenta),
    ("light-cyan", Color::LightCyan),
    ("white", Color::White),
    ("default", Color::Reset),
];

/// A colour read from a theme file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ThemeColor(pub Color);

impl TryFrom<String> for ThemeColor {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        parse_color(&text).map(ThemeColor)
    }
}

/// Parses `red`, `light-cyan`, `#1e90ff` or `#1e9`; the error quotes the
/// value and lists the valid choices.
pub fn parse_color(text: &str) -> Result<Color, String> {
    if let Some(hex) = text.strip_prefix('#') {
        return parse_hex(hex).ok_or_else(|| invalid(text));
    }
    NAMED_COLORS
        .iter()
        .find(|(name, _)| *name == text)
        .map(|&(_, c)| c)
        .ok_or_else(|| invalid(text))
}

fn parse_hex(hex: &str) -> Option<Color> {
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize| u8::from_str_radix(&hex[i..=i], 16).ok();
    let pair = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    match hex.len() {
        3 => Some(Color::Rgb(digit(0)? * 17, digit(1)? * 17, digit(2)? * 17)),
        6 => Some(Color::Rgb(pair(0)?, pair(2)?, pair(4)?)),
        _ => None,
    }
}

fn invalid(text: &str) -> String {
    let names: Vec<&str> = NAMED_COLORS.iter().map(|(n, _)| *n).collect();
    format!("'{text}' is not a colour; use one of {}, or \"#rrggbb\" or \"#rgb\"", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_and_both_hex_forms() {
        assert_eq!(parse_color("light-cyan"), Ok(Color::LightCyan));
        assert_eq!(parse_color("default"), Ok(Color::Reset));
        assert_eq!(parse_color("#1e90ff"), Ok(Color::Rgb(0x1e, 0x90, 0xff)));
        assert_eq!(parse_color("#fa0"), Ok(Color::Rgb(0xff, 0xaa, 0x00)));
    }

    #[test]
    fn rejects_with_the_value_quoted_and_the_choices() {
        let err = parse_color("#12345").unwrap_err();
        assert!(
            err.starts_with("'#12345' is not a colour; use one of black, red, green,"),
            "{err}"
        );
        assert!(err.ends_with("white, default, or \"#rrggbb\" or \"#rgb\""), "{err}");
        assert!(parse_color("Red").is_err());
        assert!(parse_color("#gggggg").is_err());
    }
}
