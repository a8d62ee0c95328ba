//! The documented exit codes, on their own so that any module can name
//! them without depending on the harness's top-level error.

/// Exit status of every faultline command, as DESIGN documents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every check passed (or the command succeeded).
    Pass = 0,
    /// A check failed.
    CheckFailed = 1,
    /// Bad input: scenario, targets or flags.
    BadInput = 2,
    /// Environment: no Docker, image missing, stack unhealthy.
    Environment = 3,
    /// Interrupted, after cleanup.
    Interrupted = 130,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}
