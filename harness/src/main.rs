//! The `faultline` binary: parse flags, hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    faultline::cli::main(faultline::cli::Cli::parse())
}
