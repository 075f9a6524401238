//! The runtime a run goes on: the first SIGINT or SIGTERM cancels the run's token, so every
//! stage stops waiting and cleans up (the builder is terminated, the manifest written); a
//! second one exits at once.

use anyhow::Result;

use super::record::EXIT_CANCELLED;
use crate::files;
use crate::output::log;
use crate::stages::cancel::CancellationToken;

/// Runs `work` on a runtime that turns the first SIGINT/SIGTERM into a cancellation (and a
/// second one into an immediate exit).
pub fn run_async<F, Fut, T>(work: F) -> Result<T>
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let cancel = CancellationToken::new();
        let watcher = cancel.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else { return };
            // From here a signal cancels the run instead of ending the process.
            files::cooperative(true);
            let name = tokio::select! { _ = term.recv() => "SIGTERM", _ = int.recv() => "SIGINT" };
            log::say(&format!("received {name}: stopping, cleaning up the builder and writing the manifest (a second signal exits at once)"));
            watcher.cancel();
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
            files::remove_temporary_files();
            std::process::exit(i32::from(EXIT_CANCELLED));
        });
        work(cancel).await
    });
    files::cooperative(false);
    result
}
