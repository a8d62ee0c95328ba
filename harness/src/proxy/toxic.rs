//! Toxics, in Toxiproxy's JSON shape, and what they do to a stream of
//! chunks. Pure: the data path asks this module when to release a chunk and
//! whether to hold, close or reset, so the rules are tested without sockets.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which direction of a connection a toxic acts on (Toxiproxy's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Client → upstream server.
    Upstream,
    /// Upstream server → client.
    Downstream,
}

/// What a toxic does.
#[derive(Debug, Clone, PartialEq)]
pub enum ToxicKind {
    /// Delays every chunk by `latency` ± `jitter` (uniform).
    Latency {
        /// Added delay, ms.
        latency_ms: u64,
        /// Spread, ms.
        jitter_ms: u64,
    },
    /// Limits throughput to `rate` KB/s.
    Bandwidth {
        /// KB per second.
        rate_kbps: u64,
    },
    /// Delays the close of the connection.
    SlowClose {
        /// ms.
        delay_ms: u64,
    },
    /// Holds all data (a black hole); closes the connection after `timeout`
    /// ms unless it is 0. Removing the toxic lets the held data through.
    Timeout {
        /// ms (0: never close).
        timeout_ms: u64,
    },
    /// Resets the connection (TCP RST) after `timeout` ms.
    ResetPeer {
        /// ms.
        timeout_ms: u64,
    },
    /// Closes the connection once `bytes` have passed in this direction.
    LimitData {
        /// Bytes.
        bytes: u64,
    },
}

impl ToxicKind {
    /// Toxiproxy's type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            ToxicKind::Latency { .. } => "latency",
            ToxicKind::Bandwidth { .. } => "bandwidth",
            ToxicKind::SlowClose { .. } => "slow_close",
            ToxicKind::Timeout { .. } => "timeout",
            ToxicKind::ResetPeer { .. } => "reset_peer",
            ToxicKind::LimitData { .. } => "limit_data",
        }
    }

    fn attributes(&self) -> Map<String, Value> {
        let pairs: Vec<(&str, u64)> = match *self {
            ToxicKind::Latency {
                latency_ms,
                jitter_ms,
            } => vec![("latency", latency_ms), ("jitter", jitter_ms)],
            ToxicKind::Bandwidth { rate_kbps } => vec![("rate", rate_kbps)],
            ToxicKind::SlowClose { delay_ms } => vec![("delay", delay_ms)],
            ToxicKind::Timeout { timeout_ms } => vec![("timeout", timeout_ms)],
            ToxicKind::ResetPeer { timeout_ms } => vec![("timeout", timeout_ms)],
            ToxicKind::LimitData { bytes } => vec![("bytes", bytes)],
        };
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect()
    }

    /// Builds a toxic kind from Toxiproxy's `type` and `attributes`;
    /// missing attributes take Toxiproxy's defaults (0).
    pub fn parse(type_name: &str, attrs: &Map<String, Value>) -> Result<ToxicKind, String> {
        let get = |key: &str| -> Result<u64, String> {
            match attrs.get(key) {
                None | Some(Value::Null) => Ok(0),
                Some(v) => v
                    .as_u64()
                    .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                    .ok_or_else(|| {
                        format!("attribute {key} must be a non-negative number, got {v}")
                    }),
            }
        };
        Ok(match type_name {
            "latency" => ToxicKind::Latency {
                latency_ms: get("latency")?,
                jitter_ms: get("jitter")?,
            },
            "bandwidth" => ToxicKind::Bandwidth {
                rate_kbps: get("rate")?,
            },
            "slow_close" => ToxicKind::SlowClose {
                delay_ms: get("delay")?,
            },
            "timeout" => ToxicKind::Timeout {
                timeout_ms: get("timeout")?,
            },
            "reset_peer" => ToxicKind::ResetPeer {
                timeout_ms: get("timeout")?,
            },
            "limit_data" => ToxicKind::LimitData {
                bytes: get("bytes")?,
            },
            other => return Err(format!("unknown toxic type {other:?}")),
        })
    }
}

/// One toxic on a proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct Toxic {
    /// Unique on its proxy.
    pub name: String,
    /// The direction it acts on.
    pub stream: Stream,
    /// Share of connections it affects (0..=1), decided per connection.
    pub toxicity: f64,
    /// What it does.
    pub kind: ToxicKind,
}

/// Toxiproxy's JSON form of a toxic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToxicJson {
    /// Name (default `<type>_<stream>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Toxic type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `upstream` or `downstream` (default downstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<Stream>,
    /// Share of connections affected (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toxicity: Option<f64>,
    /// Type-specific attributes.
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

impl Toxic {
    /// Validates a create request.
    pub fn from_json(j: ToxicJson) -> Result<Toxic, String> {
        let type_name = j.kind.ok_or("a toxic needs a type")?;
        let kind = ToxicKind::parse(&type_name, &j.attributes)?;
        let stream = j.stream.unwrap_or(Stream::Downstream);
        let toxicity = j.toxicity.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&toxicity) {
            return Err(format!("toxicity must be between 0 and 1, got {toxicity}"));
        }
        let name = j.name.filter(|n| !n.is_empty()).unwrap_or_else(|| {
            let s = match stream {
                Stream::Upstream => "upstream",
                Stream::Downstream => "downstream",
            };
            format!("{type_name}_{s}")
        });
        Ok(Toxic {
            name,
            stream,
            toxicity,
            kind,
        })
    }

    /// Applies an update request (attributes and toxicity may change).
    pub fn update(&self, j: ToxicJson) -> Result<Toxic, String> {
        let mut attrs = self.kind.attributes();
        attrs.extend(j.attributes);
        let type_name = j.kind.unwrap_or_else(|| self.kind.type_name().to_string());
        let toxicity = j.toxicity.unwrap_or(self.toxicity);
        if !(0.0..=1.0).contains(&toxicity) {
            return Err(format!("toxicity must be between 0 and 1, got {toxicity}"));
        }
        Ok(Toxic {
            name: self.name.clone(),
            stream: j.stream.unwrap_or(self.stream),
            toxicity,
            kind: ToxicKind::parse(&type_name, &attrs)?,
        })
    }

    /// The JSON form.
    pub fn to_json(&self) -> ToxicJson {
        ToxicJson {
            name: Some(self.name.clone()),
            kind: Some(self.kind.type_name().to_string()),
            stream: Some(self.stream),
            toxicity: Some(self.toxicity),
            attributes: self.kind.attributes(),
        }
    }

    /// Whether this toxic affects connection `conn`: a stable draw per
    /// (connection, toxic name) against the toxicity.
    pub fn affects(&self, conn: u64) -> bool {
        if self.toxicity >= 1.0 {
            return true;
        }
        if self.toxicity <= 0.0 {
            return false;
        }
        unit_draw(conn, &self.name) < self.toxicity
    }
}

/// A deterministic number in [0, 1) from a connection id and a name
/// (FNV-1a, then a splitmix64 finaliser).
pub fn unit_draw(conn: u64, name: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ conn;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A toxic as installed, with the moment it was added (timers of `timeout`
/// and `reset_peer` run from then, or from the connection's start if later).
#[derive(Debug, Clone)]
pub struct ActiveToxic {
    /// The toxic.
    pub toxic: Toxic,
    /// When it was added or last updated.
    pub since: Instant,
}

/// What the toxics on one direction of one connection add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Effects {
    /// Latency and jitter.
    pub latency: Option<(Duration, Duration)>,
    /// Bytes per second.
    pub bandwidth: Option<u64>,
    /// Hold every chunk (a timeout toxic).
    pub hold: bool,
    /// Close the connection at this moment.
    pub close_at: Option<Instant>,
    /// Reset the connection at this moment.
    pub reset_at: Option<Instant>,
    /// Delay the close by this much.
    pub slow_close: Option<Duration>,
    /// Close after this many bytes.
    pub limit: Option<u64>,
}

impl Effects {
    /// The effects of `toxics` on `stream` of connection `conn` (started at
    /// `started`).
    pub fn of(toxics: &[ActiveToxic], stream: Stream, conn: u64, started: Instant) -> Effects {
        let mut e = Effects::default();
        for a in toxics {
            let t = &a.toxic;
            if t.stream != stream || !t.affects(conn) {
                continue;
            }
            let from = a.since.max(started);
            match t.kind {
                ToxicKind::Latency {
                    latency_ms,
                    jitter_ms,
                } => {
                    let (l, j) = e.latency.unwrap_or_default();
                    e.latency = Some((
                        l + Duration::from_millis(latency_ms),
                        j + Duration::from_millis(jitter_ms),
                    ));
                }
                ToxicKind::Bandwidth { rate_kbps } => {
                    let bps = rate_kbps.saturating_mul(1000).max(1);
                    e.bandwidth = Some(e.bandwidth.map_or(bps, |b| b.min(bps)));
                }
                ToxicKind::Timeout { timeout_ms } => {
                    e.hold = true;
                    if timeout_ms > 0 {
                        let at = from + Duration::from_millis(timeout_ms);
                        e.close_at = Some(e.close_at.map_or(at, |c| c.min(at)));
                    }
                }
                ToxicKind::ResetPeer { timeout_ms } => {
                    let at = from + Duration::from_millis(timeout_ms);
                    e.reset_at = Some(e.reset_at.map_or(at, |r| r.min(at)));
                }
                ToxicKind::SlowClose { delay_ms } => {
                    e.slow_close = Some(Duration::from_millis(delay_ms));
                }
                ToxicKind::LimitData { bytes } => {
                    e.limit = Some(e.limit.map_or(bytes, |l| l.min(bytes)));
                }
            }
        }
        e
    }

    /// Whether a chunk can go straight through.
    pub fn is_passthrough(&self) -> bool {
        self.latency.is_none() && self.bandwidth.is_none() && !self.hold && self.limit.is_none()
    }

    /// When a chunk of `len` bytes read at `read_at` (with its own jitter
    /// draw in [0, 1)) may be written, given when the previous one was.
    /// Computed from the toxics in force *now*: if a toxic is removed,
    /// chunks already waiting are released at once.
    pub fn release_at(
        &self,
        read_at: Instant,
        len: usize,
        draw: f64,
        previous: Option<Instant>,
    ) -> Instant {
        let mut t = read_at;
        if let Some((latency, jitter)) = self.latency {
            let spread = jitter.as_secs_f64() * (2.0 * draw - 1.0);
            let delay = (latency.as_secs_f64() + spread).max(0.0);
            t += Duration::from_secs_f64(delay);
        }
        if let Some(prev) = previous {
            t = t.max(prev);
        }
        if let Some(bps) = self.bandwidth {
            let start = previous.map_or(read_at, |p| p.max(read_at));
            t = t.max(start + Duration::from_secs_f64(len as f64 / bps as f64));
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toxic(json: serde_json::Value) -> Toxic {
        Toxic::from_json(serde_json::from_value(json).unwrap()).unwrap()
    }

    #[test]
    fn parses_toxiproxys_json_with_its_defaults() {
        let t = toxic(
            serde_json::json!({"type": "latency", "attributes": {"latency": 100, "jitter": 10}}),
        );
        assert_eq!(t.name, "latency_downstream");
        assert_eq!(t.stream, Stream::Downstream);
        assert_eq!(t.toxicity, 1.0);
        assert_eq!(
            t.kind,
            ToxicKind::Latency {
                latency_ms: 100,
                jitter_ms: 10
            }
        );
        let back = serde_json::to_value(t.to_json()).unwrap();
        assert_eq!(back["type"], "latency");
        assert_eq!(back["attributes"]["latency"], 100);
        assert!(Toxic::from_json(
            serde_json::from_value(serde_json::json!({"type": "nope"})).unwrap()
        )
        .is_err());
        assert!(Toxic::from_json(
            serde_json::from_value(serde_json::json!({"type": "latency", "toxicity": 2.0}))
                .unwrap()
        )
        .is_err());
    }

    #[test]
    fn updates_merge_attributes() {
        let t = toxic(
            serde_json::json!({"type": "latency", "attributes": {"latency": 100, "jitter": 10}}),
        );
        let u = t
            .update(
                serde_json::from_value(serde_json::json!({"attributes": {"latency": 5}})).unwrap(),
            )
            .unwrap();
        assert_eq!(
            u.kind,
            ToxicKind::Latency {
                latency_ms: 5,
                jitter_ms: 10
            }
        );
    }

    #[test]
    fn latency_delays_from_the_read_and_keeps_order() {
        let now = Instant::now();
        let e = Effects {
            latency: Some((Duration::from_millis(100), Duration::from_millis(20))),
            ..Default::default()
        };
        assert_eq!(
            e.release_at(now, 10, 0.5, None),
            now + Duration::from_millis(100)
        );
        assert_eq!(
            e.release_at(now, 10, 0.0, None),
            now + Duration::from_millis(80)
        );
        // A later chunk with a small jitter draw still goes after the previous.
        let prev = now + Duration::from_millis(120);
        assert_eq!(e.release_at(now, 10, 0.0, Some(prev)), prev);
    }

    #[test]
    fn removing_a_toxic_releases_waiting_chunks_at_once() {
        let read = Instant::now();
        let none = Effects::default();
        assert!(none.release_at(read, 10, 0.9, None) <= Instant::now());
        assert!(none.is_passthrough());
    }

    #[test]
    fn bandwidth_spaces_chunks_by_their_size() {
        let now = Instant::now();
        let e = Effects {
            bandwidth: Some(1_000_000),
            ..Default::default()
        };
        let first = e.release_at(now, 100_000, 0.0, None);
        assert_eq!(first, now + Duration::from_millis(100));
        assert_eq!(
            e.release_at(now, 100_000, 0.0, Some(first)),
            first + Duration::from_millis(100)
        );
    }

    #[test]
    fn effects_follow_stream_toxicity_and_timers() {
        let t0 = Instant::now();
        let active = |json| ActiveToxic {
            toxic: toxic(json),
            since: t0,
        };
        let toxics = vec![
            active(
                serde_json::json!({"type": "timeout", "stream": "upstream", "attributes": {"timeout": 500}}),
            ),
            active(
                serde_json::json!({"type": "reset_peer", "stream": "downstream", "attributes": {"timeout": 50}}),
            ),
            active(
                serde_json::json!({"name": "never", "type": "latency", "toxicity": 0.0, "attributes": {"latency": 9}}),
            ),
        ];
        let up = Effects::of(&toxics, Stream::Upstream, 1, t0);
        assert!(up.hold);
        assert_eq!(up.close_at, Some(t0 + Duration::from_millis(500)));
        assert_eq!(up.reset_at, None);
        let down = Effects::of(&toxics, Stream::Downstream, 1, t0);
        assert_eq!(down.reset_at, Some(t0 + Duration::from_millis(50)));
        assert_eq!(down.latency, None, "toxicity 0 affects nobody");
    }

    #[test]
    fn toxicity_is_a_stable_share_of_connections() {
        let t = toxic(serde_json::json!({"type": "latency", "toxicity": 0.3}));
        let hit = (0..10_000u64).filter(|c| t.affects(*c)).count();
        assert!((2_700..3_300).contains(&hit), "{hit}");
        assert_eq!(t.affects(42), t.affects(42));
    }
}
