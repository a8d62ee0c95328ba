//! Configuration from environment variables, with defaults and clear errors.

use std::str::FromStr;
use std::time::Duration;

/// A configuration variable that is present but unusable.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {key}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    /// The variable's name.
    pub key: String,
    /// What it held.
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

/// The variable's value, or `default` when it is unset or empty.
pub fn string(key: &str, default: &str) -> String {
    match std::env::var(key) {
        Ok(v) if !v.is_empty() => v,
        _ => default.to_string(),
    }
}

/// The variable parsed as `T`, or `default` when it is unset or empty.
pub fn parse<T>(key: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match std::env::var(key) {
        Ok(v) if !v.is_empty() => v.parse().map_err(|e: T::Err| ConfigError {
            key: key.into(),
            value: v.clone(),
            reason: e.to_string(),
        }),
        _ => Ok(default),
    }
}

/// The variable parsed as a humantime duration (`250ms`, `5s`), or `default`.
pub fn duration(key: &str, default: Duration) -> Result<Duration, ConfigError> {
    match std::env::var(key) {
        Ok(v) if !v.is_empty() => humantime::parse_duration(&v).map_err(|e| ConfigError {
            key: key.into(),
            value: v.clone(),
            reason: e.to_string(),
        }),
        _ => Ok(default),
    }
}

/// A comma-separated list, empty items dropped.
pub fn list(key: &str, default: &str) -> Vec<String> {
    string(key, default)
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_unset() {
        assert_eq!(string("SVC_COMMON_TEST_UNSET", "x"), "x");
        assert_eq!(parse("SVC_COMMON_TEST_UNSET", 7u32).unwrap(), 7);
        assert_eq!(
            duration("SVC_COMMON_TEST_UNSET", Duration::from_secs(5)).unwrap(),
            Duration::from_secs(5)
        );
        assert!(list("SVC_COMMON_TEST_UNSET", "").is_empty());
        assert_eq!(list("SVC_COMMON_TEST_UNSET", "a, b,,c"), ["a", "b", "c"]);
    }
}
