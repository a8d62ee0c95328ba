//! Who owns a stack, so leftovers of dead harness processes can be swept.

/// The owner of a run, stored in its `faultline.owner` label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// Started by `faultline up`: lives until `faultline down` or `clean`.
    Cli,
    /// Owned by one harness process, identified by pid and start time (so a
    /// reused pid is not mistaken for the owner).
    Process {
        /// Process id.
        pid: u32,
        /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
        start: u64,
    },
}

/// A process's start time, from `/proc/<pid>/stat`.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split
    // after its closing parenthesis; starttime is then the 20th field.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

impl Owner {
    /// The current process.
    pub fn current_process() -> Owner {
        let pid = std::process::id();
        Owner::Process {
            pid,
            start: start_time(pid).unwrap_or(0),
        }
    }

    /// The label value.
    pub fn to_label(&self) -> String {
        match self {
            Owner::Cli => "cli".into(),
            Owner::Process { pid, start } => format!("pid:{pid}:{start}"),
        }
    }

    /// Parses a label value; `None` for anything unrecognised (never swept).
    pub fn parse(label: &str) -> Option<Owner> {
        if label == "cli" {
            return Some(Owner::Cli);
        }
        let rest = label.strip_prefix("pid:")?;
        let (pid, start) = rest.split_once(':')?;
        Some(Owner::Process {
            pid: pid.parse().ok()?,
            start: start.parse().ok()?,
        })
    }

    /// Whether the owner is still there (a CLI stack always is).
    pub fn is_alive(&self) -> bool {
        match self {
            Owner::Cli => true,
            Owner::Process { pid, start } => start_time(*pid) == Some(*start),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for o in [Owner::Cli, Owner::Process { pid: 42, start: 99 }] {
            assert_eq!(Owner::parse(&o.to_label()), Some(o));
        }
        assert_eq!(Owner::parse("pid:x:1"), None);
        assert_eq!(Owner::parse("someone"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_stranger_is_not() {
        assert!(Owner::current_process().is_alive());
        let me = Owner::current_process();
        if let Owner::Process { pid, start } = me {
            assert!(
                !Owner::Process {
                    pid,
                    start: start + 1
                }
                .is_alive(),
                "pid reuse"
            );
        }
        assert!(!Owner::Process {
            pid: u32::MAX - 1,
            start: 1
        }
        .is_alive());
    }
}
