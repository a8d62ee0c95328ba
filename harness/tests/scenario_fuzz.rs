//! The scenario parser never panics, whatever it is given: random text,
//! and valid scenarios with random bytes changed, removed or inserted.
//! Every rejection names a line and column inside the text.

use faultline::scenario::Scenario;
use faultline::source::Source;
use faultline::stack::StackSettings;
use proptest::prelude::*;

const VALID: &str = r#"name = "bad-day"
system = "customer-service"
seed = 7

[load]
rate = 80
duration = "90s"
timeout = "3s"
mix = { create_order = 0.5, get_order = 0.4, health = 0.1 }

[[fault]]
kind = "latency"
at = "10s"
duration = "50s"
target = { hop = "orders->postgres" }
latency = "80ms"
jitter = "20ms"

[[fault]]
kind = "az-isolation"
at = "15s"
target = { zone = "a" }
duration = "30s"

[[fault]]
kind = "pod-kill"
at = "20s"
target = { service = "orders", zone = "b", count = 1 }
restart_after = "5s"

[[fault]]
kind = "partition"
at = "50s"
duration = "10s"
a = { zones = ["a"] }
b = { services = ["proxy"] }

[expect]
rto = "30s"
error_rate = 0.1
"#;

fn check(text: &str) {
    let src = Source {
        path: "fuzz.toml".into(),
        text: text.to_string(),
    };
    if let Err(e) = Scenario::parse(&src, &StackSettings::default()) {
        let lines = text.lines().count().max(1) + 1;
        assert!(
            e.line >= 1 && e.line <= lines,
            "line {} of {lines}: {e}",
            e.line
        );
        assert!(e.column >= 1);
        assert!(!e.message.is_empty());
    }
}

#[test]
fn the_reference_text_is_valid() {
    let src = Source {
        path: "fuzz.toml".into(),
        text: VALID.into(),
    };
    Scenario::parse(&src, &StackSettings::default()).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}") {
        check(&text);
    }

    #[test]
    fn random_toml_like_text_never_panics(text in "([a-z_\\[\\]{}=\", .0-9>-]|\n){0,300}") {
        check(&text);
    }

    #[test]
    fn mutated_scenarios_never_panic(edits in prop::collection::vec((0usize..2000, 0u8..3, any::<char>()), 1..6)) {
        let mut text: Vec<char> = VALID.chars().collect();
        for (pos, op, c) in edits {
            let p = pos % (text.len() + 1);
            match op {
                0 if p < text.len() => { text.remove(p); }
                1 => text.insert(p, c),
                _ if p < text.len() => text[p] = c,
                _ => {}
            }
        }
        check(&text.into_iter().collect::<String>());
    }
}
