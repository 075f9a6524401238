//! The semantic proof: the edited text means exactly the original plus the intended changes.
//!
//! Both texts are parsed by independent parsers (serde_yaml with CloudFormation tags kept as
//! tagged values, serde_json for JSON), the intended changes are applied to the parsed original,
//! and the result must equal the parsed edited text. Any other difference, anywhere in the
//! document, refuses the edit.

use std::fmt;

use serde::de::{
    Deserialize, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use super::Format;

/// A parsed document as the proof compares it. Unlike `serde_yaml::Value`, mappings are lists
/// of pairs, so templates with duplicate keys (which exist in the wild) can still be proved.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null` / `~` / empty.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number, by its decimal text.
    Number(String),
    /// A string.
    String(String),
    /// A sequence.
    Sequence(Vec<Value>),
    /// A mapping, in source order, duplicates kept.
    Mapping(Vec<(Value, Value)>),
    /// A tagged value such as `!Ref x`.
    Tagged(String, Box<Value>),
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML or JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut pairs = Vec::new();
        while let Some(pair) = map.next_entry()? {
            pairs.push(pair);
        }
        Ok(Value::Mapping(pairs))
    }
    // serde_yaml hands a tagged node (`!Ref x`) over as an enum whose variant is the tag.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, contents) = data.variant::<String>()?;
        Ok(Value::Tagged(tag, Box::new(contents.newtype_variant()?)))
    }
}

/// Parses `text` as the semantic value the proof compares.
pub fn semantic_value(text: &str, format: Format) -> Result<Value, String> {
    match format {
        Format::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
        Format::Yaml => serde_yaml::from_str(text).map_err(|e| e.to_string()),
    }
}

/// One intended change, by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// `Mappings.<mapping>.<region>.<key>` becomes `value` (created as needed).
    SetMappingValue {
        /// Mapping name.
        mapping: String,
        /// Region key.
        region: String,
        /// Second-level key.
        key: String,
        /// New value.
        value: String,
    },
    /// `Mappings.<mapping>.<region>` is removed.
    RemoveRegion {
        /// Mapping name.
        mapping: String,
        /// Region key.
        region: String,
    },
    /// `Parameters.<parameter>.Default` becomes `value`.
    SetParameterDefault {
        /// Parameter name.
        parameter: String,
        /// New value.
        value: String,
    },
    /// `value` is put first in `Parameters.<parameter>.AllowedValues`.
    PrependAllowedValue {
        /// Parameter name.
        parameter: String,
        /// The value added.
        value: String,
    },
}

/// Why the proof failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofFailure {
    /// Dotted path of the first difference.
    pub path: String,
    /// What was expected and what was found there.
    pub detail: String,
}

/// Checks that `edited` equals `original` with `intents` applied.
pub fn verify(
    original: &Value,
    edited_text: &str,
    format: Format,
    intents: &[Intent],
) -> Result<(), ProofFailure> {
    let edited = semantic_value(edited_text, format).map_err(|e| ProofFailure {
        path: "(document)".into(),
        detail: format!("the edited text no longer parses: {e}"),
    })?;
    let mut expected = original.clone();
    for intent in intents {
        apply(&mut expected, intent).map_err(|detail| ProofFailure {
            path: intent_path(intent),
            detail,
        })?;
    }
    match first_difference(&expected, &edited, &mut Vec::new()) {
        None => Ok(()),
        Some((path, detail)) => Err(ProofFailure { path, detail }),
    }
}

fn intent_path(intent: &Intent) -> String {
    match intent {
        Intent::SetMappingValue {
            mapping,
            region,
            key,
            ..
        } => format!("Mappings.{mapping}.{region}.{key}"),
        Intent::RemoveRegion { mapping, region } => format!("Mappings.{mapping}.{region}"),
        Intent::SetParameterDefault { parameter, .. } => format!("Parameters.{parameter}.Default"),
        Intent::PrependAllowedValue { parameter, .. } => {
            format!("Parameters.{parameter}.AllowedValues")
        }
    }
}

/// The string form of a mapping key, as CloudFormation reads it.
fn key_text(key: &Value) -> Option<&str> {
    match key {
        Value::String(s) | Value::Number(s) => Some(s),
        Value::Bool(true) => Some("true"),
        Value::Bool(false) => Some("false"),
        _ => None,
    }
}

fn child_mut<'v>(map: &'v mut Value, key: &str, create: bool) -> Result<&'v mut Value, String> {
    let Value::Mapping(pairs) = map else {
        return Err(format!("`{key}` is not under a mapping"));
    };
    match pairs.iter().position(|(k, _)| key_text(k) == Some(key)) {
        Some(i) => Ok(&mut pairs[i].1),
        None if create => {
            pairs.push((Value::String(key.to_owned()), Value::Mapping(Vec::new())));
            Ok(&mut pairs.last_mut().expect("just pushed").1)
        }
        None => Err(format!("`{key}` is missing")),
    }
}

fn apply(doc: &mut Value, intent: &Intent) -> Result<(), String> {
    match intent {
        Intent::SetMappingValue {
            mapping,
            region,
            key,
            value,
        } => {
            let region_map = child_mut(
                child_mut(child_mut(doc, "Mappings", false)?, mapping, false)?,
                region,
                true,
            )?;
            *child_mut(region_map, key, true)? = Value::String(value.clone());
        }
        Intent::RemoveRegion { mapping, region } => {
            let Value::Mapping(pairs) =
                child_mut(child_mut(doc, "Mappings", false)?, mapping, false)?
            else {
                return Err("the mapping is not a mapping".into());
            };
            let before = pairs.len();
            pairs.retain(|(k, _)| key_text(k) != Some(region));
            if pairs.len() == before {
                return Err("the region to remove is missing".into());
            }
        }
        Intent::SetParameterDefault { parameter, value } => {
            let param = child_mut(child_mut(doc, "Parameters", false)?, parameter, false)?;
            *child_mut(param, "Default", false)? = Value::String(value.clone());
        }
        Intent::PrependAllowedValue { parameter, value } => {
            let param = child_mut(child_mut(doc, "Parameters", false)?, parameter, false)?;
            let Value::Sequence(values) = child_mut(param, "AllowedValues", false)? else {
                return Err("AllowedValues is not a list".into());
            };
            values.insert(0, Value::String(value.clone()));
        }
    }
    Ok(())
}

/// The n-th value under `key` in `pairs` (keys may repeat).
fn nth_value<'v>(pairs: &'v [(Value, Value)], key: &Value, n: usize) -> Option<&'v Value> {
    let text = key_text(key);
    pairs
        .iter()
        .filter(|(k, _)| k == key || (text.is_some() && key_text(k) == text))
        .nth(n)
        .map(|(_, v)| v)
}

/// The first path where `expected` and `actual` differ. Mappings compare by key, not order.
fn first_difference(
    expected: &Value,
    actual: &Value,
    path: &mut Vec<String>,
) -> Option<(String, String)> {
    let here = |path: &Vec<String>| {
        if path.is_empty() {
            "(root)".to_owned()
        } else {
            path.join(".")
        }
    };
    match (expected, actual) {
        (Value::Mapping(e), Value::Mapping(a)) => {
            for (i, (key, ev)) in e.iter().enumerate() {
                let occurrence = e[..i].iter().filter(|(k, _)| k == key).count();
                path.push(key_text(key).map_or_else(|| format!("{key:?}"), str::to_owned));
                let diff = match nth_value(a, key, occurrence) {
                    Some(av) => first_difference(ev, av, path),
                    None => Some((
                        here(path),
                        "expected this key, but the edited text lacks it".into(),
                    )),
                };
                if diff.is_some() {
                    return diff;
                }
                path.pop();
            }
            if a.len() != e.len() {
                let extra = a.iter().enumerate().find(|(i, (k, _))| {
                    let occurrence = a[..*i].iter().filter(|(other, _)| other == k).count();
                    nth_value(e, k, occurrence).is_none()
                });
                let name = extra
                    .and_then(|(_, (k, _))| key_text(k))
                    .unwrap_or_default();
                return Some((
                    format!("{}.{name}", here(path)),
                    "the edited text has a key that should not be there".into(),
                ));
            }
            None
        }
        (Value::Sequence(e), Value::Sequence(a)) => {
            if e.len() != a.len() {
                return Some((
                    here(path),
                    format!("expected {} items, found {}", e.len(), a.len()),
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                path.push(i.to_string());
                if let Some(diff) = first_difference(ev, av, path) {
                    return Some(diff);
                }
                path.pop();
            }
            None
        }
        (Value::Tagged(et, e), Value::Tagged(at, a)) if et == at => first_difference(e, a, path),
        (e, a) if e == a => None,
        (e, a) => Some((
            here(path),
            format!("expected {}, found {}", short(e), short(a)),
        )),
    }
}

fn short(value: &Value) -> String {
    let text = match value {
        Value::String(s) | Value::Number(s) => s.clone(),
        other => format!("{other:?}"),
    };
    if text.len() > 80 {
        format!("{}…", &text[..text.floor_char_boundary(80)])
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "Parameters:\n  V:\n    Default: '1.0'\n    AllowedValues: ['1.0']\nMappings:\n  M:\n    us-east-1:\n      K: ami-11111111\nResources:\n  I:\n    Properties:\n      ImageId: !FindInMap [M, !Ref 'AWS::Region', K]\n";

    fn original() -> Value {
        semantic_value(BEFORE, Format::Yaml).unwrap()
    }

    #[test]
    fn accepts_exactly_the_intended_changes() {
        let after = BEFORE
            .replace("ami-11111111", "ami-22222222")
            .replace("Default: '1.0'", "Default: '2.0'")
            .replace("['1.0']", "['2.0', '1.0']");
        let intents = [
            Intent::SetMappingValue {
                mapping: "M".into(),
                region: "us-east-1".into(),
                key: "K".into(),
                value: "ami-22222222".into(),
            },
            Intent::SetParameterDefault {
                parameter: "V".into(),
                value: "2.0".into(),
            },
            Intent::PrependAllowedValue {
                parameter: "V".into(),
                value: "2.0".into(),
            },
        ];
        verify(&original(), &after, Format::Yaml, &intents).unwrap();
    }

    #[test]
    fn refuses_any_other_change_naming_the_path() {
        let after = BEFORE
            .replace("ami-11111111", "ami-22222222")
            .replace("!Ref 'AWS::Region'", "!Sub 'AWS::Region'");
        let intents = [Intent::SetMappingValue {
            mapping: "M".into(),
            region: "us-east-1".into(),
            key: "K".into(),
            value: "ami-22222222".into(),
        }];
        let failure = verify(&original(), &after, Format::Yaml, &intents).unwrap_err();
        assert_eq!(failure.path, "Resources.I.Properties.ImageId.1");
    }

    #[test]
    fn refuses_a_missing_intended_change() {
        let intents = [Intent::SetMappingValue {
            mapping: "M".into(),
            region: "us-east-1".into(),
            key: "K".into(),
            value: "ami-22222222".into(),
        }];
        let failure = verify(&original(), BEFORE, Format::Yaml, &intents).unwrap_err();
        assert_eq!(failure.path, "Mappings.M.us-east-1.K");
    }

    #[test]
    fn refuses_an_extra_key() {
        let after = BEFORE.replace(
            "      K: ami-11111111\n",
            "      K: ami-11111111\n      X: y\n",
        );
        let failure = verify(&original(), &after, Format::Yaml, &[]).unwrap_err();
        assert_eq!(failure.path, "Mappings.M.us-east-1.X");
    }
}
