//! The console summary: the verdict, a table of checks (✓/✗), key metrics
//! and the command that replays the run.

use tabled::settings::Style;
use tabled::{Table, Tabled};

use super::{fmt_measured, fmt_ms, Report};

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "")]
    mark: &'static str,
    #[tabled(rename = "CHECK")]
    name: String,
    #[tabled(rename = "LIMIT")]
    limit: String,
    #[tabled(rename = "MEASURED")]
    measured: String,
    #[tabled(rename = "SOURCE")]
    source: String,
}

/// Renders the summary.
pub fn render(r: &Report) -> String {
    let rows: Vec<Row> = r
        .checks
        .iter()
        .map(|c| Row {
            mark: if c.pass { "✓" } else { "✗" },
            name: c.name.clone(),
            limit: format!("{}{}", c.limit, if c.default { " (default)" } else { "" }),
            measured: fmt_measured(c),
            source: shorten(&c.source, 60),
        })
        .collect();
    let mut out = String::new();
    let verdict = if r.verdict == "pass" { "PASS" } else { "FAIL" };
    out.push_str(&format!(
        "{verdict}  {} on {} (seed {}){}\n",
        r.scenario,
        r.system,
        r.seed,
        if r.interrupted {
            " — interrupted, partial"
        } else {
            ""
        }
    ));
    out.push_str(&Table::new(rows).with(Style::rounded()).to_string());
    out.push('\n');
    let m = &r.metrics;
    out.push_str(&format!(
        "availability {:.3} %  error rate {:.3} %  latency p50 {} p95 {} p99 {} max {}\n",
        m.availability * 100.0,
        m.error_rate * 100.0,
        fmt_ms(m.latency_ms.p50),
        fmt_ms(m.latency_ms.p95),
        fmt_ms(m.latency_ms.p99),
        fmt_ms(m.latency_ms.max)
    ));
    out.push_str(&format!(
        "writes acknowledged / lost / recovered: {}  requests: {} ({:.1}/s)\nevents: {}\n",
        super::fmt_writes(&m.rpo),
        m.requests,
        m.achieved_rate,
        super::fmt_events(&m.events)
    ));
    for e in &m.events.lost_events {
        out.push_str(&format!(
            "  lost event {} ({}): {}\n",
            e.order,
            e.stage.name(),
            e.evidence
        ));
    }
    for f in &r.faults {
        out.push_str(&format!(
            "fault at {:.1}s: {} [{}] → RTO {}{}\n",
            f.injected_at_s,
            f.label,
            f.target,
            super::fmt_rto(f),
            f.error
                .as_ref()
                .map(|e| format!(" (error: {e})"))
                .unwrap_or_default()
        ));
    }
    if r.uses_defaults {
        out.push_str("limits marked (default) are faultline defaults, not documented targets\n");
    }
    out.push_str(&format!("replay: {}\n", r.command));
    out
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_summary_marks_each_check() {
        let (r, _) = super::super::sample::report();
        let out = render(&r);
        assert!(out.starts_with("FAIL  orders-pod-kill on customer-service (seed 42)"));
        assert!(out.contains("✓") && out.contains("✗"));
        assert!(out.contains("(default)"));
        assert!(out.contains("replay: faultline run"));
    }
}
