//! The README's config reference, rendered from the config schema (so from the config types
//! and their doc comments): one row per key with its type, its default and its description.
//! The table sits between [`START`] and [`END`] in `README.md`; a test fails when it is stale,
//! and `MARKETPLACE_RELEASE_UPDATE_SCHEMA=1` rewrites it.

use serde_json::Value;

/// The line before the generated table in the README.
pub const START: &str = "<!-- config-reference:start: generated from the config types by `MARKETPLACE_RELEASE_UPDATE_SCHEMA=1 cargo test --lib config`; edit the doc comments in src/config/, not this table -->";

/// The line after the generated table in the README.
pub const END: &str = "<!-- config-reference:end -->";

/// The markers are missing or out of order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the README has no config reference markers in order ({START} … {END})\n  help: put both marker lines around the config reference table")]
pub struct MissingMarkers;

/// The reference table (Markdown, ending in a newline) for `schema`.
pub fn reference_table(schema: &Value) -> String {
    let mut out = String::from("| key | type, default | meaning |\n|---|---|---|\n");
    let mut rows = Vec::new();
    collect_rows(schema, schema, "", &mut rows);
    for row in rows {
        out.push_str(&format!(
            "| `{}` | {}, {} | {} |\n",
            row.key,
            cell(&row.kind),
            cell(&row.default),
            cell(&row.description)
        ));
    }
    out
}

/// `readme` with the text between the markers replaced by `table`.
pub fn splice(readme: &str, table: &str) -> Result<String, MissingMarkers> {
    let start = readme.find(START).ok_or(MissingMarkers)? + START.len();
    let end = readme[start..].find(END).ok_or(MissingMarkers)? + start;
    Ok(format!("{}\n{table}{}", &readme[..start], &readme[end..]))
}

/// One key of the reference.
struct Row {
    key: String,
    kind: String,
    default: String,
    description: String,
}

/// Adds a row for each property of `node`, then the rows of its sections and of the items of
/// its lists of sections.
fn collect_rows(root: &Value, node: &Value, prefix: &str, rows: &mut Vec<Row>) {
    let Some(properties) = node.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = node
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, property) in properties {
        let key = format!("{prefix}{name}");
        rows.push(Row {
            key: key.clone(),
            kind: kind(root, property),
            default: default(property, required.contains(&name.as_str())),
            description: description(root, property),
        });
        let target = resolve(root, property);
        if target.get("properties").is_some() {
            collect_rows(root, target, &format!("{key}."), rows);
        } else if let Some(items) = target.get("items") {
            let items = resolve(root, items);
            if items.get("properties").is_some() {
                collect_rows(root, items, &format!("{key}[]."), rows);
            }
        }
    }
}

/// Follows `$ref`, and the `anyOf: [T, null]` of an optional value, to the schema of `T`.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/$defs/");
        return resolve(root, &root["$defs"][name]);
    }
    if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
        let not_null: Vec<&Value> = options
            .iter()
            .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if let [only] = not_null[..] {
            if not_null.len() < options.len() {
                return resolve(root, only);
            }
        }
    }
    schema
}

/// The allowed values of a string enum, when `schema` is one.
fn enum_values(schema: &Value) -> Option<Vec<String>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(
            values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        );
    }
    let options = schema.get("oneOf").and_then(Value::as_array)?;
    options
        .iter()
        .map(|o| {
            o.get("const")
                .and_then(Value::as_str)
                .or_else(|| o.get("enum")?.as_array()?.first()?.as_str())
                .map(str::to_owned)
        })
        .collect()
}

/// "`a`, `b` or `c`".
fn one_of(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// The type column: a newtype's title (`region`, `IAM role ARN`), an enum's values, or the
/// JSON type in the words YAML users know.
fn kind(root: &Value, schema: &Value) -> String {
    let target = resolve(root, schema);
    if let Some(title) = target.get("title").and_then(Value::as_str) {
        return title.to_owned();
    }
    if let Some(values) = enum_values(target) {
        return one_of(&values);
    }
    // `["string", "null"]` is an optional string.
    let json_type = match target.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        other => other.and_then(Value::as_str),
    };
    match json_type {
        Some("array") => {
            let items = target.get("items").map_or(String::new(), |items| {
                let item = kind(root, items);
                match enum_values(resolve(root, items)) {
                    Some(_) => item,
                    None => format!("{item}s"),
                }
            });
            format!("list of {items}")
        }
        Some("object") => "map".into(),
        Some("boolean") => "bool".into(),
        Some("integer") if target.get("format").and_then(Value::as_str) == Some("uint16") => {
            "port".into()
        }
        Some(other) => other.into(),
        None if target.get("anyOf").is_some() => "map".into(),
        None => "any".into(),
    }
}

/// The default column: the default value, or whether the key is required.
fn default(schema: &Value, required: bool) -> String {
    match schema.get("default") {
        Some(Value::Null) | None if required => "required".into(),
        Some(Value::Null) | None => "optional".into(),
        Some(value) => format!("`{}`", inline(value)),
    }
}

/// A default as YAML would write it inline.
fn inline(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && n.is_f64() => format!("{f:.0}"),
            _ => n.to_string(),
        },
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) if map.is_empty() => "{}".into(),
        other => other.to_string(),
    }
}

/// The meaning column: the key's doc comment, else its type's.
fn description(root: &Value, schema: &Value) -> String {
    let own = schema.get("description").and_then(Value::as_str);
    own.or_else(|| resolve(root, schema).get("description")?.as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Text safe in one Markdown table cell.
fn cell(text: &str) -> String {
    text.replace("\n\n", " ")
        .replace('\n', " ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn readme_reference_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let table = reference_table(&super::super::schema::config_schema());
        for line in table.lines().skip(2) {
            assert!(
                !line.ends_with("|  |"),
                "a config key has no doc comment: {line}"
            );
        }
        let generated = splice(&readme, &table).unwrap();
        super::super::schema::tests::check_generated("README.md", &generated);
    }

    #[test]
    fn rows_follow_sections_lists_and_optional_values() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"$ref": "#/$defs/A", "description": "Section\nA."},
                "list": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "description": "Items."},
                "opt": {"anyOf": [{"$ref": "#/$defs/Id"}, {"type": "null"}], "default": null, "description": "An id."},
                "name": {"type": ["string", "null"], "description": "A name."},
            },
            "required": ["list"],
            "$defs": {
                "A": {
                    "type": "object",
                    "properties": {
                        "n": {"type": "number", "default": 45.0, "description": "N | M."},
                        "kind": {"$ref": "#/$defs/Kind"},
                    },
                },
                "Item": {"type": "object", "properties": {"flag": {"type": "boolean", "default": true}}},
                "Id": {"title": "thing ID", "type": "string"},
                "Kind": {"description": "The kind.", "oneOf": [{"const": "x"}, {"const": "y"}, {"const": "z"}]},
            }
        });
        assert_eq!(
            reference_table(&schema),
            "| key | type, default | meaning |\n|---|---|---|\n\
             | `a` | map, optional | Section A. |\n\
             | `a.n` | number, `45` | N \\| M. |\n\
             | `a.kind` | `x`, `y` or `z`, optional | The kind. |\n\
             | `list` | list of maps, required | Items. |\n\
             | `list[].flag` | bool, `true` |  |\n\
             | `opt` | thing ID, optional | An id. |\n\
             | `name` | string, optional | A name. |\n"
        );
    }

    #[test]
    fn splice_replaces_only_between_the_markers() {
        let readme = format!("intro\n{START}\nold table\n{END}\noutro\n");
        assert_eq!(
            splice(&readme, "new\n").unwrap(),
            format!("intro\n{START}\nnew\n{END}\noutro\n")
        );
        assert_eq!(splice("no markers", "x"), Err(MissingMarkers));
    }
}
