//! Theme parsing, with the exact messages users will read.

use ratatui::style::Color;

use super::*;

const COLOR_CHOICES: &str = "use one of black, red, green, yellow, blue, magenta, cyan, gray, \
     dark-gray, light-red, light-green, light-yellow, light-blue, light-magenta, light-cyan, \
     white, default, or \"#rrggbb\" or \"#rgb\"";

#[test]
fn builtins_parse_and_dark_sets_every_key() {
    for (name, text) in BUILTIN_THEMES {
        parse(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let dark: ThemeFile = toml::from_str(BUILTIN_THEMES[0].1).unwrap();
    assert!(Palette::is_complete(&dark), "dark.toml must set every key");
}

#[test]
fn partial_file_takes_the_rest_from_its_base() {
    let theme = parse("ok = \"#0f0\"\n", "mine.toml").unwrap();
    let dark = builtin("dark").unwrap();
    assert_eq!(theme.palette.ok, Color::Rgb(0, 255, 0));
    assert_eq!(theme.palette.error, dark.palette.error);

    let on_light = parse("base = \"light\"\nok = \"green\"\n", "mine.toml").unwrap();
    assert_eq!(on_light.palette.bg, builtin("light").unwrap().palette.bg);
    assert_eq!(on_light.palette.ok, Color::Green);
}

#[test]
fn bad_colour_names_file_line_col_value_and_choices() {
    let err = parse("fg = \"white\"\nwarn = \"purplish\"\n", "themes/mine.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("themes/mine.toml:2:8: 'purplish' is not a colour; {COLOR_CHOICES}")
    );
}

#[test]
fn short_hex_is_rejected_with_its_value() {
    let err = parse("accent = \"#12345\"", "t.toml").unwrap_err();
    assert_eq!(err.to_string(), format!("t.toml:1:10: '#12345' is not a colour; {COLOR_CHOICES}"));
}

#[test]
fn unknown_key_lists_the_valid_keys() {
    let err = parse("ok = \"green\"\nbackground = \"red\"\n", "t.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.toml:2:1: unknown key 'background'; valid keys are base, fg, bg, muted, border, \
         border-focused, title, header, selected, ok, warn, error, accent, key, series-1, \
         series-2, series-3, series-4, series-5, series-6, bar-actual, bar-expected"
    );
}

#[test]
fn unknown_base_names_the_builtins() {
    let err = parse("base = \"solarized\"\n", "t.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.toml:1:8: 'solarized' is not a built-in theme; use one of dark, light, mono"
    );
}

#[test]
fn wrong_type_and_broken_toml_still_point_at_the_spot() {
    let err = parse("ok = 3\n", "t.toml").unwrap_err();
    assert_eq!(err.to_string(), "t.toml:1:6: invalid type: integer `3`, expected a string");
    let err = parse("ok = \"green\n", "t.toml").unwrap_err();
    assert!(err.to_string().starts_with("t.toml:1:"), "{err}");
}

#[test]
fn load_by_name_path_or_neither() {
    let no_file = |_: &str| Err(std::io::Error::from(std::io::ErrorKind::NotFound));
    assert_eq!(load("mono", &no_file).unwrap().palette.bg, Color::Black);
    let err = load("solarized", &no_file).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no theme named 'solarized'; use one of dark, light, mono, or a path to a .toml file"
    );
    let err = load("/nonexistent/t.toml", &no_file).unwrap_err();
    assert!(err.to_string().starts_with("/nonexistent/t.toml: cannot read theme: "), "{err}");

    let bad_file = |_: &str| Ok("title = \"nope\"\n".to_string());
    let err = load("themes/bad.toml", &bad_file).unwrap_err();
    assert!(err.to_string().starts_with("themes/bad.toml:1:9: 'nope'"), "{err}");
}

#[test]
fn fallback_keeps_the_error_and_honours_no_color() {
    let no_file = |_: &str| Err(std::io::Error::from(std::io::ErrorKind::NotFound));
    let (theme, err) = load_or_default(Some("nope"), true, &no_file);
    assert_eq!(theme.name, "dark");
    assert!(!theme.colored);
    assert!(err.is_some());
    let (theme, err) = load_or_default(None, false, &no_file);
    assert!(theme.colored && err.is_none());
}
