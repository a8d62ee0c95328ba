//! Suites (`scenarios/suites/*.toml`): named lists of scenarios — `smoke`
//! for every push, `nightly` for every fault kind, `monthly-dr` for the DR
//! drill. Pure: parsing and validation.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::source::{FileError, Source};

/// A validated suite.
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The system profile its scenarios run against by default.
    pub system: String,
    /// The scenario files, in order.
    pub scenarios: Vec<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    name: String,
    description: Option<String>,
    system: String,
    scenarios: Vec<Spanned<String>>,
}

impl Suite {
    /// Reads a suite; scenario names resolve to `<scenarios dir>/<name>.toml`
    /// (the suite's parent folder's parent), or to a path relative to the
    /// suite file when they end in `.toml`.
    pub fn load(path: &Path) -> Result<Suite, FileError> {
        let src = Source::read(path)?;
        let raw: RawSuite = toml::from_str(&src.text).map_err(|e| {
            src.toml_error(
                &e,
                "see scenarios/suites/smoke.toml for the shape of a suite",
            )
        })?;
        let suite_dir = path.parent().unwrap_or(Path::new("."));
        let scenarios_dir = suite_dir.parent().unwrap_or(suite_dir);
        let mut scenarios = Vec::new();
        for s in &raw.scenarios {
            let name = s.get_ref();
            let file = if name.ends_with(".toml") {
                suite_dir.join(name)
            } else {
                scenarios_dir.join(format!("{name}.toml"))
            };
            if !file.is_file() {
                return Err(src.error_at(
                    s.span().start,
                    format!("no scenario {name:?} ({} does not exist)", file.display()),
                    "name a file of scenarios/ without .toml, or give a path ending in .toml",
                ));
            }
            scenarios.push(file);
        }
        if scenarios.is_empty() {
            return Err(src.error_at(0, "the suite lists no scenario", "scenarios = [\"steady\"]"));
        }
        Ok(Suite {
            name: raw.name,
            description: raw.description.unwrap_or_default(),
            system: raw.system,
            scenarios,
        })
    }

    /// A test name for a scenario file: `<suite>::<file stem with _>`.
    pub fn test_name(&self, scenario: &Path) -> String {
        let stem = scenario
            .file_stem()
            .map(|s| s.to_string_lossy().replace('-', "_"))
            .unwrap_or_default();
        format!("{}::{stem}", self.name.replace('-', "_"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_suites_resolve_every_scenario() {
        let root = crate::project::root().join("scenarios/suites");
        for name in ["smoke", "nightly", "monthly-dr"] {
            let s =
                Suite::load(&root.join(format!("{name}.toml"))).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.name, name);
            assert!(!s.scenarios.is_empty());
        }
        let nightly = Suite::load(&root.join("nightly.toml")).unwrap();
        assert_eq!(
            nightly.test_name(&nightly.scenarios[1]),
            "nightly::pod_kill"
        );
        // The nightly suite covers every fault kind.
        let text: String = nightly
            .scenarios
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        for kind in crate::faults::FaultKind::ALL {
            assert!(
                text.contains(&format!("kind = \"{}\"", kind.name())),
                "{} is in no nightly scenario",
                kind.name()
            );
        }
    }
}
