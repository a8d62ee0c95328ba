//! A stack faultline did not create: the compose-shop example
//! (`examples/compose-shop/`), brought up by the real Compose tool — never
//! by faultline's topology code — found by `faultline init`, read by its
//! stack file's write check, and drilled with the example's own scenarios
//! while an unrelated Compose project runs beside it, untouched.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Parser;
use faultline::cli::{dispatch, Cli};
use faultline::stack_file::{StackFile, Zones};
use support::{engine_with_images, eventually, http, StackLock};

/// A Compose project started with `docker-compose up -d --build`, taken
/// down with its volumes however the test ends.
struct ComposeProject {
    file: PathBuf,
    project: String,
}

impl ComposeProject {
    fn up(file: &Path, project: &str) -> ComposeProject {
        let p = ComposeProject {
            file: file.to_path_buf(),
            project: project.to_string(),
        };
        // Anything an earlier, killed run left under this name goes first.
        p.compose(&["down", "-v", "--remove-orphans"]);
        let out = p.compose(&["up", "-d", "--build"]);
        assert!(
            out.status.success(),
            "docker-compose up failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        p
    }

    fn compose(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker-compose")
            .arg("-f")
            .arg(&self.file)
            .arg("-p")
            .arg(&self.project)
            .args(args)
            .output()
            .expect("the Compose tool (docker-compose) runs")
    }

    /// `psql` in one of its services, returning the unaligned output.
    fn psql(&self, service: &str, sql: &str) -> String {
        let out = self.compose(&[
            "exec", "-T", service, "psql", "-U", "shop", "-d", "shop", "-Atc", sql,
        ]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        self.compose(&["down", "-v", "--remove-orphans"]);
    }
}

/// Every service of the example's compose file.
const SHOP_SERVICES: [&str; 7] = [
    "lb",
    "app-a",
    "app-b",
    "app-c",
    "db-primary",
    "db-standby",
    "cache",
];

fn example(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/compose-shop")
        .join(file)
}

/// Creates an order through the shop's balancer; the shop acknowledges it
/// with 201.
async fn post_order(client: &reqwest::Client, entry: &str, id: &str, item: &str) {
    let r = client
        .post(format!("{entry}/orders"))
        .json(&serde_json::json!({"id": id, "item": item}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_compose_shop_serves_and_init_describes_it() {
    let _lock = tokio::task::spawn_blocking(StackLock::acquire)
        .await
        .unwrap()
        .unwrap();
    // The example's images start FROM faultline/base:latest.
    engine_with_images().await;
    let shop = ComposeProject::up(&example("docker-compose.yml"), "faultline-test-shop");
    let client = http();
    let entry = "http://127.0.0.1:18080";
    eventually(
        Duration::from_secs(90),
        "the shop answers through its balancer",
        || async {
            let r = client.get(format!("{entry}/health")).send().await.ok()?;
            r.status().is_success().then_some(())
        },
    )
    .await;

    let id = format!("t-{}", uuid::Uuid::new_v4());
    post_order(&client, entry, &id, "book").await;
    let got: serde_json::Value = client
        .get(format!("{entry}/orders/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["item"], "book");
    assert_eq!(
        shop.psql(
            "db-primary",
            &format!("SELECT item FROM orders WHERE id = '{id}'")
        ),
        "book"
    );
    // The standby streams from the primary, and has the order.
    eventually(
        Duration::from_secs(30),
        "the standby replays the order",
        || async {
            (shop.psql(
                "db-standby",
                &format!("SELECT count(*) FROM orders WHERE id = '{id}'"),
            ) == "1")
                .then_some(())
        },
    )
    .await;

    // The example's write check finds exactly the orders deleted behind the
    // app's back: through psql in its database containers (the primary
    // found by pg_is_in_recovery()), and over a connection string naming
    // both servers.
    let mut ids = vec![id.clone()];
    for n in 0..20 {
        let id = format!("t-{n}-{}", uuid::Uuid::new_v4());
        post_order(&client, entry, &id, "pen").await;
        ids.push(id);
    }
    let deleted = [ids[3].clone(), ids[17].clone()];
    shop.psql(
        "db-primary",
        &format!(
            "DELETE FROM orders WHERE id IN ('{}', '{}')",
            deleted[0], deleted[1]
        ),
    );
    let engine = faultline::platform::docker::Engine::connect(false)
        .await
        .unwrap();
    let file = StackFile::load_file(&example("stack.toml")).unwrap();
    let check = file.write_check.clone().unwrap();
    let present = faultline::userstack::present(&engine, "faultline-test-shop", &check, &ids)
        .await
        .unwrap();
    let missing: Vec<&String> = ids.iter().filter(|i| !present.contains(*i)).collect();
    assert_eq!(
        missing,
        deleted.iter().collect::<Vec<_>>(),
        "psql in the containers"
    );

    let network = "faultline-test-shop_default";
    let mut hosts = Vec::new();
    for service in ["db-standby", "db-primary"] {
        let name = faultline::platform::docker::compose::service_containers(
            &engine,
            "faultline-test-shop",
            service,
        )
        .await
        .unwrap()
        .remove(0);
        hosts.push(engine.ip_address(&name, network).await.unwrap());
    }
    let over_dsn = faultline::stack_file::WriteCheck {
        database: faultline::stack_file::Database::Dsn(format!(
            "host={} user=shop password=shop dbname=shop",
            hosts.join(",")
        )),
        ..check
    };
    let present = faultline::userstack::present(&engine, "faultline-test-shop", &over_dsn, &ids)
        .await
        .unwrap();
    assert_eq!(
        present.len(),
        ids.len() - 2,
        "a connection string, the standby listed first"
    );
    assert!(deleted.iter().all(|d| !present.contains(d)));

    // `faultline init` reads the running project into a valid stack file.
    let out = std::env::temp_dir().join(format!("faultline-init-{}.toml", std::process::id()));
    let cli = Cli::try_parse_from([
        "faultline",
        "init",
        "--compose",
        "faultline-test-shop",
        "--force",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    dispatch(cli).await.unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let stack = StackFile::parse(&faultline::source::Source {
        path: out.clone(),
        text: text.clone(),
    })
    .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(stack.entry, entry, "the balancer is the entry:\n{text}");
    assert_eq!(stack.zones, Zones::Label("shop.zone".into()));
    for service in SHOP_SERVICES {
        assert!(
            text.contains(&format!("#   {service} ")),
            "{service} is listed:\n{text}"
        );
    }
    assert!(
        text.contains(r#"# services = ["db-primary", "db-standby"]"#),
        "{text}"
    );

    // A project that is not running is a usage error naming the running ones.
    let cli = Cli::try_parse_from([
        "faultline",
        "init",
        "--compose",
        "no-such-shop",
        "--out",
        "-",
    ])
    .unwrap();
    let e = dispatch(cli).await.unwrap_err();
    assert_eq!(e.exit(), faultline::Exit::BadInput);
    assert!(e.to_string().contains("faultline-test-shop"), "{e}");

    // The example's own scenarios drill it; a second, unrelated project
    // runs beside it and must come out exactly as it went in.
    let bystander = Bystander::up();
    let before = bystander.state();
    let stack_file = test_stack_file();
    let before_kill_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let kill = drill("kill-app.toml", &stack_file).await;
    let f = only_fault(&kill);
    assert_eq!(f.target, "app-a-1", "{f:?}");
    assert!(f.rto_ms.is_some(), "an RTO for the kill: {f:?}");
    assert_writes_measured_and_kept(&kill);
    for check in ["rto", "rpo", "availability", "p99"] {
        assert!(
            kill.verdict
                .checks
                .iter()
                .any(|c| c.name.starts_with(check)),
            "the verdict judges {check} against the stack file's targets"
        );
    }
    let rto = kill
        .verdict
        .checks
        .iter()
        .find(|c| c.name.starts_with("rto"))
        .unwrap();
    assert!(
        rto.source.contains("compose-shop runbook"),
        "the stack file's own target: {rto:?}"
    );
    let app_a = service_container(&engine, "app-a").await;
    let state = engine.state(&app_a).await.unwrap();
    assert!(state.running, "app-a runs again");
    assert!(
        state.started_unix_ms.unwrap() > before_kill_ms,
        "app-a was killed and started again during the run"
    );
    assert!(
        state.restarts >= 1,
        "the kill is a crash: app-a's own restart policy (unless-stopped) brought it back"
    );

    let outage = drill("zone-outage.toml", &stack_file).await;
    let f = only_fault(&outage);
    assert_eq!(f.target, "app-b-1, db-standby-1", "{f:?}");
    assert_writes_measured_and_kept(&outage);
    for service in ["app-b", "db-standby"] {
        let c = service_container(&engine, service).await;
        assert!(
            engine.state(&c).await.unwrap().running,
            "{service} runs again"
        );
    }

    let isolation = drill("zone-isolation.toml", &stack_file).await;
    let f = only_fault(&isolation);
    assert!(
        f.target.contains("app-c-1") && f.target.contains("cache-1"),
        "{f:?}"
    );
    assert!(f.rto_ms.is_some(), "{f:?}");
    assert_writes_measured_and_kept(&isolation);

    // app-b keeps taking a third of the requests but cannot reach the
    // database: the partition makes requests fail, and they recover.
    let partition = drill("partition.toml", &stack_file).await;
    let f = only_fault(&partition);
    assert!(
        f.outage,
        "cutting app-b from the databases fails requests: {f:?}"
    );
    assert!(f.rto_ms.is_some_and(|ms| ms > 0.0), "{f:?}");
    assert!(partition.report.metrics.availability < 1.0);
    assert_writes_measured_and_kept(&partition);

    // Lost packets between the balancer and app-a are retransmitted: slower
    // requests while the fault holds.
    let loss = drill("packet-loss.toml", &stack_file).await;
    let f = only_fault(&loss);
    assert_eq!(f.target, "lb-1, app-a-1", "{f:?}");
    let during = loss
        .report
        .phases
        .iter()
        .find(|p| p.phase.name.starts_with("fault 1"))
        .and_then(|p| p.latency_ms)
        .expect("a phase for the fault");
    assert!(
        during.max > 150.0,
        "30 % loss costs retransmissions (≥ 200 ms): max {} ms",
        during.max
    );
    assert_writes_measured_and_kept(&loss);

    // Every cut healed: no faultline chain is left in any container of the
    // shop, and the bystander is exactly as it was.
    for service in SHOP_SERVICES {
        let c = service_container(&engine, service).await;
        let rules = netns_rules(&c);
        assert!(
            !rules.contains("FL-"),
            "{service} keeps a faultline chain:\n{rules}"
        );
    }
    assert_eq!(
        bystander.state(),
        before,
        "the unrelated project is untouched"
    );

    // A run killed (SIGKILL) while a fault is in force leaves it in force;
    // its undo log on disk lets faultline put it back (as `faultline clean`
    // and the next run on the project do).
    killed_run_is_undone(&engine, &stack_file).await;

    // A scenario naming a service the project does not have is refused
    // before anything is touched, with the names there are.
    let typo = std::env::temp_dir().join(format!("faultline-typo-{}.toml", std::process::id()));
    std::fs::write(
        &typo,
        "name = \"typo\"\n[load]\nrate = 10\nduration = \"10s\"\n\n[[fault]]\nkind = \"pod-kill\"\nat = \"2s\"\ntarget = { service = \"app-x\" }\nrestart_after = \"2s\"\n",
    )
    .unwrap();
    let validate = |file: &Path| {
        Cli::try_parse_from([
            "faultline".as_ref(),
            "validate".as_ref(),
            "--stack".as_ref(),
            stack_file.as_os_str(),
            file.as_os_str(),
        ])
        .unwrap()
    };
    assert_eq!(
        dispatch(validate(&example("scenarios/partition.toml")))
            .await
            .unwrap(),
        faultline::Exit::Pass,
        "validate --stack checks the example's scenarios against the running project"
    );
    let e = dispatch(validate(&typo)).await.unwrap_err();
    assert_eq!(e.exit(), faultline::Exit::BadInput, "{e}");
    let e = faultline::userstack::run::run_file(&typo, &stack_file, &options(true))
        .await
        .unwrap_err();
    let _ = std::fs::remove_file(&typo);
    assert_eq!(e.exit(), faultline::Exit::BadInput);
    let text = e.to_string();
    assert!(text.contains(":9:"), "file:line:column: {text}");
    assert!(
        text.contains("app-a") && text.contains("db-primary"),
        "{text}"
    );
    let _ = std::fs::remove_file(&stack_file);
}

/// The example's stack file, pointed at the test's project name.
fn test_stack_file() -> PathBuf {
    let text = std::fs::read_to_string(example("stack.toml"))
        .unwrap()
        .replace(
            "project = \"compose-shop\"",
            "project = \"faultline-test-shop\"",
        );
    assert!(text.contains("faultline-test-shop"));
    let path = std::env::temp_dir().join(format!("faultline-shop-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn options(dry_run: bool) -> faultline::run::RunOptions {
    faultline::run::RunOptions {
        out_dir: Some(
            std::env::temp_dir().join(format!("faultline-shop-reports-{}", std::process::id())),
        ),
        dry_run,
        quiet: true,
        seed: Some(7),
        ..Default::default()
    }
}

/// Runs one of the example's scenarios against the test's project.
async fn drill(scenario: &str, stack_file: &Path) -> faultline::run::RunOutcome {
    let path = example("scenarios").join(scenario);
    faultline::userstack::run::run_file(&path, stack_file, &options(false))
        .await
        .unwrap_or_else(|e| panic!("{scenario}: {e}"))
}

fn only_fault(o: &faultline::run::RunOutcome) -> &faultline::report::FaultRecord {
    assert_eq!(o.report.faults.len(), 1, "{}", o.report.scenario);
    let f = &o.report.faults[0];
    assert!(f.error.is_none(), "{}: {f:?}", o.report.scenario);
    assert!(
        f.reverted_at.is_some(),
        "{}: reverted: {f:?}",
        o.report.scenario
    );
    f
}

/// Lost writes were read from the shop's database, and none was lost.
fn assert_writes_measured_and_kept(o: &faultline::run::RunOutcome) {
    let rpo = &o.report.metrics.rpo;
    assert_eq!(rpo.not_measured, None, "{}", o.report.scenario);
    assert!(
        rpo.acked > 50,
        "{}: {} writes acknowledged",
        o.report.scenario,
        rpo.acked
    );
    assert_eq!(rpo.lost, 0, "{}: {:?}", o.report.scenario, rpo.lost_writes);
}

async fn service_container(engine: &faultline::platform::docker::Engine, service: &str) -> String {
    faultline::platform::docker::compose::service_containers(engine, "faultline-test-shop", service)
        .await
        .unwrap()
        .remove(0)
}

/// `iptables -S` in a container's network namespace.
fn netns_rules(container: &str) -> String {
    let pid = Command::new("docker")
        .args(["inspect", "-f", "{{.State.Pid}}", container])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&pid.stdout).trim().to_string();
    let out = Command::new("nsenter")
        .args(["-t", &pid, "-n", "iptables", "-S"])
        .output()
        .unwrap();
    assert!(out.status.success(), "iptables -S in {container}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A second Compose project, unrelated to the shop: one idle container.
struct Bystander {
    project: ComposeProject,
}

impl Bystander {
    fn up() -> Bystander {
        let file =
            std::env::temp_dir().join(format!("faultline-bystander-{}.yml", std::process::id()));
        std::fs::write(
            &file,
            "version: \"2.4\"\nservices:\n  idle:\n    image: faultline/base:latest\n    command: [\"sleep\", \"infinity\"]\n    labels:\n      shop.zone: b\n",
        )
        .unwrap();
        Bystander {
            project: ComposeProject::up(&file, "faultline-test-bystander"),
        }
    }

    /// Its container's id, state, start time, process, CPU limits and
    /// network rules, as `docker inspect` and `iptables -S` show them.
    fn state(&self) -> String {
        let out = self.project.compose(&["ps", "-q"]);
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(!id.is_empty(), "the bystander runs");
        let inspect = Command::new("docker")
            .args([
                "inspect",
                "-f",
                "{{.Id}} {{.State.Status}} {{.State.Paused}} {{.State.StartedAt}} {{.State.Pid}} {{.RestartCount}} {{.HostConfig.CpuQuota}} {{.HostConfig.NanoCpus}}",
                &id,
            ])
            .output()
            .unwrap();
        let inspect = String::from_utf8_lossy(&inspect.stdout).trim().to_string();
        let pid = inspect.split(' ').nth(4).unwrap().to_string();
        let rules = Command::new("nsenter")
            .args(["-t", &pid, "-n", "iptables", "-S"])
            .output()
            .unwrap();
        format!("{inspect}\n{}", String::from_utf8_lossy(&rules.stdout))
    }
}

impl Drop for Bystander {
    fn drop(&mut self) {
        // Down while its file is still there; then the file goes.
        self.project.compose(&["down", "-v", "--remove-orphans"]);
        let _ = std::fs::remove_file(&self.project.file);
    }
}

/// Runs the `faultline` binary (built beside this test) with a scenario
/// that freezes app-c, SIGKILLs it while app-c is frozen, and checks that
/// the undo log puts app-c back.
async fn killed_run_is_undone(engine: &faultline::platform::docker::Engine, stack_file: &Path) {
    let bin = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("faultline");
    assert!(
        bin.exists(),
        "the faultline binary is built: {}",
        bin.display()
    );
    let scenario =
        std::env::temp_dir().join(format!("faultline-pause-{}.toml", std::process::id()));
    std::fs::write(
        &scenario,
        "name = \"pause-app-c\"\n[load]\nrate = 10\nduration = \"40s\"\n\n[[fault]]\nkind = \"pod-pause\"\nat = \"3s\"\ntarget = { service = \"app-c\" }\nduration = \"30s\"\n",
    )
    .unwrap();
    let mut child = Command::new(&bin)
        .arg("run")
        .arg(&scenario)
        .arg("--stack")
        .arg(stack_file)
        .arg("--out")
        .arg(std::env::temp_dir().join(format!("faultline-killed-{}", std::process::id())))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let app_c = service_container(engine, "app-c").await;
    eventually(Duration::from_secs(60), "the run freezes app-c", || async {
        (engine.state(&app_c).await.ok()?.status == "paused").then_some(())
    })
    .await;
    // Give the log its line (written right after the engine's call).
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_file(&scenario);
    assert_eq!(
        engine.state(&app_c).await.unwrap().status,
        "paused",
        "left frozen"
    );
    let log = dirs_undo().join(format!("faultline-test-shop.{}.jsonl", child.id()));
    assert!(log.exists(), "the killed run's undo log: {}", log.display());

    let platform = faultline::platform::Platform::Docker(engine.clone());
    let r = faultline::userstack::undo::recover(&platform, Some("faultline-test-shop")).await;
    assert_eq!(
        r.undone,
        vec![("faultline-test-shop".to_string(), 1)],
        "{r:?}"
    );
    assert!(r.failed.is_empty(), "{r:?}");
    assert_eq!(
        engine.state(&app_c).await.unwrap().status,
        "running",
        "thawed"
    );
    assert!(!log.exists(), "the log is gone once everything is back");
}

fn dirs_undo() -> PathBuf {
    faultline::project::cache_dir().join("undo")
}
