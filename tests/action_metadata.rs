//! action.yml, the Dockerfile and .dockerignore against the code and the rules they follow.
//! (scripts/lint.sh also runs action-validator, actionlint and hadolint over them.)

use crate::common;

use marketplace_release::action::inputs::INPUT_NAMES;
use marketplace_release::action::outputs::OUTPUT_NAMES;

fn action() -> serde_yaml::Value {
    serde_yaml::from_str(&std::fs::read_to_string(common::repo().join("action.yml")).unwrap())
        .unwrap()
}

fn names(section: &serde_yaml::Value) -> Vec<String> {
    section
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn action_yml_declares_exactly_the_inputs_and_outputs_the_binary_uses() {
    let action = action();
    let mut declared = names(&action["inputs"]);
    let mut read: Vec<String> = INPUT_NAMES.iter().map(|s| s.to_string()).collect();
    declared.sort();
    read.sort();
    assert_eq!(declared, read, "inputs");
    let mut declared = names(&action["outputs"]);
    let mut written: Vec<String> = OUTPUT_NAMES.iter().map(|s| s.to_string()).collect();
    declared.sort();
    written.sort();
    assert_eq!(declared, written, "outputs");
    for (name, spec) in action["inputs"].as_mapping().unwrap() {
        assert!(
            spec["description"].as_str().is_some_and(|d| d.len() > 20),
            "input {name:?} needs a description"
        );
        assert!(
            spec.get("default").is_some(),
            "input {name:?} needs a default"
        );
    }
    assert_eq!(action["inputs"]["token"]["default"], "${{ github.token }}");
    assert!(action["branding"]["icon"].is_string() && action["branding"]["color"].is_string());
}

#[test]
fn action_yml_runs_the_prebuilt_image_of_this_version() {
    let action = action();
    assert_eq!(action["runs"]["using"], "docker");
    let image = action["runs"]["image"].as_str().unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        image.starts_with("docker://ghcr.io/") && image.ends_with(&format!("/marketplace-release:v{version}")),
        "runs.image `{image}` must be the prebuilt image of v{version} (release.yml pushes it on the tag)"
    );
}

#[test]
fn dockerfile_builds_a_locked_static_release_binary_into_a_minimal_image() {
    let dockerfile = std::fs::read_to_string(common::repo().join("Dockerfile")).unwrap();
    let froms: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(
        froms.len(),
        2,
        "multi-stage: a build stage and the final stage"
    );
    assert!(froms[0].ends_with(" AS build"));
    assert_eq!(froms[1], "FROM scratch");
    for needed in [
        "cargo build --release --locked",
        "target-feature=+crt-static",
        "COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
        "COPY templates /templates",
        "ENTRYPOINT [\"/usr/local/bin/marketplace-release\"]",
    ] {
        assert!(
            dockerfile.contains(needed),
            "the Dockerfile lacks `{needed}`"
        );
    }
    assert!(
        !dockerfile.contains("\nUSER "),
        "GitHub runs container actions as root"
    );
    // scripts/container-binary.sh, which the container test uses, builds with the same flags.
    let script =
        std::fs::read_to_string(common::repo().join("scripts/container-binary.sh")).unwrap();
    assert!(script.contains("RUSTFLAGS='-C target-feature=+crt-static'"));
    assert!(script.contains("--release --locked --target"));

    let ignored = std::fs::read_to_string(common::repo().join(".dockerignore")).unwrap();
    let ignored: Vec<&str> = ignored.lines().collect();
    for entry in ["target", ".git", ".venv", "tests"] {
        assert!(ignored.contains(&entry), ".dockerignore lacks {entry}");
    }
    for needed in ["src", "templates", "benches", "Cargo.toml", "Cargo.lock"] {
        assert!(
            !ignored.contains(&needed),
            ".dockerignore must keep {needed}"
        );
    }
}

#[test]
fn the_readme_shows_the_example_workflows_as_they_are() {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    for name in [
        "manual-release.yml",
        "matrix-release.yml",
        "submit-after-merge.yml",
    ] {
        let text =
            std::fs::read_to_string(common::repo().join("examples/workflows").join(name)).unwrap();
        assert!(
            readme.contains(&format!("```yaml\n{text}```")),
            "README.md does not show examples/workflows/{name} as it is"
        );
    }
}
