//! The engine end to end, where no other file pins it: a manifest is input, and what it says is
//! checked before anything is asked of AWS.

use crate::common::{repo, run_binary};

/// The `verify` command takes the release's architecture from the manifest: one EC2 does not
/// build is refused, naming the file and the value, before any AWS call (the endpoint here
/// answers nothing). It used to become x86_64 silently.
#[test]
fn an_unknown_architecture_in_a_manifest_is_refused_naming_the_file_and_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.json");
    std::fs::write(
        &manifest,
        serde_json::json!({
            "schema_version": 2, "product": "Neo4j Enterprise Edition", "version": "5.26.0",
            "architecture": "amd64", "run_id": "0123456789ab", "name": "n",
            "source_region": "us-east-1", "source_image_id": "ami-0123456789abcdef0",
            "regions": {}, "incomplete": false,
        })
        .to_string(),
    )
    .unwrap();
    let root = repo();
    let out = run_binary(
        &root,
        &[
            "verify",
            "--config",
            "examples/neo4j/marketplace-release.yml",
            "--manifest",
            manifest.to_str().unwrap(),
        ],
        &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: the manifest's architecture `amd64` is not one EC2 builds (x86_64 or arm64)",
            manifest.display()
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("AWS did not answer"),
        "no AWS call: {stderr}"
    );
}
