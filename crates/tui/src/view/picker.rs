//! The first screen of a bare `lvslab`: pick a preset, read what it shows
//! (its services and weights, its topology, and the preset's own words on
//! what to do and watch), choose the dataplane, press Enter to build it.
//!
//! On a kernel without IPVS the pane says so before anything is built and
//! the dataplane starts on nft; Tab cycles what is offered.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{footer, pane};
use crate::app::App;
use crate::command::{BuildOptions, PresetInfo};
use crate::format::wrap;
use crate::keymap::Action;
use crate::theme::Theme;
use lvslab_core::lab::model::Dataplane;
use lvslab_core::lab::text::shown;

/// Draws the preset picker.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let [title, body, foot] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)])
            .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" lvslab ", theme.title()),
            Span::raw("choose a lab to build"),
        ])),
        title,
    );
    let (presets, index) = app.presets();
    let list_width = presets.iter().map(|p| p.name.chars().count()).max().unwrap_or(0) + 6;
    let [list_area, detail_area] = Layout::horizontal([
        Constraint::Length(u16::try_from(list_width).unwrap_or(30).clamp(16, 32)),
        Constraint::Fill(1),
    ])
    .areas(body);
    let items: Vec<Line> = presets
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i == index {
                Line::styled(format!("▶ {}", shown(&p.name)), theme.selected())
            } else {
                Line::raw(format!("  {}", shown(&p.name)))
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(items).block(pane("Presets", theme, true)), list_area);
    let block = pane("What it shows", theme, false);
    let inner = block.inner(detail_area);
    let tab = app
        .keymap()
        .bindings()
        .iter()
        .find(|b| b.action == Action::NextPanel)
        .map_or_else(|| "Tab".to_string(), |b| b.keys_label());
    let detail = presets.get(index).map_or_else(Vec::new, |p| {
        let choice = Choice { build: app.build_options(), dataplane: app.picker_dataplane(), tab };
        detail(p, &choice, usize::from(inner.width), usize::from(inner.height))
    });
    let lines: Vec<Line> =
        detail.into_iter().map(|(text, kind)| styled(text, kind, theme)).collect();
    frame.render_widget(Paragraph::new(lines).block(block), detail_area);
    footer::render(frame, foot, app, theme);
}

/// The dataplane choice the pane shows.
pub struct Choice<'a> {
    /// What the session allows.
    pub build: &'a BuildOptions,
    /// What Enter builds with.
    pub dataplane: Dataplane,
    /// The key that cycles the dataplane.
    pub tab: String,
}

/// How a line of the detail pane is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The preset's name.
    Title,
    /// A section heading.
    Heading,
    /// Plain text.
    Text,
    /// A warning (no IPVS on this kernel).
    Warn,
    /// Commands and diagrams from the preset's comments.
    Verbatim,
}

fn styled<'a>(text: String, kind: Kind, theme: &Theme) -> Line<'a> {
    let style: Style = match kind {
        Kind::Title => theme.title(),
        Kind::Heading => theme.accent(),
        Kind::Text => theme.base(),
        Kind::Warn => theme.warn(),
        Kind::Verbatim => theme.muted(),
    };
    Line::styled(text, style)
}

/// The lines of the "What it shows" pane for `width`×`height`, every one
/// whole: wrapped at words, and the preset's explanation shown paragraph
/// by paragraph as far as whole paragraphs fit (a diagram wider than the
/// pane is left out rather than cut).
pub fn detail(
    preset: &PresetInfo,
    choice: &Choice,
    width: usize,
    height: usize,
) -> Vec<(String, Kind)> {
    let mut out: Vec<(String, Kind)> = Vec::new();
    let push_wrapped = |out: &mut Vec<(String, Kind)>, text: &str, kind: Kind| {
        out.extend(wrap(&shown(text), width).into_iter().map(|l| (l, kind)));
    };
    if let Some(why) = &choice.build.ipvs_missing {
        let offered: Vec<String> = choice.build.offered().iter().map(ToString::to_string).collect();
        push_wrapped(
            &mut out,
            &format!(
                "{why}: a lab built with IPVS would fail. It can be built with {} instead \
                 ({} chooses).",
                offered.join(" or "),
                choice.tab
            ),
            Kind::Warn,
        );
        out.push((String::new(), Kind::Text));
    }
    push_wrapped(&mut out, &preset.name, Kind::Title);
    push_wrapped(&mut out, &preset.description, Kind::Text);
    out.push((String::new(), Kind::Text));
    out.push(("Services".into(), Kind::Heading));
    for service in &preset.services {
        push_wrapped(&mut out, service, Kind::Text);
    }
    out.push(("Topology".into(), Kind::Heading));
    push_wrapped(&mut out, &preset.topology.join(" · "), Kind::Text);
    let others: Vec<String> = choice
        .build
        .offered()
        .iter()
        .filter(|d| **d != choice.dataplane)
        .map(ToString::to_string)
        .collect();
    push_wrapped(
        &mut out,
        &format!(
            "Builds with dataplane {}: {} ({} for {})",
            choice.dataplane,
            what_balances(choice.dataplane),
            choice.tab,
            others.join(", ")
        ),
        Kind::Heading,
    );
    // The heading only with at least one whole paragraph under it.
    let paragraphs: Vec<Vec<(String, Kind)>> = blocks(&preset.explanation)
        .iter()
        .map(|b| b.lines(width))
        .filter(|lines| !lines.is_empty())
        .collect();
    if paragraphs.first().is_none_or(|first| out.len() + 2 + first.len() > height) {
        return out;
    }
    out.push((String::new(), Kind::Text));
    out.push(("What to do and watch".into(), Kind::Heading));
    let all = blocks(&preset.explanation);
    let kept: Vec<&Block> = all.iter().filter(|b| !b.lines(width).is_empty()).collect();
    for (i, (block, lines)) in kept.iter().zip(&paragraphs).enumerate() {
        let gap = usize::from(i > 0);
        if out.len() + gap + lines.len() > height {
            // The whole sentences that fit, or a mark that there is more.
            let room = height.saturating_sub(out.len() + gap);
            let part = block.sentences(width, room);
            if part.is_empty() {
                if out.len() < height {
                    out.push(("…".into(), Kind::Verbatim));
                }
            } else {
                out.extend(std::iter::repeat_n((String::new(), Kind::Text), gap));
                out.extend(part);
            }
            break;
        }
        out.extend(std::iter::repeat_n((String::new(), Kind::Text), gap));
        out.extend(lines.iter().cloned());
    }
    out
}

/// What a dataplane does, in a few words.
fn what_balances(dataplane: Dataplane) -> &'static str {
    match dataplane {
        Dataplane::Ipvs => "the kernel's IPVS balances",
        Dataplane::Nft => "nftables DNAT balances, like kube-proxy",
        Dataplane::None => "routing only, nothing balances",
    }
}

/// One paragraph of the explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Block {
    /// Prose: shown wrapped, and if need be cut after a whole sentence.
    Prose(String),
    /// A paragraph with indented lines (commands, a diagram): kept as it
    /// is, whole or not at all.
    Verbatim(Vec<String>),
}

impl Block {
    /// Its lines at `width`; a verbatim block wider than that has none.
    fn lines(&self, width: usize) -> Vec<(String, Kind)> {
        match self {
            Self::Prose(text) => wrap(text, width).into_iter().map(|l| (l, Kind::Text)).collect(),
            Self::Verbatim(lines) if lines.iter().all(|l| l.chars().count() <= width) => {
                lines.iter().map(|l| (l.clone(), Kind::Verbatim)).collect()
            }
            Self::Verbatim(_) => Vec::new(),
        }
    }

    /// The most whole sentences of a prose block that fit in `rows` lines
    /// of `width`, ending in `…`; nothing for a verbatim block.
    fn sentences(&self, width: usize, rows: usize) -> Vec<(String, Kind)> {
        let Self::Prose(text) = self else { return Vec::new() };
        let ends: Vec<usize> = text.match_indices(". ").map(|(i, _)| i + 1).collect();
        ends.iter()
            .rev()
            .map(|&end| wrap(&format!("{} …", &text[..end]), width))
            .find(|lines| lines.len() <= rows)
            .map(|lines| lines.into_iter().map(|l| (l, Kind::Text)).collect())
            .unwrap_or_default()
    }
}

/// The explanation's paragraphs (split at blank lines).
fn blocks(explanation: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut paragraph: Vec<String> = Vec::new();
    let lines = explanation.lines().map(|l| shown(l).into_owned());
    for line in lines.chain(std::iter::once(String::new())) {
        if !line.trim().is_empty() {
            paragraph.push(line);
            continue;
        }
        if paragraph.is_empty() {
            continue;
        }
        let lines = std::mem::take(&mut paragraph);
        if lines.iter().any(|l| l.starts_with(' ')) {
            blocks.push(Block::Verbatim(lines));
        } else {
            let words: Vec<&str> = lines.iter().map(|l| l.trim()).collect();
            blocks.push(Block::Prose(words.join(" ")));
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> PresetInfo {
        PresetInfo {
            name: "sh".into(),
            description: "one client sticks to one server".into(),
            services: vec!["TCP 192.0.2.1:80 sh: rs1 weight 1 nat, rs2 weight 1 nat".into()],
            topology: vec!["client 192.0.2.2".into(), "rs1 198.51.100.11".into()],
            explanation: "Source hashing.\n\nsh hashes the client's\naddress.\n\nWhat to see:\n  lvslab up sh\n  a-very-long-command-line-that-cannot-fit"
                .into(),
            ..PresetInfo::default()
        }
    }

    #[test]
    fn paragraphs_are_prose_or_kept_whole_when_indented() {
        let b = blocks(&info().explanation);
        assert_eq!(b.len(), 3);
        assert_eq!(b[1], Block::Prose("sh hashes the client's address.".into()));
        assert!(matches!(&b[2], Block::Verbatim(lines) if lines.len() == 3));
        // A paragraph with a line wider than the pane is left out whole.
        assert!(b[2].lines(30).is_empty());
        assert_eq!(b[2].lines(60)[1], ("  lvslab up sh".to_string(), Kind::Verbatim));
        let long = Block::Prose("One two. Three four five six. Seven.".into());
        assert_eq!(
            long.sentences(20, 2),
            [
                ("One two. Three four".to_string(), Kind::Text),
                ("five six. …".to_string(), Kind::Text)
            ]
        );
        assert_eq!(long.sentences(20, 1), [("One two. …".to_string(), Kind::Text)]);
        assert!(long.sentences(5, 1).is_empty());
    }

    #[test]
    fn the_explanation_stops_at_a_whole_paragraph_and_ipvs_missing_leads() {
        let build = BuildOptions {
            dataplane: Dataplane::Ipvs,
            ipvs_missing: Some("this kernel has no IPVS".into()),
        };
        let choice = Choice { build: &build, dataplane: Dataplane::Nft, tab: "Tab".into() };
        let lines = detail(&info(), &choice, 60, 18);
        assert!(lines[0].0.starts_with("this kernel has no IPVS: a lab built"), "{lines:?}");
        assert!(lines.iter().any(|(l, _)| l.contains("Builds with dataplane nft")), "{lines:?}");
        assert!(lines.iter().any(|(l, _)| l == "sh hashes the client's address."), "{lines:?}");
        assert_eq!(lines.len(), 18, "{lines:?}");
        assert_eq!(lines.last().unwrap().0, "…", "{lines:?}");
        assert!(lines.iter().all(|(l, _)| l.chars().count() <= 60));
        // Too short for any paragraph: no heading left hanging.
        let short = detail(&info(), &choice, 60, 14);
        assert!(!short.iter().any(|(l, _)| l == "What to do and watch"), "{short:?}");
    }
}
