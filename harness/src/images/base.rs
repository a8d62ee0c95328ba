//! The base image every other image is built `FROM`.
//!
//! In order of preference: a local `debian:bookworm-slim`; one pulled from a
//! registry, if the engine can reach one (bounded by a short timeout); else a
//! `debootstrap --variant=minbase bookworm` from the Debian archive, imported
//! with `docker import`. The tag is a hash of where the base came from.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::{StreamExt, TryStreamExt};

use super::{content_hash, progress, repository, tag, ImageError};
use crate::platform::docker::Engine;

/// The Debian suite every image is based on.
pub const SUITE: &str = "bookworm";
/// Packages added to the debootstrapped base.
pub const INCLUDE: &str = "ca-certificates,netbase,procps,iproute2";
/// Reference of a stock Debian image that may already be present.
pub const STOCK: &str = "debian:bookworm-slim";

/// The Debian mirror: `$FAULTLINE_DEBIAN_MIRROR` or deb.debian.org.
pub fn mirror() -> String {
    std::env::var("FAULTLINE_DEBIAN_MIRROR")
        .ok()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "http://deb.debian.org/debian".into())
}

/// The base image in use.
pub struct Base {
    /// Its reference (`faultline/base:<hash>`).
    pub reference: String,
    /// Whether it was made now.
    pub built: bool,
}

/// Finds or makes the base image.
pub async fn ensure(engine: &Engine, force: bool) -> Result<Base, ImageError> {
    let repo = repository("base");
    // 1. A stock image the engine already has.
    if !force {
        if let Ok(stock) = engine.docker().inspect_image(STOCK).await {
            let id = stock.id.unwrap_or_default();
            let reference = format!("{repo}:{}", content_hash([("stock", id.as_bytes())]));
            tag(engine, STOCK, &repo, &reference[repo.len() + 1..]).await?;
            return Ok(Base {
                reference,
                built: false,
            });
        }
    }
    // 2. Our own debootstrap, already imported.
    let recipe = format!("debootstrap v1 {SUITE} minbase {INCLUDE} {}", mirror());
    let reference = format!("{repo}:{}", content_hash([("recipe", recipe.as_bytes())]));
    if !force && engine.image_exists(&reference).await? {
        return Ok(Base {
            reference,
            built: false,
        });
    }
    // 3. A stock image from a registry, if one answers quickly.
    if !force && try_pull(engine).await {
        return Box::pin(ensure(engine, false)).await;
    }
    // 4. debootstrap.
    debootstrap_and_import(engine, &reference).await?;
    Ok(Base {
        reference,
        built: true,
    })
}

async fn try_pull(engine: &Engine) -> bool {
    progress(&format!(
        "==> looking for {STOCK} in a registry (20 s at most)"
    ));
    let pull = engine
        .docker()
        .create_image(
            Some(CreateImageOptionsBuilder::new().from_image(STOCK).build()),
            None,
            None,
        )
        .try_collect::<Vec<_>>();
    match tokio::time::timeout(Duration::from_secs(20), pull).await {
        Ok(Ok(_)) => engine.image_exists(STOCK).await.unwrap_or(false),
        Ok(Err(e)) => {
            progress(&format!("    no registry: {e}"));
            false
        }
        Err(_) => {
            progress("    no registry answered within 20 s");
            false
        }
    }
}

/// Whether this process runs as root: `/proc/self` is owned by the
/// process's effective uid (this avoids an `unsafe` call to `geteuid`).
pub(crate) fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

async fn ensure_debootstrap() -> Result<PathBuf, ImageError> {
    if let Some(p) = which("debootstrap") {
        return Ok(p);
    }
    if !is_root() {
        return Err(ImageError::MissingTool {
            tool: "debootstrap",
            hint: "it is not installed and faultline is not root; run `sudo apt-get install -y debootstrap` (or `make setup`)".into(),
        });
    }
    progress("==> installing debootstrap with apt-get");
    let status = tokio::process::Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "debootstrap"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .status()
        .await;
    match status {
        Ok(s) if s.success() => which("debootstrap").ok_or(ImageError::MissingTool {
            tool: "debootstrap",
            hint: "apt-get reported success but debootstrap is not on PATH".into(),
        }),
        Ok(s) => Err(ImageError::MissingTool {
            tool: "debootstrap",
            hint: format!(
                "`apt-get install debootstrap` failed ({s}); is the Debian archive reachable?"
            ),
        }),
        Err(e) => Err(ImageError::MissingTool {
            tool: "debootstrap",
            hint: format!("it is not installed and apt-get could not run: {e}"),
        }),
    }
}

async fn debootstrap_and_import(engine: &Engine, reference: &str) -> Result<(), ImageError> {
    if !is_root() {
        return Err(ImageError::MissingTool {
            tool: "root",
            hint: format!("no {STOCK} image is available, and building the base with debootstrap needs root; run `sudo faultline images build` once"),
        });
    }
    let debootstrap = ensure_debootstrap().await?;
    let dir = crate::project::cache_dir().join(format!(
        "rootfs-{}",
        reference.rsplit(':').next().unwrap_or("base")
    ));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|source| ImageError::Io {
            what: "removing the unfinished root",
            path: dir.clone(),
            source,
        })?;
    }
    std::fs::create_dir_all(&dir).map_err(|source| ImageError::Io {
        what: "creating",
        path: dir.clone(),
        source,
    })?;
    progress(&format!(
        "==> debootstrap --variant=minbase {SUITE} from {} (about a minute)",
        mirror()
    ));
    let output = tokio::process::Command::new(&debootstrap)
        .arg("--variant=minbase")
        .arg(format!("--include={INCLUDE}"))
        .arg(SUITE)
        .arg(&dir)
        .arg(mirror())
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| ImageError::MissingTool {
            tool: "debootstrap",
            hint: format!("it could not run: {e}"),
        })?;
    if !output.status.success() {
        let log = String::from_utf8_lossy(&output.stdout);
        let detail = super::last_lines(&log, 8).join("\n    ");
        let _ = std::fs::remove_dir_all(&dir);
        return Err(ImageError::Command {
            what: format!("debootstrap {SUITE} from {}", mirror()),
            status: output.status.to_string(),
            detail: format!(":\n    {detail}"),
        });
    }
    trim_rootfs(&dir);
    import(engine, &dir, reference).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Drops package caches that only make the image bigger.
fn trim_rootfs(dir: &Path) {
    for sub in ["var/cache/apt/archives", "var/lib/apt/lists"] {
        if let Ok(entries) = std::fs::read_dir(dir.join(sub)) {
            for e in entries.flatten() {
                if e.path().is_file() {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

async fn import(engine: &Engine, dir: &Path, reference: &str) -> Result<(), ImageError> {
    progress(&format!("==> docker import {reference}"));
    let (repo, tag) = reference.rsplit_once(':').unwrap_or((reference, "latest"));
    // The system tar keeps device nodes, ownership and hard links exactly as
    // debootstrap made them.
    let mut child = tokio::process::Command::new("tar")
        .args(["--numeric-owner", "-C"])
        .arg(dir)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| ImageError::MissingTool {
            tool: "tar",
            hint: format!("it could not run: {e}"),
        })?;
    let stdout = child.stdout.take().ok_or_else(|| ImageError::MissingTool {
        tool: "tar",
        hint: "its output could not be read".into(),
    })?;
    let body = tokio_util_stream(stdout);
    let mut stream = engine.docker().create_image(
        Some(
            CreateImageOptionsBuilder::new()
                .from_src("-")
                .repo(repo)
                .tag(tag)
                .build(),
        ),
        Some(bollard::body_try_stream(body)),
        None,
    );
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| ImageError::Build {
            image: reference.into(),
            message: e.to_string(),
        })?;
        if let Some(msg) = info.error_detail.and_then(|d| d.message) {
            return Err(ImageError::Build {
                image: reference.into(),
                message: msg,
            });
        }
    }
    let status = child.wait().await.map_err(|e| ImageError::MissingTool {
        tool: "tar",
        hint: e.to_string(),
    })?;
    if !status.success() {
        return Err(ImageError::Command {
            what: "tar of the debootstrapped root".into(),
            status: status.to_string(),
            detail: String::new(),
        });
    }
    Ok(())
}

/// Reads an async reader as a stream of byte chunks.
fn tokio_util_stream(
    reader: impl tokio::io::AsyncRead + Send + Unpin + 'static,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold(reader, |mut reader| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 1 << 20];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), reader))
            }
            Err(e) => Some((Err(e), reader)),
        }
    })
}
