//! The reference stack against a real Docker engine: it comes up ready,
//! writes land on both PostgreSQL nodes and reach analytics, and the stack
//! survives the losses its design promises to survive.

mod support;

use std::time::{Duration, Instant};

use faultline::stack::ready;
use faultline::stack::status;
use faultline::stack::{Service, StackSettings};
use support::{create_order, eventually, http, start_stack};

#[tokio::test(flavor = "multi_thread")]
async fn up_writes_replicate_and_reach_analytics_then_down_leaves_nothing() {
    let started = Instant::now();
    let stack = start_stack(StackSettings::default()).await;
    eprintln!(
        "stack {} ready in {:.1}s",
        stack.run,
        started.elapsed().as_secs_f64()
    );

    // status: every component is running and healthy, with its zone.
    let rows = status::collect(&stack).await.unwrap();
    eprintln!("{}", status::render(&rows));
    assert_eq!(rows.len(), stack.nodes.len());
    for r in &rows {
        assert!(status::is_healthy(r), "unhealthy: {r:?}");
        assert!(!r.zone.is_empty());
    }
    let leader_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.health.starts_with("leader"))
        .collect();
    assert_eq!(leader_rows.len(), 1, "exactly one Patroni leader");

    // A write through the ingress is on the leader and on the replica.
    let client = http();
    let ingress = stack.ingress_url().unwrap();
    let id = create_order(&client, &ingress)
        .await
        .expect("order acknowledged");
    for pg in stack.nodes_of(Service::Postgres) {
        let db = stack.pg_connect(&pg.name, "orders").await.unwrap();
        eventually(
            Duration::from_secs(10),
            &format!("order on {}", pg.name),
            || async {
                let row = db
                    .query_opt("SELECT id FROM orders WHERE id = $1", &[&id])
                    .await
                    .ok()?;
                row.map(|_| ())
            },
        )
        .await;
    }
    // …and its event reaches analytics.
    let analytics = stack.nodes_of(Service::Analytics).next().unwrap();
    let addr = analytics.addr(8080).unwrap();
    eventually(Duration::from_secs(20), "event in analytics", || async {
        let r = client
            .get(format!("http://{addr}/events/{id}"))
            .send()
            .await
            .ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
    // Reading it back goes through the gateway and orders.
    let r = client
        .get(format!("{ingress}/orders/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // down leaves no container, network or volume with the run's label.
    let platform = stack.platform().clone();
    let run = stack.run.clone();
    drop(stack);
    assert!(platform.nodes(&run).await.unwrap().is_empty());
    assert!(!platform
        .runs()
        .await
        .unwrap()
        .iter()
        .any(|(r, _)| *r == run));
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_patroni_leader_promotes_the_replica_and_writes_resume() {
    let stack = start_stack(StackSettings::default()).await;
    let client = http();
    let ingress = stack.ingress_url().unwrap();
    let old = ready::leader(&stack).await.expect("a leader");
    let container = stack.node(&old).unwrap().container.clone();
    stack.platform().kill(&container).await.unwrap();
    let killed = Instant::now();

    let mut new = None;
    while killed.elapsed() < Duration::from_secs(60) && new.is_none() {
        new = ready::leader(&stack).await.filter(|l| *l != old);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let Some(new) = new else {
        let names: Vec<&str> = stack.nodes.iter().map(|n| n.name.as_str()).collect();
        support::dump_logs(&stack, &names).await;
        panic!("no new leader within 60 s of killing {old}");
    };
    let promoted = killed.elapsed();
    let first_write = eventually(
        Duration::from_secs(60),
        "a write after failover",
        || async { create_order(&client, &ingress).await },
    )
    .await;
    eprintln!(
        "leader {old} killed: {new} promoted after {:.1}s, writes back after {:.1}s",
        promoted.as_secs_f64(),
        killed.elapsed().as_secs_f64()
    );
    // The write is on the new leader, read directly.
    let db = stack.pg_connect(&new, "orders").await.unwrap();
    let row = db
        .query_opt("SELECT id FROM orders WHERE id = $1", &[&first_write])
        .await
        .unwrap();
    assert!(row.is_some());
    // No service was restarted: every app container still runs its first start.
    for n in stack.nodes.iter().filter(|n| n.role() == Some("app")) {
        let state = stack.platform().state(&n.container).await.unwrap();
        assert_eq!(state.restarts, 0, "{} was restarted", n.name);
        assert!(state.running, "{} is not running", n.name);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_redis_does_not_fail_reads() {
    let stack = start_stack(StackSettings::default()).await;
    let client = http();
    let ingress = stack.ingress_url().unwrap();
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(create_order(&client, &ingress).await.expect("order"));
    }
    // Warm the cache.
    for id in &ids {
        let r = client
            .get(format!("{ingress}/orders/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let redis = stack
        .nodes_of(Service::Redis)
        .next()
        .unwrap()
        .container
        .clone();
    stack.platform().kill(&redis).await.unwrap();
    for round in 0..3 {
        for id in &ids {
            let r = client
                .get(format!("{ingress}/orders/{id}"))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                200,
                "round {round}: GET /orders/{id} with Redis gone"
            );
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["source"], "db", "served from PostgreSQL");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn restarting_the_broker_loses_no_acknowledged_event() {
    let stack = start_stack(StackSettings::default()).await;
    let client = http();
    let ingress = stack.ingress_url().unwrap();
    let mut acked = Vec::new();
    for _ in 0..50 {
        acked.push(create_order(&client, &ingress).await.expect("order"));
    }
    let analytics = stack.nodes_of(Service::Analytics).next().unwrap();
    let addr = analytics.addr(8080).unwrap();
    let all_present = |ids: Vec<uuid::Uuid>| {
        let client = client.clone();
        let addr = addr.clone();
        async move {
            for id in &ids {
                let r = client
                    .get(format!("http://{addr}/events/{id}"))
                    .send()
                    .await
                    .ok()?;
                if r.status() != 200 {
                    return None;
                }
            }
            Some(())
        }
    };
    eventually(Duration::from_secs(30), "first 50 events", || {
        all_present(acked.clone())
    })
    .await;

    let broker = stack
        .nodes_of(Service::Broker)
        .next()
        .unwrap()
        .container
        .clone();
    stack.platform().kill(&broker).await.unwrap();
    // Orders keep being acknowledged while the broker is down (the outbox
    // holds their events).
    for _ in 0..50 {
        acked.push(
            create_order(&client, &ingress)
                .await
                .expect("order while broker down"),
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.platform().start(&broker).await.unwrap();
    eventually(
        Duration::from_secs(90),
        "all 100 events after the broker restart",
        || all_present(acked.clone()),
    )
    .await;
}
