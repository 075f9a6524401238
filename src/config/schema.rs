//! The config's JSON Schema, derived from the config types (`JsonSchema` next to
//! `Deserialize`, doc comments as descriptions) and checked in at [`SCHEMA_PATH`] for editors
//! and SchemaStore. A test fails when the file is stale; `MARKETPLACE_RELEASE_UPDATE_SCHEMA=1`
//! rewrites it.

use schemars::generate::SchemaSettings;
use serde_json::Value;

use super::Config;

/// Where the schema is checked in, relative to the repository root.
pub const SCHEMA_PATH: &str = "schema/marketplace-release.schema.json";

/// The schema's `$id`: where the checked-in file is published.
pub const SCHEMA_ID: &str = "https://raw.githubusercontent.com/marketplace-release/marketplace-release/main/schema/marketplace-release.schema.json";

/// The environment variable that makes the staleness tests rewrite the generated files (this
/// schema and the README's config reference) instead of failing.
pub const UPDATE_ENV: &str = "MARKETPLACE_RELEASE_UPDATE_SCHEMA";

/// The JSON Schema (draft 2020-12) of the config file, as the config is read: kebab-case keys,
/// unknown keys refused, each value's `pattern`, `format` and bounds.
pub fn config_schema() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<Config>().to_value();
    let object = schema.as_object_mut().expect("a schema object");
    let mut ordered = serde_json::Map::new();
    ordered.insert(
        "$schema".into(),
        object.remove("$schema").unwrap_or_default(),
    );
    ordered.insert("$id".into(), SCHEMA_ID.into());
    ordered.append(object);
    let mut schema = Value::Object(ordered);
    tidy(&mut schema);
    schema
}

/// The schema as the checked-in file holds it: pretty JSON and a final newline.
pub fn config_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&config_schema()).expect("JSON values serialize");
    text.push('\n');
    text
}

/// Two fixes to what schemars derives, everywhere in the schema:
/// - `default`s that are whole sections (non-empty objects) are removed: schemars serializes
///   them with `Serialize`, which writes the snake_case keys the PR body template sees, not the
///   kebab-case keys the file takes; each key of a section carries its own default anyway;
/// - descriptions are unwrapped: a doc comment's line breaks inside a paragraph become spaces
///   (editors show descriptions as flowing text).
fn tidy(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map
                .get("default")
                .is_some_and(|d| d.as_object().is_some_and(|o| !o.is_empty()))
            {
                map.remove("default");
            }
            if let Some(Value::String(text)) = map.get_mut("description") {
                *text = unwrap_lines(text);
            }
            map.values_mut().for_each(tidy);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// Joins the lines of each paragraph with spaces; paragraphs stay apart.
fn unwrap_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Compares `generated` with the checked-in file at `relative` (from the repository root),
    /// or rewrites the file when [`UPDATE_ENV`] is `1`.
    pub(crate) fn check_generated(relative: &str, generated: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        if std::env::var(UPDATE_ENV).as_deref() == Ok("1") {
            std::fs::create_dir_all(path.parent().expect("a parent")).unwrap();
            std::fs::write(&path, generated).unwrap();
            return;
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != generated {
            let diff = similar::TextDiff::from_lines(current.as_str(), generated)
                .unified_diff()
                .header(relative, "generated")
                .to_string();
            panic!("{relative} is stale; run `{UPDATE_ENV}=1 cargo test --lib config` to rewrite it:\n{diff}");
        }
    }

    #[test]
    fn schema_file_is_up_to_date() {
        check_generated(SCHEMA_PATH, &config_schema_text());
    }

    #[test]
    fn schema_has_its_id_and_refuses_unknown_keys() {
        let schema = config_schema();
        assert_eq!(schema["$id"], SCHEMA_ID);
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["required"],
            serde_json::json!(["product", "templates", "regions", "build", "load-form"])
        );
        let defs = &schema["$defs"];
        assert_eq!(
            defs["AccountId"]["pattern"],
            super::super::AccountId::PATTERN
        );
        assert_eq!(
            defs["Build"]["properties"]["instance-type"]["default"],
            "t3.medium"
        );
        assert!(defs["Copy"].get("default").is_none());
        assert!(schema["properties"]["copy"].get("default").is_none());
    }

    #[test]
    fn the_example_config_passes_the_schema_rules_it_relies_on() {
        // Every key the example uses is a property the schema names: an editor using the
        // schema would not flag the documented example.
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/neo4j/marketplace-release.yml"),
        )
        .unwrap();
        let example: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let schema = config_schema();
        let top = schema["properties"].as_object().unwrap();
        for key in example.as_mapping().unwrap().keys() {
            let key = key.as_str().unwrap();
            assert!(top.contains_key(key), "{key} is not in the schema");
        }
    }
}
