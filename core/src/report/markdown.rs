//! `report.md`: readable in a pull request or a wiki.

use super::{fmt_measured, fmt_ms, Report};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders the Markdown report.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let mark = if r.verdict == "pass" {
        "✅ PASS"
    } else {
        "❌ FAIL"
    };
    s.push_str(&format!("# {} — {mark}\n\n", r.scenario));
    if !r.description.is_empty() {
        s.push_str(&format!("{}\n\n", r.description));
    }
    s.push_str(&format!(
        "System **{}** ({}), seed {}, started {}, stack {}.{}\n\n",
        r.system_title,
        r.system,
        r.seed,
        r.started_at,
        r.run_id,
        if r.interrupted {
            " **Interrupted: partial results.**"
        } else {
            ""
        }
    ));
    s.push_str("## Checks\n\n| | check | limit | measured | source |\n|---|---|---|---|---|\n");
    for c in &r.checks {
        s.push_str(&format!(
            "| {} | {} | {}{} | {}{} | {} |\n",
            if c.pass { "✅" } else { "❌" },
            cell(&c.name),
            cell(&c.limit),
            if c.default { " *(default)*" } else { "" },
            fmt_measured(c),
            if c.note.is_empty() {
                String::new()
            } else {
                format!(" — {}", cell(&c.note))
            },
            cell(&c.source)
        ));
    }
    if r.uses_defaults {
        s.push_str("\n*(default)*: a faultline default, used where the system's document states no number.\n");
    }
    let m = &r.metrics;
    s.push_str("\n## Metrics\n\n| metric | value |\n|---|---|\n");
    s.push_str(&format!(
        "| availability | {:.3} % |\n",
        m.availability * 100.0
    ));
    s.push_str(&format!("| error rate | {:.3} % |\n", m.error_rate * 100.0));
    s.push_str(&format!(
        "| latency p50 / p95 / p99 / max | {} / {} / {} / {} |\n",
        fmt_ms(m.latency_ms.p50),
        fmt_ms(m.latency_ms.p95),
        fmt_ms(m.latency_ms.p99),
        fmt_ms(m.latency_ms.max)
    ));
    s.push_str(&format!(
        "| worst RTO | {} |\n",
        m.rto_ms
            .map(fmt_ms)
            .unwrap_or_else(|| if r.faults.is_empty() {
                "no fault".into()
            } else {
                "not recovered".into()
            })
    ));
    s.push_str(&format!(
        "| writes acknowledged / lost / recovered | {} |\n",
        cell(&super::fmt_writes(&m.rpo))
    ));
    s.push_str(&format!(
        "| worst RPO window | {} |\n",
        fmt_ms(m.rpo.window_ms)
    ));
    s.push_str(&format!(
        "| events | {} |\n",
        cell(&super::fmt_events(&m.events))
    ));
    if let Some(b) = &m.budget {
        s.push_str(&format!(
            "| monthly error budget consumed | {:.4} % ({:.1} s of {:.0} s at {:.3} %) |\n",
            b.share * 100.0,
            b.downtime_equivalent_seconds,
            b.budget_seconds,
            b.monthly_availability * 100.0
        ));
    }
    if let Some(l) = m.max_replication_lag_s {
        s.push_str(&format!("| worst replication lag | {l:.3} s |\n"));
    }
    if let Some(l) = m.max_consumer_lag {
        s.push_str(&format!("| worst consumer lag | {l:.0} messages |\n"));
    }
    s.push_str(&format!(
        "| requests | {} ({:.1}/s; generator lateness p99 {:.3} ms) |\n",
        m.requests, m.achieved_rate, m.generator_lateness_p99_ms
    ));
    if !r.faults.is_empty() {
        s.push_str("\n## Faults\n\n| # | fault | target | injected | reverted | RTO | lost writes | RPO window |\n|---|---|---|---|---|---|---|---|\n");
        for (i, f) in r.faults.iter().enumerate() {
            s.push_str(&format!(
                "| {} | {}{}{} | {} | {:.3} s | {} | {} | {} | {} |\n",
                i + 1,
                cell(&f.label),
                if f.steps.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", super::fmt_steps(f))
                },
                f.error
                    .as_ref()
                    .map(|e| format!(" (error: {})", cell(e)))
                    .unwrap_or_default(),
                cell(&f.target),
                f.injected_at_s,
                f.reverted_at_s
                    .map(|t| format!("{t:.3} s"))
                    .unwrap_or_else(|| "—".into()),
                super::fmt_rto(f),
                f.lost_writes,
                fmt_ms(f.rpo_window_ms)
            ));
        }
    }
    if !r.phases.is_empty() {
        s.push_str("\n## Phases\n\n| phase | from | to | requests | availability | p99 | outage s |\n|---|---|---|---|---|---|---|\n");
        for p in &r.phases {
            let (availability, p99) = match (p.availability, p.latency_ms) {
                (Some(a), Some(l)) => (format!("{:.3} %", a * 100.0), fmt_ms(l.p99)),
                _ => ("empty: no request".into(), "—".into()),
            };
            s.push_str(&format!(
                "| {} | {:.1} s | {:.1} s | {} | {availability} | {p99} | {} |\n",
                cell(&p.phase.name),
                p.phase.start_us as f64 / 1e6,
                p.phase.end_us as f64 / 1e6,
                p.attempts,
                p.outage_seconds
            ));
        }
    }
    if !m.events.lost_events.is_empty() {
        s.push_str("\n## Lost events\n\n| order | stage | evidence |\n|---|---|---|\n");
        for e in &m.events.lost_events {
            s.push_str(&format!(
                "| {} | {} | {} |\n",
                e.order,
                e.stage.name(),
                cell(&e.evidence)
            ));
        }
        if m.events.lost as usize > m.events.lost_events.len() {
            s.push_str(&format!(
                "\n({} of {} listed.)\n",
                m.events.lost_events.len(),
                m.events.lost
            ));
        }
    }
    for n in &r.notes {
        s.push_str(&format!("\n> {n}\n"));
    }
    s.push_str(&format!("\nReplay: `{}`\n", r.command));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_has_checks_metrics_and_faults() {
        let (r, _) = super::super::sample::report();
        let md = render(&r);
        assert!(md.starts_with("# orders-pod-kill — ❌ FAIL"));
        assert!(md.contains("| ❌ | p95 | ≤ 500ms | 612 ms |"));
        assert!(md.contains("## Faults"));
        assert!(md.contains("Replay: `faultline run"));
    }
}
