//! The tutorial guide pane: where the walk stands (one mark per step), the
//! current step's what-and-why, its equivalent command, its status on the
//! live lab, and what the last step done or undone changed.
//!
//! ```text
//! ┌ Tutorial · step 3/11 ──────────────────────────┐
//! │ · · ✓▸○ ○ ○ ○ · · · ·                           │  marks (a list when tall)
//! │ ── step 3 done: Real servers route through ...  │  the last step's effect
//! │ rs1: default via 198.51.100.1 dev eth0          │
//! │                                                 │
//! │ 4. The director forwards packets      [to do]   │  the step to do now,
//! │ $ ip netns exec lvs-tutorial-director sysctl …  │  its command,
//! │ Replies from the real servers are not ...       │  and why
//! └─────────────────────────────────────────────────┘
//! ```

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::pane;
use crate::app::{App, GuideState};
use crate::theme::Theme;
use lvslab_core::tutorial::Status;

/// Height from which every step is listed by title instead of as marks.
pub const LIST_FROM: u16 = 36;

/// Draws the guide pane.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(guide) = app.guide() else { return };
    let title = if guide.steps.is_empty() {
        "Tutorial".to_string()
    } else {
        format!("Tutorial · step {}/{}", guide.current + 1, guide.steps.len())
    };
    let block = pane(title, theme, true);
    let lines = if let Some(why) = &guide.error {
        vec![Line::styled(why.clone(), theme.error())]
    } else if guide.steps.is_empty() {
        vec![Line::styled("reading the lab…", theme.muted())]
    } else {
        body(guide, area.height >= LIST_FROM, theme)
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), area);
}

fn mark(status: Option<&Status>) -> &'static str {
    match status {
        Some(Status::Done) => "✓",
        Some(Status::Todo) => "○",
        Some(Status::NoChange) | None => "·",
        Some(Status::Unavailable(_)) => "–",
    }
}

fn status_style(status: Option<&Status>, theme: &Theme) -> Style {
    match status {
        Some(Status::Done) => theme.ok(),
        Some(Status::Todo) => theme.warn(),
        Some(Status::Unavailable(_)) => theme.error(),
        Some(Status::NoChange) | None => theme.muted(),
    }
}

fn body<'a>(guide: &GuideState, list: bool, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    let current_style = theme.key().add_modifier(Modifier::BOLD);
    if list {
        for (i, step) in guide.steps.iter().enumerate() {
            let status = guide.status.get(i);
            let pointer = if i == guide.current { "▸" } else { " " };
            let title_style = if i == guide.current { current_style } else { theme.base() };
            lines.push(Line::from(vec![
                Span::styled(pointer, current_style),
                Span::styled(format!("{} ", mark(status)), status_style(status, theme)),
                Span::styled(format!("{:>2} {}", i + 1, step.title), title_style),
            ]));
        }
        lines.push(Line::raw(""));
    } else {
        let mut spans = Vec::new();
        for i in 0..guide.steps.len() {
            let status = guide.status.get(i);
            if i == guide.current {
                spans.push(Span::styled(format!("▸{}", mark(status)), current_style));
            } else {
                spans.push(Span::styled(format!(" {}", mark(status)), status_style(status, theme)));
            }
        }
        lines.push(Line::from(spans));
    }
    // What the last step did comes first, so it stays in view on a small
    // terminal; then the step to do now, its command, and why.
    if let Some(effect) = &guide.effect {
        let title = guide.steps.get(effect.step).map_or("", |s| s.title.as_str());
        match &effect.result {
            Ok(out) => {
                lines.push(Line::styled(
                    format!("── step {} {}: {title}", effect.step + 1, effect.verb),
                    theme.ok(),
                ));
                lines.extend(out.iter().map(|l| Line::raw(l.clone())));
            }
            Err(why) => {
                lines.push(Line::styled(
                    format!("── step {} failed: {title}", effect.step + 1),
                    theme.error(),
                ));
                lines.push(Line::styled(why.clone(), theme.error()));
            }
        }
    }
    if guide.busy {
        lines.push(Line::styled("working…", theme.muted()));
    }
    lines.push(Line::raw(""));
    let step = &guide.steps[guide.current];
    let status = guide.status.get(guide.current);
    lines.push(Line::from(vec![
        Span::styled(format!("{}. {}", guide.current + 1, step.title), theme.title()),
        Span::raw("  "),
        Span::styled(
            format!("[{}]", status.map_or_else(|| "…".to_string(), ToString::to_string)),
            status_style(status, theme),
        ),
    ]));
    for command in &step.command {
        lines.push(Line::styled(format!("$ {command}"), theme.accent()));
    }
    for paragraph in step.text.split("\n\n") {
        lines.push(Line::raw(paragraph.replace('\n', " ")));
    }
    lines
}
