//! The log: where progress lines, group markers, warnings and the final error are printed.
//! This is the one place below the front ends that prints; the stages reach it through the
//! `tracing` events of [`super::progress`]. How they are shown depends on [`super::mode`]: the Actions
//! log with `::group::` blocks, progress bars in a terminal ([`super::bars`]), or plain lines
//! when piped; `--quiet` keeps only the stages' closing tables (and the errors, which the
//! application prints).

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::diagnostic::Diagnostic;

use super::{bars, in_github_actions, mode, quiet, workflow, Mode};

/// A progress or status line: stdout in GitHub Actions (the log), stderr elsewhere (above the
/// progress bars when they are shown); nothing with `--quiet`. Text that would start a
/// workflow command is printed inert ([`workflow::guard`]).
pub fn say(line: &str) {
    if !quiet() {
        show(line);
    }
}

/// [`say`], also with `--quiet`.
fn show(line: &str) {
    if in_github_actions() {
        println!("{}", workflow::guard(line));
    } else if !bars::println(line) {
        eprintln!("{line}");
    }
}

/// Opens a collapsible group in the Actions log, or prints a heading elsewhere.
pub fn group(title: &str) {
    if in_github_actions() {
        println!("{}", workflow::command("group", &[], title));
    } else {
        say(&format!("== {title}"));
    }
}

/// Closes the group opened by [`group`].
pub fn end_group() {
    if in_github_actions() {
        println!("::endgroup::");
    }
}

/// Ends the progress bars, if any are shown: before the final error or table is printed.
pub fn finish() {
    bars::close();
}

/// Prints the error that ends the run, once: in GitHub Actions as an `::error` annotation (on
/// stdout, where the runner reads it) and as text, elsewhere as text on stderr.
pub fn fail(diagnostic: &Diagnostic) {
    if in_github_actions() {
        println!("{}", workflow::annotation(diagnostic));
    }
    let text = format!("error: {}", diagnostic.render());
    if in_github_actions() {
        eprintln!("{}", workflow::guard(&text));
    } else {
        eprintln!("{text}");
    }
}

/// Sets up the log: progress events always, through [`ProgressLayer`]; everything else as the
/// filter `directives` say (`tracing_subscriber`'s `EnvFilter` syntax; the front end reads them
/// from the environment), on stderr, never with colour codes (they would reach the Actions log
/// and the step summary as text).
pub fn init(directives: &str) {
    let filter = EnvFilter::try_new(directives)
        .unwrap_or_else(|_| EnvFilter::new("off,marketplace_release=warn"));
    let diagnostics = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .with_filter(filter)
        .with_filter(filter_fn(|meta| meta.target() != super::progress::TARGET));
    let progress =
        ProgressLayer.with_filter(filter_fn(|meta| meta.target() == super::progress::TARGET));
    tracing_subscriber::registry()
        .with(diagnostics)
        .with(progress)
        .init();
}

/// Prints the events of [`super::progress`].
#[derive(Debug, Default)]
pub struct ProgressLayer;

#[derive(Default)]
struct Fields {
    message: String,
    title: Option<String>,
    group: Option<String>,
    item: Option<String>,
    end_group: bool,
    tick: bool,
    table: bool,
    done: bool,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "group" => self.group = Some(value.to_owned()),
            "title" => self.title = Some(value.to_owned()),
            "item" => self.item = Some(value.to_owned()),
            "message" => self.message.push_str(value),
            _ => {}
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        match field.name() {
            "end_group" => self.end_group = value,
            "tick" => self.tick = value,
            "table" => self.table = value,
            "done" => self.done = value,
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            "group" => self.group = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for ProgressLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != super::progress::TARGET {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let terminal = mode() == Mode::Terminal && !quiet();
        if let Some(title) = fields.title {
            super::warning(&title, &fields.message);
        } else if let Some(name) = fields.item {
            if terminal {
                bars::item(&name, &fields.message, fields.done);
            }
        } else if let Some(title) = fields.group {
            if terminal {
                bars::open(&title);
            } else {
                group(&title);
            }
        } else if fields.end_group {
            bars::close();
            end_group();
        } else if fields.table {
            show(&fields.message);
        } else if !(fields.tick && terminal) {
            say(&fields.message);
        }
    }
}
