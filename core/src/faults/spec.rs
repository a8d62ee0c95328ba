//! What a fault is, as plain data (pure): its kind, what it targets, its
//! parameters and when it ends. Scenario files are parsed into these; the
//! fault files under this module carry them out.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::kinds::{self, End, Key, Kind, Params, TargetRule};
pub use super::target::{Count, Direction, Group, Role, Selector, DIRECTIONS};
use crate::measure::RtoMeasure;
use crate::source::FileError;

macro_rules! define_kinds {
    ($($variant:ident: $module:ident,)*) => {
        /// The scenario vocabulary of fault kinds, one per registry line
        /// (see [`with_fault_kinds!`](crate::with_fault_kinds)).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum FaultKind {
            $(
                #[doc = concat!("See [`", stringify!($module), "`](kinds::", stringify!($module), ").")]
                $variant,
            )*
        }

        impl FaultKind {
            /// Every kind, in registry order.
            pub const ALL: &'static [FaultKind] = &[$(FaultKind::$variant,)*];

            /// Its scenario name.
            pub fn name(self) -> &'static str {
                match self {
                    $(FaultKind::$variant => <kinds::$module::$variant as Kind>::NAME,)*
                }
            }

            /// One line on what it does.
            pub fn about(self) -> &'static str {
                match self {
                    $(FaultKind::$variant => <kinds::$module::$variant as Kind>::ABOUT,)*
                }
            }

            /// How a scenario gives its end.
            pub fn end(self) -> End {
                match self {
                    $(FaultKind::$variant => <kinds::$module::$variant as Kind>::END,)*
                }
            }

            /// What its target names.
            pub fn target_rule(self) -> TargetRule {
                match self {
                    $(FaultKind::$variant => <kinds::$module::$variant as Kind>::TARGET,)*
                }
            }

            /// Its own keys.
            pub fn keys(self) -> &'static [Key] {
                match self {
                    $(FaultKind::$variant => <kinds::$module::$variant as Kind>::KEYS,)*
                }
            }

            /// How its RTO is measured.
            pub fn rto_measure(self) -> RtoMeasure {
                match self {
                    $(FaultKind::$variant => <kinds::$module::$variant as Kind>::RTO,)*
                }
            }

            /// Why it acts only on faultline's own stack, if it does.
            pub fn only_on_own_stack(self) -> Option<&'static str> {
                match self {
                    $(FaultKind::$variant => <kinds::$module::$variant as Kind>::ONLY_ON_OWN_STACK,)*
                }
            }

            /// Whether its end is a restore from the backup region.
            pub fn restores_from_backup(self) -> bool {
                match self {
                    $(FaultKind::$variant => <kinds::$module::$variant as Kind>::RESTORES_FROM_BACKUP,)*
                }
            }
        }

        /// What a fault does: a kind and its typed parameters.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum Action {
            $(
                #[doc = concat!("See [`", stringify!($module), "`](kinds::", stringify!($module), ").")]
                $variant(kinds::$module::$variant),
            )*
        }

        impl Action {
            /// The kind this action belongs to.
            pub fn kind(&self) -> FaultKind {
                match self {
                    $(Action::$variant(_) => FaultKind::$variant,)*
                }
            }

            /// Its label for reports.
            pub fn label(&self) -> String {
                match self {
                    $(Action::$variant(k) => k.label(),)*
                }
            }

            /// Whether it is over the moment it is done (a switchover), so
            /// it needs no end.
            pub fn is_instant(&self) -> bool {
                match self {
                    $(Action::$variant(k) => k.is_instant(),)*
                }
            }

            /// Builds a `kind` from a scenario's keys.
            pub(crate) fn parse(kind: FaultKind, p: &Params) -> Result<Action, FileError> {
                match kind {
                    $(FaultKind::$variant => kinds::$module::$variant::parse(p).map(Action::$variant),)*
                }
            }
        }
    };
}
crate::with_fault_kinds!(define_kinds);

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FaultKind {
    /// The kind with this scenario name.
    pub fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.iter().copied().find(|k| k.name() == name)
    }
}

/// One fault of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// What it does.
    pub action: Action,
    /// How long until it is reverted (containers started again, frozen
    /// ones thawed, rules or toxics removed). `None` only when `permanent`
    /// or the action is instant.
    pub duration: Option<Duration>,
    /// The scenario said this fault has no end.
    pub permanent: bool,
}

impl FaultSpec {
    /// Its kind.
    pub fn kind(&self) -> FaultKind {
        self.action.kind()
    }

    /// A short label for reports (`pod-kill orders zone a`).
    pub fn label(&self) -> String {
        self.action.label()
    }

    /// Whether the fault has an end, as the safety rule requires.
    pub fn is_bounded(&self) -> bool {
        self.duration.is_some() || self.permanent || self.action.is_instant()
    }
}

#[cfg(test)]
mod tests {
    use super::kinds::cache_loss::CacheLoss;
    use super::kinds::db_failover::{DbFailover, FailoverMode};
    use super::*;

    #[test]
    fn kind_names_round_trip_and_match_their_serde_names() {
        for &k in FaultKind::ALL {
            assert_eq!(FaultKind::from_name(k.name()), Some(k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::Value::String(k.name().into())
            );
        }
    }

    #[test]
    fn a_fault_without_an_end_is_unbounded_unless_permanent_or_instant() {
        let mut f = FaultSpec {
            action: Action::CacheLoss(CacheLoss),
            duration: None,
            permanent: false,
        };
        assert!(!f.is_bounded());
        f.permanent = true;
        assert!(f.is_bounded());
        let s = FaultSpec {
            action: Action::DbFailover(DbFailover {
                mode: FailoverMode::Switchover,
            }),
            duration: None,
            permanent: false,
        };
        assert!(s.is_bounded());
        assert_eq!(s.label(), "db-failover switchover");
    }
}
