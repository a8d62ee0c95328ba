//! Property tests of the pure measurement code: synthetic timelines whose
//! right answers are known exactly.

use faultline::measure::timeline::HISTOGRAM_SIGFIG;
use faultline::measure::{
    phase_metrics, recovery, rto, Op, Outcome, Phase, Recovery, RequestRecord, RtoParams, Timeline,
    TimelineConfig, SECOND_US,
};
use proptest::prelude::*;

fn rec(scheduled_us: u64, latency_us: u64, outcome: Outcome) -> RequestRecord {
    RequestRecord {
        scheduled_us,
        latency_us,
        lateness_us: 0,
        op: Op::Plain,
        outcome,
    }
}

const GOOD_US: u64 = 500_000;

fn timeline(records: &[RequestRecord]) -> Timeline {
    let mut t = Timeline::new(TimelineConfig {
        good_latency_us: GOOD_US,
    });
    for r in records {
        t.record(r);
    }
    t
}

fn params() -> RtoParams {
    RtoParams {
        sustain_us: 5 * SECOND_US,
        tolerance: 0.05,
        steady_good_ratio: 1.0,
    }
}

/// `rate` requests per second for `secs` seconds; those scheduled in
/// `[fault, fault + outage)` fail fast (connection refused after 1 ms),
/// the rest succeed in 1 ms.
fn outage_run(rate: u64, secs: u64, fault: u64, outage: u64) -> Vec<RequestRecord> {
    let interval = SECOND_US / rate;
    (0..rate * secs)
        .map(|i| {
            let s = i * interval;
            let outcome = if s >= fault && s < fault + outage {
                Outcome::Connect
            } else {
                Outcome::Ok
            };
            rec(s, 1_000, outcome)
        })
        .collect()
}

/// Like [`outage_run`] but the target is frozen during the outage: every
/// request scheduled in it completes when the freeze ends.
fn stall_run(rate: u64, secs: u64, fault: u64, stall: u64) -> Vec<RequestRecord> {
    let interval = SECOND_US / rate;
    (0..rate * secs)
        .map(|i| {
            let s = i * interval;
            let latency = if s >= fault && s < fault + stall {
                fault + stall - s
            } else {
                1
            };
            rec(s, latency, Outcome::Ok)
        })
        .collect()
}

fn arb_record() -> impl Strategy<Value = RequestRecord> {
    (
        0u64..20 * SECOND_US,
        1u64..3 * SECOND_US,
        prop::sample::select(vec![
            Outcome::Ok,
            Outcome::Ok,
            Outcome::Timeout,
            Outcome::Connect,
            Outcome::Http5xx,
        ]),
    )
        .prop_map(|(s, l, o)| rec(s, l, o))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn merging_windows_equals_measuring_the_whole(
        records in prop::collection::vec(arb_record(), 0..400),
        split in 0usize..400,
    ) {
        let split = split.min(records.len());
        let whole = timeline(&records);
        let mut merged = timeline(&records[..split]);
        merged.merge(&timeline(&records[split..]));
        prop_assert_eq!(whole.windows.len(), merged.windows.len());
        for (a, b) in whole.windows.iter().zip(&merged.windows) {
            prop_assert_eq!((a.attempts, a.ok, a.good, a.failures), (b.attempts, b.ok, b.good, b.failures));
            prop_assert_eq!(a.latency.len(), b.latency.len());
            for q in [0.5, 0.95, 0.99, 1.0] {
                prop_assert_eq!(a.latency.value_at_quantile(q), b.latency.value_at_quantile(q));
            }
        }
        prop_assert_eq!(&whole.fine, &merged.fine);
        let all = Phase { name: "all".into(), start_us: 0, end_us: 30 * SECOND_US };
        prop_assert_eq!(phase_metrics(&whole, &all, 0.95), phase_metrics(&merged, &all, 0.95));
    }

    #[test]
    fn availability_of_a_known_outage_is_exact(
        rate in 10u64..200,
        fault_s in 5u64..15,
        outage_ms in 0u64..8_000,
    ) {
        let fault = fault_s * SECOND_US;
        let outage = outage_ms * 1_000;
        let records = outage_run(rate, 30, fault, outage);
        let failed = records.iter().filter(|r| r.outcome != Outcome::Ok).count() as u64;
        let t = timeline(&records);
        let all = Phase { name: "all".into(), start_us: 0, end_us: 30 * SECOND_US };
        let m = phase_metrics(&t, &all, 0.95);
        prop_assert_eq!(m.attempts, rate * 30);
        prop_assert_eq!(m.attempts - m.ok, failed);
        let expected = 1.0 - failed as f64 / (rate * 30) as f64;
        prop_assert!((m.availability.unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn rto_of_a_known_outage_is_exact(
        rate in 100u64..1_000,
        fault_ms in 5_000u64..10_000,
        outage_ms in 20u64..8_000,
    ) {
        let fault = fault_ms * 1_000;
        let outage = outage_ms * 1_000;
        let records = outage_run(rate, 30, fault, outage);
        // The first request scheduled at or after the outage's end, plus its 1 ms.
        let interval = SECOND_US / rate;
        let first_good = (fault + outage).div_ceil(interval) * interval;
        let expected = first_good + 1_000 - fault;
        prop_assert_eq!(rto(&timeline(&records), fault, &params()), Some(expected));
    }

    #[test]
    fn rto_of_a_stall_is_the_stall_or_no_outage(
        rate in 50u64..1_000,
        fault_ms in 5_000u64..10_000,
        stall_ms in 1u64..5_000,
    ) {
        // A stall longer than the bound (by more than the tolerance of the
        // first 100 ms) is an outage that ends with the stall; a stall
        // within the bound made no request bad: no outage, RTO 0.
        let fault = fault_ms * 1_000;
        let stall = stall_ms * 1_000;
        let t = timeline(&stall_run(rate, 30, fault, stall));
        let got = recovery(&t, fault, &params());
        if stall <= GOOD_US {
            prop_assert_eq!(got, Recovery::NoOutage);
            prop_assert_eq!(rto(&t, fault, &params()), Some(0));
        } else if stall >= GOOD_US + 20_000 {
            prop_assert_eq!(got, Recovery::After(stall));
        } else {
            prop_assert!(got == Recovery::NoOutage || got == Recovery::After(stall), "{:?}", got);
        }
    }

    #[test]
    fn which_request_is_answered_first_after_a_freeze_never_changes_the_rto(
        rate in 50u64..1_000,
        fault_ms in 5_000u64..10_000,
        stall_ms in 20u64..4_000,
        in_flight_us in 1u64..5_000,
    ) {
        // One request sent just before the fault is answered just after it.
        // Under a bound looser than the freeze (the timeout, as when nothing
        // tighter is documented) no request was bad: no outage, whatever
        // slipped through. Under a bound tighter than the freeze, the
        // freeze reads as itself, up to the next request sent after it.
        let fault = fault_ms * 1_000;
        let stall = stall_ms * 1_000;
        let mut records = stall_run(rate, 30, fault, stall);
        records.push(rec(fault - 1, in_flight_us, Outcome::Ok));
        let mut wide = Timeline::new(TimelineConfig { good_latency_us: 5 * SECOND_US });
        let mut tight = Timeline::new(TimelineConfig { good_latency_us: 10_000 });
        for r in &records {
            wide.record(r);
            tight.record(r);
        }
        prop_assert_eq!(recovery(&wide, fault, &params()), Recovery::NoOutage);
        let got = rto(&tight, fault, &params()).unwrap();
        let interval = SECOND_US / rate;
        prop_assert!(got >= stall && got <= stall + interval + 1, "{} for a {} µs stall", got, stall);
    }

    #[test]
    fn rto_is_monotone_in_outage_length(
        rate in 20u64..300,
        a_ms in 0u64..6_000,
        b_ms in 0u64..6_000,
    ) {
        let (short, long) = (a_ms.min(b_ms) * 1_000, a_ms.max(b_ms) * 1_000);
        let fault = 8 * SECOND_US;
        let r_short = rto(&timeline(&outage_run(rate, 30, fault, short)), fault, &params());
        let r_long = rto(&timeline(&outage_run(rate, 30, fault, long)), fault, &params());
        prop_assert!(r_short.is_some() && r_long.is_some());
        prop_assert!(r_short <= r_long, "{:?} > {:?}", r_short, r_long);
    }

    #[test]
    fn percentiles_are_within_the_histograms_stated_precision(
        values in prop::collection::vec(1u64..10_000_000, 1..2_000),
    ) {
        let records: Vec<_> = values.iter().enumerate()
            .map(|(i, &v)| rec(i as u64, v, Outcome::Ok))
            .collect();
        let t = timeline(&records);
        let all = Phase { name: "all".into(), start_us: 0, end_us: 10 * SECOND_US };
        let m = phase_metrics(&t, &all, 0.95);
        let l = m.latency_ms.unwrap();
        let mut sorted = values.clone();
        sorted.sort_unstable();
        let exact = |q: f64| {
            let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
            sorted[rank - 1] as f64 / 1000.0
        };
        let precision = 10f64.powi(-(HISTOGRAM_SIGFIG as i32));
        for (q, got) in [(0.5, l.p50), (0.95, l.p95), (0.99, l.p99), (1.0, l.max)] {
            let want = exact(q);
            prop_assert!((got - want).abs() <= want * precision + 0.001,
                "q{}: got {} want {}", q, got, want);
        }
    }
}

#[test]
fn a_run_that_never_recovers_has_no_rto() {
    let fault = 10 * SECOND_US;
    let records = outage_run(100, 30, fault, 25 * SECOND_US);
    assert_eq!(rto(&timeline(&records), fault, &params()), None);
}

#[test]
fn an_unaffected_run_has_no_outage() {
    let records = outage_run(100, 30, 10 * SECOND_US, 0);
    let t = timeline(&records);
    assert_eq!(recovery(&t, 10 * SECOND_US, &params()), Recovery::NoOutage);
    assert_eq!(rto(&t, 10 * SECOND_US, &params()), Some(0));
}
