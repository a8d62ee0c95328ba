//! The harness's top-level error and the documented exit codes.
//!
//! A *check that failed* is not an error: it is a result in the report and
//! exits 1. Errors are the harness failing to do its job: bad input (2), the
//! environment (3), or an interruption (130).

pub use crate::exit::Exit;
use crate::images::ImageError;
use crate::platform::PlatformError;
use crate::stack::StackError;

/// Bad input from the user (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A flag or argument was wrong.
    #[error("{0}")]
    Usage(String),
}

/// Anything that stops a faultline command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The platform (the Docker engine) failed or is missing.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// Images could not be built or are missing.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The stack could not be brought up, found or torn down.
    #[error(transparent)]
    Stack(#[from] StackError),
    /// Ctrl-C or SIGTERM.
    #[error("interrupted")]
    Interrupted,
    /// `--dry-run`: the plan was printed, nothing was touched.
    #[error("dry run: nothing was touched")]
    DryRun,
    /// Something the run needs from its environment failed.
    #[error("{0}")]
    Environment(String),
    /// A scenario or profile file is wrong.
    #[error(transparent)]
    File(#[from] crate::source::FileError),
}

impl Error {
    /// The documented exit status for this error.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Input(_) => Exit::BadInput,
            Error::Platform(PlatformError::RemoteRefused { .. }) => Exit::BadInput,
            Error::Platform(_) | Error::Image(_) => Exit::Environment,
            Error::Stack(e) => e.exit(),
            Error::Interrupted => Exit::Interrupted,
            Error::DryRun => Exit::Pass,
            Error::Environment(_) => Exit::Environment,
            Error::File(_) => Exit::BadInput,
        }
    }
}
