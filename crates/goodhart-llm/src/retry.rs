//! How long to wait before trying a failed request again.

use rand::Rng;
use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime};

/// Bounded exponential backoff with jitter; a server's `Retry-After` takes precedence.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Wait before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Ceiling of the exponential wait and of any `Retry-After` honoured.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based): the server's `Retry-After` if it gave
    /// one, else `base * 2^(attempt-1)` capped at `max_delay`, scaled by a random factor in [0.5, 1]
    /// so that many clients rejected together do not return together.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(self.max_delay);
        capped.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }
}

/// The longest wait a server's `Retry-After` is read as: a larger number (`1e30`) is clamped to this
/// rather than overflowing a `Duration`; the retry loop then caps it again at its `max_delay`.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Seconds as a wait, clamped to [`MAX_RETRY_AFTER`]; `None` for a negative or non-finite number.
fn bounded_secs(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0)
        .then(|| Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())))
}

/// Reads how long the server asked us to wait: `retry-after-ms`, or `Retry-After` as seconds or as an
/// HTTP-date; never more than [`MAX_RETRY_AFTER`], and garbage or negative values are ignored.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers.get("retry-after-ms").and_then(|v| v.to_str().ok()) {
        if let Some(wait) = ms
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|ms| bounded_secs(ms / 1000.0))
        {
            return Some(wait);
        }
    }
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    retry_after_value(value, SystemTime::now())
}

fn retry_after_value(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = value.parse::<f64>() {
        return bounded_secs(secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Fri, 27 Nov 2026 00:00:00 GMT").unwrap();
        assert_eq!(retry_after_value("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after_value("0.25", now),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after_value("Fri, 27 Nov 2026 00:00:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after_value("Thu, 26 Nov 2026 23:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after_value("soon", now), None);
        assert_eq!(retry_after_value("-1", now), None);
        assert_eq!(retry_after_value("1e30", now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after_value("inf", now), None);
        assert_eq!(
            retry_after_value("Fri, 01 Jan 9999 00:00:00 GMT", now),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let d1 = p.delay(1, None);
            assert!(
                d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100),
                "{d1:?}"
            );
            let d3 = p.delay(3, None);
            assert!(
                d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400),
                "{d3:?}"
            );
            assert!(p.delay(30, None) <= Duration::from_secs(1));
        }
        assert_eq!(
            p.delay(2, Some(Duration::from_millis(300))),
            Duration::from_millis(300)
        );
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(99))),
            Duration::from_secs(1)
        );
    }
}
