//! File writes that never leave a partial file behind, and file errors that say what to do.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use anyhow::{anyhow, Result};

/// Temporary files being written, removed when a signal ends the process (see
/// [`remove_temporary_files_on_signal`]). Creating one holds the lock, so none is created
/// after the signal's cleanup.
static PENDING: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Set while a signal cancels the run cooperatively (the release runtime) instead of ending
/// the process.
static COOPERATIVE: AtomicBool = AtomicBool::new(false);

/// Makes SIGINT and SIGTERM remove the temporary files of writes in progress before the
/// process ends as it would have (by the same signal). While [`cooperative`] signals are
/// left to the runtime that cancels the run, which finishes its writes.
pub fn remove_temporary_files_on_signal() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if COOPERATIVE.load(Ordering::SeqCst) {
                    continue;
                }
                let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
                for path in pending.iter() {
                    let _ = std::fs::remove_file(path);
                }
                // Ends the process, with the lock held: no new temporary file after this.
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                drop(pending);
            }
        })?;
    Ok(())
}

/// Whether signals are the runtime's to handle (`true` while a release runs).
pub fn cooperative(on: bool) {
    COOPERATIVE.store(on, Ordering::SeqCst);
}

/// Removes the temporary files of writes in progress, before an exit that skips destructors.
pub fn remove_temporary_files() {
    let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    for path in pending.iter() {
        let _ = std::fs::remove_file(path);
    }
}

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
    let file = {
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        let file = tempfile::Builder::new()
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(|e| {
                file_error(
                    format!("cannot create a file in {}", dir.display()),
                    e,
                    "check that the directory exists and is writable",
                )
            })?;
        pending.insert(file.path().to_owned());
        file
    };
    let temporary = file.path().to_owned();
    let result = write_and_persist(file, path, text);
    PENDING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&temporary);
    result
}

/// Writes `text` into the temporary `file` and renames it to `path`; on failure the
/// temporary file is dropped, which removes it.
fn write_and_persist(mut file: tempfile::NamedTempFile, path: &Path, text: &str) -> Result<()> {
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

/// What a workspace path may lead to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A regular file that exists (read).
    File,
    /// A regular file, or nothing yet in a directory of the workspace (written).
    FileOrMissing,
    /// A regular file or a directory (the `manifests` input).
    FileOrDir,
}

/// Where `relative`, a path from the config or an input (`what` names it: `build.script`,
/// the `manifest` input), leads inside `workspace`. Every symbolic link on the way is followed,
/// and the end must be inside the workspace and be what `expect` says: a link to
/// `/proc/self/environ`, a directory linked to `/etc`, a device or a FIFO are refused, so no
/// file outside the repository reaches a PR body, user-data or a commit. The path returned is
/// the joined one (links are written through, not replaced).
pub fn in_workspace(
    workspace: &Path,
    relative: &Path,
    what: &str,
    expect: Expect,
) -> Result<std::path::PathBuf> {
    let shown = relative.display();
    let root = std::fs::canonicalize(workspace).map_err(|e| {
        file_error(
            format!("cannot read the workspace {}", workspace.display()),
            e,
            "run in the repository's checkout, or give --workspace",
        )
    })?;
    // An absolute path (a file the caller found in a workspace directory) joins as itself.
    let joined = workspace.join(relative);
    let outside = |resolved: &Path| {
        anyhow!(
            "{what} `{shown}` leads to {}, outside the workspace {}\n  help: keep the file inside the repository; a symbolic link must point inside it too",
            resolved.display(),
            root.display()
        )
    };
    let resolved = match std::fs::canonicalize(&joined) {
        Ok(resolved) => resolved,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && expect == Expect::FileOrMissing => {
            // Not there yet: its directory must be inside, and a dangling link is refused.
            if std::fs::symlink_metadata(&joined).is_ok() {
                return Err(anyhow!(
                    "{what} `{shown}` is a symbolic link to nothing\n  help: remove the link, or point it at a file inside the repository"
                ));
            }
            let parent = joined.parent().unwrap_or(workspace);
            let dir = std::fs::canonicalize(parent).map_err(|e| {
                file_error(
                    format!("cannot use the directory of {what} `{shown}`"),
                    e,
                    "create the directory first, inside the repository",
                )
            })?;
            if !dir.starts_with(&root) {
                return Err(outside(&dir));
            }
            return Ok(joined);
        }
        Err(e) => {
            return Err(file_error(
                format!("cannot read {what} `{shown}`"),
                e,
                &format!("check {what}, which is relative to the repository root"),
            ))
        }
    };
    if !resolved.starts_with(&root) {
        return Err(outside(&resolved));
    }
    let meta = std::fs::metadata(&resolved).map_err(|e| {
        file_error(
            format!("cannot read {what} `{shown}`"),
            e,
            &format!("check {what}"),
        )
    })?;
    if !(meta.is_file() || expect == Expect::FileOrDir && meta.is_dir()) {
        return Err(anyhow!(
            "{what} `{shown}` is not a regular file\n  help: give the path of a file in the repository"
        ));
    }
    Ok(joined)
}

/// Reads a workspace file, after [`in_workspace`] said it may be read; also its path there
/// (to write it back through a link).
pub fn read_bytes_in_workspace(
    workspace: &Path,
    relative: &Path,
    what: &str,
) -> Result<(PathBuf, Vec<u8>)> {
    let path = in_workspace(workspace, relative, what, Expect::File)?;
    let bytes = std::fs::read(&path).map_err(|e| {
        file_error(
            format!("cannot read {what} `{}`", relative.display()),
            e,
            &format!("check {what}, which is relative to the repository root"),
        )
    })?;
    Ok((path, bytes))
}

/// Reads a workspace file as UTF-8 text, as [`read_bytes_in_workspace`] does.
pub fn read_in_workspace(workspace: &Path, relative: &Path, what: &str) -> Result<String> {
    let (_, bytes) = read_bytes_in_workspace(workspace, relative, what)?;
    String::from_utf8(bytes).map_err(|_| {
        anyhow!(
            "{what} `{}` is not UTF-8 text\n  help: save it as UTF-8",
            relative.display()
        )
    })
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
    fn workspace_paths_resolve_inside_the_workspace_to_regular_files() {
        let root = tempfile::tempdir().unwrap();
        let ws = root.path().join("repo");
        std::fs::create_dir_all(ws.join("build")).unwrap();
        std::fs::write(ws.join("build/install.sh"), "echo").unwrap();
        std::fs::write(root.path().join("secret"), "token").unwrap();
        let link = |target: &Path, name: &str| {
            std::os::unix::fs::symlink(target, ws.join(name)).unwrap();
        };
        link(Path::new("/proc/self/environ"), "environ.md");
        link(&root.path().join("secret"), "secret.sh");
        link(root.path(), "up");
        link(Path::new("build/install.sh"), "inside.sh");
        link(Path::new("nowhere"), "dangling.json");
        let check = |p: &str, expect| in_workspace(&ws, Path::new(p), "build.script", expect);
        assert!(check("build/install.sh", Expect::File).is_ok());
        assert!(
            check("inside.sh", Expect::File).is_ok(),
            "a link inside is fine"
        );
        for (path, expect) in [
            ("environ.md", Expect::File),
            ("secret.sh", Expect::File),
            ("up/secret", Expect::File),
            ("up/new.json", Expect::FileOrMissing),
        ] {
            let err = check(path, expect).unwrap_err().to_string();
            assert!(err.contains("outside the workspace"), "{path}: {err}");
            assert!(err.contains("build.script"), "{path}: {err}");
        }
        let err = check("build", Expect::File).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        assert!(check("build", Expect::FileOrDir).is_ok());
        assert!(check("new.json", Expect::FileOrMissing).is_ok());
        let err = check("dangling.json", Expect::FileOrMissing).unwrap_err();
        assert!(err.to_string().contains("link to nothing"), "{err}");
        let err = check("missing.sh", Expect::File).unwrap_err().to_string();
        assert!(
            err.contains("cannot read build.script `missing.sh`"),
            "{err}"
        );
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
