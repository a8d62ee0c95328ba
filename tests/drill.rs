//! Two drills of the same system in a row: the second's report compares
//! them, scenario by scenario, with real figures from the history store.

mod support;

use faultline::drill::{read_history, run_on, DrillOptions};
use faultline::suite::Suite;
use support::start_stack;

#[tokio::test(flavor = "multi_thread")]
async fn a_second_drill_reports_the_trend_against_the_first() {
    let root = faultline::project::root();
    let profile =
        faultline::targets::load(&faultline::targets::profiles_dir(&root), "customer-service")
            .unwrap();
    let stack = start_stack(profile.stack.clone()).await;
    let suite = Suite::load(&root.join("tests/fixtures/drill-suite.toml")).unwrap();
    let work = std::env::temp_dir().join(format!("faultline-drill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let history = work.join("history.jsonl");
    let opts = |month: &str| DrillOptions {
        drills_dir: Some(work.join("drills")),
        history: Some(history.clone()),
        month: Some(month.into()),
        quiet: true,
        ..Default::default()
    };
    let (first, first_dir) = run_on(&stack, &suite, &profile, &opts("2026-10"))
        .await
        .unwrap();
    assert_eq!(first.scenarios.len(), 2);
    let md = std::fs::read_to_string(first_dir.join("drill.md")).unwrap();
    assert!(md.contains("first drill of customer-service on record"));

    let (second, second_dir) = run_on(&stack, &suite, &profile, &opts("2026-11"))
        .await
        .unwrap();
    assert_eq!(
        read_history(&history).drills.len(),
        2,
        "the store keeps both drills"
    );
    let md = std::fs::read_to_string(second_dir.join("drill.md")).unwrap();
    eprintln!("{md}");
    assert!(
        md.contains("Against the previous drill of customer-service (2026-10"),
        "{md}"
    );
    // Real figures on both sides: the kill's RTO and p99 as measured each time.
    let kill_before = &first.scenarios[1];
    let kill_now = &second.scenarios[1];
    let p99 = |ms: f64| faultline::report::fmt_ms(ms);
    let trend_line = md
        .lines()
        .rev()
        .find(|l| l.starts_with("| quick-kill |"))
        .expect("a trend row for quick-kill");
    assert!(
        trend_line.contains(&p99(kill_before.p99_ms)) && trend_line.contains(&p99(kill_now.p99_ms)),
        "{trend_line}"
    );
    assert!(second_dir.join("index.html").is_file() && second_dir.join("drill.json").is_file());
    assert!(
        second_dir.join("runs/quick-kill/report.html").is_file(),
        "every run's own report is linked"
    );
}
