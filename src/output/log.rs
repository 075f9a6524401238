//! The log: where progress lines, group markers and warnings are printed. This is one of the
//! two places that print (with [`crate::app`]); the stages reach it through the `tracing`
//! events of [`super::progress`].

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

use super::{in_github_actions, workflow};

/// A progress or status line: stdout in GitHub Actions (the log), stderr elsewhere. Text that
/// would start a workflow command is printed inert ([`workflow::guard`]).
pub fn say(line: &str) {
    if in_github_actions() {
        println!("{}", workflow::guard(line));
    } else {
        eprintln!("{line}");
    }
}

/// Opens a collapsible group in the Actions log, or prints a heading elsewhere.
pub fn group(title: &str) {
    if in_github_actions() {
        println!("{}", workflow::command("group", &[], title));
    } else {
        eprintln!("== {title}");
    }
}

/// Closes the group opened by [`group`].
pub fn end_group() {
    if in_github_actions() {
        println!("::endgroup::");
    }
}

/// Prints the events of [`super::progress`].
#[derive(Debug, Default)]
pub struct ProgressLayer;

#[derive(Default)]
struct Fields {
    message: String,
    title: Option<String>,
    group: Option<String>,
    end_group: bool,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "group" => self.group = Some(value.to_owned()),
            "title" => self.title = Some(value.to_owned()),
            "message" => self.message.push_str(value),
            _ => {}
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "end_group" {
            self.end_group = value;
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
        if let Some(title) = fields.title {
            super::warning(&title, &fields.message);
        } else if let Some(title) = fields.group {
            group(&title);
        } else if fields.end_group {
            end_group();
        } else {
            say(&fields.message);
        }
    }
}
