//! The builder's user-data: the wrapper in `templates/user-data.sh.j2` around the project's
//! build script, and the result marker it prints on the serial console.
//!
//! Marker protocol: the wrapper's last console line is
//! `MARKETPLACE-RELEASE-RESULT run=<run id> status=success|failed exit=<code>`, where the run
//! ID is new for every build, so console output of an earlier boot is never mistaken for this
//! one. Then the builder powers itself off.

use std::io::Write;

use base64::Engine;
use flate2::{write::GzEncoder, Compression};

use crate::plan::render;

/// The bundled wrapper template.
pub const WRAPPER: &str = include_str!("../../templates/user-data.sh.j2");

/// The marker's fixed prefix.
pub const MARKER: &str = "MARKETPLACE-RELEASE-RESULT";

/// EC2 accepts at most 16 KB of user-data, before base64 encoding.
pub const USER_DATA_LIMIT: usize = 16 * 1024;

/// The user-data could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserDataError {
    /// The build script is empty.
    #[error("the build script is empty\n  help: put the commands that install the product in build.script")]
    EmptyScript,
    /// Even compressed, the user-data is too large for EC2.
    #[error("the build script is too large for EC2 user-data: {compressed} bytes after gzip, and EC2 accepts {USER_DATA_LIMIT}\n  help: keep build.script small: download large files or packages from within the script")]
    TooLarge {
        /// Size after gzip.
        compressed: usize,
    },
    /// The wrapper template failed to render.
    #[error("{0}")]
    Render(String),
}

/// User-data ready for RunInstances.
#[derive(Debug, Clone)]
pub struct UserData {
    /// Base64 of the payload, as RunInstances takes it.
    pub base64: String,
    /// Payload size in bytes (after gzip when `gzipped`).
    pub bytes: usize,
    /// Whether the payload is gzipped (cloud-init unpacks it).
    pub gzipped: bool,
}

/// Renders the wrapper around `script`. The payload is gzipped when it exceeds the limit.
pub fn render_user_data(
    script: &str,
    run_id: &str,
    version: &str,
    product: &str,
) -> Result<UserData, UserDataError> {
    if script.trim().is_empty() {
        return Err(UserDataError::EmptyScript);
    }
    // The script is written with a quoted heredoc; its end word must not occur in the script.
    let mut script_end = format!("MARKETPLACE_RELEASE_SCRIPT_END_{run_id}");
    while script.contains(&script_end) {
        script_end.push('_');
    }
    let context = minijinja::context!(marker => MARKER, run_id, version, product, script => script.trim_end(), script_end);
    let text = render::render("templates/user-data.sh.j2", WRAPPER, context)
        .map_err(|e| UserDataError::Render(e.to_string()))?;
    let (payload, gzipped) = if text.len() > USER_DATA_LIMIT {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(text.as_bytes())
            .expect("writing to memory");
        (encoder.finish().expect("writing to memory"), true)
    } else {
        (text.into_bytes(), false)
    };
    if payload.len() > USER_DATA_LIMIT {
        return Err(UserDataError::TooLarge {
            compressed: payload.len(),
        });
    }
    Ok(UserData {
        base64: base64::engine::general_purpose::STANDARD.encode(&payload),
        bytes: payload.len(),
        gzipped,
    })
}

/// What the builder's console says about the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildResult {
    /// The script and the hardening succeeded.
    Success,
    /// The script or the hardening failed with this exit code.
    Failed(i32),
    /// No marker for this run (yet).
    Unknown,
}

/// Finds this run's marker in the console output; the last one wins.
pub fn parse_result(console: &str, run_id: &str) -> BuildResult {
    let wanted = format!("{MARKER} run={run_id} ");
    let Some(line) = console
        .lines()
        .rev()
        .find_map(|l| l.find(&wanted).map(|i| &l[i + wanted.len()..]))
    else {
        return BuildResult::Unknown;
    };
    let field = |name: &str| line.split_whitespace().find_map(|kv| kv.strip_prefix(name));
    match (
        field("status="),
        field("exit=").and_then(|c| c.trim().parse().ok()),
    ) {
        (Some("success"), _) => BuildResult::Success,
        (Some(_), code) => BuildResult::Failed(code.unwrap_or(1)),
        _ => BuildResult::Unknown,
    }
}

/// The last `n` lines of the console output, for error messages.
pub fn tail(console: &str, n: usize) -> String {
    let lines: Vec<&str> = console.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(data: &UserData) -> String {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&data.base64)
            .unwrap();
        if data.gzipped {
            let mut out = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
                .unwrap();
            out
        } else {
            String::from_utf8(bytes).unwrap()
        }
    }

    #[test]
    fn wraps_the_script_verbatim_with_hardening_and_marker() {
        let script = "#!/bin/bash\necho \"{{ not a template }}\" $HOME `date`\n";
        let data = render_user_data(script, "r1", "5.26.0", "Neo4j").unwrap();
        assert!(!data.gzipped);
        let text = decode(&data);
        assert!(text.starts_with("#!/bin/bash\n"), "{text}");
        assert!(text.contains("<<'MARKETPLACE_RELEASE_SCRIPT_END_r1'\n#!/bin/bash\necho \"{{ not a template }}\" $HOME `date`\nMARKETPLACE_RELEASE_SCRIPT_END_r1\n"), "{text}");
        for needle in [
            "PasswordAuthentication no",
            "PermitRootLogin prohibit-password",
            "passwd -l root",
            "rm -f /etc/ssh/ssh_host_*",
            "authorized_keys",
            "bash_history",
            "MARKETPLACE-RELEASE-RESULT run=r1 status=$1 exit=$2",
            "poweroff",
            "/dev/console",
        ] {
            assert!(text.contains(needle), "missing {needle}");
        }
    }

    #[test]
    fn the_build_log_goes_to_the_console_only_and_never_into_the_ami() {
        let text = decode(&render_user_data("make install\n", "r1", "1.0", "P").unwrap());
        let wrapper: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        let redirect = wrapper
            .iter()
            .find(|l| l.starts_with("exec "))
            .expect("the wrapper redirects its output");
        assert_eq!(*redirect, "exec > /dev/console 2>&1");
        for line in &wrapper {
            assert!(
                !line.contains("/var/log/"),
                "writes a log into the AMI: {line}"
            );
            assert!(
                !line.contains("tee "),
                "copies the output somewhere: {line}"
            );
        }
        // cloud-init keeps a copy of the user-data and its output; the hardening removes both.
        assert!(text.contains("cloud-init clean --logs"));
    }

    #[test]
    fn heredoc_end_word_never_occurs_in_the_script() {
        let script = "echo MARKETPLACE_RELEASE_SCRIPT_END_r1\n";
        let text = decode(&render_user_data(script, "r1", "1.0", "P").unwrap());
        assert!(
            text.contains("<<'MARKETPLACE_RELEASE_SCRIPT_END_r1_'"),
            "{text}"
        );
    }

    #[test]
    fn large_scripts_are_gzipped_and_huge_ones_refused() {
        let large = "echo 'a fairly repetitive line of build script'\n".repeat(600);
        let data = render_user_data(&large, "r", "1.0", "P").unwrap();
        assert!(data.gzipped && data.bytes <= USER_DATA_LIMIT);
        assert!(decode(&data).contains("a fairly repetitive line"));
        let mut state = 7u64;
        let random: String = (0..40_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                char::from(b'!' + (state >> 58) as u8)
            })
            .collect();
        assert!(matches!(
            render_user_data(&random, "r", "1.0", "P"),
            Err(UserDataError::TooLarge { .. })
        ));
        assert_eq!(
            render_user_data("  \n", "r", "1.0", "P").unwrap_err(),
            UserDataError::EmptyScript
        );
    }

    #[test]
    fn parses_this_runs_marker_only() {
        let console = "boot\nMARKETPLACE-RELEASE-RESULT run=old status=success exit=0\n[ 1.0] MARKETPLACE-RELEASE-RESULT run=r2 status=failed exit=3\n";
        assert_eq!(parse_result(console, "r2"), BuildResult::Failed(3));
        assert_eq!(parse_result(console, "old"), BuildResult::Success);
        assert_eq!(parse_result(console, "r3"), BuildResult::Unknown);
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
    }
}
