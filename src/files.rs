//! File writes that never leave a partial file behind, and file errors that say what to do.

use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, Result};

/// An I/O failure on a named file, with what to do about it.
pub fn file_error(what: String, error: std::io::Error, help: &str) -> anyhow::Error {
    anyhow!("{what}: {error}\n  help: {help}")
}

/// Writes `text` to `path` through a temporary file in the same directory, so that readers
/// (and a crash) see the old file or the new one, never a partial one.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| {
        file_error(
            format!("cannot create a file in {}", dir.display()),
            e,
            "check that the directory exists and is writable",
        )
    })?;
    file.write_all(text.as_bytes()).map_err(|e| {
        file_error(
            format!("cannot write {}", path.display()),
            e,
            "check the free space and permissions of the directory",
        )
    })?;
    if let Ok(meta) = std::fs::metadata(path) {
        // Keep the mode of the file being replaced (an executable bit, group access).
        let _ = file.as_file().set_permissions(meta.permissions());
    }
    file.persist(path).map_err(|e| {
        file_error(
            format!("cannot replace {}", path.display()),
            e.error,
            "check that the file and its directory are writable",
        )
    })?;
    Ok(())
}
