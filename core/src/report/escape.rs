//! Escaping text for the markup the reports are written in — HTML, SVG and
//! XML (JUnit) — in one place, so every renderer escapes the same way.

/// `s` made safe as element text or a quoted attribute value in HTML, SVG
/// and XML 1.0: the five markup characters become entities, and characters
/// XML 1.0 forbids outright (C0 controls other than tab, newline and
/// carriage return; U+FFFE and U+FFFF) are dropped, since no entity can
/// carry them and a JUnit reader rejects the whole file over one.
pub fn markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_become_entities_and_forbidden_ones_go() {
        assert_eq!(
            markup(r#"a<b>&"c"'d'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;"
        );
        assert_eq!(
            markup("line\u{1}1\n\tline\u{1b}[0m2\u{FFFF}"),
            "line1\n\tline[0m2"
        );
        assert_eq!(markup("zone é → b"), "zone é → b");
    }
}
