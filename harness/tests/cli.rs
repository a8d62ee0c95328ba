//! The `faultline` binary seen from outside: exit codes and messages.

use std::process::Command;

fn faultline() -> Command {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
}

#[test]
fn no_docker_engine_exits_3_with_one_sentence() {
    let out = faultline()
        .args(["status"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach a Docker engine"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn a_remote_engine_is_refused_without_allow_remote() {
    let out = faultline()
        .args(["status"])
        .env("DOCKER_HOST", "tcp://192.0.2.10:2375")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-remote"), "{err}");
}

#[test]
fn an_unknown_flag_is_bad_input() {
    let out = faultline().args(["up", "--no-such-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn write_tmp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn validate_names_file_line_and_column_and_exits_2() {
    let p = write_tmp(
        "typo.toml",
        "name = \"x\"\nsystem = \"customer-service\"\n[load]\nrate = 10\nduration = \"30s\"\n[[fault]]\nkind = \"pod-kil\"\nat = \"5s\"\n",
    );
    let out = faultline().args(["validate"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:7:8: fault 1: unknown kind \"pod-kil\"",
            p.display()
        )),
        "{err}"
    );
    assert!(err.contains("hint: kinds are pod-kill"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn every_shipped_scenario_validates() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let mut files: Vec<_> = std::fs::read_dir(root.join("scenarios"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 13, "one scenario per fault kind and more");
    let out = faultline()
        .arg("validate")
        .args(&files)
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_unknown_system_is_bad_input() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let out = faultline()
        .args(["validate", "scenarios/steady.toml", "--system", "nope"])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("known systems: customer-service"));
}

#[test]
fn targets_prints_every_system() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let out = faultline()
        .arg("targets")
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for system in [
        "ias",
        "customer-service",
        "foohut",
        "mindcompute",
        "rent-to-own",
    ] {
        assert!(text.contains(system), "{system} missing");
    }
    assert!(text.contains("RTO (Recovery Time Objective): < 15 minutes"));
}

#[test]
fn dry_run_prints_the_plan_and_touches_nothing() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    // No Docker engine at all: a dry run must not need one.
    let out = faultline()
        .args(["run", "scenarios/bad-day.toml", "--dry-run", "--seed", "3"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = String::from_utf8_lossy(&out.stderr);
    assert!(plan.contains("(seed 3)"));
    assert!(
        plan.contains("fault 2: at 15s az-isolation zone a (until 45s)"),
        "{plan}"
    );
    assert!(plan.contains("fault 3: at 25s db-failover kill-leader"));

    // --json: the same plan as a value on stdout, the run's plan.json.
    let out = faultline()
        .args([
            "run",
            "scenarios/bad-day.toml",
            "--dry-run",
            "--json",
            "--seed",
            "3",
        ])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(plan["seed"], 3);
    assert_eq!(plan["steps"][1]["id"], 1);
    assert_eq!(plan["steps"][1]["kind"], "az-isolation");
    assert_eq!(plan["steps"][1]["at_ms"], 15_000);
    assert_eq!(plan["steps"][1]["end"]["after"]["ms"], 30_000);
    // --json without --dry-run is a usage error.
    let out = faultline()
        .args(["run", "scenarios/bad-day.toml", "--json"])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
