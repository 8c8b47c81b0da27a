//! Adaptive concurrency: as many requests in flight as the server tolerates, no more.
//!
//! The limit starts at the configured maximum, halves when the server answers 429/529 (at most once per
//! cool-down, so one burst of rejections counts once), and grows back by one after each window of
//! `limit` successes (additive increase, multiplicative decrease). A `Retry-After` pauses every new
//! request until the time the server named.

use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Bounds requests in flight and adapts the bound to the server's rate-limit signals.
#[derive(Debug)]
pub struct AdaptiveLimiter {
    semaphore: Semaphore,
    state: Mutex<State>,
    cooldown: Duration,
}

#[derive(Debug)]
struct State {
    limit: usize,
    min: usize,
    max: usize,
    /// Permits to retire as they come back, after a cut below the number in flight.
    debt: usize,
    /// Successes since the limit last grew.
    credit: usize,
    last_cut: Option<Instant>,
    paused_until: Option<Instant>,
}

/// Held while one request is in flight; dropping it frees the slot (or retires it after a cut).
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a AdaptiveLimiter,
    permit: Option<SemaphorePermit<'a>>,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let mut st = self.limiter.lock();
        if st.debt > 0 {
            st.debt -= 1;
            permit.forget();
        }
    }
}

impl AdaptiveLimiter {
    /// A limiter that starts (and tops out) at `max` in flight and never goes below `min`.
    pub fn new(max: usize, min: usize) -> Self {
        let max = max.max(1);
        let min = min.clamp(1, max);
        AdaptiveLimiter {
            semaphore: Semaphore::new(max),
            state: Mutex::new(State {
                limit: max,
                min,
                max,
                debt: 0,
                credit: 0,
                last_cut: None,
                paused_until: None,
            }),
            cooldown: Duration::from_millis(500),
        }
    }

    /// Sets the minimum time between two cuts (one burst of 429s halves the limit once).
    pub fn with_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-update of plain counters; keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for any server-requested pause, then for a free slot.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let pause = self
                .lock()
                .paused_until
                .and_then(|t| t.checked_duration_since(Instant::now()));
            match pause {
                Some(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
                _ => break,
            }
        }
        // The semaphore is never closed, so acquire cannot fail; fall back to an unbounded permit if it did.
        let permit = self.semaphore.acquire().await.ok();
        Permit {
            limiter: self,
            permit,
        }
    }

    /// Records a success; after `limit` of them the limit grows by one, up to the maximum.
    pub fn on_success(&self) {
        let mut st = self.lock();
        if st.limit >= st.max {
            return;
        }
        st.credit += 1;
        if st.credit >= st.limit {
            st.credit = 0;
            st.limit += 1;
            if st.debt > 0 {
                st.debt -= 1;
            } else {
                self.semaphore.add_permits(1);
            }
        }
    }

    /// Records a rate-limit answer: halve the limit (once per cool-down) and pause new requests for
    /// `retry_after` when the server said how long.
    pub fn on_rate_limited(&self, retry_after: Option<Duration>) {
        let now = Instant::now();
        let mut st = self.lock();
        if let Some(wait) = retry_after {
            let until = now + wait;
            st.paused_until = Some(st.paused_until.map_or(until, |t| t.max(until)));
        }
        if st
            .last_cut
            .is_some_and(|t| now.duration_since(t) < self.cooldown)
        {
            return;
        }
        st.last_cut = Some(now);
        st.credit = 0;
        let new = (st.limit / 2).max(st.min);
        let cut = st.limit - new;
        st.limit = new;
        let retired = self.semaphore.forget_permits(cut);
        st.debt += cut - retired;
    }

    /// The current bound on requests in flight.
    pub fn limit(&self) -> usize {
        self.lock().limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn halves_on_rate_limit_and_grows_back() {
        let l = AdaptiveLimiter::new(8, 1).with_cooldown(Duration::ZERO);
        l.on_rate_limited(None);
        assert_eq!(l.limit(), 4);
        l.on_rate_limited(None);
        assert_eq!(l.limit(), 2);
        // 2 successes grow 2 -> 3, 3 more grow 3 -> 4.
        for _ in 0..5 {
            l.on_success();
        }
        assert_eq!(l.limit(), 4);
        for _ in 0..100 {
            l.on_success();
        }
        assert_eq!(l.limit(), 8);
    }

    #[tokio::test]
    async fn in_flight_never_exceeds_the_limit_after_a_cut() {
        let l = AdaptiveLimiter::new(4, 1).with_cooldown(Duration::ZERO);
        let held: Vec<_> = futures_util::future::join_all((0..4).map(|_| l.acquire())).await;
        l.on_rate_limited(None); // limit 2 while 4 are in flight: two must retire on release
        drop(held);
        let a = l.acquire().await;
        let b = l.acquire().await;
        let third = tokio::time::timeout(Duration::from_millis(50), l.acquire()).await;
        assert!(third.is_err(), "a third slot was granted at limit 2");
        drop((a, b));
    }

    #[tokio::test]
    async fn one_burst_cuts_once_within_the_cooldown() {
        let l = AdaptiveLimiter::new(16, 1).with_cooldown(Duration::from_secs(60));
        for _ in 0..5 {
            l.on_rate_limited(None);
        }
        assert_eq!(l.limit(), 8);
    }

    #[tokio::test]
    async fn retry_after_pauses_new_requests() {
        let l = AdaptiveLimiter::new(4, 1);
        l.on_rate_limited(Some(Duration::from_millis(150)));
        let t = Instant::now();
        let _p = l.acquire().await;
        assert!(
            t.elapsed() >= Duration::from_millis(140),
            "{:?}",
            t.elapsed()
        );
    }
}
