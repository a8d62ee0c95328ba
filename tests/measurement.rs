//! Measurements against the real stack: lost writes are read from the
//! PostgreSQL leader, never guessed; events are checked in analytics'
//! table; probes land on the run's timeline.

mod support;

use std::time::Duration;

use faultline::measure::{WriteOutcome, SECOND_US};
use faultline::probes::{self, Probes};
use faultline::stack::StackSettings;
use faultline::workload::verify::{leader_client, verify_events, verify_writes};
use faultline::workload::{self, LoadOptions, LoadSpec, Mix, RunClock, Schedule, Target};
use support::start_stack;

fn spec(seed: u64) -> LoadSpec {
    LoadSpec {
        schedule: Schedule {
            rate: 100.0,
            ramp: Duration::ZERO,
            duration: Duration::from_secs(5),
        },
        timeout: Duration::from_secs(2),
        mix: Mix {
            create_order: 0.7,
            get_order: 0.2,
            health: 0.1,
        },
        seed,
        max_in_flight: 1_000,
        threads: 1,
        timer_resolution: None,
    }
}

fn opts() -> LoadOptions {
    LoadOptions::new(Duration::from_secs(2))
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_writes_are_exactly_the_rows_deleted_behind_the_harness() {
    let stack = start_stack(StackSettings::default()).await;
    let target = Target::Stack {
        base: stack.ingress_url().unwrap(),
    };

    // No loss, over repeated runs: 0 lost every time.
    for round in 0..3 {
        let out = workload::run(&spec(round), target.clone(), RunClock::start_now(), opts())
            .await
            .unwrap();
        let (check, present) = verify_writes(&stack, &out.ledger, &[]).await.unwrap();
        eprintln!(
            "round {round}: {} acked, {} lost, {} recovered",
            check.acked, check.lost, check.recovered
        );
        assert!(
            check.acked >= 300,
            "round {round}: only {} acked",
            check.acked
        );
        assert_eq!(check.lost, 0, "round {round}");
        // Every stored order's event reaches analytics.
        let events = verify_events(&stack, &present, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(events.lost, 0, "{events:?}");
        assert_eq!(events.delivered, present.len() as u64);
    }

    // Delete K acknowledged rows directly on the leader: exactly K lost.
    let out = workload::run(&spec(99), target, RunClock::start_now(), opts())
        .await
        .unwrap();
    let acked: Vec<uuid::Uuid> = out
        .ledger
        .iter()
        .filter(|e| matches!(e.outcome, WriteOutcome::Acked { .. }))
        .map(|e| e.id)
        .collect();
    const K: usize = 7;
    let victims: Vec<uuid::Uuid> = acked
        .iter()
        .step_by(acked.len() / K)
        .take(K)
        .copied()
        .collect();
    let (_, db) = leader_client(&stack, "orders", Duration::from_secs(10))
        .await
        .unwrap();
    let deleted = db
        .execute("DELETE FROM orders WHERE id = ANY($1)", &[&victims])
        .await
        .unwrap();
    assert_eq!(deleted, K as u64);
    let (check, _) = verify_writes(&stack, &out.ledger, &[]).await.unwrap();
    assert_eq!(check.lost, K as u64);
    let mut lost = check.lost_ids.clone();
    let mut want = victims.clone();
    lost.sort();
    want.sort();
    assert_eq!(lost, want, "the lost ids are the deleted ones");
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_sample_replication_consumer_lag_and_health_onto_the_timeline() {
    let stack = start_stack(StackSettings::default()).await;
    let clock = RunClock::start_now();
    let probes = Probes::start(stack.stack.clone(), clock, Duration::from_millis(500));
    let out = workload::run(
        &spec(5),
        Target::Stack {
            base: stack.ingress_url().unwrap(),
        },
        clock,
        opts(),
    )
    .await
    .unwrap();
    let samples = probes.finish().await;
    let of = |name: &str| samples.iter().filter(|s| s.probe == name).count();
    assert!(of(probes::REPLICATION_LAG_BYTES) >= 5, "{samples:?}");
    assert!(of(probes::REPLICATION_LAG_SECONDS) >= 5);
    assert!(of("health:orders-a") >= 5);
    assert!(of("health:gateway-c") >= 5);
    assert!(samples
        .iter()
        .any(|s| s.probe.starts_with(probes::CONSUMER_LAG)));
    assert!(
        samples
            .iter()
            .filter(|s| s.probe.starts_with(probes::HEALTH))
            .all(|s| s.value == 1.0),
        "every service healthy throughout"
    );
    // Same clock as the requests: samples fall inside the load's span.
    let span = out.timeline.span_us() + SECOND_US;
    assert!(samples.iter().all(|s| s.at_us <= span));
}
