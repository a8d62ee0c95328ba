//! Waiting for something to become true: one loop for every "ask again
//! every 250 ms until it holds or the time is up" in the harness.
//!
//! Written here rather than taken from a retry crate: what the callers need
//! is a deadline on the whole wait, the *last* reason it was not yet true
//! (for the error message: "still waiting for: …"), and an attempt that may
//! end the wait early with a failure — not backoff, jitter or a count of
//! retries.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often the harness asks again by default.
pub const EVERY: Duration = Duration::from_millis(250);

/// What one attempt found.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt<T, P> {
    /// It holds: stop waiting with this value (which may itself be a
    /// failure that makes waiting pointless).
    Done(T),
    /// Not yet, for this reason.
    NotYet(P),
}

/// The wait ended without the condition holding.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedOut<P> {
    /// How long it waited.
    pub waited: Duration,
    /// Why the last attempt was not done.
    pub last: P,
}

/// Runs `attempt` every `every` until it is [`Attempt::Done`], or until
/// `within` has passed since the first attempt (which always runs). The
/// attempt that starts before the deadline is the last one.
pub async fn until<T, P, F, Fut>(
    every: Duration,
    within: Duration,
    mut attempt: F,
) -> Result<T, TimedOut<P>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt<T, P>>,
{
    let started = Instant::now();
    loop {
        match attempt().await {
            Attempt::Done(v) => return Ok(v),
            Attempt::NotYet(why) if started.elapsed() >= within => {
                return Err(TimedOut {
                    waited: started.elapsed(),
                    last: why,
                })
            }
            Attempt::NotYet(_) => tokio::time::sleep(every).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(5);

    #[tokio::test]
    async fn done_as_soon_as_it_holds() {
        let mut n = 0;
        let r: Result<u32, TimedOut<&str>> = until(TICK, Duration::from_secs(10), || {
            n += 1;
            let v = n;
            async move {
                if v == 3 {
                    Attempt::Done(v)
                } else {
                    Attempt::NotYet("not three")
                }
            }
        })
        .await;
        assert_eq!(r, Ok(3));
    }

    #[tokio::test]
    async fn times_out_with_the_last_reason() {
        let mut n = 0;
        let r: Result<(), TimedOut<u32>> = until(TICK, Duration::from_millis(50), || {
            n += 1;
            let v = n;
            async move { Attempt::NotYet(v) }
        })
        .await;
        let t = r.unwrap_err();
        assert!(t.waited >= Duration::from_millis(50));
        // The reason is the last attempt's, and no attempt came after it.
        assert_eq!(t.last, n);
        assert!(n >= 2);
    }
}
