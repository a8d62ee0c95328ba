//! Measurements against the real stack: lost writes are read from the
//! PostgreSQL leader, never guessed; events are checked in analytics'
//! table; probes land on the run's timeline.

mod support;

use std::time::Duration;

use faultline::measure::events::LossStage;
use faultline::measure::{judge_events, WriteOutcome, SECOND_US};
use faultline::probes::{self, Probes};
use faultline::stack::{Service, StackSettings};
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
        let facts = verify_events(&stack, &present, Duration::from_secs(30))
            .await
            .unwrap();
        let events = judge_events(&facts, 60_000);
        assert_eq!(events.lost, 0, "{events:?}");
        assert_eq!(events.on_time + events.late, present.len() as u64);
        assert!(facts.settle.drained, "{:?}", facts.settle);
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

/// Writes an order and its outbox row straight into the orders database
/// on the leader, as `orders` would (`published` marks the row relayed
/// without producing anything).
async fn write_behind_the_service(db: &tokio_postgres::Client, published: bool) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    db.execute(
        "INSERT INTO orders (id, customer, amount_cents, zone) VALUES ($1, 'test', 1, 'a')",
        &[&id],
    )
    .await
    .unwrap();
    let payload = serde_json::json!({"type": "OrderCreated", "order_id": id}).to_string();
    let published_at = if published { "now()" } else { "NULL" };
    db.execute(
        &format!(
            "INSERT INTO outbox (order_id, payload, published_at) VALUES ($1, $2, {published_at})"
        ),
        &[&id, &payload],
    )
    .await
    .unwrap();
    id
}

async fn pause(stack: &faultline::stack::Stack, service: Service, paused: bool) {
    for n in stack.nodes_of(service) {
        let r = if paused {
            stack.platform().pause(&n.container).await
        } else {
            stack.platform().unpause(&n.container).await
        };
        r.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_lost_event_is_placed_at_the_stage_it_stopped() {
    let stack = start_stack(StackSettings::default()).await;
    let target = Target::Stack {
        base: stack.ingress_url().unwrap(),
    };
    let out = workload::run(&spec(11), target.clone(), RunClock::start_now(), opts())
        .await
        .unwrap();
    let (_, present) = verify_writes(&stack, &out.ledger, &[]).await.unwrap();
    let facts = verify_events(&stack, &present, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(judge_events(&facts, 60_000).lost, 0);
    let stored: Vec<uuid::Uuid> = present.iter().copied().collect();
    let mut expected = present.clone();
    let (_, orders_db) = leader_client(&stack, "orders", Duration::from_secs(10))
        .await
        .unwrap();
    let (_, analytics_db) = leader_client(&stack, "analytics", Duration::from_secs(10))
        .await
        .unwrap();

    // Skipped by the consumer: events deleted behind analytics' back, after
    // the group committed past them.
    let deleted: Vec<uuid::Uuid> = stored
        .iter()
        .step_by(stored.len() / 5)
        .take(5)
        .copied()
        .collect();
    let n = analytics_db
        .execute("DELETE FROM events WHERE order_id = ANY($1)", &[&deleted])
        .await
        .unwrap();
    assert_eq!(n, 5);

    // Never relayed: written while every relay is frozen. Not in the topic:
    // marked published without ever being produced.
    pause(&stack, Service::Orders, true).await;
    let unrelayed = write_behind_the_service(&orders_db, false).await;
    let unproduced = write_behind_the_service(&orders_db, true).await;
    expected.extend([unrelayed, unproduced]);
    let facts = verify_events(&stack, &expected, Duration::from_secs(3))
        .await
        .unwrap();
    pause(&stack, Service::Orders, false).await;
    let events = judge_events(&facts, 60_000);
    let stage_of = |e: &faultline::measure::EventSummary, id: uuid::Uuid| {
        e.lost_events
            .iter()
            .find(|l| l.order == id)
            .map(|l| l.stage)
    };
    assert_eq!(events.lost, 7, "{events:#?}");
    for id in &deleted {
        assert_eq!(stage_of(&events, *id), Some(LossStage::SkippedByConsumer));
    }
    assert_eq!(stage_of(&events, unrelayed), Some(LossStage::NeverRelayed));
    assert_eq!(stage_of(&events, unproduced), Some(LossStage::NotInTopic));
    assert!(
        !facts.settle.drained,
        "an unpublished row keeps the pipeline busy"
    );

    // Not consumed: analytics frozen while orders go through the stack; the
    // relay publishes them, nobody consumes them.
    pause(&stack, Service::Analytics, true).await;
    let frozen = workload::run(&spec(12), target, RunClock::start_now(), opts()).await;
    let frozen = frozen.unwrap();
    let (_, during) = verify_writes(&stack, &frozen.ledger, &[]).await.unwrap();
    let mut all = expected.clone();
    all.extend(during.iter().copied());
    let facts = verify_events(&stack, &all, Duration::from_secs(5))
        .await
        .unwrap();
    let events = judge_events(&facts, 60_000);
    for id in &during {
        let lost = events.lost_events.iter().find(|l| l.order == *id);
        if let Some(l) = lost {
            assert_eq!(l.stage, LossStage::NotConsumed, "{l:?}");
            assert!(
                l.evidence.contains("never consumed that far"),
                "{}",
                l.evidence
            );
        }
    }
    assert_eq!(
        events.lost_by_stage.get(&LossStage::NotConsumed).copied(),
        Some(events.lost - 6),
        "every order written while analytics was frozen, and the one relayed since, wait in the topic: {events:#?}"
    );

    // Thawed, analytics consumes them: late or on time, no longer lost; the
    // deleted and the unproduced stay lost where they were.
    pause(&stack, Service::Analytics, false).await;
    let facts = verify_events(&stack, &all, Duration::from_secs(60))
        .await
        .unwrap();
    let events = judge_events(&facts, 60_000);
    assert_eq!(events.lost, 6, "{events:#?}");
    assert!(
        stage_of(&events, unrelayed).is_none(),
        "relayed once the relays thawed"
    );
    assert_eq!(stage_of(&events, unproduced), Some(LossStage::NotInTopic));
    assert!(facts.settle.drained);
}

/// The fault of a run's report, with its journal entry.
fn the_fault(
    outcome: &faultline::run::RunOutcome,
) -> (
    faultline::report::FaultRecord,
    faultline::faults::JournalEntry,
) {
    let journal = std::fs::read_to_string(outcome.dir.join("faults.jsonl")).unwrap();
    let reverted: faultline::faults::JournalEntry = journal
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "reverted")
        .map(|v| serde_json::from_value(v).unwrap())
        .next()
        .expect("the fault was reverted");
    (outcome.report.faults[0].clone(), reverted)
}

/// Whole scenario runs that can share one stack (a stack takes a minute
/// or two to start; these runs take seconds).
#[tokio::test(flavor = "multi_thread")]
async fn scenario_runs_on_one_stack() {
    let stack = start_stack(StackSettings::default()).await;
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let out = std::env::temp_dir().join(format!("faultline-runs-{}", std::process::id()));
    identical_freezes_read_the_same_rto(&stack, &fixtures, &out).await;
    results_land_on_their_own_fault_whatever_the_order(&stack, &fixtures, &out).await;
    let _ = std::fs::remove_dir_all(&out);
}

async fn identical_freezes_read_the_same_rto(
    stack: &faultline::Stack,
    fixtures: &std::path::Path,
    out: &std::path::Path,
) {
    // A freeze the bound tolerates made no request bad: no outage, every
    // time — not whichever request happened to be answered first.
    let mut rtos = Vec::new();
    for round in 0..3 {
        let outcome = faultline::Prepared::load(fixtures.join("freeze-wide.toml"))
            .unwrap()
            .out_dir(out.join(format!("wide-{round}")))
            .run(stack)
            .await
            .unwrap();
        let (fault, journal) = the_fault(&outcome);
        let held = journal.revert_requested_at_us.unwrap() - journal.injected_at_us;
        eprintln!(
            "wide bound, round {round}: RTO {:?} ms, outage {}, freeze held ≥ {} ms, engine call {} ms",
            fault.rto_ms, fault.outage, held / 1000, fault.inject_call_ms
        );
        assert!(!fault.outage, "round {round}: {fault:?}");
        rtos.push(fault.rto_ms.unwrap());
    }
    let spread = rtos.iter().cloned().fold(f64::MIN, f64::max)
        - rtos.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread <= 50.0, "RTOs {rtos:?} differ by {spread} ms");

    // Under the profile's 2 s bound, the same freeze is an outage that lasts
    // at least as long as the freeze surely held (from the moment it was in
    // effect to the moment its revert was asked for).
    let outcome = faultline::Prepared::load(fixtures.join("freeze-tight.toml"))
        .unwrap()
        .out_dir(out.join("tight"))
        .run(stack)
        .await
        .unwrap();
    let (fault, journal) = the_fault(&outcome);
    let held_ms =
        (journal.revert_requested_at_us.unwrap() - journal.injected_at_us) as f64 / 1000.0;
    let rto = fault.rto_ms.expect("recovered");
    eprintln!("2 s bound: RTO {rto} ms for a freeze held ≥ {held_ms} ms");
    assert!(fault.outage);
    assert!(
        rto >= held_ms,
        "RTO {rto} ms is shorter than the freeze ({held_ms} ms)"
    );
    assert!(
        rto <= held_ms + 2_000.0,
        "RTO {rto} ms: more than the freeze and a drain"
    );
}

/// Faults listed out of time order, two at the same instant: the plan runs
/// them by time, and every journal entry and result carries its step's id,
/// so each result is its own fault's — kind, time and RTO.
async fn results_land_on_their_own_fault_whatever_the_order(
    stack: &faultline::Stack,
    fixtures: &std::path::Path,
    out: &std::path::Path,
) {
    let outcome = faultline::Prepared::load(fixtures.join("out-of-order.toml"))
        .unwrap()
        .out_dir(out.join("out-of-order"))
        .run(stack)
        .await
        .unwrap();
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(outcome.dir.join("plan.json")).unwrap())
            .unwrap();
    let order: Vec<u64> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        order,
        [1, 2, 3, 0],
        "the plan goes by time, then file order"
    );
    let journal: Vec<faultline::faults::JournalEntry> =
        std::fs::read_to_string(outcome.dir.join("faults.jsonl"))
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"] == "reverted")
            .map(|v| serde_json::from_value(v).unwrap())
            .collect();
    // (id, kind, planned at s) as the file lists them.
    let expected = [
        (0, "pod-kill", 18.0),
        (1, "pod-pause", 3.0),
        (2, "cache-loss", 11.0),
        (3, "latency", 11.0),
    ];
    assert_eq!(outcome.report.faults.len(), 4);
    for (id, kind, at_s) in expected {
        let step = plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap();
        assert_eq!(step["kind"], kind);
        let entry = journal.iter().find(|e| e.id == id).expect("reverted");
        let fault = outcome
            .report
            .faults
            .iter()
            .find(|f| f.id == id)
            .expect("a result per step");
        eprintln!(
            "step {id}: {} at {:.2} s, RTO {:?} ms, outage {}",
            fault.kind, fault.injected_at_s, fault.rto_ms, fault.outage
        );
        assert_eq!(entry.kind.name(), kind, "journal entry {id}");
        assert_eq!(fault.kind.name(), kind, "result {id}");
        assert_eq!(fault.label, entry.label);
        assert!(
            (fault.injected_at_s - at_s).abs() < 1.0,
            "step {id} went in at {} s, planned at {at_s} s",
            fault.injected_at_s
        );
    }
    // The freeze is its own outage, measured from its own injection: at
    // least as long as it surely held.
    let pause = outcome.report.faults.iter().find(|f| f.id == 1).unwrap();
    let pause_entry = journal.iter().find(|e| e.id == 1).unwrap();
    let held_ms =
        (pause_entry.revert_requested_at_us.unwrap() - pause_entry.injected_at_us) as f64 / 1e3;
    assert!(pause.outage, "{pause:?}");
    assert!(
        pause.rto_ms.unwrap() >= held_ms,
        "the freeze's RTO {:?} ms is shorter than the freeze ({held_ms} ms)",
        pause.rto_ms
    );
}
