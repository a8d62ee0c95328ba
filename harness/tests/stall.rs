//! The measurement's acid test: freeze a target (SIGSTOP) for exactly 2 s
//! under 1,000 req/s of open-loop load. Requests scheduled during the stall
//! must show latencies spread evenly from ~2 s down to ~0 (no coordinated
//! omission); under a bound wider than the freeze there is no outage, and
//! under a tighter one the RTO is the stall itself, plus at most the drain.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use faultline::measure::timeline::new_histogram;
use faultline::measure::{
    phase_metrics, recovery, rto, Outcome, Phase, Recovery, RtoParams, SECOND_US,
};
use faultline::workload::{self, LoadOptions, LoadSpec, Mix, RunClock, Schedule, Target};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

struct Target_ {
    child: std::process::Child,
    url: String,
}

impl Drop for Target_ {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_target() -> Target_ {
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline-target"))
        .args(["0", "2"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("faultline-target starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().trim_start_matches("listening on ").to_string();
    Target_ {
        child,
        url: format!("http://{addr}/"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_second_freeze_reads_as_a_two_second_rto_with_no_omission() {
    let target = start_target();
    let pid = Pid::from_raw(target.child.id() as i32);
    let spec = LoadSpec {
        schedule: Schedule {
            rate: 1000.0,
            ramp: Duration::ZERO,
            duration: Duration::from_secs(8),
        },
        timeout: Duration::from_secs(5),
        mix: Mix::default(),
        seed: 42,
        max_in_flight: 10_000,
        threads: 1,
        timer_resolution: None,
    };
    let raw = std::env::temp_dir().join(format!("faultline-stall-{}.csv", std::process::id()));
    let clock = RunClock::start_now();
    // No documented p99 target and no scenario bound: DESIGN's default makes
    // the timeout the bound of a good request.
    let opts = LoadOptions {
        raw_csv: Some(raw.clone()),
        ..LoadOptions::new(Duration::from_secs(5))
    };
    let url = target.url.clone();
    let load =
        tokio::spawn(async move { workload::run(&spec, Target::Plain { url }, clock, opts).await });

    // Freeze at 3 s for exactly 2 s (the sleep is a thread sleep: ~60 µs late).
    let (frozen_us, thawed_us) = tokio::task::spawn_blocking(move || {
        std::thread::sleep(
            (clock.start + Duration::from_secs(3)).saturating_duration_since(Instant::now()),
        );
        kill(pid, Signal::SIGSTOP).unwrap();
        let frozen = clock.now_us();
        std::thread::sleep(
            (clock.start + Duration::from_micros(frozen) + Duration::from_secs(2))
                .saturating_duration_since(Instant::now()),
        );
        kill(pid, Signal::SIGCONT).unwrap();
        (frozen, clock.now_us())
    })
    .await
    .unwrap();
    let out = load.await.unwrap().expect("the load ran");
    let stall_us = thawed_us - frozen_us;

    // Every request was sent and answered.
    assert_eq!(out.sent, 8_000);
    let all = Phase {
        name: "all".into(),
        start_us: 0,
        end_us: 10 * SECOND_US,
    };
    let m = phase_metrics(&out.timeline, &all, 0.0);
    assert_eq!(m.ok, 8_000, "errors: {:?}", m.errors);

    // Latencies of the stalled requests fall evenly from ~2 s to ~0.
    let csv = std::fs::read_to_string(&raw).unwrap();
    if std::env::var_os("FAULTLINE_KEEP_RAW").is_none() {
        let _ = std::fs::remove_file(&raw);
    }
    eprintln!(
        "frozen at {frozen_us} µs, thawed at {thawed_us} µs, raw {}",
        raw.display()
    );
    let latencies: Vec<u64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(latencies.len(), 8_000);
    let at_least = |us: u64| latencies.iter().filter(|&&l| l >= us).count();
    // After the thaw the target must answer ~2,000 parked connections; that
    // takes it tens of milliseconds, and the requests it answers last carry
    // that drain on top of their stall. Measure the drain from the records
    // (first to last completion of the stalled requests) and allow for it.
    let stalled_done: Vec<u64> = csv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            let s: u64 = f.next()?.parse().ok()?;
            let lat: u64 = f.next()?.parse().ok()?;
            (s >= frozen_us && s < thawed_us).then_some(s + lat)
        })
        .collect();
    let drain_us = stalled_done.iter().max().unwrap() - stalled_done.iter().min().unwrap();
    let drained = |n: usize| (drain_us / 1_000) as usize + n;
    let over_1s = at_least(1_000_000);
    eprintln!(
        "stall {stall_us} µs, drain {drain_us} µs; ≥0.5 s: {}; ≥1 s: {over_1s}; ≥1.5 s: {}",
        at_least(500_000),
        at_least(1_500_000)
    );
    // The drain is the target's and the machine's (CI runs this beside
    // other work), not the measurement's: ~60 ms alone, 162 ms once in CI.
    // The bounds below allow for it; past half a second they would no longer
    // tell an even spread from a skewed one, so the test refuses to judge.
    assert!(
        drain_us < 500_000,
        "the target took {drain_us} µs to drain: too busy a machine to judge the spread"
    );
    assert!(
        (980..=drained(1020)).contains(&over_1s),
        "{over_1s} requests at ≥ 1 s, want 1000 ± 2 % (+ drain)"
    );
    assert!((1470..=drained(1530)).contains(&at_least(500_000)));
    assert!((480..=drained(520)).contains(&at_least(1_500_000)));
    let slowest = *latencies.iter().max().unwrap();
    assert!(
        (1_980_000..=2_010_000 + drain_us).contains(&slowest),
        "slowest {slowest} µs"
    );

    // Under the run's own bound (the 5 s timeout, wider than the freeze)
    // every request was answered within it: the freeze made no request bad,
    // so there was no outage — reported as such, not as whichever answer
    // came first after the injection.
    let steady = Phase {
        name: "steady".into(),
        start_us: 0,
        end_us: frozen_us,
    };
    let s = phase_metrics(&out.timeline, &steady, 0.0);
    let params = RtoParams {
        sustain_us: 5 * SECOND_US,
        tolerance: 0.05,
        steady_good_ratio: s.good as f64 / s.attempts as f64,
    };
    assert_eq!(
        recovery(&out.timeline, frozen_us, &params),
        Recovery::NoOutage
    );

    // With a bound tighter than the freeze (500 ms), the requests answered
    // first after the thaw are the stale ones, so recovery is the stall plus
    // part of the drain: never less than the stall, never more than stall +
    // drain.
    let mut rebuilt = faultline::measure::Timeline::new(faultline::measure::TimelineConfig {
        good_latency_us: 500_000,
    });
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        rebuilt.record(&faultline::measure::RequestRecord {
            scheduled_us: f[0].parse().unwrap(),
            latency_us: f[1].parse().unwrap(),
            lateness_us: f[2].parse().unwrap(),
            op: faultline::measure::Op::Plain,
            outcome: if f[4] == "ok" {
                Outcome::Ok
            } else {
                Outcome::Io
            },
        });
    }
    let strict_rto = rto(&rebuilt, frozen_us, &params).expect("recovered");
    eprintln!("RTO with a 500 ms bound: {strict_rto} µs for a stall of {stall_us} µs");
    assert!(strict_rto + 1_000 >= stall_us && strict_rto <= stall_us + drain_us + 10_000);

    // The whole run's percentiles agree with oha's on the same run shape
    // (p90 1.22 s, p95 1.61 s, p99 1.93 s) within 5 %, plus this run's drain,
    // which delays the stalled requests' answers and is the target's, not
    // ours (a busy machine: p90 1.286 s with a 162 ms drain).
    let mut hist = new_histogram();
    for w in &out.timeline.windows {
        hist.add(&w.latency).unwrap();
    }
    for (q, oha_s) in [(0.90, 1.22), (0.95, 1.61), (0.99, 1.93)] {
        let ours = hist.value_at_quantile(q) as f64 / 1e6;
        eprintln!("p{}: faultline {ours:.3} s, oha {oha_s} s", q * 100.0);
        assert!(
            (ours - oha_s).abs() <= 0.05 * oha_s + drain_us as f64 / 1e6,
            "p{q}: {ours} vs oha {oha_s} (drain {drain_us} µs)"
        );
    }
}
