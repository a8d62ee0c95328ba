//! `faultline run` from the outside, against the real stack: exit codes,
//! report files, and what an interruption leaves behind (nothing).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use faultline::faults::toxics;
use faultline::platform::docker::Engine;
use faultline::platform::{Platform, LABEL_RUN};
use faultline::stack::topology::PROXY_API_PORT;
use faultline::stack::{MachineLock, Service, Stack};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn faultline() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_faultline"));
    c.current_dir(root());
    c
}

fn lock() -> MachineLock {
    MachineLock::acquire().expect("the machine-wide stack lock")
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn validate_report(dir: &Path) {
    for f in [
        "report.json",
        "report.md",
        "report.html",
        "junit.xml",
        "timeline.csv",
        "faults.jsonl",
        "plan.json",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing from {}", dir.display());
    }
    // The plan's step ids are the journal's and the results' ids.
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let plan: serde_json::Value = serde_json::from_str(&read("plan.json")).unwrap();
    let mut planned: Vec<u64> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    planned.sort();
    let mut journaled: Vec<u64> = read("faults.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] == "injected")
        .map(|v| v["id"].as_u64().unwrap())
        .collect();
    journaled.sort();
    assert_eq!(planned, journaled, "plan.json and faults.jsonl");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("reports/schema/report.schema.json")).unwrap(),
    )
    .unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "report.json breaks its schema: {errors:?}"
    );
}

#[test]
fn a_violated_target_exits_1_naming_the_check_and_a_looser_profile_passes() {
    let _lock = lock();
    let strict = out_dir("strict");
    let out = faultline()
        .args([
            "run",
            "scenarios/latency.toml",
            "--system",
            "customer-service",
            "--seed",
            "11",
            "--out",
        ])
        .arg(&strict)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("FAIL  latency on customer-service"),
        "{stdout}"
    );
    let failed: Vec<&str> = stdout.lines().filter(|l| l.contains("│ ✗ │")).collect();
    assert_eq!(failed.len(), 1, "exactly one failed check: {failed:?}");
    assert!(failed[0].contains("p95"), "{failed:?}");
    validate_report(&strict);
    let junit = std::fs::read_to_string(strict.join("junit.xml")).unwrap();
    assert!(junit.contains("<failure message=\"p95 measured"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(strict.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["faults"][0]["id"], 0);

    // `report DIR` renders the folder again, with the run's verdict as its
    // exit status; without timeline.csv it refuses rather than drawing
    // empty charts.
    let again = faultline().arg("report").arg(&strict).output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    std::fs::remove_file(strict.join("timeline.csv")).unwrap();
    let again = faultline().arg("report").arg(&strict).output().unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("timeline.csv"), "{stderr}");

    let loose = out_dir("loose");
    let out = faultline()
        .args([
            "run",
            "scenarios/latency.toml",
            "--system",
            "mindcompute",
            "--seed",
            "11",
            "--out",
        ])
        .arg(&loose)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("PASS  latency on mindcompute"));
    validate_report(&loose);
}

/// Starts `faultline run` on the interrupt fixture, waits until all three
/// faults are in force, and sends SIGINT. Returns its exit code and output.
fn interrupt_mid_run(extra: &[&str], out: &Path) -> (Option<i32>, String) {
    let mut child = faultline()
        .args([
            "run",
            "harness/tests/fixtures/interrupt.toml",
            "--seed",
            "5",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(child.id() as i32);
    let mut log = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("injected fault 3") {
            std::thread::sleep(Duration::from_secs(2));
            kill(pid, Signal::SIGINT).unwrap();
            break;
        }
        assert!(!line.contains("could not be injected"), "{log}");
    }
    for line in lines {
        log.push_str(&line.unwrap());
        log.push('\n');
    }
    let status = child.wait().unwrap();
    (status.code(), log)
}

#[test]
fn an_interrupted_run_reverts_every_fault_and_leaves_nothing_behind() {
    let _lock = lock();
    let rt = tokio::runtime::Runtime::new().unwrap();

    // Kept stack: after the interruption it must be whole — nothing
    // paused, no firewall chain, no toxic.
    let dir = out_dir("interrupt-keep");
    let (code, log) = interrupt_mid_run(&["--keep-stack"], &dir);
    assert_eq!(code, Some(130), "{log}");
    assert!(log.contains("interrupted"), "{log}");
    let run = log
        .lines()
        .find_map(|l| {
            l.strip_prefix("keeping stack ")
                .map(|r| r.split_whitespace().next().unwrap().to_string())
        })
        .unwrap_or_else(|| panic!("no kept stack in:\n{log}"));
    rt.block_on(async {
        let engine = Engine::connect(false).await.unwrap();
        let stack = Stack::attach(&Platform::Docker(engine.clone()), Some(&run))
            .await
            .unwrap();
        for n in &stack.nodes {
            let state = engine.inspect(&n.container).await.unwrap().state.unwrap();
            assert_eq!(
                state.status.map(|s| s.to_string()).as_deref(),
                Some("running"),
                "{} after the interrupt",
                n.name
            );
            let pid = state.pid.unwrap().to_string();
            for chain in ["FL-0", "FL-1", "FL-2"] {
                let out = Command::new("nsenter")
                    .args(["-t", &pid, "-n", "iptables", "-S", chain])
                    .output()
                    .unwrap();
                assert!(!out.status.success(), "chain {chain} left in {}", n.name);
            }
        }
        for p in stack.nodes_of(Service::Proxy) {
            for (proxy, t) in toxics::list(&p.addr(PROXY_API_PORT).unwrap())
                .await
                .unwrap()
            {
                assert!(t.is_empty(), "toxic left on {proxy}");
            }
        }
        stack.down().await.unwrap();
    });
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["interrupted"], true);

    // Without --keep-stack: every fault journaled as reverted, and no
    // container, network or volume of the run left.
    let dir = out_dir("interrupt-down");
    let (code, log) = interrupt_mid_run(&[], &dir);
    assert_eq!(code, Some(130), "{log}");
    let journal = std::fs::read_to_string(dir.join("faults.jsonl")).unwrap();
    let reverted = journal
        .lines()
        .filter(|l| l.contains("\"event\":\"reverted\""))
        .count();
    assert_eq!(reverted, 3, "{journal}");
    let run = log
        .lines()
        .find_map(|l| {
            l.strip_prefix("starting stack ")
                .map(|r| r.split_whitespace().next().unwrap().to_string())
        })
        .unwrap();
    rt.block_on(async {
        let engine = Engine::connect(false).await.unwrap();
        assert!(engine
            .containers(&[format!("{LABEL_RUN}={run}")])
            .await
            .unwrap()
            .is_empty());
        let platform = Platform::Docker(engine);
        assert!(!platform
            .runs()
            .await
            .unwrap()
            .iter()
            .any(|(r, _)| *r == run));
    });
}

/// Renders a report in headless Chromium: it must load (every chart
/// present in the rendered DOM) and paint a screenshot.
fn render_in_chromium(dir: &Path) {
    let html = dir.join("report.html");
    let url = format!("file://{}", html.display());
    let dom = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            &url,
        ])
        .output()
        .expect("chromium (installed by `make setup`) renders the report");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(
        dom.matches("<svg").count(),
        5,
        "the rendered page has its five charts"
    );
    assert!(dom.contains("Verdict"));
    let png = dir.join("report.png");
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1150,2600",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(out.status.success());
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 30_000,
        "a painted page, not a blank one ({size} bytes)"
    );
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let _lock = lock();
    let dir = out_dir("render");
    let out = faultline()
        .args(["run", "scenarios/cache-loss.toml", "--seed", "4", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    validate_report(&dir);
    render_in_chromium(&dir);
}
