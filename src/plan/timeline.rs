//! The release timeline drawn as a Mermaid `gantt` chart, which GitHub renders in step
//! summaries and pull request bodies. Pure: it reads a manifest's [`Timeline`] and writes
//! Markdown.
//!
//! With 30 regions the chart stays readable: the copies are sorted by when they ended (the
//! staircase shows which region held the release up), failed copies are red (`crit`), and a
//! sentence under the chart names the slowest regions and how long the copy took in all.

use crate::domain::manifest::Manifest;
use crate::domain::state::ImageState;
use crate::domain::timeline::{Span, Timeline, Timestamp};

/// How many of the slowest regions the sentence under the chart names.
const SLOWEST_NAMED: usize = 3;

/// Which phases a chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phases {
    /// Everything recorded (the step summary, written after publish).
    All,
    /// All but publish (the pull request body, written while publishing).
    BeforePublish,
}

/// One bar.
struct Bar<'a> {
    label: &'a str,
    failed: bool,
    start: Timestamp,
    end: Timestamp,
}

impl Bar<'_> {
    fn line(&self) -> String {
        format!(
            "    {} :{}, {}, {}\n",
            self.label,
            if self.failed { "crit" } else { "done" },
            self.start.naive_utc(),
            self.end.naive_utc()
        )
    }

    fn seconds(&self) -> u64 {
        self.start.seconds_until(self.end)
    }
}

fn bar<'a>(label: &'a str, span: &Span, failed: bool) -> Option<Bar<'a>> {
    Some(Bar {
        label,
        failed,
        start: span.start,
        end: span.end?,
    })
}

/// The chart of `manifest`'s timeline, a fenced `mermaid` block and a sentence naming the
/// slowest regions; `None` when no phase both started and ended.
pub fn markdown(manifest: &Manifest, phases: Phases) -> Option<String> {
    let timeline = &manifest.timeline;
    let failed = |region: &str| {
        manifest
            .regions
            .get(region)
            .is_some_and(|image| image.state == ImageState::Failed)
    };
    let build: Vec<Bar<'_>> = [
        timeline
            .builder
            .as_ref()
            .and_then(|s| bar("builder", s, false)),
        timeline.image.as_ref().and_then(|s| bar("image", s, false)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let copies = by_end(&timeline.copies, failed);
    let verification = by_end(&timeline.verification, |_| false);
    let publish: Vec<Bar<'_>> = match phases {
        Phases::All => timeline
            .publish
            .as_ref()
            .and_then(|s| bar("pull request", s, false))
            .into_iter()
            .collect(),
        Phases::BeforePublish => Vec::new(),
    };
    let sections = [
        ("build", &build),
        ("verify", &verification),
        ("copy", &copies),
        ("publish", &publish),
    ];
    let bars = sections.iter().flat_map(|(_, bars)| bars.iter());
    let first = bars.clone().map(|b| b.start).min()?;
    let last = bars.map(|b| b.end).max()?;
    let mut chart = format!(
        "```mermaid\ngantt\n    title {} {} ({}), {} in all (UTC)\n    dateFormat YYYY-MM-DDTHH:mm:ss\n    axisFormat %H:%M\n",
        manifest.product.replace([':', '#', ';'], " "),
        manifest.version,
        manifest.architecture,
        duration(first.seconds_until(last))
    );
    for (name, bars) in sections {
        if bars.is_empty() {
            continue;
        }
        chart.push_str(&format!("    section {name}\n"));
        for bar in bars {
            chart.push_str(&bar.line());
        }
    }
    chart.push_str("```\n");
    if let Some(sentence) = copy_sentence(&copies) {
        chart.push_str(&format!("\n{sentence}\n"));
    }
    Some(chart)
}

/// The ended spans of `spans` as bars, sorted by when they ended (then by name).
fn by_end<'a>(
    spans: &'a indexmap::IndexMap<String, Span>,
    failed: impl Fn(&str) -> bool,
) -> Vec<Bar<'a>> {
    let mut bars: Vec<Bar<'a>> = spans
        .iter()
        .filter_map(|(region, span)| bar(region, span, failed(region)))
        .collect();
    bars.sort_by(|a, b| a.end.cmp(&b.end).then(a.label.cmp(b.label)));
    bars
}

/// "The copy to 30 regions took 41m 10s; the slowest were ap-southeast-4 (41m 10s), …; failed:
/// …" — what the chart shows, said in words.
fn copy_sentence(copies: &[Bar<'_>]) -> Option<String> {
    let first = copies.iter().map(|b| b.start).min()?;
    let last = copies.iter().map(|b| b.end).max()?;
    let mut slowest: Vec<&Bar<'_>> = copies.iter().filter(|b| !b.failed).collect();
    slowest.sort_by(|a, b| b.seconds().cmp(&a.seconds()).then(a.label.cmp(b.label)));
    let named: Vec<String> = slowest
        .iter()
        .take(SLOWEST_NAMED)
        .map(|b| format!("{} ({})", b.label, duration(b.seconds())))
        .collect();
    let mut sentence = format!(
        "The copy to {} region{} took {}",
        copies.len(),
        if copies.len() == 1 { "" } else { "s" },
        duration(first.seconds_until(last))
    );
    match named.len() {
        0 => {}
        1 if copies.len() == 1 => {}
        1 => sentence.push_str(&format!("; the slowest was {}", named[0])),
        _ => sentence.push_str(&format!("; the slowest were {}", named.join(", "))),
    }
    let failed: Vec<&str> = copies
        .iter()
        .filter(|b| b.failed)
        .map(|b| b.label)
        .collect();
    if !failed.is_empty() {
        sentence.push_str(&format!("; failed: {}", failed.join(", ")));
    }
    sentence.push('.');
    Some(sentence)
}

/// `42s`, `7m 05s`, `1h 02m`.
fn duration(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("{seconds}s"),
        60..=3599 => format!("{}m {:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h {:02}m", seconds / 3600, (seconds % 3600) / 60),
    }
}

/// The charts of several manifests, each under its architecture when there are several;
/// empty when none has a timeline.
pub fn markdown_all<'a>(
    manifests: impl IntoIterator<Item = &'a Manifest>,
    phases: Phases,
) -> String {
    let charts: Vec<(&str, String)> = manifests
        .into_iter()
        .filter(|m| m.timeline != Timeline::default())
        .filter_map(|m| Some((m.architecture.as_str(), markdown(m, phases)?)))
        .collect();
    match charts.as_slice() {
        [] => String::new(),
        [(_, chart)] => chart.clone(),
        several => several
            .iter()
            .map(|(arch, chart)| format!("**{arch}**\n\n{chart}"))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(&format!("2026-06-01T{text}Z")).unwrap()
    }

    fn span(start: &str, end: &str) -> Span {
        Span {
            start: at(start),
            end: Some(at(end)),
        }
    }

    fn manifest() -> Manifest {
        serde_json::from_value(serde_json::json!({
            "schema_version": 2, "product": "DB", "version": "1.0", "architecture": "x86_64",
            "run_id": "r", "name": "db", "source_region": "us-east-1",
            "regions": {"eu-west-1": {"image_id": "ami-0123456789abcdef1", "state": "failed"}},
        }))
        .unwrap()
    }

    #[test]
    fn bars_are_sorted_by_end_and_the_slowest_named() {
        let mut m = manifest();
        m.timeline.builder = Some(span("10:00:00", "10:10:00"));
        m.timeline.image = Some(span("10:10:00", "10:15:00"));
        m.timeline
            .copies
            .insert("us-west-2".into(), span("10:15:00", "10:40:00"));
        m.timeline
            .copies
            .insert("eu-west-1".into(), span("10:15:00", "10:20:00"));
        m.timeline
            .copies
            .insert("ap-south-1".into(), span("10:15:01", "10:30:00"));
        m.timeline.publish = Some(span("10:41:00", "10:41:30"));
        let chart = markdown(&m, Phases::All).unwrap();
        let eu = chart.find("eu-west-1 :crit").unwrap();
        let ap = chart.find("ap-south-1 :done").unwrap();
        let us = chart.find("us-west-2 :done").unwrap();
        assert!(eu < ap && ap < us, "{chart}");
        assert!(
            chart.contains("DB 1.0 (x86_64), 41m 30s in all (UTC)"),
            "{chart}"
        );
        assert!(chart.contains("section publish\n    pull request :done, 2026-06-01T10:41:00, 2026-06-01T10:41:30\n"), "{chart}");
        assert!(chart.ends_with("The copy to 3 regions took 25m 00s; the slowest were us-west-2 (25m 00s), ap-south-1 (14m 59s); failed: eu-west-1.\n"), "{chart}");
        let before = markdown(&m, Phases::BeforePublish).unwrap();
        assert!(!before.contains("publish"), "{before}");
    }

    #[test]
    fn nothing_ended_draws_nothing() {
        let mut m = manifest();
        assert!(markdown(&m, Phases::All).is_none());
        m.timeline.builder = Some(Span {
            start: at("10:00:00"),
            end: None,
        });
        assert!(markdown(&m, Phases::All).is_none());
        assert_eq!(markdown_all([&m], Phases::All), "");
    }
}
