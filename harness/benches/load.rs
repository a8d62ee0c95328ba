//! `make bench-load`: faultline's open-loop generator against oha, side by
//! side on the same trivial local target (`faultline-target`), at 1k and 5k
//! req/s and at each tool's maximum. Both run as child processes; CPU is
//! the children's user + system time as bash's `times` reports it, so both
//! are measured the same way. Not a test: it prints a table for
//! BENCHMARKS.md.
//!
//! oha is found on PATH, in `$OHA`, or in the cache; otherwise it is
//! `cargo install`ed into the cache (a few minutes, once).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

const DURATION_S: u64 = 10;

fn cache() -> PathBuf {
    std::env::var_os("FAULTLINE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/faultline")
        })
}

fn oha() -> PathBuf {
    if let Some(p) = std::env::var_os("OHA") {
        return PathBuf::from(p);
    }
    if let Ok(out) = Command::new("sh").args(["-c", "command -v oha"]).output() {
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !p.is_empty() {
            return PathBuf::from(p);
        }
    }
    let root = cache().join("tools/oha");
    let bin = root.join("bin/oha");
    if !bin.is_file() {
        eprintln!("installing oha into {} (once)", root.display());
        let ok = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["install", "oha", "--locked", "--root"])
            .arg(&root)
            .env("CARGO_TARGET_DIR", cache().join("oha-target"))
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "cargo install oha failed");
    }
    bin
}

/// Runs `cmd` under `perf stat -e task-clock` and returns (stdout, CPU
/// seconds of the process and all its threads). task-clock is the
/// scheduler's exact on-CPU time; tick-sampled accounting (`times`,
/// `/proc/<pid>/stat`) misjudges programs that wake thousands of times a
/// second for microseconds each.
fn timed(cmd: &str) -> (String, f64) {
    let out = Command::new("bash")
        .args(["-c", &format!("perf stat -x, -e task-clock -- {cmd}")])
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ms: f64 = stderr
        .lines()
        .find(|l| l.contains("task-clock"))
        .and_then(|l| l.split(',').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no task-clock from perf: {stderr}"));
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        ms / 1000.0,
    )
}

/// The median of three runs, by CPU per request.
fn median3(mut f: impl FnMut() -> Row) -> Row {
    let mut rows = vec![f(), f(), f()];
    rows.sort_by(|a, b| a.cpu_per_10k.total_cmp(&b.cpu_per_10k));
    rows.swap_remove(1)
}

struct Row {
    tool: &'static str,
    target: String,
    achieved: f64,
    cpu_per_10k: f64,
    p50_ms: f64,
    p99_ms: f64,
    lateness_p99_ms: Option<f64>,
    rss_mib: Option<f64>,
}

fn faultline_run(url: &str, rate: f64, threads: usize) -> Row {
    let bin = env!("CARGO_BIN_EXE_faultline");
    let (out, cpu) = timed(&format!(
        "{bin} load {url} --rate {rate} --duration {DURATION_S}s --threads {threads} --json"
    ));
    let v: Value = serde_json::from_str(out.trim()).expect("faultline load prints JSON");
    let sent = v["sent"].as_f64().unwrap_or(0.0);
    Row {
        tool: "faultline",
        target: format!("{rate}"),
        achieved: v["achieved_rate"].as_f64().unwrap_or(0.0),
        cpu_per_10k: cpu / sent.max(1.0) * 10_000.0,
        p50_ms: v["latency_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        p99_ms: v["latency_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
        lateness_p99_ms: v["lateness_ms"]["p99_ms"].as_f64(),
        rss_mib: v["peak_rss_mib"].as_f64(),
    }
}

fn oha_run(oha: &std::path::Path, url: &str, rate: Option<f64>) -> Row {
    let q = rate
        .map(|r| format!("-q {r} --latency-correction"))
        .unwrap_or_default();
    let (out, cpu) = timed(&format!(
        "{} {q} -z {DURATION_S}s --no-tui --output-format json {url}",
        oha.display()
    ));
    let v: Value = serde_json::from_str(out.trim()).expect("oha prints JSON");
    let rps = v["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0);
    let sent = rps * DURATION_S as f64;
    Row {
        tool: "oha",
        target: rate
            .map(|r| format!("{r}"))
            .unwrap_or_else(|| "max (-c 50)".into()),
        achieved: rps,
        cpu_per_10k: cpu / sent.max(1.0) * 10_000.0,
        p50_ms: v["latencyPercentiles"]["p50"].as_f64().unwrap_or(f64::NAN) * 1000.0,
        p99_ms: v["latencyPercentiles"]["p99"].as_f64().unwrap_or(f64::NAN) * 1000.0,
        lateness_p99_ms: None,
        rss_mib: None,
    }
}

fn print(rows: &[Row]) {
    println!("| tool | target req/s | achieved req/s | CPU s / 10k req | p50 ms | p99 ms | generator lateness p99 ms | peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        let opt = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "n/a".into());
        println!(
            "| {} | {} | {:.1} | {:.3} | {:.3} | {:.3} | {} | {} |",
            r.tool,
            r.target,
            r.achieved,
            r.cpu_per_10k,
            r.p50_ms,
            r.p99_ms,
            opt(r.lateness_p99_ms),
            opt(r.rss_mib)
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benchmarks; this one runs only on demand.
    }
    let oha = oha();
    let mut target = Command::new(env!("CARGO_BIN_EXE_faultline-target"))
        .args(["0", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("faultline-target starts");
    let mut line = String::new();
    BufReader::new(target.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = format!(
        "http://{}/",
        line.trim().trim_start_matches("listening on ")
    );
    if Command::new("perf").arg("--version").output().is_err() {
        panic!("perf is needed for exact CPU times: apt-get install linux-perf (make bench does)");
    }
    eprintln!("target {url}; {DURATION_S} s per run");

    let mut rows = Vec::new();
    for rate in [1000.0, 5000.0] {
        rows.push(median3(|| faultline_run(&url, rate, 1)));
        rows.push(median3(|| oha_run(&oha, &url, Some(rate))));
    }
    // Maximum: oha closed-loop (its fastest), then faultline open-loop at
    // rising rates until it can no longer keep the schedule.
    let oha_max = oha_run(&oha, &url, None);
    rows.push(oha_max);
    let mut best: Option<Row> = None;
    for rate in [
        10_000.0, 20_000.0, 30_000.0, 40_000.0, 50_000.0, 60_000.0, 70_000.0, 80_000.0, 90_000.0,
        100_000.0,
    ] {
        let r = faultline_run(&url, rate, 2);
        let kept = r.achieved >= 0.99 * rate && r.lateness_p99_ms.unwrap_or(f64::MAX) <= 2.0;
        eprintln!(
            "faultline at {rate}: achieved {:.0}, lateness p99 {:?} → {}",
            r.achieved,
            r.lateness_p99_ms,
            if kept { "sustained" } else { "not sustained" }
        );
        if !kept {
            break;
        }
        best = Some(r);
    }
    if let Some(mut b) = best {
        b.target = format!("max sustained ({})", b.target);
        rows.push(b);
    }
    // Memory with length: the same rate for 6× as long.
    let long = {
        let bin = env!("CARGO_BIN_EXE_faultline");
        let (out, _) = timed(&format!(
            "{bin} load {url} --rate 5000 --duration 60s --json"
        ));
        let v: Value = serde_json::from_str(out.trim()).unwrap_or_default();
        v["peak_rss_mib"].as_f64()
    };
    let _ = target.kill();
    let _ = target.wait();
    print(&rows);
    println!(
        "\nfaultline peak RSS at 5000 req/s: 10 s run {:?} MiB, 60 s run {:?} MiB",
        rows[2].rss_mib, long
    );
}
