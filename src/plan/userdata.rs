//! The builder's user-data: the wrapper in `templates/user-data.sh.j2` around the project's
//! build script, and the result marker it prints on the serial console.
//!
//! Marker protocol: the wrapper's last console line is
//! `MARKETPLACE-RELEASE-RESULT run=<run id> status=success|failed exit=<code>`, where the run
//! ID is new for every build, so console output of an earlier boot is never mistaken for this
//! one. Then the builder powers itself off.
//!
//! The test instance of the verify stage gets `templates/verify-user-data.sh.j2` around the
//! checks of `templates/verify-checks.sh` and the vendor's verify script: it prints one
//! `MARKETPLACE-RELEASE-CHECK run=<run id> name=<check> status=passed|failed|skipped
//! seconds=<n> detail=<text>` line per check ([`parse_checks`]), then the same result marker.

use std::io::Write;

use base64::Engine;
use flate2::{write::GzEncoder, Compression};

use crate::domain::verification::{Check, CheckOutcome};
use crate::plan::render;

/// The bundled wrapper template.
pub const WRAPPER: &str = include_str!("../../templates/user-data.sh.j2");

/// The bundled wrapper of the test instance.
pub const VERIFY_WRAPPER: &str = include_str!("../../templates/verify-user-data.sh.j2");

/// The bundled verification checks (bash), which the test instance runs.
pub const VERIFY_CHECKS: &str = include_str!("../../templates/verify-checks.sh");

/// The marker's fixed prefix.
pub const MARKER: &str = "MARKETPLACE-RELEASE-RESULT";

/// The fixed prefix of a check's line.
pub const CHECK_MARKER: &str = "MARKETPLACE-RELEASE-CHECK";

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
    encode(text)
}

/// What the test instance runs.
#[derive(Debug, Clone, Copy)]
pub struct VerifyScript<'a> {
    /// The vendor's verify script, when there is one.
    pub script: Option<&'a str>,
    /// The product's systemd unit (checked to be a unit name), when named.
    pub service: Option<&'a str>,
    /// The run ID the markers carry.
    pub run_id: &'a str,
    /// The release version.
    pub version: &'a str,
    /// The product name.
    pub product: &'a str,
}

/// Renders the test instance's user-data: the checks, then the vendor's script (when given).
pub fn render_verify_user_data(verify: &VerifyScript<'_>) -> Result<UserData, UserDataError> {
    let script = verify.script.map(str::trim_end).filter(|s| !s.is_empty());
    let mut script_end = format!("MARKETPLACE_RELEASE_SCRIPT_END_{}", verify.run_id);
    while script.is_some_and(|s| s.contains(&script_end)) || VERIFY_CHECKS.contains(&script_end) {
        script_end.push('_');
    }
    let context = minijinja::context!(
        run_id => verify.run_id,
        version => verify.version,
        product => verify.product,
        service => verify.service.unwrap_or_default(),
        checks => VERIFY_CHECKS.trim_end(),
        script,
        script_end,
    );
    let text = render::render("templates/verify-user-data.sh.j2", VERIFY_WRAPPER, context)
        .map_err(|e| UserDataError::Render(e.to_string()))?;
    encode(text)
}

/// The payload as RunInstances takes it: gzipped when over the limit, refused when still over.
fn encode(text: String) -> Result<UserData, UserDataError> {
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

/// The check lines of this run on the console, in order; a check reported twice (an earlier
/// boot's output) keeps its last line.
pub fn parse_checks(console: &str, run_id: &str) -> Vec<Check> {
    let wanted = format!("{CHECK_MARKER} run={run_id} ");
    let mut checks: Vec<Check> = Vec::new();
    for line in console.lines() {
        let Some(at) = line.find(&wanted) else {
            continue;
        };
        let rest = &line[at + wanted.len()..];
        let (fields, detail) = rest.split_once(" detail=").unwrap_or((rest, ""));
        let field = |name: &str| {
            fields
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(name))
        };
        let (Some(name), Some(outcome)) = (
            field("name="),
            field("status=").and_then(CheckOutcome::parse),
        ) else {
            continue;
        };
        let check = Check {
            name: name.to_owned(),
            outcome,
            seconds: field("seconds=").and_then(|s| s.parse().ok()).unwrap_or(0),
            detail: detail.trim().to_owned(),
        };
        match checks.iter_mut().find(|c| c.name == check.name) {
            Some(earlier) => *earlier = check,
            None => checks.push(check),
        }
    }
    checks
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

    /// The checks part of the test instance's user-data, as rendered.
    fn rendered_checks(data: &UserData) -> String {
        let text = decode(data);
        let start = text.find("checks.sh <<'").expect("the checks are written");
        let after = &text[start..];
        let end_word = after["checks.sh <<'".len()..].split('\'').next().unwrap();
        let body_start = after.find('\n').unwrap() + 1;
        let body_end = after.find(&format!("\n{end_word}\n")).unwrap();
        after[body_start..body_end].to_owned()
    }

    #[test]
    fn verify_user_data_holds_the_checks_the_unit_and_the_script() {
        let data = render_verify_user_data(&VerifyScript {
            script: Some("#!/bin/bash\ncurl -fsS http://localhost:7474/\n"),
            service: Some("neo4j.service"),
            run_id: "r9",
            version: "5.26.0",
            product: "Neo4j",
        })
        .unwrap();
        let text = decode(&data);
        assert!(text.contains("MR_SERVICE='neo4j.service'"), "{text}");
        assert!(text.contains("curl -fsS http://localhost:7474/"), "{text}");
        assert!(text.contains("systemd-run --unit=marketplace-release-verify"));
        assert!(text.contains("MARKETPLACE-RELEASE-RESULT run=$MR_RUN_ID status="));
        assert!(text.contains("MR_RUN_ID='r9'"));
        assert_eq!(rendered_checks(&data), VERIFY_CHECKS.trim_end());
        let without = decode(
            &render_verify_user_data(&VerifyScript {
                script: None,
                service: None,
                run_id: "r9",
                version: "5.26.0",
                product: "Neo4j",
            })
            .unwrap(),
        );
        assert!(!without.contains("verify.sh <<"), "{without}");
        assert!(without.contains("MR_SERVICE=''"));
    }

    #[test]
    fn check_lines_are_read_in_order_with_their_details() {
        let console = "boot\n\
            [  9.1] MARKETPLACE-RELEASE-CHECK run=r1 name=sshd status=passed seconds=0 detail=passwordauthentication no\n\
            MARKETPLACE-RELEASE-CHECK run=old name=script status=failed seconds=1 detail=x\n\
            MARKETPLACE-RELEASE-CHECK run=r1 name=service status=failed seconds=120 detail=neo4j.service is failed: exit=1 code\n\
            MARKETPLACE-RELEASE-CHECK run=r1 name=script status=skipped seconds=0 detail=\n\
            MARKETPLACE-RELEASE-CHECK run=r1 name=bad status=maybe seconds=0 detail=\n";
        let checks = parse_checks(console, "r1");
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sshd", "service", "script"]);
        assert_eq!(checks[1].outcome, CheckOutcome::Failed);
        assert_eq!(checks[1].seconds, 120);
        assert_eq!(checks[1].detail, "neo4j.service is failed: exit=1 code");
        assert_eq!(checks[2].outcome, CheckOutcome::Skipped);
        assert!(parse_checks(console, "r2").is_empty());
    }

    /// A planted answer for one of the stubs.
    #[derive(Clone, Copy)]
    enum Plant {
        Nothing,
        PasswordLogin,
        RootLogin,
        SshdBroken,
        ServiceFailed,
        CloudInitError,
        AuthorizedKey,
        History,
        ScriptFails,
    }

    /// Runs the rendered checks under bash with stub `sshd`, `systemctl` and `cloud-init` on
    /// PATH and a planted root file system; the checks they report, and the result line.
    #[allow(
        clippy::too_many_lines,
        reason = "one stub per planted answer, read top to bottom"
    )]
    fn run_checks(plant: Plant) -> (Vec<Check>, BuildResult) {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        let root = dir.path().join("root");
        for d in [&bin, &root.join("root"), &root.join("home/ec2-user/.ssh")] {
            std::fs::create_dir_all(d).unwrap();
        }
        // Harmless leftovers: an empty authorized_keys and an empty history.
        std::fs::write(
            root.join("home/ec2-user/.ssh/authorized_keys"),
            "# none\n\n",
        )
        .unwrap();
        std::fs::write(root.join("root/.bash_history"), "").unwrap();
        let stub = |name: &str, body: &str| {
            let path = bin.join(name);
            std::fs::write(&path, format!("#!/bin/bash\n{body}\n")).unwrap();
            let mut perms = std::fs::metadata(&path).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
            std::fs::set_permissions(&path, perms).unwrap();
        };
        let (password, root_login) = match plant {
            Plant::PasswordLogin => ("yes", "prohibit-password"),
            Plant::RootLogin => ("no", "yes"),
            _ => ("no", "prohibit-password"),
        };
        if matches!(plant, Plant::SshdBroken) {
            stub(
                "sshd",
                "echo 'sshd: no hostkeys available -- exiting.' >&2; exit 1",
            );
        } else {
            stub("sshd", &format!("[ \"$1\" = -T ] || exit 2\nprintf 'port 22\\npermitrootlogin {root_login}\\npasswordauthentication {password}\\npubkeyauthentication yes\\n'"));
        }
        let state = if matches!(plant, Plant::ServiceFailed) {
            "failed"
        } else {
            "active"
        };
        stub("systemctl", &format!("case \"$1\" in is-active) echo {state}; [ {state} = active ];; status) echo 'neo4j.service - Neo4j'; echo 'Active: failed (Result: exit-code)';; esac"));
        let cloud_init = if matches!(plant, Plant::CloudInitError) {
            "echo 'status: error'; echo 'errors:'; echo \"- ('scripts_user', RuntimeError('Runparts: 1 failures'))\"; exit 1"
        } else {
            "echo 'status: done'; exit 0"
        };
        stub(
            "cloud-init",
            &format!("[ \"$1 $2\" = 'status --wait' ] || exit 3\n{cloud_init}"),
        );
        if matches!(plant, Plant::AuthorizedKey) {
            std::fs::write(
                root.join("home/ec2-user/.ssh/authorized_keys"),
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA leftover@builder\n",
            )
            .unwrap();
        }
        if matches!(plant, Plant::History) {
            std::fs::write(root.join("root/.bash_history"), "cat /etc/shadow\n").unwrap();
        }
        let script = dir.path().join("verify.sh");
        let exit = if matches!(plant, Plant::ScriptFails) {
            3
        } else {
            0
        };
        std::fs::write(&script, format!("echo checking {{}}; test \"$MARKETPLACE_RELEASE_VERSION\" = 5.26.0 || exit 9; exit {exit}\n")).unwrap();
        let data = render_verify_user_data(&VerifyScript {
            script: Some("unused here"),
            service: Some("neo4j.service"),
            run_id: "r7",
            version: "5.26.0",
            product: "Neo4j",
        })
        .unwrap();
        let checks_file = dir.path().join("checks.sh");
        std::fs::write(&checks_file, rendered_checks(&data)).unwrap();
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(". \"$1\"; mr_verify")
            .arg("verify")
            .arg(&checks_file)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("MR_RUN_ID", "r7")
            .env("MR_VERSION", "5.26.0")
            .env("MR_SERVICE", "neo4j.service")
            .env("MR_SCRIPT", &script)
            .env("MR_ROOT", &root)
            .output()
            .unwrap();
        let console = String::from_utf8_lossy(&out.stdout).into_owned();
        (parse_checks(&console, "r7"), parse_result(&console, "r7"))
    }

    #[test]
    fn the_built_in_checks_pass_on_a_clean_image_and_each_fails_on_its_planted_answer() {
        let (checks, result) = run_checks(Plant::Nothing);
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "cloud-init",
                "service",
                "sshd",
                "authorized-keys",
                "shell-history",
                "script"
            ]
        );
        assert!(
            checks.iter().all(|c| c.outcome == CheckOutcome::Passed),
            "{checks:?}"
        );
        assert_eq!(result, BuildResult::Success);
        for (plant, failing, detail) in [
            (Plant::PasswordLogin, "sshd", "password login is on"),
            (Plant::RootLogin, "sshd", "permitrootlogin yes"),
            (Plant::SshdBroken, "sshd", "no hostkeys available"),
            (Plant::ServiceFailed, "service", "neo4j.service is failed"),
            (Plant::CloudInitError, "cloud-init", "Runparts: 1 failures"),
            (
                Plant::AuthorizedKey,
                "authorized-keys",
                "/home/ec2-user/.ssh/authorized_keys",
            ),
            (Plant::History, "shell-history", "/root/.bash_history"),
            (Plant::ScriptFails, "script", "exit code 3"),
        ] {
            let (checks, result) = run_checks(plant);
            let failed: Vec<&Check> = checks
                .iter()
                .filter(|c| c.outcome == CheckOutcome::Failed)
                .collect();
            assert_eq!(failed.len(), 1, "{failing}: {checks:?}");
            assert_eq!(failed[0].name, failing, "{checks:?}");
            assert!(
                failed[0].detail.contains(detail),
                "{failing}: {:?}",
                failed[0]
            );
            assert_eq!(result, BuildResult::Failed(1), "{failing}");
            assert_eq!(checks.len(), 6, "every check still ran: {checks:?}");
        }
    }
}
