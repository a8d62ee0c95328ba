//! When each request is due: a fixed rate, optionally reached by a linear
//! ramp. Pure arithmetic, so the schedule of a run is reproducible exactly.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::measure::Op;

/// A fixed-rate schedule with an optional linear ramp from 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Requests per second once ramped up.
    pub rate: f64,
    /// Time to ramp linearly from 0 to `rate` (zero: no ramp).
    pub ramp: Duration,
    /// Length of the load.
    pub duration: Duration,
}

impl Schedule {
    /// The due offset of request `i` (0-based), or `None` past the end.
    ///
    /// With a ramp of length R the count of requests due by time t is
    /// `rate·t²/(2R)` for t ≤ R and `rate·R/2 + rate·(t − R)` after; this
    /// inverts it.
    pub fn offset(&self, i: u64) -> Option<Duration> {
        if self.rate <= 0.0 {
            return None;
        }
        let n = i as f64;
        let ramp = self.ramp.as_secs_f64();
        let ramp_count = self.rate * ramp / 2.0;
        let t = if ramp > 0.0 && n < ramp_count {
            (2.0 * ramp * n / self.rate).sqrt()
        } else {
            ramp + (n - ramp_count) / self.rate
        };
        let t = Duration::from_secs_f64(t);
        (t < self.duration).then_some(t)
    }

    /// How many requests the schedule holds.
    pub fn len(&self) -> u64 {
        let d = self.duration.as_secs_f64();
        let ramp = self.ramp.as_secs_f64().min(d);
        let count = if self.ramp.as_secs_f64() > 0.0 && d <= self.ramp.as_secs_f64() {
            self.rate * d * d / (2.0 * self.ramp.as_secs_f64())
        } else {
            self.rate * ramp / 2.0 + self.rate * (d - ramp)
        };
        count.ceil().max(0.0) as u64
    }

    /// Whether it schedules nothing.
    pub fn is_empty(&self) -> bool {
        self.offset(0).is_none()
    }
}

/// The share of each request kind.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    /// `POST /orders`.
    #[serde(default)]
    pub create_order: f64,
    /// `GET /orders/{id}` of a recently acknowledged order.
    #[serde(default)]
    pub get_order: f64,
    /// `GET /health`.
    #[serde(default)]
    pub health: f64,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            create_order: 0.5,
            get_order: 0.4,
            health: 0.1,
        }
    }
}

impl Mix {
    /// Sum of the shares.
    pub fn total(&self) -> f64 {
        self.create_order + self.get_order + self.health
    }

    /// Picks an op in proportion to the shares (`Health` if all are zero).
    pub fn pick(&self, rng: &mut impl Rng) -> Op {
        let total = self.total();
        if total <= 0.0 {
            return Op::Health;
        }
        let x = rng.random::<f64>() * total;
        if x < self.create_order {
            Op::CreateOrder
        } else if x < self.create_order + self.get_order {
            Op::GetOrder
        } else {
            Op::Health
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_fixed_rate_is_evenly_spaced() {
        let s = Schedule {
            rate: 1000.0,
            ramp: Duration::ZERO,
            duration: Duration::from_secs(2),
        };
        assert_eq!(s.offset(0), Some(Duration::ZERO));
        assert_eq!(s.offset(1), Some(Duration::from_millis(1)));
        assert_eq!(s.offset(1999), Some(Duration::from_millis(1999)));
        assert_eq!(s.offset(2000), None);
        assert_eq!(s.len(), 2000);
    }

    #[test]
    fn a_ramp_reaches_the_rate_and_keeps_it() {
        let s = Schedule {
            rate: 100.0,
            ramp: Duration::from_secs(10),
            duration: Duration::from_secs(20),
        };
        // 500 requests in the ramp, then 100/s.
        let t = |i| s.offset(i).unwrap().as_secs_f64();
        assert!((t(500) - 10.0).abs() < 1e-9);
        assert!((t(600) - 11.0).abs() < 1e-9);
        assert!(t(1) > t(0) && t(2) - t(1) < t(1) - t(0), "accelerates");
        assert_eq!(s.len(), 1500);
        let count = (0..).take_while(|&i| s.offset(i).is_some()).count();
        assert_eq!(count, 1500);
    }

    #[test]
    fn the_mix_follows_its_shares_and_the_seed() {
        let mix = Mix::default();
        let mut a = rand::rngs::StdRng::seed_from_u64(7);
        let mut b = rand::rngs::StdRng::seed_from_u64(7);
        let picks: Vec<Op> = (0..10_000).map(|_| mix.pick(&mut a)).collect();
        let again: Vec<Op> = (0..10_000).map(|_| mix.pick(&mut b)).collect();
        assert_eq!(picks, again, "same seed, same sequence");
        let creates = picks.iter().filter(|o| **o == Op::CreateOrder).count();
        assert!((4_800..5_200).contains(&creates), "{creates}");
    }
}
