//! The scenario suite runner fails exactly the scenario whose checks fail,
//! and says which check.

use std::process::Command;

/// The `scenarios` test binary, built beside this one.
fn scenarios_binary() -> std::path::PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    std::fs::read_dir(&deps)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            name.starts_with("scenarios-") && !name.contains('.')
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .expect("the scenarios test binary (cargo test builds it with this one)")
}

#[test]
fn a_deliberately_failing_scenario_fails_exactly_its_test() {
    let root = faultline::project::root();
    let out = Command::new(scenarios_binary())
        .env("FAULTLINE_SUITE", root.join("tests/fixtures/selftest.toml"))
        .current_dir(&root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("test selftest::quick      ... ok")
            || stdout.contains("test selftest::quick ... ok"),
        "{stdout}"
    );
    assert!(
        stdout.contains("selftest::impossible") && stdout.contains("FAILED"),
        "{stdout}"
    );
    assert!(stdout.contains("1 passed; 1 failed"), "{stdout}");
    assert!(
        stdout.contains("failed checks: p99"),
        "the failure names the check:\n{stdout}"
    );
}
