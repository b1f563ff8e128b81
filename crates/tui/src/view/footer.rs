//! The key hints line, generated from the keymap for what has the focus, so
//! it never drifts from the bindings that work.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{App, Screen};
use crate::keymap::{Action, Binding};
use crate::theme::Theme;

/// The bindings worth showing now, in keymap order.
pub fn hints(app: &App) -> Vec<&Binding> {
    let wanted = |b: &&Binding| match (app.screen(), app.dialog()) {
        (Screen::Picker, _) => {
            matches!(b.action, Action::Up | Action::Down | Action::Confirm | Action::Quit)
        }
        (Screen::Progress, _) => b.action == Action::Quit,
        (Screen::Dashboard, Some(_)) => {
            matches!(
                b.action,
                Action::Up | Action::Down | Action::Confirm | Action::Close | Action::Quit
            )
        }
        (Screen::Dashboard, None) => b.in_footer,
    };
    if app.screen() == &Screen::Dashboard && app.dialog().is_none() && app.guide_visible() {
        // The guide's keys, then how to leave it.
        let leave =
            |b: &&Binding| matches!(b.action, Action::ToggleGuide | Action::Help | Action::Quit);
        return app
            .keymap()
            .guide_bindings()
            .iter()
            .chain(app.keymap().bindings().iter().filter(leave))
            .collect();
    }
    app.keymap().bindings().iter().filter(wanted).collect()
}

/// Draws the footer, dropping middle hints that do not fit but always
/// keeping the last two (help and quit).
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut shown = hints(app);
    let width = |items: &[&Binding]| -> usize {
        items
            .iter()
            .map(|b| b.keys_label().chars().count() + b.short.chars().count() + 3)
            .sum::<usize>()
            + 1
    };
    while shown.len() > 2 && width(&shown) > usize::from(area.width) {
        shown.remove(shown.len() - 3);
    }
    let mut spans = vec![Span::raw(" ")];
    for b in shown {
        spans.push(Span::styled(b.keys_label(), theme.key()));
        spans.push(Span::styled(format!(" {}  ", b.short), theme.muted()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
