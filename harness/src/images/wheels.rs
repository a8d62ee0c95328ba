//! Python wheels from PyPI that an image installs. They are downloaded on
//! the host, which trusts the network's TLS certificates where a build
//! container may not, into the cache, and copied into the build context
//! under `wheels/`; the Dockerfile installs them with `pip --no-index`. The
//! wheels' bytes are part of the image's content hash like every other file.
//! Written by hand because no library fetches wheels for a Docker build
//! context; `pip download` does the fetching.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::ImageError;

/// The folder wheels for `image` are kept in.
fn dir(image: &str) -> PathBuf {
    crate::project::cache_dir().join("wheels").join(image)
}

/// The wheels for `requirements` (each pinned, `name==version`), downloaded
/// once into the cache; returns their files, sorted.
pub async fn fetch(image: &str, requirements: &[&str]) -> Result<Vec<PathBuf>, ImageError> {
    let dir = dir(image);
    let present = |dir: &Path| -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "whl"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    };
    // A wheel's file name starts `<name>-<version>-` (`-` in the name as `_`).
    let prefixes: Vec<String> = requirements
        .iter()
        .map(|r| {
            let (name, version) = r.split_once("==").unwrap_or((r, ""));
            format!("{}-{version}-", name.replace('-', "_"))
        })
        .collect();
    let is_wheel_of = |f: &PathBuf, prefix: &str| {
        f.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
    };
    let covered = |files: &[PathBuf]| {
        prefixes
            .iter()
            .all(|p| files.iter().any(|f| is_wheel_of(f, p)))
    };
    // Only the pinned wheels go into the image: an older pin's files may
    // still be in the cache.
    let pinned = |files: Vec<PathBuf>| -> Vec<PathBuf> {
        files
            .into_iter()
            .filter(|f| prefixes.iter().any(|p| is_wheel_of(f, p)))
            .collect()
    };
    let have = present(&dir);
    if covered(&have) {
        return Ok(pinned(have));
    }
    super::progress(&format!(
        "==> downloading wheels for {image} from PyPI: {}",
        requirements.join(" ")
    ));
    std::fs::create_dir_all(&dir).map_err(|source| ImageError::Io {
        what: "creating",
        path: dir.clone(),
        source,
    })?;
    let what = format!(
        "python3 -m pip download --no-deps --only-binary=:all: {}",
        requirements.join(" ")
    );
    let output = tokio::process::Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .arg("--dest")
        .arg(&dir)
        .args(requirements)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| ImageError::MissingTool {
            tool: "python3 with pip",
            hint: format!("running `{what}` failed: {e}"),
        })?;
    let files = present(&dir);
    if !output.status.success() || !covered(&files) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(ImageError::Command {
            what,
            status: output.status.to_string(),
            detail: format!(": {}", super::last_lines(&stderr, 3).join(" / ")),
        });
    }
    Ok(pinned(files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheels_live_in_the_cache_per_image() {
        assert!(dir("postgres-ha").ends_with("wheels/postgres-ha"));
    }
}
