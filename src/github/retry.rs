//! When a call is tried again, and how long it waits first.

use std::time::Duration;

use http::HeaderMap;

/// How the client retries: server errors, rate limits and dropped connections always;
/// 422 only for calls that GitHub is known to refuse briefly after creating the pull request.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The first backoff; it doubles, with jitter.
    pub base: Duration,
    /// The longest single wait (a `retry-after` beyond it is still honoured up to
    /// [`RetryPolicy::max_retry_after`]).
    pub max_backoff: Duration,
    /// The longest `retry-after` or rate-limit reset we wait for.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// The policy, with the first backoff `base` (1 s; tests shorten it).
    pub fn with_first_backoff(base: Duration) -> Self {
        Self {
            attempts: 5,
            base,
            max_backoff: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(300),
        }
    }

    pub(super) fn backoff(&self, retry: u32) -> Duration {
        let doubled = self.base.saturating_mul(1 << retry.min(16));
        let jitter = 0.75 + fastrand::f64() * 0.5;
        doubled.min(self.max_backoff).mul_f64(jitter)
    }
}

/// Whether (and how long) to wait before retrying a response, following GitHub's guidance on
/// rate limits: `retry-after` first, then `x-ratelimit-reset` when no requests remain, else
/// backoff. `None`: do not retry.
pub fn retry_delay(
    status: u16,
    headers: &HeaderMap,
    message: &str,
    retry_unprocessable: bool,
    backoff: Duration,
    now_epoch_seconds: u64,
) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let rate_limited = (status == 403 || status == 429)
        && (header("retry-after").is_some()
            || header("x-ratelimit-remaining") == Some(0)
            || message.to_ascii_lowercase().contains("rate limit"));
    if rate_limited {
        if let Some(seconds) = header("retry-after") {
            return Some(Duration::from_secs(seconds));
        }
        if header("x-ratelimit-remaining") == Some(0) {
            if let Some(reset) = header("x-ratelimit-reset") {
                return Some(Duration::from_secs(
                    reset.saturating_sub(now_epoch_seconds) + 1,
                ));
            }
        }
        // A secondary rate limit without retry-after: GitHub asks for at least a minute. The
        // cap follows the backoff, so tests that shorten the backoff stay short.
        return Some(backoff.max(Duration::from_secs(60)).min(backoff * 60));
    }
    let retryable = status >= 500 || status == 429 || (status == 422 && retry_unprocessable);
    retryable.then_some(backoff)
}
