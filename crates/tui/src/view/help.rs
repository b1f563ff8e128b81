//! The `?` overlay: every binding from the keymap in two columns (so it fits
//! 80×24), plus what the numbers mean (which columns are live and which
//! refresh every ~2 s).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{pane, popup};
use crate::app::App;
use crate::keymap::Binding;
use crate::theme::Theme;

const NOTES: &str = "ActiveConn/InActConn are live; Conns, CPS and byte rates come from the \
    kernel's estimator and refresh about every 2 s (Δ is the last refresh's change). Short NAT \
    connections wait in TIME_WAIT after closing and count as InActConn for up to 2 minutes.";

/// Draws the help overlay over `area`.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let bindings: Vec<Binding> =
        app.keymap().bindings().iter().chain(app.keymap().guide_bindings()).cloned().collect();
    let key_width = bindings.iter().map(|b| b.keys_label().chars().count()).max().unwrap_or(0) + 1;
    let half = bindings.len().div_ceil(2);
    let rows = u16::try_from(half).unwrap_or(u16::MAX);
    let block = pane("Help · Esc or ? closes", theme, true);
    let inner = popup(frame, area, 78, rows + 7, block);
    let [left, right, notes] = {
        let [keys, notes] =
            Layout::vertical([Constraint::Length(rows + 1), Constraint::Fill(1)]).areas(inner);
        let [left, right] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(keys);
        [left, right, notes]
    };
    let column = |part: &[Binding]| -> Paragraph {
        Paragraph::new(
            part.iter()
                .map(|b| {
                    Line::from(vec![
                        Span::styled(format!(" {:<key_width$}", b.keys_label()), theme.key()),
                        Span::raw(b.help),
                    ])
                })
                .collect::<Vec<_>>(),
        )
    };
    frame.render_widget(column(&bindings[..half]), left);
    frame.render_widget(column(&bindings[half..]), right);
    frame.render_widget(
        Paragraph::new(Span::styled(NOTES, theme.muted())).wrap(Wrap { trim: true }),
        notes,
    );
}
