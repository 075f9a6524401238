//! Progress events. The stages and adapters never print: they emit these as `tracing` events
//! with the target [`TARGET`], and the application's [`super::log::ProgressLayer`] prints
//! them: progress bars in a terminal ([`super::bars`]), plain lines when piped, the Actions log
//! and its `::group::` blocks in GitHub Actions. Without that layer (library use, unit tests)
//! they go nowhere.

/// The `tracing` target of progress events.
pub const TARGET: &str = "marketplace_release::progress";

/// A progress line, such as `copy: eu-west-1: ami-… available and shared`.
pub fn line(text: &str) {
    tracing::info!(target: TARGET, "{text}");
}

/// A periodic summary line, such as `copy: 3/5 available; ap-south-1 pending 4m`: shown where
/// there are no progress bars, which show the same live.
pub fn tick(text: &str) {
    tracing::info!(target: TARGET, tick = true, "{text}");
}

/// A stage's closing table: shown even with `--quiet`.
pub fn table(text: &str) {
    tracing::info!(target: TARGET, table = true, "{text}");
}

/// The state of one thing a stage waits for (a region's copy, the builder, the image), for the
/// progress bars: `done` when it reached its last state (available, failed).
pub fn item(name: &str, state: &str, done: bool) {
    tracing::info!(target: TARGET, item = name, done, "{state}");
}

/// Opens a group (a collapsible block in the Actions log, a heading elsewhere).
pub fn open_group(title: &str) {
    tracing::info!(target: TARGET, group = title);
}

/// Closes the group [`open_group`] opened.
pub fn close_group() {
    tracing::info!(target: TARGET, end_group = true);
}

/// A warning the run goes on after (a `::warning` annotation in GitHub Actions).
pub fn warning(title: &str, message: &str) {
    tracing::warn!(target: TARGET, title, "{message}");
}
