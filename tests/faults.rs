//! Every fault kind against the real stack: the fault is observable while
//! it is in force, and after its revert the stack is whole again — every
//! container running and ready, no toxic, no firewall chain left.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faultline::faults::kinds::az_isolation::AzIsolation;
use faultline::faults::kinds::az_outage::AzOutage;
use faultline::faults::kinds::bandwidth::Bandwidth;
use faultline::faults::kinds::blackhole::Blackhole;
use faultline::faults::kinds::broker_loss::BrokerLoss;
use faultline::faults::kinds::cache_loss::CacheLoss;
use faultline::faults::kinds::cpu_stress::CpuStress;
use faultline::faults::kinds::db_failover::{DbFailover, FailoverMode};
use faultline::faults::kinds::dns_failure::DnsFailure;
use faultline::faults::kinds::latency::Latency;
use faultline::faults::kinds::packet_loss::{LossDirection, PacketLoss};
use faultline::faults::kinds::partition::Partition;
use faultline::faults::kinds::pod_kill::PodKill;
use faultline::faults::kinds::pod_pause::PodPause;
use faultline::faults::kinds::reset::Reset;
use faultline::faults::spec::{Count, Direction, Group, Role, Selector};
use faultline::faults::{self, toxics, Action, FaultSpec, Revert};
use faultline::stack::topology::PROXY_API_PORT;
use faultline::stack::{ready, Service, Stack, StackError, StackSettings};
use support::{create_order, eventually, fault_context, http, start_stack};

fn spec(action: Action) -> FaultSpec {
    FaultSpec {
        action,
        duration: Some(Duration::from_secs(5)),
        permanent: false,
    }
}

async fn state(stack: &Stack, name: &str) -> String {
    let n = stack.node(name).unwrap();
    stack.platform().state(&n.container).await.unwrap().status
}

/// The stack is whole: ready, nothing paused or stopped, no toxic left.
async fn assert_whole(stack: &Stack) {
    ready::wait_ready(stack, Duration::from_secs(120))
        .await
        .expect("the stack is ready again after the revert");
    assert_nothing_left(stack).await;
}

/// After a zone isolation or a partition: the cut is gone from every
/// container (chain `FL-<fault>`), every container runs, no toxic is left —
/// and the stack is ready again (a streaming replica, every service ready,
/// an order through the ingress reaching analytics) within the bound its
/// own timers give ([`StackSettings::heal_bound`]): a heal that leaves the
/// system down is a failure, not a finding to print.
async fn assert_healed(stack: &Stack, fault: u32) {
    let chain = format!("FL-{fault}");
    for n in &stack.nodes {
        assert!(
            !chain_exists(stack, &n.name, &chain).await,
            "{chain} left in {}",
            n.name
        );
    }
    assert_nothing_left(stack).await;
    let bound = StackSettings::default().heal_bound();
    // Beside the wait, what is still pending every 5 s, so that a slow or
    // failed recovery says which part of the stack held it up.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let watcher = tokio::spawn(watch_pending(stack.clone(), seen.clone()));
    let waited = ready::wait_ready(stack, bound).await;
    watcher.abort();
    let transcript = seen.lock().map(|s| s.clone()).unwrap_or_default();
    let slow = !matches!(waited, Ok(took) if took < Duration::from_secs(30));
    if slow {
        for (at, pending) in &transcript {
            eprintln!("{chain}: +{at:.0?} after the heal still pending: {pending}");
        }
    }
    match waited {
        Ok(took) => eprintln!("{chain}: ready again {took:?} after the heal (bound {bound:?})"),
        Err(e) => {
            // What was pending first (the output's tail may be cut), then
            // the logs of the nodes it names, or of the database and the
            // consumers when it names none.
            eprintln!("{chain}: not ready within {bound:?} of the heal: {e}");
            let text = e.to_string();
            let named: Vec<&str> = stack
                .nodes
                .iter()
                .map(|n| n.name.as_str())
                .filter(|name| text.contains(&format!("{name} ")))
                .collect();
            let names = if named.is_empty() {
                vec!["pg-a", "pg-b", "analytics-a", "analytics-b", "db-router"]
            } else {
                named
            };
            support::dump_logs(stack, &names).await;
            panic!("the stack was not ready within {bound:?} of the heal: {e}");
        }
    }
}

/// What the stack is waiting for, sampled every 5 s into `seen` (each
/// change, with the time since the start), until the task is aborted.
async fn watch_pending(stack: Stack, seen: Arc<Mutex<Vec<(Duration, String)>>>) {
    let started = Instant::now();
    let mut last = String::new();
    loop {
        let now = match ready::wait_ready(&stack, Duration::from_secs(2)).await {
            Ok(_) => "nothing".to_string(),
            Err(StackError::NotReady { pending, .. }) => pending.join("; "),
            Err(e) => e.to_string(),
        };
        if now != last {
            if let Ok(mut seen) = seen.lock() {
                seen.push((started.elapsed(), now.clone()));
            }
            last = now;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// The status of a GET (0: no answer).
async fn status_of(client: &reqwest::Client, url: &str) -> u16 {
    client
        .get(url)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Every container running, no toxic on any proxy.
async fn assert_nothing_left(stack: &Stack) {
    for n in &stack.nodes {
        assert_eq!(state(stack, &n.name).await, "running", "{}", n.name);
    }
    for p in stack.nodes_of(Service::Proxy) {
        let api = p.addr(PROXY_API_PORT).unwrap();
        for (proxy, t) in toxics::list(&api).await.unwrap() {
            assert!(t.is_empty(), "toxic left on {proxy}: {t:?}");
        }
    }
}

/// Whether the iptables chain is in the node's network namespace: what
/// the Docker platform's cut is made of, read from Docker itself.
async fn chain_exists(stack: &Stack, name: &str, chain: &str) -> bool {
    let n = stack.node(name).unwrap();
    let engine = faultline::platform::docker::Engine::connect(false)
        .await
        .unwrap();
    let pid = engine
        .inspect(&n.container)
        .await
        .unwrap()
        .state
        .unwrap()
        .pid
        .unwrap();
    let out = tokio::process::Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n", "iptables", "-S", chain])
        .output()
        .await
        .unwrap();
    out.status.success()
}

async fn timed_create(client: &reqwest::Client, ingress: &str) -> (bool, Duration) {
    let t = Instant::now();
    let ok = create_order(client, ingress).await.is_some();
    (ok, t.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn container_faults_are_observable_and_reverted() {
    let stack = start_stack(StackSettings::default()).await;
    let c = fault_context(&stack);

    // pod-kill: one orders replica, picked by seed among the three.
    let kill = spec(Action::PodKill(PodKill {
        target: Selector {
            service: Some(Service::Orders.name().into()),
            count: Some(Count::N(1)),
            ..Default::default()
        },
    }));
    let f = faults::inject(&c, 0, &kill).await.unwrap();
    assert_eq!(f.targets.len(), 1);
    assert!(f.targets[0].starts_with("orders-"));
    assert_eq!(state(&stack, &f.targets[0]).await, "exited");
    faults::revert(&c, &f).await.unwrap();
    assert_whole(&stack).await;

    // pod-pause: the gateway of zone b is frozen, not dead.
    let pause = spec(Action::PodPause(PodPause {
        target: Selector {
            service: Some(Service::Gateway.name().into()),
            zone: Some("b".into()),
            ..Default::default()
        },
    }));
    let f = faults::inject(&c, 1, &pause).await.unwrap();
    assert_eq!(f.targets, ["gateway-b"]);
    assert_eq!(state(&stack, "gateway-b").await, "paused");
    faults::revert(&c, &f).await.unwrap();
    assert_whole(&stack).await;

    // cache-loss and broker-loss.
    for (id, action, name) in [
        (2, Action::CacheLoss(CacheLoss), "redis"),
        (3, Action::BrokerLoss(BrokerLoss), "broker"),
    ] {
        let f = faults::inject(&c, id, &spec(action)).await.unwrap();
        assert_eq!(state(&stack, name).await, "exited");
        faults::revert(&c, &f).await.unwrap();
        assert_whole(&stack).await;
    }

    // az-outage: everything in zone c goes at once, and comes back.
    let f = faults::inject(
        &c,
        4,
        &spec(Action::AzOutage(AzOutage { zone: "c".into() })),
    )
    .await
    .unwrap();
    let in_c: Vec<_> = stack.nodes.iter().filter(|n| n.zone == "c").collect();
    assert_eq!(f.targets.len(), in_c.len());
    for n in &in_c {
        assert_eq!(state(&stack, &n.name).await, "exited", "{}", n.name);
    }
    faults::revert(&c, &f).await.unwrap();
    assert_whole(&stack).await;

    // A revert is safe to repeat.
    faults::revert(&c, &f).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn network_faults_cut_what_they_say_and_heal() {
    let stack = start_stack(StackSettings::default()).await;
    let c = fault_context(&stack);
    let client = http();
    let ingress = stack.ingress_url().unwrap();
    let gateway_a = format!(
        "http://{}",
        stack.node("gateway-a").unwrap().addr(8080).unwrap()
    );
    let id = create_order(&client, &ingress).await.unwrap();
    let url_via_a = format!("{gateway_a}/orders/{id}");
    let read_via_a = || status_of(&client, &url_via_a);
    assert_eq!(read_via_a().await, 200);

    // az-isolation of zone a: gateway-a can no longer reach anything outside
    // its zone (its orders proxy is regional), so its reads fail; the chain
    // is in every zone-a container.
    let f = faults::inject(
        &c,
        10,
        &spec(Action::AzIsolation(AzIsolation { zone: "a".into() })),
    )
    .await
    .unwrap();
    assert!(f.targets.contains(&"pg-a".to_string()));
    assert!(chain_exists(&stack, "etcd-a", "FL-10").await);
    // Both sides drop the other's packets; zones b and c still talk.
    assert!(chain_exists(&stack, "etcd-b", "FL-10").await);
    assert_ne!(
        read_via_a().await,
        200,
        "isolated gateway still served a read"
    );
    let gateway_b = format!(
        "http://{}",
        stack.node("gateway-b").unwrap().addr(8080).unwrap()
    );
    let r = client
        .get(format!("{gateway_b}/orders/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "zone b lost its own path to orders");
    faults::revert(&c, &f).await.unwrap();
    assert_healed(&stack, 10).await;
    eventually(Duration::from_secs(60), "gateway-a reads again", || async {
        (read_via_a().await == 200).then_some(())
    })
    .await;

    // partition: the gateways cannot reach their fault proxy.
    let part = spec(Action::Partition(Partition {
        a: Group {
            services: vec![Service::Gateway.name().into()],
            ..Default::default()
        },
        b: Group {
            services: vec![Service::Proxy.name().into()],
            ..Default::default()
        },
    }));
    let f = faults::inject(&c, 11, &part).await.unwrap();
    assert!(chain_exists(&stack, "gateway-b", "FL-11").await);
    assert!(chain_exists(&stack, "proxy-gateway", "FL-11").await);
    assert!(!chain_exists(&stack, "orders-b", "FL-11").await);
    let (ok, _) = timed_create(&client, &ingress).await;
    assert!(
        !ok,
        "a write got through a partition between gateways and their proxy"
    );
    faults::revert(&c, &f).await.unwrap();
    assert_healed(&stack, 11).await;
    eventually(
        Duration::from_secs(60),
        "writes after the partition heals",
        || async { create_order(&client, &ingress).await.map(|_| ()) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hop_faults_act_through_the_proxies_and_leave_no_toxic() {
    let stack = start_stack(StackSettings::default()).await;
    let c = fault_context(&stack);
    let client = http();
    let ingress = stack.ingress_url().unwrap();
    let (ok, before) = timed_create(&client, &ingress).await;
    assert!(ok);

    // latency on orders->postgres: a write waits for it (several round
    // trips to the database per write).
    let lat = spec(Action::Latency(Latency {
        hop: "orders->postgres".into(),
        latency: Duration::from_millis(200),
        jitter: Duration::ZERO,
        direction: Direction::Downstream,
    }));
    let f = faults::inject(&c, 20, &lat).await.unwrap();
    assert!(matches!(&f.revert, Revert::Toxics(t) if t.len() == 1));
    let (ok, during) = timed_create(&client, &ingress).await;
    assert!(
        ok && during >= Duration::from_millis(200),
        "{during:?} (before: {before:?})"
    );
    faults::revert(&c, &f).await.unwrap();
    let (ok, after) = timed_create(&client, &ingress).await;
    assert!(ok && after < Duration::from_millis(200), "{after:?}");

    // bandwidth on gateway->orders (all three replicas, both directions).
    let bw = spec(Action::Bandwidth(Bandwidth {
        hop: "gateway->orders".into(),
        rate_kbps: 1,
        direction: Direction::Both,
    }));
    let f = faults::inject(&c, 21, &bw).await.unwrap();
    assert!(matches!(&f.revert, Revert::Toxics(t) if t.len() == 6));
    let (_, during) = timed_create(&client, &ingress).await;
    assert!(during >= Duration::from_millis(100), "{during:?}");
    faults::revert(&c, &f).await.unwrap();

    // blackhole on orders->redis: reads degrade to the database.
    let id = create_order(&client, &ingress).await.unwrap();
    let read = || {
        let client = client.clone();
        let url = format!("{ingress}/orders/{id}");
        async move {
            let r = client.get(&url).send().await.unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            (status, body["source"].as_str().unwrap_or("").to_string())
        }
    };
    read().await;
    let hole = spec(Action::Blackhole(Blackhole {
        hop: "orders->redis".into(),
        direction: Direction::Both,
    }));
    let f = faults::inject(&c, 22, &hole).await.unwrap();
    assert_eq!(read().await, (200, "db".to_string()));
    faults::revert(&c, &f).await.unwrap();

    // reset on orders->postgres: writes fail while it lasts.
    let reset = spec(Action::Reset(Reset {
        hop: "orders->postgres".into(),
    }));
    let f = faults::inject(&c, 23, &reset).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (ok, _) = timed_create(&client, &ingress).await;
    assert!(
        !ok,
        "a write got through while every database connection is reset"
    );
    faults::revert(&c, &f).await.unwrap();
    assert_whole(&stack).await;

    // An unknown hop is refused with the list of hops.
    let bad = spec(Action::Reset(Reset {
        hop: "orders->mongo".into(),
    }));
    let e = faults::inject(&c, 24, &bad).await.unwrap_err().to_string();
    assert!(e.contains("orders->postgres"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn db_failover_kills_or_switches_the_leader_and_the_old_one_rejoins() {
    let stack = start_stack(StackSettings::default()).await;
    let c = fault_context(&stack);
    let client = http();
    let ingress = stack.ingress_url().unwrap();

    let first = ready::leader(&stack).await.unwrap();
    let f = faults::inject(
        &c,
        30,
        &spec(Action::DbFailover(DbFailover {
            mode: FailoverMode::Switchover,
        })),
    )
    .await
    .unwrap();
    assert_eq!(f.targets[0], first);
    let second = eventually(Duration::from_secs(60), "switchover", || async {
        ready::leader(&stack).await.filter(|l| *l != first)
    })
    .await;
    assert_eq!(f.targets[1], second);
    faults::revert(&c, &f).await.unwrap();
    assert_whole(&stack).await;

    let kill = spec(Action::DbFailover(DbFailover {
        mode: FailoverMode::KillLeader,
    }));
    let f = faults::inject(&c, 31, &kill).await.unwrap();
    assert_eq!(f.targets, std::slice::from_ref(&second));
    assert_eq!(state(&stack, &second).await, "exited");
    eventually(Duration::from_secs(60), "a new leader", || async {
        ready::leader(&stack).await.filter(|l| *l != second)
    })
    .await;
    eventually(
        Duration::from_secs(60),
        "writes on the new leader",
        || async { create_order(&client, &ingress).await.map(|_| ()) },
    )
    .await;
    faults::revert(&c, &f).await.unwrap();
    // The old leader rejoins as a streaming replica: the readiness check
    // waits for exactly that.
    assert_whole(&stack).await;

    // A leader-role selector finds whoever leads now.
    let leader_now = ready::leader(&stack).await.unwrap();
    let pause = spec(Action::PodPause(PodPause {
        target: Selector {
            role: Some(Role::Leader),
            ..Default::default()
        },
    }));
    let f = faults::inject(&c, 32, &pause).await.unwrap();
    assert_eq!(f.targets, [leader_now]);
    faults::revert(&c, &f).await.unwrap();
}

/// A command's exit code and output inside a node.
async fn exec(stack: &Stack, name: &str, cmd: &str) -> (i64, String) {
    let n = stack.node(name).unwrap();
    stack
        .platform()
        .exec(&n.container, "", &["sh", "-c", cmd])
        .await
        .unwrap()
}

/// How long a fixed CPU-bound loop takes inside a node (its processes
/// share the node's CPU limit).
async fn busy_loop(stack: &Stack, name: &str) -> Duration {
    let started = Instant::now();
    let (code, out) = exec(
        stack,
        name,
        "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done",
    )
    .await;
    assert_eq!(code, 0, "{out}");
    started.elapsed()
}

/// Of 20 reads of an order through `url`, how many were not answered 200
/// within 150 ms (a lost packet costs a retransmission of 200 ms or more).
async fn slow_reads(client: &reqwest::Client, url: &str) -> usize {
    let mut slow = 0;
    for _ in 0..20 {
        let started = Instant::now();
        let ok = client
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if !ok || started.elapsed() > Duration::from_millis(150) {
            slow += 1;
        }
    }
    slow
}

/// The node's CPU limit as its own cgroup shows it (v2, else v1).
async fn cgroup_cpu(stack: &Stack, name: &str) -> String {
    exec(
        stack,
        name,
        "cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
    )
    .await
    .1
}

#[tokio::test(flavor = "multi_thread")]
async fn resource_loss_and_name_faults_act_and_heal() {
    let stack = start_stack(StackSettings::default()).await;
    let c = fault_context(&stack);

    // cpu-stress: orders of zone a held to a tenth of a CPU; the same loop
    // takes several times longer, and the limit it had comes back.
    let limit = cgroup_cpu(&stack, "orders-a").await;
    let free = busy_loop(&stack, "orders-a").await;
    let stress = spec(Action::CpuStress(CpuStress {
        target: Selector {
            service: Some(Service::Orders.name().into()),
            zone: Some("a".into()),
            ..Default::default()
        },
        cpus: 0.1,
    }));
    let f = faults::inject(&c, 40, &stress).await.unwrap();
    assert_eq!(f.targets, ["orders-a"]);
    assert_ne!(cgroup_cpu(&stack, "orders-a").await, limit);
    let held = busy_loop(&stack, "orders-a").await;
    assert!(held > free * 3, "held to 0.1 CPU: {held:?}, free: {free:?}");
    faults::revert(&c, &f).await.unwrap();
    assert_eq!(cgroup_cpu(&stack, "orders-a").await, limit);
    let after = busy_loop(&stack, "orders-a").await;
    assert!(after * 2 < held, "after: {after:?}, held: {held:?}");
    eprintln!("cpu-stress: loop free {free:?}, held to 0.1 CPU {held:?}, after {after:?}");
    // A revert is safe to repeat.
    faults::revert(&c, &f).await.unwrap();
    assert_whole(&stack).await;

    // packet-loss: half the packets between the gateways and the fault
    // proxies lost both ways: most reads through the ingress wait for a
    // retransmission (or fail) — three in four when each read is one
    // segment each way; the cut is in the gateways only.
    let client = http();
    let ingress = stack.ingress_url().unwrap();
    let id = create_order(&client, &ingress).await.unwrap();
    let url = format!("{ingress}/orders/{id}");
    let before = slow_reads(&client, &url).await;
    let loss = spec(Action::PacketLoss(PacketLoss {
        a: Group {
            services: vec![Service::Gateway.name().into()],
            ..Default::default()
        },
        b: Group {
            services: vec![Service::Proxy.name().into()],
            ..Default::default()
        },
        loss: 0.5,
        direction: LossDirection::Both,
    }));
    let f = faults::inject(&c, 41, &loss).await.unwrap();
    assert!(chain_exists(&stack, "gateway-a", "FL-41").await);
    assert!(!chain_exists(&stack, "proxy-gateway", "FL-41").await);
    let during = slow_reads(&client, &url).await;
    faults::revert(&c, &f).await.unwrap();
    eprintln!("packet-loss: slow or failed reads of 20: before {before}, during {during}");
    assert!(before <= 4, "{before} of 20 reads slow before the fault");
    assert!(during >= 8, "only {during} of 20 reads slow with 50 % loss");
    assert_healed(&stack, 41).await;
    eventually(
        Duration::from_secs(60),
        "fast reads after the heal",
        || async { (slow_reads(&client, &url).await <= 4).then_some(()) },
    )
    .await;

    // dns-failure in gateway-a: a name it looks up fails, while the
    // connection it already has to its proxy keeps serving reads.
    let gateway_a = format!(
        "http://{}/orders/{id}",
        stack.node("gateway-a").unwrap().addr(8080).unwrap()
    );
    let read_via_a = || status_of(&client, &gateway_a);
    assert_eq!(read_via_a().await, 200);
    let lookup = "timeout 4 getent hosts proxy-gateway";
    assert_eq!(exec(&stack, "gateway-a", lookup).await.0, 0);
    let dns = spec(Action::DnsFailure(DnsFailure {
        target: Selector {
            service: Some(Service::Gateway.name().into()),
            zone: Some("a".into()),
            ..Default::default()
        },
    }));
    let f = faults::inject(&c, 42, &dns).await.unwrap();
    assert_eq!(f.targets, ["gateway-a"]);
    let (code, out) = exec(&stack, "gateway-a", lookup).await;
    assert_ne!(code, 0, "a lookup succeeded with the resolver cut: {out}");
    assert_eq!(
        read_via_a().await,
        200,
        "the open connection to the proxy did not live on"
    );
    faults::revert(&c, &f).await.unwrap();
    assert_eq!(exec(&stack, "gateway-a", lookup).await.0, 0);
    assert_healed(&stack, 42).await;
}
