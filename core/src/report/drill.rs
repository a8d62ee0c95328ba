//! The monthly DR drill report: documented targets against what each
//! scenario measured, pass/fail, the trend against the previous drill of
//! the same system, and a link to every run's own report. Pure.

use crate::drill::{DrillRecord, ScenarioResult};
use crate::targets::CheckKind;

use super::escape::markup as esc;
use super::fmt_ms;

/// What the drill page shows.
pub struct Drill<'a> {
    /// This drill.
    pub record: &'a DrillRecord,
    /// The previous drill of the same system, if any.
    pub previous: Option<&'a DrillRecord>,
    /// The system's title.
    pub profile_title: &'a str,
    /// Its seed document.
    pub document: &'a str,
    /// Its targets: (check, limit, source).
    pub targets: &'a [(CheckKind, String, String)],
    /// The document states no number.
    pub no_numeric_targets: bool,
}

fn limit_of<'a>(d: &Drill<'a>, check: CheckKind) -> Option<&'a str> {
    d.targets
        .iter()
        .find(|t| t.0 == check)
        .map(|t| t.1.as_str())
}

fn rto(r: &ScenarioResult) -> String {
    match (&r.error, r.rto_ms) {
        (Some(_), _) => "—".into(),
        // Only a fault that made no request bad reads exactly 0.
        (None, Some(0.0)) => "no outage".into(),
        (None, Some(ms)) => fmt_ms(ms),
        (None, None) if r.failed_checks.iter().any(|c| c.starts_with("rto")) => {
            "not recovered".into()
        }
        (None, None) => "no fault".into(),
    }
}

fn arrow(before: &str, now: &str) -> String {
    if before == now {
        format!("{now} (same)")
    } else {
        format!("{before} → {now}")
    }
}

fn delta_ms(before: Option<f64>, now: Option<f64>) -> String {
    match (before, now) {
        (Some(b), Some(n)) => {
            let d = n - b;
            let sign = if d >= 0.0 { "+" } else { "−" };
            format!("{} → {} ({sign}{})", fmt_ms(b), fmt_ms(n), fmt_ms(d.abs()))
        }
        (b, n) => arrow(
            &b.map(fmt_ms).unwrap_or_else(|| "—".into()),
            &n.map(fmt_ms).unwrap_or_else(|| "—".into()),
        ),
    }
}

/// A scenario's verdict with a mark every font has (emoji marks render as
/// empty boxes where no emoji font is installed, as in headless Chromium).
fn verdict_mark(v: &str) -> &'static str {
    match v {
        "pass" => "✓ pass",
        "fail" => "✗ fail",
        _ => "! error",
    }
}

/// The trend rows: one per scenario of this drill, against the same
/// scenario in the previous drill.
pub fn trend_rows(now: &DrillRecord, before: &DrillRecord) -> Vec<[String; 5]> {
    now.scenarios
        .iter()
        .map(|n| {
            let b = before.scenarios.iter().find(|b| b.scenario == n.scenario);
            match b {
                None => [
                    n.scenario.clone(),
                    "new in this drill".into(),
                    String::new(),
                    String::new(),
                    verdict_mark(&n.verdict).into(),
                ],
                Some(b) => [
                    n.scenario.clone(),
                    delta_ms(b.rto_ms, n.rto_ms),
                    arrow(&b.lost_writes.to_string(), &n.lost_writes.to_string()),
                    delta_ms(Some(b.p99_ms), Some(n.p99_ms)),
                    arrow(verdict_mark(&b.verdict), verdict_mark(&n.verdict)),
                ],
            }
        })
        .collect()
}

/// `drill.md`.
pub fn markdown(d: &Drill) -> String {
    let r = d.record;
    let mut s = format!(
        "# DR drill — {} ({}), {} — {}\n\nSuite `{}`, started {}, finished {}. Targets from `{}`.\n\n",
        d.profile_title,
        r.system,
        r.month,
        if r.pass { "✅ PASS" } else { "❌ FAIL" },
        r.suite,
        r.started_at,
        r.finished_at,
        d.document
    );
    if d.no_numeric_targets {
        s.push_str("> The system's document states no numeric target: every limit below is a faultline default.\n\n");
    }
    s.push_str("## Targets\n\n| check | limit | source |\n|---|---|---|\n");
    for (check, limit, source) in d.targets {
        s.push_str(&format!(
            "| {} | {limit} | {} |\n",
            check.name(),
            source.replace('|', "\\|")
        ));
    }
    let rto_limit = limit_of(d, CheckKind::Rto).unwrap_or("—");
    let rpo_limit = limit_of(d, CheckKind::Rpo).unwrap_or("—");
    s.push_str(&format!(
        "\n## Results\n\n| scenario | verdict | RTO (≤ {rto_limit}) | RPO window (≤ {rpo_limit}) | lost writes | availability | error budget | p95 | p99 | failed checks | report |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
    ));
    for x in &r.scenarios {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.3} % | {} | {} | {} | {} | {} |\n",
            x.scenario,
            verdict_mark(&x.verdict),
            rto(x),
            fmt_ms(x.rpo_window_ms),
            x.lost_writes,
            x.availability * 100.0,
            x.budget_share
                .map(|b| format!("{:.4} %", b * 100.0))
                .unwrap_or_else(|| "—".into()),
            fmt_ms(x.p95_ms),
            fmt_ms(x.p99_ms),
            x.error
                .clone()
                .unwrap_or_else(|| x.failed_checks.join(", "))
                .replace('|', "\\|"),
            if x.report.is_empty() {
                "—".into()
            } else {
                format!("[report]({})", x.report)
            }
        ));
    }
    let restores: Vec<&ScenarioResult> =
        r.scenarios.iter().filter(|x| x.restore.is_some()).collect();
    if !restores.is_empty() {
        s.push_str("\n## Restores from backup\n\n| scenario | steps (each after the one before) |\n|---|---|\n");
        for x in restores {
            s.push_str(&format!(
                "| {} | {} |\n",
                x.scenario,
                x.restore.clone().unwrap_or_default()
            ));
        }
    }
    s.push_str("\n## Trend\n\n");
    match d.previous {
        None => s.push_str(&format!(
            "This is the first drill of {} on record.\n",
            r.system
        )),
        Some(p) => {
            s.push_str(&format!(
                "Against the previous drill of {} ({}, started {}):\n\n| scenario | RTO | lost writes | p99 | verdict |\n|---|---|---|---|---|\n",
                r.system, p.month, p.started_at
            ));
            for row in trend_rows(r, p) {
                s.push_str(&format!("| {} |\n", row.join(" | ")));
            }
        }
    }
    s
}

/// `index.html`: the same, self-contained.
pub fn html(d: &Drill) -> String {
    let r = d.record;
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>DR drill {} {}</title><style>\
body{{font-family:sans-serif;margin:24px;max-width:1200px}}table{{border-collapse:collapse;margin:8px 0 20px;font-size:13px}}\
th,td{{border:1px solid #ccc;padding:4px 8px;text-align:left}}th{{background:#f3f3f3}}.pass{{color:#2d7a2d}}.fail{{color:#b52a2a}}\
</style></head><body>\n<h1>DR drill — {} ({}), {} <span class=\"{}\">{}</span></h1>\n<p>Suite <code>{}</code>, started {}, finished {}. Targets from <code>{}</code>.</p>\n",
        esc(&r.system),
        esc(&r.month),
        esc(d.profile_title),
        esc(&r.system),
        esc(&r.month),
        if r.pass { "pass" } else { "fail" },
        if r.pass { "PASS" } else { "FAIL" },
        esc(&r.suite),
        esc(&r.started_at),
        esc(&r.finished_at),
        esc(d.document)
    );
    if d.no_numeric_targets {
        s.push_str("<p><b>The system's document states no numeric target: every limit below is a faultline default.</b></p>\n");
    }
    s.push_str("<h2>Targets</h2>\n<table><tr><th>check</th><th>limit</th><th>source</th></tr>\n");
    for (check, limit, source) in d.targets {
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            check.name(),
            esc(limit),
            esc(source)
        ));
    }
    s.push_str("</table>\n<h2>Results</h2>\n<table><tr><th>scenario</th><th>verdict</th><th>RTO</th><th>RPO window</th><th>lost writes</th><th>availability</th><th>p95</th><th>p99</th><th>failed checks</th></tr>\n");
    for x in &r.scenarios {
        let name = if x.report.is_empty() {
            esc(&x.scenario)
        } else {
            format!("<a href=\"{}\">{}</a>", esc(&x.report), esc(&x.scenario))
        };
        s.push_str(&format!(
            "<tr><td>{name}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3} %</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            if x.verdict == "pass" { "pass" } else { "fail" },
            esc(verdict_mark(&x.verdict)),
            esc(&rto(x)),
            esc(&fmt_ms(x.rpo_window_ms)),
            x.lost_writes,
            x.availability * 100.0,
            esc(&fmt_ms(x.p95_ms)),
            esc(&fmt_ms(x.p99_ms)),
            esc(&x.error.clone().unwrap_or_else(|| x.failed_checks.join(", ")))
        ));
    }
    s.push_str("</table>\n");
    let restores: Vec<&ScenarioResult> =
        r.scenarios.iter().filter(|x| x.restore.is_some()).collect();
    if !restores.is_empty() {
        s.push_str("<h2>Restores from backup</h2>\n<table><tr><th>scenario</th><th>steps (each after the one before)</th></tr>\n");
        for x in restores {
            s.push_str(&format!(
                "<tr><td>{}</td><td>{}</td></tr>\n",
                esc(&x.scenario),
                esc(x.restore.as_deref().unwrap_or(""))
            ));
        }
        s.push_str("</table>\n");
    }
    s.push_str("<h2>Trend</h2>\n");
    match d.previous {
        None => s.push_str(&format!(
            "<p>This is the first drill of {} on record.</p>\n",
            esc(&r.system)
        )),
        Some(p) => {
            s.push_str(&format!(
                "<p>Against the previous drill of {} ({}, started {}):</p>\n<table><tr><th>scenario</th><th>RTO</th><th>lost writes</th><th>p99</th><th>verdict</th></tr>\n",
                esc(&r.system),
                esc(&p.month),
                esc(&p.started_at)
            ));
            for row in trend_rows(r, p) {
                s.push_str("<tr>");
                for c in row {
                    s.push_str(&format!("<td>{}</td>", esc(&c)));
                }
                s.push_str("</tr>\n");
            }
            s.push_str("</table>\n");
        }
    }
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(
        name: &str,
        verdict: &str,
        rto_ms: Option<f64>,
        lost: u64,
        p99: f64,
    ) -> ScenarioResult {
        ScenarioResult {
            scenario: name.into(),
            verdict: verdict.into(),
            rto_ms,
            rpo_window_ms: 0.0,
            lost_writes: lost,
            availability: 0.99,
            budget_share: None,
            p95_ms: 5.0,
            p99_ms: p99,
            failed_checks: Vec::new(),
            report: format!("runs/{name}/report.html"),
            error: None,
            restore: None,
        }
    }

    fn record(month: &str, scenarios: Vec<ScenarioResult>) -> DrillRecord {
        DrillRecord {
            system: "customer-service".into(),
            month: month.into(),
            started_at: format!("{month}-01T10:00:00Z"),
            finished_at: format!("{month}-01T10:10:00Z"),
            suite: "monthly-dr".into(),
            pass: scenarios.iter().all(|s| s.verdict == "pass"),
            scenarios,
            folder: String::new(),
        }
    }

    #[test]
    fn the_trend_compares_each_scenario_with_the_previous_drill() {
        let before = record(
            "2026-10",
            vec![result("db-failover", "pass", Some(9_800.0), 0, 120.0)],
        );
        let now = record(
            "2026-11",
            vec![
                result("db-failover", "fail", Some(12_300.0), 3, 150.0),
                result("broker-loss", "pass", Some(5.0), 0, 40.0),
            ],
        );
        let rows = trend_rows(&now, &before);
        assert_eq!(rows[0][1], "9.800 s → 12.300 s (+2.500 s)");
        assert_eq!(rows[0][2], "0 → 3");
        assert_eq!(rows[0][4], "✓ pass → ✗ fail");
        assert_eq!(rows[1][1], "new in this drill");
        let targets = vec![(CheckKind::Rto, "15m".to_string(), "doc".to_string())];
        let page = Drill {
            record: &now,
            previous: Some(&before),
            profile_title: "Customer Service",
            document: "001.txt",
            targets: &targets,
            no_numeric_targets: false,
        };
        let md = markdown(&page);
        assert!(
            md.contains("## Trend")
                && md.contains("Against the previous drill of customer-service (2026-10")
        );
        assert!(md.contains("[report](runs/db-failover/report.html)"));
        let h = html(&page);
        assert!(h.contains("<a href=\"runs/db-failover/report.html\">db-failover</a>"));
        let first = Drill {
            previous: None,
            ..page
        };
        assert!(markdown(&first).contains("first drill of customer-service on record"));
    }
}
