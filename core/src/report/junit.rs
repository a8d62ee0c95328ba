//! `junit.xml`: one test case per check; a failed check is a failure
//! carrying the measured value.

use super::escape::markup as esc;
use super::{fmt_measured, Report};

/// Renders the JUnit XML.
pub fn render(r: &Report) -> String {
    let failures = r.checks.iter().filter(|c| !c.pass).count();
    let suite = format!("faultline.{}.{}", r.system, r.scenario);
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"faultline\" tests=\"{}\" failures=\"{failures}\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" timestamp=\"{}\">\n",
        r.checks.len(),
        esc(&suite),
        r.checks.len(),
        esc(&r.started_at)
    ));
    s.push_str(&format!(
        "    <properties>\n      <property name=\"seed\" value=\"{}\"/>\n      <property name=\"replay\" value=\"{}\"/>\n    </properties>\n",
        r.seed,
        esc(&r.command)
    ));
    for c in &r.checks {
        s.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\"",
            esc(&suite),
            esc(&c.name)
        ));
        if c.pass {
            s.push_str("/>\n");
        } else {
            s.push_str(&format!(
                ">\n      <failure message=\"{} measured {}, limit {}\">{}</failure>\n    </testcase>\n",
                esc(&c.name),
                esc(&fmt_measured(c)),
                esc(&c.limit),
                esc(&format!("source: {}{}", c.source, if c.note.is_empty() { String::new() } else { format!("; {}", c.note) }))
            ));
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_is_a_failure_with_its_measured_value() {
        let (r, _) = super::super::sample::report();
        let x = render(&r);
        assert!(x.contains("tests=\"3\" failures=\"1\""));
        assert!(x.contains("<failure message=\"p95 measured 612 ms, limit ≤ 500ms\""));
        assert_eq!(x.matches("<testcase").count(), 3);
    }
}
