//! The `template` command's contract, run through the real binary: modes, exit codes, and
//! that bad input gets a located message while nothing is written.

use crate::common;

use std::path::Path;

use common::run_binary;

const TEMPLATE: &str = "\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  ProductVersion:
    Type: String
    Default: '1.0.0'
Resources:
  Server:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: !FindInMap [Images, !Ref 'AWS::Region', BYOL]
Mappings:
  Images:
    us-east-1:
      BYOL: ami-0123456789abcdef0
";

const AMIS: &str =
    r#"{"us-east-1": "ami-0aaaaaaaaaaaaaaa1", "eu-west-1": "ami-0aaaaaaaaaaaaaaa2"}"#;

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let ws = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        ws.write("t.yaml", TEMPLATE);
        ws.write("amis.json", AMIS);
        ws
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }
    fn read(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.bytes(name)).into_owned()
    }
    fn bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(name)).unwrap()
    }
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_with_env(args, &[])
    }
    fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let out = run_binary(self.path(), args, env);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }
}

#[test]
fn output_in_place_and_check() {
    let ws = Workspace::new();
    let (code, _, err) = ws.run(&[
        "template",
        "t.yaml",
        "--amis",
        "amis.json",
        "--version",
        "2025.06.0",
        "--output",
        "out.yaml",
    ]);
    assert_eq!(code, 0, "{err}");
    let expected = TEMPLATE
        .replace("'1.0.0'", "'2025.06.0'")
        .replace("ami-0123456789abcdef0", "ami-0aaaaaaaaaaaaaaa1")
        .replace("      BYOL: ami-0aaaaaaaaaaaaaaa1\n", "      BYOL: ami-0aaaaaaaaaaaaaaa1\n    eu-west-1:\n      BYOL: ami-0aaaaaaaaaaaaaaa2\n");
    assert_eq!(ws.read("out.yaml"), expected);
    assert_eq!(
        ws.read("t.yaml"),
        TEMPLATE,
        "--output leaves the input alone"
    );

    let (code, diff, _) = ws.run(&["template", "t.yaml", "--amis", "amis.json", "--check"]);
    assert_eq!(code, 1, "--check exits 1 when the template would change");
    assert!(
        diff.contains("+    eu-west-1:") && diff.starts_with("--- a/t.yaml"),
        "{diff}"
    );
    assert_eq!(ws.read("t.yaml"), TEMPLATE, "--check writes nothing");

    let (code, _, err) = ws.run(&[
        "template",
        "t.yaml",
        "--amis",
        "amis.json",
        "--version",
        "2025.06.0",
        "--in-place",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ws.read("t.yaml"), expected);
    let (code, _, _) = ws.run(&[
        "template",
        "t.yaml",
        "--amis",
        "amis.json",
        "--version",
        "2025.06.0",
        "--check",
    ]);
    assert_eq!(code, 0, "--check exits 0 when the template is up to date");
    assert_eq!(
        ws.files(),
        ["amis.json", "out.yaml", "t.yaml"],
        "no temporary files left behind"
    );
}

#[test]
fn exactly_one_output_mode_is_required() {
    let ws = Workspace::new();
    let (code, _, err) = ws.run(&["template", "t.yaml", "--amis", "amis.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("--output") && err.contains("--check"), "{err}");
    let (code, _, _) = ws.run(&[
        "template",
        "t.yaml",
        "--amis",
        "amis.json",
        "--check",
        "--in-place",
    ]);
    assert_eq!(code, 2);
}

/// Runs one bad input; asserts exit 2, the message parts, that the template is untouched and
/// that no output file appeared.
fn refused(ws: &Workspace, args: &[&str], expect: &[&str]) {
    let before = ws.files();
    let template_before = ws.bytes("t.yaml");
    let mut full = vec!["template", "t.yaml", "--output", "out.yaml"];
    full.extend_from_slice(args);
    let (code, stdout, err) = ws.run(&full);
    assert_eq!(code, 2, "args {args:?}: expected exit 2; stderr: {err}");
    for part in expect {
        assert!(
            err.contains(part),
            "args {args:?}: expected {part:?} in:\n{err}"
        );
    }
    assert!(
        err.contains("help:"),
        "args {args:?}: every error says what to do:\n{err}"
    );
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(ws.files(), before, "args {args:?}: no file may be written");
    assert_eq!(ws.bytes("t.yaml"), template_before);
}

#[test]
fn bad_input_is_refused_with_place_and_help_and_nothing_is_written() {
    let ws = Workspace::new();
    ws.write(
        "t.yaml",
        &TEMPLATE.replace(
            "      BYOL: ami-0123456789abcdef0\n",
            "      BYOL: [ami-0123456789abcdef0\n",
        ),
    );
    refused(
        &ws,
        &["--amis", "amis.json"],
        &["t.yaml:15:1:", "YAML syntax error"],
    );

    // A missing comma: neither strict JSON nor YAML; both places are named.
    ws.write("t.yaml", "{\n  \"Mappings\": {\n    \"M\": {\"us-east-1\": {\"K\": \"ami-0123456789abcdef0\" \"L\": 1}}\n  }\n}\n");
    refused(
        &ws,
        &["--amis", "amis.json"],
        &[
            "t.yaml:3:",
            "JSON syntax error",
            "read as YAML",
            "line 3, column",
        ],
    );

    std::fs::write(
        ws.path().join("t.yaml"),
        [TEMPLATE.as_bytes(), b"# caf\xe9\n"].concat(),
    )
    .unwrap();
    refused(
        &ws,
        &["--amis", "amis.json"],
        &["t.yaml:15:6:", "not UTF-8"],
    );

    ws.write(
        "t.yaml",
        &TEMPLATE.replace(
            "Mappings:\n  Images:",
            "Mappings:\n  Other:\n    us-east-1:\n      BYOL: ami-0123456789abcdef1\n  Images:",
        ),
    );
    refused(
        &ws,
        &["--amis", "amis.json"],
        &["t.yaml:11:1:", "several mappings hold AMI IDs", "--mapping"],
    );
    refused(
        &ws,
        &["--amis", "amis.json", "--mapping", "Imagse"],
        &["no mapping `Imagse`", "did you mean `Images`"],
    );

    ws.write(
        "t.yaml",
        &TEMPLATE.replace("    us-east-1:\n", "    us-east-1: &base\n"),
    );
    refused(
        &ws,
        &["--amis", "amis.json"],
        &["t.yaml:13:", "anchor or alias"],
    );

    ws.write("t.yaml", TEMPLATE);
    ws.write(
        "bad-region.json",
        r#"{"us-east-1": "ami-0aaaaaaaaaaaaaaa1", "eu-wset-1": "ami-0aaaaaaaaaaaaaaa2"}"#,
    );
    refused(
        &ws,
        &["--amis", "bad-region.json"],
        &["bad-region.json", "`eu-wset-1` is not an AWS region name"],
    );
    ws.write("bad-ami.json", r#"{"us-east-1": "ami-12345"}"#);
    refused(
        &ws,
        &["--amis", "bad-ami.json"],
        &["`ami-12345` (region us-east-1) is not an AMI ID"],
    );
    ws.write(
        "bad-shape.json",
        r#"[{"us-east-1": "ami-0aaaaaaaaaaaaaaa1"}]"#,
    );
    refused(
        &ws,
        &["--amis", "bad-shape.json"],
        &["top level is not an object"],
    );
    ws.write(
        "bad-json.json",
        "{\"us-east-1\": \"ami-0aaaaaaaaaaaaaaa1\",\n",
    );
    refused(&ws, &["--amis", "bad-json.json"], &["line 2"]);
    refused(
        &ws,
        &["--amis", "missing.json"],
        &["cannot read AMIS.json file missing.json"],
    );
    refused(
        &ws,
        &["--amis", "amis.json", "--version", "5.0; rm -rf /"],
        &["version `5.0; rm -rf /` is not allowed"],
    );
    refused(
        &ws,
        &[
            "--amis",
            "amis.json",
            "--version",
            "5.0",
            "--version-parameter",
            "ProductVersoin",
        ],
        &[
            "no parameter `ProductVersoin`",
            "did you mean `ProductVersion`",
        ],
    );
}

#[test]
fn output_into_a_missing_directory_fails_cleanly() {
    let ws = Workspace::new();
    let (code, _, err) = ws.run(&[
        "template",
        "t.yaml",
        "--amis",
        "amis.json",
        "--output",
        "no/such/dir/out.yaml",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no/such/dir"), "{err}");
    assert_eq!(ws.files(), ["amis.json", "t.yaml"]);
}

#[test]
fn errors_become_annotations_inside_github_actions() {
    let ws = Workspace::new();
    ws.write(
        "t.yaml",
        &TEMPLATE.replace("    us-east-1:\n", "    us-east-1: &base\n"),
    );
    let (code, stdout, _) = ws.run_with_env(
        &["template", "t.yaml", "--amis", "amis.json", "--check"],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(code, 2);
    assert!(
        stdout.starts_with("::error file=t.yaml,line=13,col="),
        "{stdout}"
    );
}

/// A fixture of `tests/fixtures/templates`, copied into the workspace as `name`.
fn fixture(ws: &Workspace, file: &str, name: &str) -> String {
    let text = std::fs::read_to_string(common::repo().join("tests/fixtures/templates").join(file))
        .unwrap();
    ws.write(name, &text);
    text
}

#[test]
fn json_looking_yaml_lenient_scalars_and_byte_order_marks_are_edited_in_place() {
    let ws = Workspace::new();
    let amis = r#"{"us-east-1": "ami-0aaaaaaaaaaaaaaa1", "sa-east-1": "ami-0aaaaaaaaaaaaaaa2"}"#;
    ws.write("amis.json", amis);
    let run = |name: &str, extra: &[&str]| {
        let mut args = vec!["template", name, "--amis", "amis.json", "--in-place"];
        args.extend_from_slice(extra);
        let (code, _, err) = ws.run(&args);
        assert_eq!(code, 0, "{name}: {err}");
        ws.read(name)
    };

    let text = fixture(&ws, "json-looking-yaml.template.json", "j.json");
    let out = run("j.json", &["--version", "4.4.4"]);
    let expected = text
        .replace("ami-0a1b2c3d4e5f60718", "ami-0aaaaaaaaaaaaaaa1")
        .replace("\"Default\": \"4.4.3\"", "\"Default\": \"4.4.4\"")
        .replace("[\"4.4.3\", \"4.3.10\",]", "[\"4.4.4\", \"4.4.3\", \"4.3.10\",]")
        .replace(
            "      \"eu-west-1\": { \"BYOL\": \"ami-0a1b2c3d4e5f6071a\" },\n",
            "      \"eu-west-1\": { \"BYOL\": \"ami-0a1b2c3d4e5f6071a\" },\n      \"sa-east-1\": { \"BYOL\": \"ami-0aaaaaaaaaaaaaaa2\" },\n",
        );
    assert_eq!(out, expected);

    let text = fixture(&ws, "lenient-scalars.template.yaml", "l.yaml");
    let out = run("l.yaml", &["--version", "2026.01.0"]);
    assert_eq!(
        out,
        text.replace("ami-0a1b2c3d4e5f60718", "ami-0aaaaaaaaaaaaaaa1")
            .replace("Default: 2025.06.0", "Default: 2026.01.0")
            .replace(
                "      HVM64: ami-0a1b2c3d4e5f60719\n",
                "      HVM64: ami-0a1b2c3d4e5f60719\n    sa-east-1:\n      HVM64: ami-0aaaaaaaaaaaaaaa2\n"
            )
    );

    let text = fixture(&ws, "bom-crlf.template.yaml", "b.yaml");
    let out = run("b.yaml", &[]);
    assert_eq!(
        out,
        text.replace("ami-0a1b2c3d4e5f60718", "ami-0aaaaaaaaaaaaaaa1")
            .replace(
                "      BYOL: ami-0aaaaaaaaaaaaaaa1\r\n",
                "      BYOL: ami-0aaaaaaaaaaaaaaa1\r\n    sa-east-1:\r\n      BYOL: ami-0aaaaaaaaaaaaaaa2\r\n"
            )
    );
    assert!(out.starts_with('\u{feff}') && !out.ends_with('\n'));

    let text = fixture(&ws, "bom.template.json", "b.json");
    let out = run("b.json", &[]);
    assert_eq!(
        out,
        text.replace(
            "\"us-east-1\": {\"BYOL\": \"ami-0a1b2c3d4e5f60718\"}\n",
            "\"us-east-1\": {\"BYOL\": \"ami-0aaaaaaaaaaaaaaa1\"},\n            \"sa-east-1\": {\"BYOL\": \"ami-0aaaaaaaaaaaaaaa2\"}\n"
        )
    );
    assert!(out.starts_with("\u{feff}{"));
}

#[test]
fn duplicate_keys_and_deep_nesting_are_refused_with_their_places() {
    let ws = Workspace::new();
    fixture(&ws, "duplicate-region.template.yaml", "t.yaml");
    refused(
        &ws,
        &["--amis", "amis.json"],
        &[
            "t.yaml:9:5:",
            "`Mappings.AMIs.us-east-1` is written twice, at line 4, column 5 and at line 9, column 5",
            "uses the last one",
        ],
    );
    fixture(&ws, "duplicate-ami-key.template.json", "t.yaml");
    refused(
        &ws,
        &["--amis", "amis.json"],
        &[
            "t.yaml:4:55:",
            "`Mappings.AMIs.us-east-1.BYOL` is written twice, at line 4, column 22",
        ],
    );
    // 200 KB of nested flow collections: refused at once, at the level that is too deep.
    ws.write(
        "t.yaml",
        &format!("Resources:\n  X: {}", "[".repeat(200_000)),
    );
    let started = std::time::Instant::now();
    refused(
        &ws,
        &["--amis", "amis.json"],
        &["t.yaml:2:", "nest more than 100 levels"],
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn rows_of_other_partitions_are_kept_unless_asked() {
    let ws = Workspace::new();
    let text = fixture(&ws, "partitions.template.yaml", "p.yaml");
    ws.write("amis.json", r#"{"us-east-1": "ami-0aaaaaaaaaaaaaaa1"}"#);
    let (code, _, err) = ws.run(&[
        "template",
        "p.yaml",
        "--amis",
        "amis.json",
        "--prune",
        "--output",
        "kept.yaml",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        ws.read("kept.yaml"),
        text.replace("ami-0a1b2c3d4e5f60718", "ami-0aaaaaaaaaaaaaaa1")
            .replace("    eu-west-1:\n      BYOL: ami-0a1b2c3d4e5f60719\n", "")
    );
    let (code, _, err) = ws.run(&[
        "template",
        "p.yaml",
        "--amis",
        "amis.json",
        "--prune",
        "--prune-other-partitions",
        "--output",
        "only.yaml",
    ]);
    assert_eq!(code, 0, "{err}");
    let only = ws.read("only.yaml");
    assert!(
        only.contains("    us-east-1:\n      BYOL: ami-0aaaaaaaaaaaaaaa1\nResources:"),
        "{only}"
    );
    assert_eq!(only.matches("ami-").count(), 1, "{only}");
}

/// Issue 13: a signal while the result is written left a `.tmpXXXXXX` file beside the target.
/// The template is large enough that writing it takes a moment; the test sends SIGTERM as soon
/// as the temporary file appears, and then no temporary file may remain. (When the write ends
/// before the signal lands the attempt proves nothing, and another is made. Before the fix the
/// signalled run left one `.tmp` file every time.)
#[test]
fn a_signal_while_writing_leaves_no_temporary_file() {
    let ws = Workspace::new();
    let padding = format!("# padding {}\n", "y".repeat(100)).repeat(100_000);
    let mut caught = 0;
    for _ in 0..5 {
        ws.write("t.yaml", &format!("{TEMPLATE}{padding}"));
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_marketplace-release"))
            .current_dir(ws.path())
            .args(["template", "t.yaml", "--amis", "amis.json", "--in-place"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let signalled = loop {
            if ws.files().iter().any(|f| f.starts_with(".tmp")) {
                let sent = std::process::Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status()
                    .unwrap();
                break sent.success();
            }
            if child.try_wait().unwrap().is_some() {
                break false;
            }
        };
        let status = child.wait().unwrap();
        assert_eq!(
            ws.files(),
            ["amis.json", "t.yaml"],
            "nothing but the inputs remains"
        );
        if signalled && std::os::unix::process::ExitStatusExt::signal(&status) == Some(15) {
            caught += 1;
            let text = ws.read("t.yaml");
            assert!(
                text.contains("ami-0123456789abcdef0") || text.contains("ami-0aaaaaaaaaaaaaaa1"),
                "the template is the old one or the new one, never a part"
            );
            assert!(text.ends_with(&padding), "whole");
        }
        if caught == 1 {
            break;
        }
    }
    assert!(caught > 0, "the signal never landed during a write");
}
