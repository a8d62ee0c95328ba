//! A precise timer for the pacer: a Linux `timerfd` registered with tokio's
//! reactor. tokio's own timer wheel has a 1 ms granularity, which would make
//! every request up to 1 ms late; a timerfd fires within microseconds and,
//! because it wakes the runtime through epoll, the requests it releases run
//! on the same worker thread without a cross-thread wake-up.
//!
//! Written by hand (a few lines on `nix` and `tokio::io::unix::AsyncFd`):
//! no maintained crate offers a sub-millisecond async timer.

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;

struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A one-shot, sub-millisecond sleep for async code.
pub struct PreciseTimer {
    fd: AsyncFd<Fd>,
}

impl PreciseTimer {
    /// A new timer on the monotonic clock (the clock of `Instant`).
    pub fn new() -> std::io::Result<Self> {
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .map_err(std::io::Error::from)?;
        // `AsyncFd::new` is deprecated because a caller could close the fd
        // while it is registered; here the registration owns the only
        // handle (an `OwnedFd` inside `TimerFd`), so that cannot happen, and
        // its replacement, `register`, is `unsafe`.
        #[allow(deprecated)]
        let fd = AsyncFd::with_interest(Fd(timer), tokio::io::Interest::READABLE)?;
        Ok(PreciseTimer { fd })
    }

    /// Sleeps until `deadline` (returns at once if it has passed).
    pub async fn sleep_until(&self, deadline: Instant) -> std::io::Result<()> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(());
        }
        let spec = TimeSpec::from_duration(remaining.max(Duration::from_nanos(1)));
        self.fd
            .get_ref()
            .0
            .set(Expiration::OneShot(spec), TimerSetTimeFlags::empty())
            .map_err(std::io::Error::from)?;
        loop {
            let mut guard = self.fd.readable().await?;
            let mut buf = [0u8; 8];
            match nix::unistd::read(&guard.get_inner().0, &mut buf) {
                Ok(_) => return Ok(()),
                Err(Errno::EAGAIN) => guard.clear_ready(),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fires_at_its_deadline_not_before() {
        let timer = PreciseTimer::new().unwrap();
        for _ in 0..20 {
            let deadline = Instant::now() + Duration::from_micros(700);
            timer.sleep_until(deadline).await.unwrap();
            assert!(Instant::now() >= deadline);
        }
        // A passed deadline returns at once.
        timer
            .sleep_until(Instant::now() - Duration::from_millis(1))
            .await
            .unwrap();
    }
}
