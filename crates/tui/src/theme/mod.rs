//! Colour themes users can write: built-in `dark` (default), `light` and
//! `mono` are TOML files embedded in the binary, and any file may override
//! some keys of a base theme. Panes ask the theme for styles by role (ok,
//! warn, selected, ...) so no pane hard-codes a colour.

mod color;
mod file;

pub use color::{NAMED_COLORS, ThemeColor, parse_color};
pub use file::{
    BUILTIN_THEMES, ReadFile, ThemeError, builtin, load, load_or_default, no_color_requested, parse,
};

use ratatui::style::{Color, Modifier, Style};

macro_rules! palette {
    ($($field:ident),* $(,)?) => {
        /// Every colour a theme defines, by role.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct Palette {
            $(
                #[doc = concat!("Colour for the `", stringify!($field), "` role.")]
                pub $field: Color,
            )*
        }

        /// A theme file as written: every colour optional, kebab-case keys.
        #[derive(Clone, Debug, Default, serde::Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        pub struct ThemeFile {
            /// The built-in theme whose colours fill the keys not set here.
            pub base: Option<toml::Spanned<String>>,
            $(
                #[doc = concat!("Override for the `", stringify!($field), "` role.")]
                pub $field: Option<ThemeColor>,
            )*
        }

        impl Palette {
            /// Every key a theme file may set, as written (kebab-case).
            pub fn keys() -> Vec<String> {
                let mut keys = vec!["base".to_string()];
                $( keys.push(stringify!($field).replace('_', "-")); )*
                keys
            }

            /// A palette of terminal defaults, the base of the base theme.
            pub const fn blank() -> Self {
                Self { $( $field: Color::Reset, )* }
            }

            /// This palette with the keys `file` sets replaced.
            pub fn overlaid(mut self, file: &ThemeFile) -> Self {
                $( if let Some(c) = file.$field { self.$field = c.0; } )*
                self
            }

            /// Whether `file` sets every colour key.
            pub fn is_complete(file: &ThemeFile) -> bool {
                true $( && file.$field.is_some() )*
            }
        }
    };
}

palette!(
    fg,
    bg,
    muted,
    border,
    border_focused,
    title,
    header,
    selected,
    ok,
    warn,
    error,
    accent,
    key,
    series_1,
    series_2,
    series_3,
    series_4,
    series_5,
    series_6,
    bar_actual,
    bar_expected,
);

/// A named palette plus whether colours may be used at all (`NO_COLOR`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    /// Name shown in the header (`dark`, or the file's path).
    pub name: String,
    /// The colours.
    pub palette: Palette,
    /// When false every style is colourless and emphasis uses modifiers only.
    pub colored: bool,
}

impl Default for Theme {
    fn default() -> Self {
        file::builtin("dark").unwrap_or(Self {
            name: "dark".into(),
            palette: Palette::blank(),
            colored: true,
        })
    }
}

impl Theme {
    /// The same theme with colours off, for `NO_COLOR`.
    pub fn without_colors(mut self) -> Self {
        self.colored = false;
        self
    }

    fn fg(&self, color: Color) -> Style {
        if self.colored { Style::new().fg(color) } else { Style::new() }
    }

    /// Text and background of every pane.
    pub fn base(&self) -> Style {
        if self.colored {
            Style::new().fg(self.palette.fg).bg(self.palette.bg)
        } else {
            Style::new()
        }
    }

    /// Secondary text: notes, units, the unchanged.
    pub fn muted(&self) -> Style {
        if self.colored {
            self.fg(self.palette.muted)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    /// A pane's border, brighter when the pane has the focus.
    pub fn border(&self, focused: bool) -> Style {
        match (self.colored, focused) {
            (true, true) => self.fg(self.palette.border_focused),
            (true, false) => self.fg(self.palette.border),
            (false, true) => Style::new().add_modifier(Modifier::BOLD),
            (false, false) => Style::new(),
        }
    }

    /// Pane titles.
    pub fn title(&self) -> Style {
        self.fg(self.palette.title).add_modifier(Modifier::BOLD)
    }

    /// Table column headers.
    pub fn header(&self) -> Style {
        self.fg(self.palette.header).add_modifier(Modifier::BOLD)
    }

    /// The selected row.
    pub fn selected(&self) -> Style {
        if self.colored {
            Style::new().bg(self.palette.selected).add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// Healthy: answering, forwarding on, requests ok.
    pub fn ok(&self) -> Style {
        self.fg(self.palette.ok)
    }

    /// Degraded on purpose or worth a look: drained, weight 0, stopped traffic.
    pub fn warn(&self) -> Style {
        self.fg(self.palette.warn)
    }

    /// Broken: not answering, errors, forwarding off.
    pub fn error(&self) -> Style {
        self.fg(self.palette.error).add_modifier(Modifier::BOLD)
    }

    /// Highlights: changes since the last refresh, the VIP.
    pub fn accent(&self) -> Style {
        self.fg(self.palette.accent)
    }

    /// Key names in the footer and help.
    pub fn key(&self) -> Style {
        self.fg(self.palette.key).add_modifier(Modifier::BOLD)
    }

    /// The colour of the `index`-th chart series (cycling through six).
    pub fn series(&self, index: usize) -> Style {
        let p = &self.palette;
        let colors = [p.series_1, p.series_2, p.series_3, p.series_4, p.series_5, p.series_6];
        self.fg(colors[index % colors.len()])
    }

    /// Bars of measured shares.
    pub fn bar_actual(&self) -> Style {
        self.fg(self.palette.bar_actual)
    }

    /// Bars of the shares the weights predict.
    pub fn bar_expected(&self) -> Style {
        self.fg(self.palette.bar_expected)
    }
}
