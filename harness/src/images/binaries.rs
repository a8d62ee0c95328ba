//! Rust binaries built on the host and copied into images (host and base
//! are both Debian bookworm, so they link against the same glibc).
//!
//! Workspace binaries are built in release mode into a target folder of
//! their own under the cache, so building images never waits on — or
//! invalidates — the developer's own `cargo` builds (and works from inside
//! `cargo test`, which holds the lock on the usual target folder). The
//! `tansu` broker is `cargo install`ed once into the cache.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::ImageError;

/// The tansu version the broker image runs.
pub const TANSU_VERSION: &str = "0.6.0";
/// Its features: the SQLite storage engine (durable across restarts on a
/// volume) and the in-memory one. See `shared/NOTES.md` for why not
/// PostgreSQL storage.
pub const TANSU_FEATURES: &str = "libsql,dynostore";

/// A binary an image needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Binary {
    /// A binary of this workspace.
    Workspace {
        /// Its package.
        package: &'static str,
        /// The binary's name.
        bin: &'static str,
    },
    /// The tansu broker from crates.io.
    Tansu,
}

impl Binary {
    /// A workspace binary named like its package.
    pub const fn package(name: &'static str) -> Binary {
        Binary::Workspace {
            package: name,
            bin: name,
        }
    }

    /// The file's name inside the image's `bin/`.
    pub fn file_name(&self) -> &'static str {
        match self {
            Binary::Workspace { bin, .. } => bin,
            Binary::Tansu => "tansu",
        }
    }
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The folder workspace binaries for images are built in.
pub fn image_target_dir() -> PathBuf {
    crate::project::cache_dir().join("image-target")
}

/// Where the tansu binary is installed.
pub fn tansu_path() -> PathBuf {
    crate::project::cache_dir()
        .join(format!(
            "tools/tansu-{TANSU_VERSION}-{}",
            TANSU_FEATURES.replace(',', "-")
        ))
        .join("bin/tansu")
}

/// Builds (or finds) every binary in `needed`; returns their paths.
pub async fn build(root: &Path, needed: &[Binary]) -> Result<HashMap<Binary, PathBuf>, ImageError> {
    let mut out = HashMap::new();
    let target = image_target_dir();
    let mut packages: Vec<&str> = Vec::new();
    for b in needed {
        if let Binary::Workspace { package, .. } = b {
            if !packages.contains(package) {
                packages.push(package);
            }
        }
    }
    // One build per package, naming its binaries: a package such as the
    // harness also has binaries the images do not need.
    for package in packages {
        let bins: Vec<&str> = needed
            .iter()
            .filter_map(|b| match b {
                Binary::Workspace { package: p, bin } if *p == package => Some(*bin),
                _ => None,
            })
            .collect();
        let mut cmd = tokio::process::Command::new(cargo());
        cmd.arg("build").arg("--release").arg("-p").arg(package);
        for bin in &bins {
            cmd.arg("--bin").arg(bin);
        }
        cmd.current_dir(root)
            .env("CARGO_TARGET_DIR", &target)
            .stdin(Stdio::null());
        let what = format!(
            "cargo build --release -p {package} --bin {}",
            bins.join(" --bin ")
        );
        run(cmd, what).await?;
        for bin in bins {
            out.insert(
                Binary::Workspace { package, bin },
                target.join("release").join(bin),
            );
        }
    }
    if needed.contains(&Binary::Tansu) {
        let path = tansu_path();
        if !path.is_file() {
            super::progress(&format!(
                "==> installing tansu {TANSU_VERSION} (features {TANSU_FEATURES}) from crates.io; about 10 minutes on 2 cores, once"
            ));
            let install_root = path
                .parent()
                .and_then(Path::parent)
                .map(Path::to_path_buf)
                .unwrap_or_else(|| path.clone());
            let mut cmd = tokio::process::Command::new(cargo());
            cmd.args([
                "install",
                "tansu",
                "--version",
                TANSU_VERSION,
                "--locked",
                "--features",
                TANSU_FEATURES,
            ])
            .arg("--root")
            .arg(&install_root)
            .env(
                "CARGO_TARGET_DIR",
                crate::project::cache_dir().join("tansu-target"),
            )
            .stdin(Stdio::null());
            run(
                cmd,
                format!("cargo install tansu --version {TANSU_VERSION}"),
            )
            .await?;
        }
        out.insert(Binary::Tansu, path);
    }
    Ok(out)
}

async fn run(mut cmd: tokio::process::Command, what: String) -> Result<(), ImageError> {
    let status = cmd.status().await.map_err(|e| ImageError::MissingTool {
        tool: "cargo",
        hint: format!("running `{what}` failed: {e}"),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(ImageError::Command {
            what,
            status: status.to_string(),
            detail: String::new(),
        })
    }
}
