//! `db-failover`: the PostgreSQL leader fails over — killed (and started
//! again after `restart_after`), or switched over by Patroni (instant).

use serde::{Deserialize, Serialize};

use super::{End, Key, KeyType, Kind, Params, TargetRule};
use crate::source::FileError;

/// How the database fails over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailoverMode {
    /// Unplanned: SIGKILL the leader (started again when the fault ends).
    KillLeader,
    /// Planned: Patroni's switchover to a replica.
    Switchover,
}

/// Fail the leader over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbFailover {
    /// Kill or switch over.
    pub mode: FailoverMode,
}

const MODES: &[(&str, FailoverMode)] = &[
    ("kill-leader", FailoverMode::KillLeader),
    ("switchover", FailoverMode::Switchover),
];

impl Kind for DbFailover {
    const NAME: &'static str = "db-failover";
    const ABOUT: &'static str = "fail the PostgreSQL leader over (kill it, or a planned switchover)";
    const END: End = End::RestartAfter;
    const TARGET: TargetRule = TargetRule::None;
    const KEYS: &'static [Key] = &[Key {
        name: "mode",
        ty: KeyType::Choice(&["kill-leader", "switchover"]),
    }];
    const ONLY_ON_OWN_STACK: Option<&'static str> = Some(
        "it asks Patroni on faultline's own PostgreSQL; to fail your database over, kill or isolate its primary (pod-kill, pod-pause, partition)",
    );

    fn parse(p: &Params) -> Result<Self, FileError> {
        Ok(DbFailover {
            mode: p.choice("mode", MODES)?.unwrap_or(FailoverMode::KillLeader),
        })
    }

    fn label(&self) -> String {
        match self.mode {
            FailoverMode::KillLeader => format!("{} kill-leader", Self::NAME),
            FailoverMode::Switchover => format!("{} switchover", Self::NAME),
        }
    }

    fn is_instant(&self) -> bool {
        self.mode == FailoverMode::Switchover
    }
}
