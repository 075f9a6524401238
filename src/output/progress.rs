//! Progress events. The stages and adapters never print: they emit these as `tracing` events
//! with the target [`TARGET`], and the application's [`super::log::ProgressLayer`] prints
//! them (plain lines on stderr in a terminal, the Actions log and its `::group::` blocks in
//! GitHub Actions). Without that layer (library use, unit tests) they go nowhere.

/// The `tracing` target of progress events.
pub const TARGET: &str = "marketplace_release::progress";

/// A progress line, such as `copy: 3/5 available`.
pub fn line(text: &str) {
    tracing::info!(target: TARGET, "{text}");
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
