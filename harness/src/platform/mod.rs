//! Where the stack runs. Today that is a local Docker engine
//! ([`docker::Engine`]); the labels below are how faultline recognises —
//! and only ever touches — what it created.

pub mod docker;

/// Label holding the run id every faultline object belongs to.
pub const LABEL_RUN: &str = "faultline.run";
/// Label holding a container's zone (`a`, `b`, `c`, or `global`).
pub const LABEL_ZONE: &str = "faultline.zone";
/// Label holding a container's role (`app`, `db`, `dcs`, `ingress`…).
pub const LABEL_ROLE: &str = "faultline.role";
/// Label holding a container's service (`orders`, `postgres`…).
pub const LABEL_SERVICE: &str = "faultline.service";
/// Label holding a container's logical name within its run (`pg-a`).
pub const LABEL_NAME: &str = "faultline.name";
/// Label holding the system profile a stack was started for.
pub const LABEL_SYSTEM: &str = "faultline.system";
/// Label holding who owns a run: `cli` for a stack started by `faultline up`
/// (it lives until `down`), or `pid:<pid>:<start>` for a stack owned by one
/// harness process (swept once that process is gone).
pub const LABEL_OWNER: &str = "faultline.owner";
/// Label holding the hash of the stack settings a stack was started with.
pub const LABEL_SETTINGS: &str = "faultline.settings";
/// Label holding a stack's settings as JSON (so a stack found again can be
/// rebuilt, node by node, exactly as it was started).
pub const LABEL_SETTINGS_JSON: &str = "faultline.settings-json";
/// Label on images faultline built.
pub const LABEL_IMAGE: &str = "faultline.image";
