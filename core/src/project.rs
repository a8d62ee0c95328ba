//! Where faultline finds its own files (Dockerfiles, scenarios, profiles) and
//! where it keeps caches (debootstrap roots, image binaries, tools).

use std::path::{Path, PathBuf};

/// The project's root folder: `$FAULTLINE_ROOT`, else the nearest ancestor of
/// the working directory holding `reference-services/images`, else the
/// checkout this binary was built from.
pub fn root() -> PathBuf {
    if let Ok(r) = std::env::var("FAULTLINE_ROOT") {
        if !r.is_empty() {
            return PathBuf::from(r);
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if is_root(dir) {
                return dir.to_path_buf();
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn is_root(dir: &Path) -> bool {
    dir.join("reference-services/images").is_dir() && dir.join("Cargo.toml").is_file()
}

/// The cache folder: `$FAULTLINE_CACHE`, else `$XDG_CACHE_HOME/faultline`,
/// else `~/.cache/faultline`.
pub fn cache_dir() -> PathBuf {
    let from_env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(c) = from_env("FAULTLINE_CACHE") {
        return PathBuf::from(c);
    }
    if let Some(x) = from_env("XDG_CACHE_HOME") {
        return PathBuf::from(x).join("faultline");
    }
    if let Some(h) = from_env("HOME") {
        return PathBuf::from(h).join(".cache/faultline");
    }
    std::env::temp_dir().join("faultline-cache")
}
