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
