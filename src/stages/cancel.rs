//! Cancellation: a SIGINT or SIGTERM cancels the run's token, and every wait of a stage gives way
//! to it ([`unless_cancelled`], [`sleep_or_cancel`]) so the stage can clean up.

use std::time::Duration;

pub use tokio_util::sync::CancellationToken;

use super::error::StageError;

/// Runs one AWS call of a wait loop, unless cancelled first: a call that is retrying EC2's
/// NotFound may take seconds, and a signal must not wait for it.
pub async fn unless_cancelled<T, E: Into<StageError>>(
    call: impl std::future::Future<Output = Result<T, E>>,
    cancel: &CancellationToken,
) -> Result<T, StageError> {
    tokio::select! {
        result = call => result.map_err(Into::into),
        () = cancel.cancelled() => Err(StageError::Cancelled),
    }
}

/// Sleeps for `duration` unless cancelled first.
pub async fn sleep_or_cancel(
    duration: Duration,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    tokio::select! {
        _ = tokio::time::sleep(duration) => Ok(()),
        _ = cancel.cancelled() => Err(StageError::Cancelled),
    }
}
