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
///
/// A new file gets mode `0666 & !umask`, as any program's would: the next workflow step
/// (`actions/upload-artifact`, which runs as the runner's user while the container runs as
/// root) must be able to read it. A replaced file keeps its mode. A symbolic link is written
/// through, to its target, and stays a link.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let resolved;
    let path = if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        resolved = std::fs::canonicalize(path).map_err(|e| {
            file_error(
                format!("cannot follow the link {}", path.display()),
                e,
                "point the link at an existing file, or replace it with a file",
            )
        })?;
        resolved.as_path()
    } else {
        path
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| {
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// The current umask, from /proc.
    fn umask() -> u32 {
        let text = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = text.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
    }

    #[test]
    fn new_files_follow_the_umask_and_replaced_files_keep_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("manifest.json");
        write_atomically(&new, "{}").unwrap();
        assert_eq!(
            mode(&new),
            0o666 & !umask(),
            "readable by others, as the umask allows"
        );
        let kept = dir.path().join("script.sh");
        std::fs::write(&kept, "old").unwrap();
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o750)).unwrap();
        write_atomically(&kept, "new").unwrap();
        assert_eq!(mode(&kept), 0o750);
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), "new");
    }

    #[test]
    fn a_link_is_written_through_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.yaml");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomically(&link, "new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    }
}
