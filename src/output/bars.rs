//! Live progress in a terminal: while a stage waits, one line per thing it waits for (each
//! region's copy, the builder, the image) with its state and how long it has been in it, under
//! an overall bar. [`indicatif`] draws them on stderr; lines printed meanwhile go above them.
//! Only [`super::log`] drives this, and only in [`super::Mode::Terminal`].

use std::sync::Mutex;
use std::time::Duration;

use indexmap::IndexMap;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bars of the group being shown.
struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    rows: IndexMap<String, ProgressBar>,
}

static ACTIVE: Mutex<Option<Bars>> = Mutex::new(None);

const TICK: Duration = Duration::from_millis(200);

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("a valid template")
        .progress_chars("=> ")
}

/// Starts the bars of a group titled `title` (ending any earlier one).
pub fn open(title: &str) {
    close();
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let overall = multi.add(ProgressBar::new(0));
    overall.set_style(style(
        "{spinner} {prefix} [{bar:30}] {pos}/{len} done, {elapsed}",
    ));
    overall.set_prefix(title.to_owned());
    overall.enable_steady_tick(TICK);
    *lock() = Some(Bars {
        multi,
        overall,
        rows: IndexMap::new(),
    });
}

/// Shows `name` in `state` (a new line the first time); `done` counts it on the overall bar.
pub fn item(name: &str, state: &str, done: bool) {
    let mut active = lock();
    let Some(bars) = active.as_mut() else {
        return;
    };
    let row = bars.rows.entry(name.to_owned()).or_insert_with(|| {
        let row = bars.multi.add(ProgressBar::new_spinner());
        row.set_style(style("  {spinner} {prefix:<16} {msg:<40} {elapsed:>4}"));
        row.set_prefix(name.to_owned());
        row.enable_steady_tick(TICK);
        bars.overall.inc_length(1);
        row
    });
    if row.is_finished() {
        return;
    }
    // The time shown is the time in the current state; a last state keeps the time of the
    // wait that led to it.
    if row.message() != state && !done {
        row.reset_elapsed();
    }
    if done {
        row.finish_with_message(state.to_owned());
        bars.overall.inc(1);
    } else {
        row.set_message(state.to_owned());
    }
}

/// Prints `line` above the bars; false when none are shown (the caller prints it).
pub fn println(line: &str) -> bool {
    match lock().as_ref() {
        Some(bars) => {
            let _ = bars.multi.println(line);
            true
        }
        None => false,
    }
}

/// Ends the bars, leaving their last state on the screen.
pub fn close() {
    if let Some(bars) = lock().take() {
        for row in bars.rows.values() {
            if !row.is_finished() {
                row.abandon();
            }
        }
        bars.overall.finish();
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<Bars>> {
    ACTIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
