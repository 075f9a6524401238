//! `marketplace-release schema` prints the JSON Schema the config types generate (the file
//! editors use), and the schema accepts the example config and refuses a misspelt key, as the
//! config reader does.

use crate::common;

fn validator(schema: &serde_json::Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(schema)
        .expect("the config schema compiles")
}

fn yaml_as_json(text: &str) -> serde_json::Value {
    let value: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
    serde_json::to_value(value).unwrap()
}

#[test]
fn the_schema_command_prints_the_checked_in_schema_which_checks_the_example() {
    let repo = common::repo();
    let out = common::run_binary(&repo, &["schema"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let file =
        std::fs::read_to_string(repo.join("schema/marketplace-release.schema.json")).unwrap();
    assert_eq!(printed, file, "`schema` prints the checked-in file");
    let schema: serde_json::Value = serde_json::from_str(&printed).unwrap();
    let validator = validator(&schema);

    let example =
        std::fs::read_to_string(repo.join("examples/neo4j/marketplace-release.yml")).unwrap();
    assert!(
        example.starts_with(
            "# yaml-language-server: $schema=https://raw.githubusercontent.com/marketplace-release/marketplace-release/main/schema/marketplace-release.schema.json\n"
        ),
        "the example starts with the schema line"
    );
    let errors: Vec<String> = validator
        .iter_errors(&yaml_as_json(&example))
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the example fails the schema: {errors:?}"
    );

    let misspelt = example.replace("  instance-type: t3.medium", "  instance-typ: t3.medium");
    assert_ne!(misspelt, example);
    let errors: Vec<String> = validator
        .iter_errors(&yaml_as_json(&misspelt))
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("instance-typ")),
        "a misspelt key passes the schema: {errors:?}"
    );
    let misspelt_top = example.replace("\nregions:", "\nregoins:");
    assert!(!validator.is_valid(&yaml_as_json(&misspelt_top)));
}
