//! Backups and restores for real: the stack archives WAL and takes base
//! backups into its backup region with pgBackRest; a region loss destroys
//! every database node and its disk, and the restore brings back exactly
//! what the archive held.

mod support;

use std::time::Duration;

use faultline::faults::kinds::region_loss::RegionLoss;
use faultline::faults::{self, Action, FaultSpec};
use faultline::measure::summary::RtoMeasure;
use faultline::stack::{ready, Service, Stack, StackSettings};
use faultline::workload::verify::present_orders;
use support::{create_order, eventually, fault_context, http, start_stack};
use uuid::Uuid;

/// Settings for these tests: the archive timeout long enough that no WAL
/// segment is archived behind the test's back, and a gateway breaker that
/// half-opens after 5 s so a short run sees writes come back.
fn settings() -> StackSettings {
    let mut s = StackSettings {
        archive_interval: Duration::from_secs(600),
        ..StackSettings::default()
    };
    s.gateway.breaker_reset_timeout = Duration::from_secs(5);
    s
}

/// The restore's steps, in the order they happen.
const RESTORE_STEPS: [&str; 6] = [
    "detected",
    "dcs-cleared",
    "restored",
    "replayed",
    "promoted",
    "rejoined",
];

fn region_loss() -> FaultSpec {
    FaultSpec {
        action: Action::RegionLoss(RegionLoss {
            broker_store: false,
            cache: false,
        }),
        duration: Some(Duration::from_secs(1)),
        permanent: false,
    }
}

/// `n` orders written one after another, each acknowledged.
async fn write_orders(stack: &Stack, n: usize) -> Vec<Uuid> {
    let client = http();
    let ingress = stack.ingress_url().unwrap();
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(
            eventually(Duration::from_secs(30), "an order is acknowledged", || {
                create_order(&client, &ingress)
            })
            .await,
        );
    }
    ids
}

/// Closes the WAL segment being written and waits until the backup region
/// holds it: every write acknowledged before this returns is archived.
async fn archive_current_segment(stack: &Stack) {
    let leader = ready::leader(stack).await.expect("a leader");
    let db = stack.pg_connect(&leader, "postgres").await.unwrap();
    let segment: String = db
        .query_one("SELECT pg_walfile_name(pg_switch_wal())", &[])
        .await
        .unwrap()
        .get(0);
    eventually(
        Duration::from_secs(60),
        "the segment is archived",
        || async {
            let row = db
                .query_one("SELECT last_archived_wal FROM pg_stat_archiver", &[])
                .await
                .ok()?;
            let last: Option<String> = row.get(0);
            // WAL file names sort in WAL order on one timeline (24 hex digits;
            // `.partial`, `.backup` and `.history` files carry a suffix).
            last.filter(|l| l.len() >= 24 && l[..24] >= *segment)
                .map(|_| ())
        },
    )
    .await;
}

/// Base backups in the backup region, as pgBackRest lists them.
async fn base_backups(stack: &Stack) -> usize {
    let leader = ready::leader(stack).await.unwrap_or_default();
    ready::base_backups(stack, &leader).await.unwrap_or(0)
}

/// The quick region-loss scenario (`tests/fixtures/region-loss-quick.toml`)
/// run by the harness on `stack`, its reports written to `out`.
async fn run_quick_region_loss(
    stack: &Stack,
    seed: u64,
    out: &std::path::Path,
) -> Result<faultline::RunOutcome, faultline::Error> {
    let root = faultline::project::root();
    faultline::Prepared::load(root.join("tests/fixtures/region-loss-quick.toml"))
        .unwrap()
        .seed(seed)
        .out_dir(out)
        .run(stack)
        .await
}

/// The report's check whose name starts with `prefix`.
fn check<'a>(report: &'a faultline::report::Report, prefix: &str) -> &'a faultline::verdict::Check {
    report
        .checks
        .iter()
        .find(|c| c.name.starts_with(prefix))
        .unwrap_or_else(|| panic!("a check named {prefix}…"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_region_loss_loses_exactly_the_writes_after_the_last_archived_segment() {
    let stack = start_stack(settings()).await;
    let archived = write_orders(&stack, 20).await;
    archive_current_segment(&stack).await;
    let unarchived = write_orders(&stack, 20).await;

    let ctx = fault_context(&stack);
    let injected = faults::inject(&ctx, 0, &region_loss()).await.unwrap();
    assert_eq!(injected.targets, ["pg-a", "pg-b"]);
    for n in stack.nodes_of(Service::Postgres) {
        assert!(
            stack.platform().state(&n.container).await.is_err(),
            "{} is destroyed",
            n.name
        );
    }
    let reverted = match faults::revert(&ctx, &injected).await {
        Ok(r) => r,
        Err(e) => {
            support::dump_logs(&stack, &["pg-a", "pg-b"]).await;
            panic!("the restore failed: {e}");
        }
    };
    let steps: Vec<&str> = reverted.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(steps, RESTORE_STEPS);
    assert!(
        reverted.steps.windows(2).all(|w| w[0].at_us <= w[1].at_us),
        "steps in order: {:?}",
        reverted.steps
    );

    // Read from the restored database itself.
    let all: Vec<Uuid> = archived.iter().chain(&unarchived).copied().collect();
    let present = present_orders(&stack, &all).await.unwrap();
    let missing: Vec<&Uuid> = archived.iter().filter(|id| !present.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "archived writes missing after the restore: {missing:?}"
    );
    let kept: Vec<&Uuid> = unarchived
        .iter()
        .filter(|id| present.contains(id))
        .collect();
    assert!(
        kept.is_empty(),
        "writes after the last archived segment cannot come back: {kept:?}"
    );
    assert!(
        reverted.recovered_to_unix_ms.is_some(),
        "the restored point is read"
    );

    // A replica streams from the restored leader, and the services write again.
    let cluster = ready::patroni_cluster(&stack).await;
    assert_eq!(
        cluster.iter().filter(|(_, s)| s.is_some()).count(),
        2,
        "{cluster:?}"
    );
    write_orders(&stack, 1).await;

    // The restored cluster backs itself up again: a second region loss on
    // it, driven by the harness, is restored and reported.
    eventually(
        Duration::from_secs(120),
        "a base backup of the restored cluster",
        || async { (base_backups(&stack).await >= 2).then_some(()) },
    )
    .await;
    let out = std::env::temp_dir().join(format!("faultline-region-loss-{}", std::process::id()));
    let outcome = run_quick_region_loss(&stack, 11, &out).await.unwrap();
    let report = &outcome.report;
    let restore = check(report, "restore: fault 1");
    eprintln!("{}", faultline::report::console::render(report));
    assert!(restore.pass, "{restore:?}");
    let fault = &report.faults[0];
    assert_eq!(fault.rto_basis, RtoMeasure::FirstWrite);
    assert!(
        fault.rto_ms.is_some(),
        "writes were served again within the run"
    );
    // The report names the restored point, the count and the times of the
    // writes lost, and that every one came after the point.
    let lost = report.metrics.rpo.lost;
    assert!(
        restore.note.contains("restored to ")
            && restore
                .note
                .contains(&format!("{lost} acknowledged writes lost"))
            && (lost == 0 || restore.note.contains("all after it")),
        "{}",
        restore.note
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let steps: Vec<&str> = json["faults"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[0].as_str().unwrap())
        .collect();
    assert_eq!(steps, RESTORE_STEPS);
    let _ = std::fs::remove_dir_all(&out);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_backup_region_fails_the_restore_check_with_the_reason_and_leaves_the_harness_usable(
) {
    let stack = start_stack(settings()).await;
    write_orders(&stack, 5).await;
    // Overwrite pgBackRest's list of backups (and its copy) in the backup region.
    let leader = ready::leader(&stack).await.unwrap();
    let container = &stack.node(&leader).unwrap().container;
    let (code, out) = stack
        .platform()
        .exec(
            container,
            "postgres",
            &[
                "sh",
                "-c",
                "for f in /var/lib/pgbackrest/backup/*/backup.info*; do echo garbage > \"$f\"; done",
            ],
        )
        .await
        .unwrap();
    assert_eq!(code, 0, "{out}");

    let out = std::env::temp_dir().join(format!("faultline-corrupt-backup-{}", std::process::id()));
    let started = std::time::Instant::now();
    let outcome = run_quick_region_loss(&stack, 12, &out)
        .await
        .expect("a failed restore is a finding, not a harness error");
    let report = &outcome.report;
    eprintln!("{}", faultline::report::console::render(report));
    assert_eq!(report.verdict, "fail");
    let restore = check(report, "restore: fault 1");
    assert!(!restore.pass);
    assert!(
        restore.note.contains("ERROR: ["),
        "pgBackRest's reason: {}",
        restore.note
    );
    let rpo = check(report, "rpo: fault 1");
    assert!(!rpo.pass && rpo.measured.is_none(), "never a pass: {rpo:?}");
    assert!(report.metrics.rpo.not_measured.is_some());
    assert!(
        started.elapsed() < Duration::from_secs(180),
        "no long wait for a database that will not come: {:?}",
        started.elapsed()
    );

    // Usable: the stack comes down whole — containers, network and every
    // volume, the backup region included — nothing of it left behind.
    stack.down().await.unwrap();
    let left = stack.platform().runs().await.unwrap();
    assert!(
        !left.iter().any(|(run, _)| run == &stack.run),
        "nothing of run {} left: {left:?}",
        stack.run
    );
    let _ = std::fs::remove_dir_all(&out);
}
