//! Polling schedules for the long waits (builder stopped, image available).
//!
//! The interval grows with the time already waited (a fixed fraction of it), between a floor
//! and a ceiling, with jitter: a copy that takes 20 seconds is seen within a few seconds, one
//! that takes 20 minutes costs a few dozen DescribeImages calls, and regions polled together do
//! not fall into lockstep.

use std::time::Duration;

/// When to poll next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollSchedule {
    /// The shortest interval.
    pub min: Duration,
    /// The longest interval.
    pub max: Duration,
    /// The interval as a fraction of the time already waited.
    pub fraction: f64,
    /// How often a progress line is emitted during a long wait.
    pub progress: Duration,
}

impl Default for PollSchedule {
    fn default() -> Self {
        Self {
            min: Duration::from_secs(5),
            max: Duration::from_secs(60),
            fraction: 0.125,
            progress: Duration::from_secs(60),
        }
    }
}

impl PollSchedule {
    /// The interval before the next poll, after `waited`; `jitter` in `[0, 1)` spreads it over
    /// 80–100 % of the nominal value.
    pub fn interval(&self, waited: Duration, jitter: f64) -> Duration {
        let nominal = waited
            .mul_f64(self.fraction)
            .clamp(self.min, self.max.max(self.min));
        nominal.mul_f64(0.8 + 0.2 * jitter.clamp(0.0, 1.0))
    }

    /// [`PollSchedule::interval`] with random jitter.
    pub fn next(&self, waited: Duration) -> Duration {
        self.interval(waited, fastrand::f64())
    }

    /// The next interval of a wait that ends at `limit`: never past it, and at least 50 ms.
    pub fn next_within(&self, waited: Duration, limit: Duration) -> Duration {
        self.next(waited)
            .min(limit.saturating_sub(waited))
            .max(Duration::from_millis(50))
    }
}

/// Formats a duration for progress lines: `42s`, `12m`, `1h05m`.
pub fn short(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..=99 => format!("{secs}s"),
        100..=3599 => format!("{}m", secs / 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_grows_with_the_wait_within_bounds() {
        let s = PollSchedule::default();
        assert_eq!(s.interval(Duration::ZERO, 1.0), Duration::from_secs(5));
        assert_eq!(
            s.interval(Duration::from_secs(240), 1.0),
            Duration::from_secs(30)
        );
        assert_eq!(
            s.interval(Duration::from_secs(3600), 1.0),
            Duration::from_secs(60)
        );
        assert_eq!(
            s.interval(Duration::from_secs(240), 0.0),
            Duration::from_secs(24)
        );
    }

    #[test]
    fn polls_over_a_twenty_minute_copy_are_few() {
        let s = PollSchedule::default();
        let (mut waited, mut polls) = (Duration::ZERO, 0);
        while waited < Duration::from_secs(1200) {
            waited += s.interval(waited, 0.5);
            polls += 1;
        }
        assert!(polls < 50, "{polls}");
    }

    #[test]
    fn an_interval_never_passes_the_limit() {
        let s = PollSchedule::default();
        let limit = Duration::from_secs(10);
        assert_eq!(
            s.next_within(Duration::from_secs(8), limit),
            Duration::from_secs(2)
        );
        assert_eq!(s.next_within(limit, limit), Duration::from_millis(50));
        assert!(s.next_within(Duration::ZERO, Duration::from_secs(600)) >= Duration::from_secs(4));
    }

    #[test]
    fn short_durations() {
        assert_eq!(short(Duration::from_secs(42)), "42s");
        assert_eq!(short(Duration::from_secs(720)), "12m");
        assert_eq!(short(Duration::from_secs(3900)), "1h05m");
    }
}
