//! Building every image the stack runs, with no container registry.
//!
//! The base is a local `debian:bookworm-slim` when the engine has or can pull
//! one, else a `debootstrap` of bookworm imported into the engine
//! ([`base`]). Every other image is a Dockerfile under
//! `reference-services/images/<name>/` built `FROM` that base, with
//! host-built Rust binaries copied in ([`binaries`]). Tags are content
//! hashes of everything that goes in, so an unchanged image is never rebuilt;
//! each build also moves the `latest` tag, which is what the stack runs.

pub mod base;
pub mod binaries;
pub mod wheels;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use bollard::query_parameters::BuildImageOptionsBuilder;
use bollard::query_parameters::TagImageOptionsBuilder;
use futures_util::StreamExt;

use crate::platform::docker::{self, Engine};
use crate::platform::LABEL_IMAGE;
use crate::platform::{Platform, PlatformError};
use binaries::Binary;

/// A failure while building images; faultline exits 3 on these.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] PlatformError),
    /// A tool the build needs is missing and cannot be installed.
    #[error("{tool} is required to build images: {hint}")]
    MissingTool {
        /// The missing program.
        tool: &'static str,
        /// How to get it.
        hint: String,
    },
    /// An external command failed.
    #[error("{what} failed ({status}){detail}")]
    Command {
        /// What was run.
        what: String,
        /// Its exit status.
        status: String,
        /// The tail of its output, if kept.
        detail: String,
    },
    /// `docker build` reported an error.
    #[error("building image {image} failed: {message}")]
    Build {
        /// The image.
        image: String,
        /// The builder's message.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An image the stack needs is not built.
    #[error("image {image} is missing; build it with `faultline images build` (or `make images`)")]
    Missing {
        /// The missing reference.
        image: String,
    },
}

/// One image faultline builds from a Dockerfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSpec {
    /// Short name: the folder under `reference-services/images/` and the
    /// repository `faultline/<name>`.
    pub name: &'static str,
    /// Host-built binaries copied into the build context under `bin/`.
    pub binaries: &'static [Binary],
    /// Python wheels (`name==version`) downloaded on the host and copied
    /// into the build context under `wheels/` ([`wheels`]).
    pub wheels: &'static [&'static str],
}

/// Every image the stack runs, base excluded.
pub const IMAGES: &[ImageSpec] = &[
    ImageSpec {
        name: "postgres-ha",
        binaries: &[],
        // Patroni with the fix for docs/findings/patroni-3.0.2-etcd3-leader-key.md
        // (Debian bookworm has 3.0.2), and the one dependency Debian lacks.
        wheels: &["patroni==3.0.4", "ydiff==1.5"],
    },
    ImageSpec {
        name: "etcd",
        binaries: &[],
        wheels: &[],
    },
    ImageSpec {
        name: "haproxy",
        binaries: &[],
        wheels: &[],
    },
    ImageSpec {
        name: "redis",
        binaries: &[],
        wheels: &[],
    },
    ImageSpec {
        name: "broker",
        binaries: &[Binary::Tansu],
        wheels: &[],
    },
    ImageSpec {
        name: "services",
        binaries: &[
            Binary::package("gateway"),
            Binary::package("orders"),
            Binary::package("analytics"),
            Binary::package("lag-exporter"),
        ],
        wheels: &[],
    },
    ImageSpec {
        name: "proxy",
        binaries: &[Binary::Workspace {
            package: "faultline",
            bin: "faultline-proxy",
        }],
        wheels: &[],
    },
];

/// The repository of an image (`faultline/<name>`).
pub fn repository(name: &str) -> String {
    format!("faultline/{name}")
}

/// The reference the stack runs: the most recently built `latest`.
pub fn current(name: &str) -> String {
    format!("{}:latest", repository(name))
}

pub use faultline_core::hash::content_hash;

/// Options of [`build_all`].
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Rebuild even when the content hash is present.
    pub force: bool,
}

/// What [`build_all`] did for one image.
#[derive(Debug, Clone)]
pub struct Built {
    /// Short name.
    pub name: String,
    /// Full reference with its content-hash tag.
    pub reference: String,
    /// Whether it was built now (false: it already existed).
    pub built: bool,
    /// Seconds spent on it.
    pub seconds: f64,
}

/// The last `n` lines of a command's output, in order (for an error).
fn last_lines(output: &str, n: usize) -> Vec<&str> {
    let mut tail: Vec<&str> = output.lines().rev().take(n).collect();
    tail.reverse();
    tail
}

fn progress(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Builds every image that is missing or out of date; a second call with
/// nothing changed only hashes and checks tags.
pub async fn build_all(engine: &Engine, opts: &BuildOptions) -> Result<Vec<Built>, ImageError> {
    let root = crate::project::root();
    let mut done = Vec::new();
    let started = Instant::now();
    let base = base::ensure(engine, opts.force).await?;
    // A user's stack built offline (examples/compose-shop) starts FROM
    // faultline/base:latest; faultline's own images take the hash.
    tag(engine, &base.reference, &repository("base"), "latest").await?;
    done.push(Built {
        name: "base".into(),
        reference: base.reference.clone(),
        built: base.built,
        seconds: started.elapsed().as_secs_f64(),
    });
    let needed: Vec<Binary> = IMAGES
        .iter()
        .flat_map(|i| i.binaries.iter().copied())
        .collect();
    let paths = binaries::build(&root, &needed).await?;
    for spec in IMAGES {
        let t = Instant::now();
        let (reference, built) =
            build_one(engine, &root, spec, &base.reference, &paths, opts).await?;
        done.push(Built {
            name: spec.name.into(),
            reference,
            built,
            seconds: t.elapsed().as_secs_f64(),
        });
    }
    Ok(done)
}

/// Fails with [`ImageError::Missing`] unless every image the stack runs is
/// on the platform (with a `latest` tag).
pub async fn check_present(platform: &Platform) -> Result<(), ImageError> {
    for spec in IMAGES {
        let reference = current(spec.name);
        if !platform.has_image(&reference).await? {
            return Err(ImageError::Missing { image: reference });
        }
    }
    Ok(())
}

struct ContextFile {
    path: String,
    bytes: Vec<u8>,
    mode: u32,
}

fn read_dir_files(dir: &Path, prefix: &str, out: &mut Vec<ContextFile>) -> Result<(), ImageError> {
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| ImageError::Io { what, path, source }
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io("reading", dir))?
        .collect::<Result<_, _>>()
        .map_err(io("reading", dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if path.is_dir() {
            read_dir_files(&path, &format!("{name}/"), out)?;
        } else {
            let bytes = std::fs::read(&path).map_err(io("reading", &path))?;
            let mode = if name.ends_with(".sh") { 0o755 } else { 0o644 };
            out.push(ContextFile {
                path: name,
                bytes,
                mode,
            });
        }
    }
    Ok(())
}

async fn build_one(
    engine: &Engine,
    root: &Path,
    spec: &ImageSpec,
    base: &str,
    binaries: &HashMap<Binary, PathBuf>,
    opts: &BuildOptions,
) -> Result<(String, bool), ImageError> {
    let dir = root.join("reference-services/images").join(spec.name);
    let mut files = Vec::new();
    read_dir_files(&dir, "", &mut files)?;
    for bin in spec.binaries {
        let path = &binaries[bin];
        let bytes = std::fs::read(path).map_err(|source| ImageError::Io {
            what: "reading",
            path: path.clone(),
            source,
        })?;
        files.push(ContextFile {
            path: format!("bin/{}", bin.file_name()),
            bytes,
            mode: 0o755,
        });
    }
    for path in wheels::fetch(spec.name, spec.wheels).await? {
        let bytes = std::fs::read(&path).map_err(|source| ImageError::Io {
            what: "reading",
            path: path.clone(),
            source,
        })?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        files.push(ContextFile {
            path: format!("wheels/{name}"),
            bytes,
            mode: 0o644,
        });
    }
    let hash = content_hash(
        [("image", spec.name.as_bytes()), ("base", base.as_bytes())]
            .into_iter()
            .chain(files.iter().map(|f| (f.path.as_str(), f.bytes.as_slice()))),
    );
    let repo = repository(spec.name);
    let reference = format!("{repo}:{hash}");
    if !opts.force && engine.image_exists(&reference).await? {
        tag(engine, &reference, &repo, "latest").await?;
        return Ok((reference, false));
    }
    progress(&format!("==> building {reference}"));
    let mut tarball = tar::Builder::new(Vec::new());
    for f in &files {
        let mut header = tar::Header::new_gnu();
        header.set_size(f.bytes.len() as u64);
        header.set_mode(f.mode);
        header.set_mtime(0);
        header.set_cksum();
        tarball
            .append_data(&mut header, &f.path, f.bytes.as_slice())
            .map_err(|source| ImageError::Io {
                what: "packing build context",
                path: dir.clone(),
                source,
            })?;
    }
    let tarball = tarball.into_inner().map_err(|source| ImageError::Io {
        what: "packing build context",
        path: dir.clone(),
        source,
    })?;
    let buildargs = HashMap::from([("BASE_IMAGE".to_string(), base.to_string())]);
    let labels = HashMap::from([(LABEL_IMAGE.to_string(), spec.name.to_string())]);
    let options = BuildImageOptionsBuilder::new()
        .t(&reference)
        .rm(true)
        .forcerm(true)
        .buildargs(&buildargs)
        .labels(&labels)
        .build();
    let mut stream =
        engine
            .docker()
            .build_image(options, None, Some(bollard::body_full(tarball.into())));
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| ImageError::Build {
            image: reference.clone(),
            message: e.to_string(),
        })?;
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            return Err(ImageError::Build {
                image: reference,
                message: err,
            });
        }
        if let Some(line) = info.stream {
            let line = line.trim_end();
            if line.starts_with("Step ") {
                progress(&format!("    {}: {line}", spec.name));
            }
        }
    }
    if !engine.image_exists(&reference).await? {
        return Err(ImageError::Build {
            image: reference,
            message: "the engine reported no error but the image is not there".into(),
        });
    }
    tag(engine, &reference, &repo, "latest").await?;
    Ok((reference, true))
}

/// Removes every image labelled as built by faultline, and the base.
pub async fn remove_all(engine: &Engine) -> Result<usize, ImageError> {
    use bollard::query_parameters::{ListImagesOptionsBuilder, RemoveImageOptionsBuilder};
    let filters = HashMap::from([("reference".to_string(), vec!["faultline/*".to_string()])]);
    let list = engine
        .docker()
        .list_images(Some(
            ListImagesOptionsBuilder::new()
                .all(false)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(docker::call("listing images", "faultline/*"))?;
    let mut removed = 0;
    for image in list {
        for reference in image.repo_tags {
            let result = engine
                .docker()
                .remove_image(
                    &reference,
                    Some(RemoveImageOptionsBuilder::new().force(true).build()),
                    None,
                )
                .await;
            if result.is_ok() {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Points `repo:tag` at `reference`.
pub(crate) async fn tag(
    engine: &Engine,
    reference: &str,
    repo: &str,
    tag: &str,
) -> Result<(), ImageError> {
    engine
        .docker()
        .tag_image(
            reference,
            Some(TagImageOptionsBuilder::new().repo(repo).tag(tag).build()),
        )
        .await
        .map_err(|e| ImageError::Engine(docker::call("tagging image", reference)(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_is_stable_and_sensitive() {
        let a = content_hash([("x", b"1".as_slice()), ("y", b"2".as_slice())]);
        assert_eq!(
            a,
            content_hash([("x", b"1".as_slice()), ("y", b"2".as_slice())])
        );
        assert_ne!(
            a,
            content_hash([("x", b"1".as_slice()), ("y", b"3".as_slice())])
        );
        // Boundaries matter: ("ab","c") is not ("a","bc").
        assert_ne!(
            content_hash([("ab", b"c".as_slice())]),
            content_hash([("a", b"bc".as_slice())])
        );
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn every_image_has_a_dockerfile() {
        let root = crate::project::root();
        for spec in IMAGES {
            let f = root
                .join("reference-services/images")
                .join(spec.name)
                .join("Dockerfile");
            assert!(f.is_file(), "{} has no Dockerfile", spec.name);
        }
    }
}
