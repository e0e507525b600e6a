//! Per-client rate limiting of the public endpoints (attack 6: guessing serials; attack 5: flooding a
//! code with scans). A token bucket per client address allows `rate_limit` requests per minute with a
//! burst of the same size; past it the client gets 429 with `Retry-After`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The limiter; `None` inside [`crate::AppState`] when rate limiting is switched off. The router's
/// middleware (`server.rs`) asks it for every request to a public route.
pub struct PublicLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl PublicLimiter {
    /// `None` for 0 (off).
    pub fn per_minute(n: u32) -> Option<Arc<Self>> {
        let n = NonZeroU32::new(n)?;
        Some(Arc::new(PublicLimiter {
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
        }))
    }

    /// Public reports: `n` an hour per client (a burst of `n`), since each is kept for good and a
    /// flood of them would bury the real ones. `None` for 0 (off).
    pub fn per_hour(n: u32) -> Option<Arc<Self>> {
        let n = NonZeroU32::new(n)?;
        Some(Arc::new(PublicLimiter {
            limiter: RateLimiter::keyed(Quota::per_hour(n)),
        }))
    }

    /// `Ok` if `client` may make a request now, else how many seconds to wait.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        self.limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    /// Forgets clients whose buckets are full again, so memory follows the active clients only.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    pub fn tracked_clients(&self) -> usize {
        self.limiter.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_has_its_own_bucket_and_learns_how_long_to_wait() {
        let limiter = PublicLimiter::per_minute(2).unwrap();
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        let b: IpAddr = "198.51.100.2".parse().unwrap();
        assert!(limiter.check(a).is_ok());
        assert!(limiter.check(a).is_ok());
        let wait = limiter.check(a).unwrap_err();
        // Two per minute: the next token comes within 30 s.
        assert!((1..=30).contains(&wait), "{wait}");
        assert!(limiter.check(b).is_ok());
        assert_eq!(limiter.tracked_clients(), 2);
        assert!(PublicLimiter::per_minute(0).is_none());
    }
}
