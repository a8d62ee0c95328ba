//! `report.html`: one self-contained file — no CDN, no JavaScript — with the
//! verdict table on top and SVG charts of throughput, availability,
//! latency and lag, fault windows shaded and labelled.

use super::escape::markup as esc;
use super::svg::{line_chart, Band, Series};
use super::{fmt_measured, fmt_ms, Report, SecondRow};

const STYLE: &str = "body{font-family:sans-serif;margin:24px;max-width:1100px;color:#222}\
h1{margin-bottom:4px}.pass{color:#2d7a2d}.fail{color:#b52a2a}\
.badge{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:bold}\
.badge.pass{background:#2d7a2d}.badge.fail{background:#b52a2a}\
table{border-collapse:collapse;margin:8px 0 20px 0;font-size:13px}\
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}td.num{text-align:right}.src{color:#555;font-size:12px}\
.default{color:#8a6d3b}code{background:#f3f3f3;padding:2px 4px}";

/// Renders the HTML report.
pub fn render(r: &Report, rows: &[SecondRow]) -> String {
    let pass = r.verdict == "pass";
    let class = if pass { "pass" } else { "fail" };
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — {}</title><style>{STYLE}</style></head><body>\n",
        esc(&r.scenario),
        r.verdict.to_uppercase()
    );
    s.push_str(&format!(
        "<h1>{} <span class=\"badge {class}\">{}</span></h1>\n<p>{}</p>\n<p>System <b>{}</b> ({}), seed {}, started {}, stack {}{}</p>\n",
        esc(&r.scenario),
        r.verdict.to_uppercase(),
        esc(&r.description),
        esc(&r.system_title),
        esc(&r.system),
        r.seed,
        esc(&r.started_at),
        esc(&r.run_id),
        if r.interrupted { " — <b>interrupted: partial results</b>" } else { "" }
    ));
    s.push_str("<h2>Verdict</h2>\n<table><tr><th></th><th>check</th><th>limit</th><th>measured</th><th>source</th></tr>\n");
    for c in &r.checks {
        s.push_str(&format!(
            "<tr><td class=\"{}\">{}</td><td>{}</td><td>{}{}</td><td class=\"num\">{}</td><td class=\"src\">{}{}</td></tr>\n",
            if c.pass { "pass" } else { "fail" },
            if c.pass { "✓" } else { "✗" },
            esc(&c.name),
            esc(&c.limit),
            if c.default { " <span class=\"default\">(default)</span>" } else { "" },
            esc(&fmt_measured(c)),
            esc(&c.source),
            if c.note.is_empty() { String::new() } else { format!("<br>{}", esc(&c.note)) }
        ));
    }
    s.push_str("</table>\n");
    if r.uses_defaults {
        s.push_str("<p class=\"default\">(default): a faultline default, used where the system's document states no number.</p>\n");
    }
    let bands: Vec<Band> = r
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| Band {
            from: f.injected_at_s,
            to: f
                .reverted_at_s
                .unwrap_or(f.injected_at_s)
                .max(f.injected_at_s + 0.3),
            label: format!("{}: {}", i + 1, f.label),
        })
        .collect();
    let x_max = rows.len() as f64;
    let at = |r: &SecondRow| r.second as f64 + 0.5;
    s.push_str("<h2>Timeline</h2>\n");
    s.push_str(&line_chart(
        "Throughput per second",
        "requests/s",
        x_max,
        None,
        &[
            Series {
                name: "succeeded",
                color: "#2d7a2d",
                points: rows.iter().map(|r| (at(r), Some(r.ok as f64))).collect(),
            },
            Series {
                name: "failed",
                color: "#b52a2a",
                points: rows
                    .iter()
                    .map(|r| (at(r), Some(r.failed as f64)))
                    .collect(),
            },
        ],
        &bands,
    ));
    s.push_str(&line_chart(
        "Availability per second",
        "%",
        x_max,
        Some(100.0),
        &[Series {
            name: "succeeded / attempted",
            color: "#1f5fa8",
            points: rows
                .iter()
                .map(|r| {
                    (
                        at(r),
                        (r.attempts > 0).then(|| r.ok as f64 / r.attempts as f64 * 100.0),
                    )
                })
                .collect(),
        }],
        &bands,
    ));
    s.push_str(&line_chart(
        "Latency per second (from the scheduled start)",
        "ms",
        x_max,
        None,
        &[
            Series {
                name: "p50",
                color: "#1f5fa8",
                points: rows
                    .iter()
                    .map(|r| (at(r), (r.attempts > 0).then_some(r.p50_ms)))
                    .collect(),
            },
            Series {
                name: "p99",
                color: "#d9822b",
                points: rows
                    .iter()
                    .map(|r| (at(r), (r.attempts > 0).then_some(r.p99_ms)))
                    .collect(),
            },
        ],
        &bands,
    ));
    s.push_str(&line_chart(
        "Replication lag",
        "s",
        x_max,
        None,
        &[Series {
            name: "worst replica",
            color: "#6a3d9a",
            points: rows.iter().map(|r| (at(r), r.replication_lag_s)).collect(),
        }],
        &bands,
    ));
    s.push_str(&line_chart(
        "Consumer lag",
        "messages",
        x_max,
        None,
        &[Series {
            name: "analytics group",
            color: "#8c564b",
            points: rows.iter().map(|r| (at(r), r.consumer_lag)).collect(),
        }],
        &bands,
    ));
    let m = &r.metrics;
    s.push_str("<h2>Metrics</h2>\n<table>\n");
    let mut row = |k: &str, v: String| {
        s.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>\n",
            esc(k),
            esc(&v)
        ))
    };
    row("availability", format!("{:.3} %", m.availability * 100.0));
    row("error rate", format!("{:.3} %", m.error_rate * 100.0));
    row(
        "latency p50 / p95 / p99 / max",
        format!(
            "{} / {} / {} / {}",
            fmt_ms(m.latency_ms.p50),
            fmt_ms(m.latency_ms.p95),
            fmt_ms(m.latency_ms.p99),
            fmt_ms(m.latency_ms.max)
        ),
    );
    row(
        "worst RTO",
        m.rto_ms.map(fmt_ms).unwrap_or_else(|| "—".into()),
    );
    row(
        "writes acknowledged / lost / recovered",
        super::fmt_writes(&m.rpo),
    );
    row("worst RPO window", fmt_ms(m.rpo.window_ms));
    row("events", super::fmt_events(&m.events));
    if let Some(b) = &m.budget {
        row(
            "monthly error budget consumed",
            format!(
                "{:.4} % ({:.1} s of {:.0} s)",
                b.share * 100.0,
                b.downtime_equivalent_seconds,
                b.budget_seconds
            ),
        );
    }
    row(
        "requests",
        format!(
            "{} ({:.1}/s, generator lateness p99 {:.3} ms)",
            m.requests, m.achieved_rate, m.generator_lateness_p99_ms
        ),
    );
    s.push_str("</table>\n");
    if !r.faults.is_empty() {
        s.push_str("<h2>Faults</h2>\n<table><tr><th>#</th><th>fault</th><th>target</th><th>injected</th><th>reverted</th><th>RTO</th><th>lost writes</th><th>RPO window</th></tr>\n");
        for (i, f) in r.faults.iter().enumerate() {
            s.push_str(&format!(
                "<tr><td>{}</td><td>{}{}{}</td><td>{}</td><td>{} ({:.3} s)</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                i + 1,
                esc(&f.label),
                if f.steps.is_empty() { String::new() } else { format!("<br>{}", esc(&super::fmt_steps(f))) },
                f.error.as_ref().map(|e| format!("<br><b>error:</b> {}", esc(e))).unwrap_or_default(),
                esc(&f.target),
                esc(&f.injected_at),
                f.injected_at_s,
                f.reverted_at.as_ref().map(|t| esc(t)).unwrap_or_else(|| "—".into()),
                super::fmt_rto(f),
                f.lost_writes,
                fmt_ms(f.rpo_window_ms)
            ));
        }
        s.push_str("</table>\n");
    }
    if !m.events.lost_events.is_empty() {
        s.push_str(
            "<h2>Lost events</h2>\n<table><tr><th>order</th><th>stage</th><th>evidence</th></tr>\n",
        );
        for e in &m.events.lost_events {
            s.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
                e.order,
                e.stage.name(),
                esc(&e.evidence)
            ));
        }
        s.push_str("</table>\n");
        if m.events.lost as usize > m.events.lost_events.len() {
            s.push_str(&format!(
                "<p>{} of {} listed.</p>\n",
                m.events.lost_events.len(),
                m.events.lost
            ));
        }
    }
    for n in &r.notes {
        s.push_str(&format!("<p>{}</p>\n", esc(n)));
    }
    s.push_str(&format!(
        "<p>Replay: <code>{}</code></p>\n</body></html>\n",
        esc(&r.command)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_report_is_self_contained_with_verdict_first_and_charts() {
        let (r, rows) = super::super::sample::report();
        let h = render(&r, &rows);
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(!h.contains("<script"), "no JavaScript");
        assert!(
            !h.contains("http://") || !h.contains("src=\"http"),
            "no external resources"
        );
        assert!(
            h.find("Verdict").unwrap() < h.find("<svg").unwrap(),
            "the verdict table comes first"
        );
        assert_eq!(h.matches("<svg").count(), 5);
        assert!(
            h.contains("1: pod-kill orders zone a"),
            "fault windows are labelled"
        );
        assert!(h.trim_end().ends_with("</html>"));
    }
}
