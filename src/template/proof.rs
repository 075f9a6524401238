//! The semantic proof: the edited text means exactly the original plus the intended changes.
//!
//! Both texts are parsed by parsers independent of the located tree (serde_yaml with
//! CloudFormation tags kept as tagged values, serde_json for JSON), the intended changes are
//! applied to the parsed original, and the result must equal the parsed edited text. Any other
//! difference, anywhere in the document, refuses the edit.
//!
//! Lookups along an intended path read a repeated key as YAML and JSON loaders do, and as
//! CloudFormation does: the last occurrence wins. The editor refuses duplicate keys on the
//! paths it edits; should one slip through, the edit of the first occurrence fails this proof
//! instead of showing a change that the stack would not see.
//!
//! These parsers run only after the located parse succeeded, so the nesting depth is already
//! bounded when they start (serde_yaml's scanner is quadratic in it).

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    Deserialize, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use super::format::Format;
use super::tree::{LineIndex, Location};

/// A parsed document as the proof compares it. Unlike `serde_yaml::Value`, mappings are lists
/// of pairs, so templates with duplicate keys (which exist in the wild) can still be proved.
#[derive(Debug, Clone, PartialEq)]
/// Strings borrow from the parsed text where they need no unescaping, which saves an
/// allocation per scalar.
pub enum Value<'a> {
    /// `null` / `~` / empty.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number, by its decimal text.
    Number(Cow<'a, str>),
    /// A string.
    String(Cow<'a, str>),
    /// A sequence.
    Sequence(Vec<Value<'a>>),
    /// A mapping, in source order, duplicates kept.
    Mapping(Vec<(Value<'a>, Value<'a>)>),
    /// A tagged value such as `!Ref x`.
    Tagged(String, Box<Value<'a>>),
}

impl<'a> Value<'a> {
    /// The text of a string, number or boolean scalar (how CloudFormation reads a key).
    pub fn as_str(&self) -> Option<&str> {
        key_text(self)
    }

    /// The value under `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        get(self, key)
    }

    /// The key/value pairs of a mapping; empty for anything else.
    pub fn pairs(&self) -> &[(Value<'a>, Value<'a>)] {
        match self {
            Value::Mapping(pairs) => pairs,
            _ => &[],
        }
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML or JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value<'de>, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value<'de>, E> {
        Ok(Value::Number(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value<'de>, E> {
        Ok(Value::Number(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value<'de>, E> {
        Ok(Value::Number(Cow::Owned(v.to_string())))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let mut pairs = Vec::new();
        while let Some(pair) = map.next_entry()? {
            pairs.push(pair);
        }
        Ok(Value::Mapping(pairs))
    }
    // serde_yaml hands a tagged node (`!Ref x`) over as an enum whose variant is the tag.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value<'de>, A::Error> {
        let (tag, contents) = data.variant::<String>()?;
        Ok(Value::Tagged(tag, Box::new(contents.newtype_variant()?)))
    }
}

/// The proof's parser refused a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    /// Where, when the parser says.
    pub location: Option<Location>,
    /// The parser's message.
    pub message: String,
}

impl fmt::Display for ParseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some(at) => write!(
                f,
                "line {}, column {}: {}",
                at.line, at.column, self.message
            ),
            None => f.write_str(&self.message),
        }
    }
}

/// Parses `text` as the semantic value the proof compares. A leading byte-order mark is
/// skipped, as CloudFormation skips it.
pub fn semantic_value(text: &str, format: Format) -> Result<Value<'_>, ParseFailure> {
    let base = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = &text[base..];
    match format {
        Format::Json => serde_json::from_str(body).map_err(|e| ParseFailure {
            location: (e.line() > 0).then(|| Location {
                line: e.line(),
                column: e.column().max(1),
            }),
            message: e.to_string(),
        }),
        // serde_yaml tells libyaml the encoding, so libyaml's scanner skips a mark as if it
        // were a column, and a key on the first line no longer lines up with the next one.
        Format::Yaml => serde_yaml::from_str(body).map_err(|e| {
            let location = e
                .location()
                .map(|l| LineIndex::new(text).location(text, l.index() + base));
            let message = e.to_string();
            // serde_yaml appends "at line L column C"; the location says it already.
            let message = match message.rfind(" at line ") {
                Some(cut) if location.is_some() => message[..cut].to_owned(),
                _ => message,
            };
            ParseFailure { location, message }
        }),
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

/// Checks that `edited` (the parsed edited text) means `original` with `intents` applied.
///
/// Rather than copying the original and applying the intents, each intended path of the
/// edited document is checked to hold the intended value and then restored to the original's
/// content; what remains must equal the original. The two are equivalent, and this way a large
/// template is not copied.
pub fn verify<'a>(
    original: &Value<'a>,
    mut edited: Value<'a>,
    intents: &[Intent],
) -> Result<(), ProofFailure> {
    for intent in intents.iter().rev() {
        revert(&mut edited, original, intent).map_err(|detail| ProofFailure {
            path: intent_path(intent),
            detail,
        })?;
    }
    match first_difference(original, &edited, &mut Vec::new()) {
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
fn key_text<'v>(key: &'v Value<'_>) -> Option<&'v str> {
    match key {
        Value::String(s) | Value::Number(s) => Some(s),
        Value::Bool(true) => Some("true"),
        Value::Bool(false) => Some("false"),
        _ => None,
    }
}

/// The value under `key`; of repeated keys, the last, as loaders read it.
fn get<'v, 'a>(value: &'v Value<'a>, key: &str) -> Option<&'v Value<'a>> {
    match value {
        Value::Mapping(pairs) => pairs
            .iter()
            .rev()
            .find(|(k, _)| key_text(k) == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn get_path<'v, 'a>(value: &'v Value<'a>, path: &[&str]) -> Option<&'v Value<'a>> {
    path.iter().try_fold(value, |node, key| get(node, key))
}

fn child_mut<'v, 'a>(map: &'v mut Value<'a>, key: &str) -> Result<&'v mut Value<'a>, String> {
    let Value::Mapping(pairs) = map else {
        return Err(format!("`{key}` is not under a mapping"));
    };
    let i = pairs
        .iter()
        .rposition(|(k, _)| key_text(k) == Some(key))
        .ok_or_else(|| format!("`{key}` is missing from the edited text"))?;
    Ok(&mut pairs[i].1)
}

fn path_mut<'v, 'a>(value: &'v mut Value<'a>, path: &[&str]) -> Result<&'v mut Value<'a>, String> {
    path.iter()
        .try_fold(value, |node, key| child_mut(node, key))
}

fn remove_key(map: &mut Value<'_>, key: &str) {
    if let Value::Mapping(pairs) = map {
        if let Some(i) = pairs.iter().rposition(|(k, _)| key_text(k) == Some(key)) {
            pairs.remove(i);
        }
    }
}

fn expect_string(found: &Value<'_>, value: &str) -> Result<(), String> {
    match found {
        Value::String(s) if s == value => Ok(()),
        other => Err(format!("expected {value}, found {}", short(other))),
    }
}

/// Checks that `edited` carries `intent`, then puts the original content back at its path.
fn revert<'a>(edited: &mut Value<'a>, original: &Value<'a>, intent: &Intent) -> Result<(), String> {
    match intent {
        Intent::SetMappingValue {
            mapping,
            region,
            key,
            value,
        } => {
            let original_region = get_path(original, &["Mappings", mapping, region]);
            let regions = path_mut(edited, &["Mappings", mapping])?;
            let region_map = child_mut(regions, region)?;
            expect_string(child_mut(region_map, key)?, value)?;
            match original_region.and_then(|r| get(r, key)) {
                Some(before) => *child_mut(region_map, key)? = before.clone(),
                None => {
                    remove_key(region_map, key);
                    let now_empty = matches!(region_map, Value::Mapping(p) if p.is_empty());
                    if original_region.is_none() && now_empty {
                        remove_key(regions, region);
                    }
                }
            }
        }
        Intent::RemoveRegion { mapping, region } => {
            let before = get_path(original, &["Mappings", mapping, region])
                .ok_or("the original has no such region")?;
            let Value::Mapping(regions) = path_mut(edited, &["Mappings", mapping])? else {
                return Err("the mapping is not a mapping".into());
            };
            if regions.iter().any(|(k, _)| key_text(k) == Some(region)) {
                return Err(
                    "the region should be removed, but the edited text still has it".into(),
                );
            }
            regions.push((Value::String(Cow::Owned(region.clone())), before.clone()));
        }
        Intent::SetParameterDefault { parameter, value } => {
            let before = get_path(original, &["Parameters", parameter, "Default"])
                .ok_or("the original has no Default")?;
            let slot = path_mut(edited, &["Parameters", parameter, "Default"])?;
            expect_string(slot, value)?;
            *slot = before.clone();
        }
        Intent::PrependAllowedValue { parameter, value } => {
            let Value::Sequence(values) =
                path_mut(edited, &["Parameters", parameter, "AllowedValues"])?
            else {
                return Err("AllowedValues is not a list".into());
            };
            match values.first() {
                Some(first) => expect_string(first, value)?,
                None => return Err(format!("expected {value} first, found an empty list")),
            }
            values.remove(0);
        }
    }
    Ok(())
}

/// The n-th value under `key` in `pairs` (keys may repeat).
fn nth_value<'v, 'a>(
    pairs: &'v [(Value<'a>, Value<'a>)],
    key: &Value<'_>,
    n: usize,
) -> Option<&'v Value<'a>> {
    let text = key_text(key);
    pairs
        .iter()
        .filter(|(k, _)| k == key || (text.is_some() && key_text(k) == text))
        .nth(n)
        .map(|(_, v)| v)
}

/// The first path where `expected` and `actual` differ. Mappings compare by key, not order.
fn first_difference(
    expected: &Value<'_>,
    actual: &Value<'_>,
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
            // Keys usually stand at the same positions on both sides, so compare pairwise and
            // search by key (counting repeats) only from the first position that differs.
            let mut aligned = true;
            for (i, (key, ev)) in e.iter().enumerate() {
                aligned = aligned && a.get(i).is_some_and(|(ak, _)| ak == key);
                path.push(key_text(key).map_or_else(|| format!("{key:?}"), str::to_owned));
                let found = if aligned {
                    Some(&a[i].1)
                } else {
                    let occurrence = e[..i].iter().filter(|(k, _)| k == key).count();
                    nth_value(a, key, occurrence)
                };
                let diff = match found {
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

fn short(value: &Value<'_>) -> String {
    let text = match value {
        Value::String(s) | Value::Number(s) => s.to_string(),
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

    fn original() -> Value<'static> {
        semantic_value(BEFORE, Format::Yaml).unwrap()
    }

    fn parsed(text: &str) -> Value<'_> {
        semantic_value(text, Format::Yaml).unwrap()
    }

    #[test]
    fn a_repeated_key_is_read_as_loaders_read_it_the_last_one() {
        let before = "Mappings:\n  M:\n    us-east-1:\n      K: ami-11111111\n    us-east-1:\n      K: ami-33333333\n";
        let original = semantic_value(before, Format::Yaml).unwrap();
        let intent = [Intent::SetMappingValue {
            mapping: "M".into(),
            region: "us-east-1".into(),
            key: "K".into(),
            value: "ami-22222222".into(),
        }];
        // Editing the first occurrence changes nothing a loader sees: refused.
        let first = before.replacen("ami-11111111", "ami-22222222", 1);
        let failure = verify(&original, parsed(&first), &intent).unwrap_err();
        assert_eq!(failure.path, "Mappings.M.us-east-1.K");
        // Editing the last occurrence is what loaders see.
        let last = before.replace("ami-33333333", "ami-22222222");
        verify(&original, parsed(&last), &intent).unwrap();
    }

    #[test]
    fn parse_failures_are_located() {
        let failure = semantic_value("a: 1\nb: [\n", Format::Yaml).unwrap_err();
        assert!(failure.location.is_some_and(|l| l.line >= 2), "{failure}");
        assert!(!failure.message.contains(" at line "), "{failure}");
        let failure = semantic_value("{\n\"a\": 1e999\n}", Format::Json).unwrap_err();
        assert_eq!(failure.location.map(|l| l.line), Some(2), "{failure}");
        // A byte-order mark is skipped in both formats.
        assert!(semantic_value("\u{feff}{\"a\": 1}", Format::Json).is_ok());
        assert!(semantic_value("\u{feff}a: 1\nb: 2\n", Format::Yaml).is_ok());
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
        verify(&original(), parsed(&after), &intents).unwrap();
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
        let failure = verify(&original(), parsed(&after), &intents).unwrap_err();
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
        let failure = verify(&original(), parsed(BEFORE), &intents).unwrap_err();
        assert_eq!(failure.path, "Mappings.M.us-east-1.K");
    }

    #[test]
    fn refuses_an_extra_key() {
        let after = BEFORE.replace(
            "      K: ami-11111111\n",
            "      K: ami-11111111\n      X: y\n",
        );
        let failure = verify(&original(), parsed(&after), &[]).unwrap_err();
        assert_eq!(failure.path, "Mappings.M.us-east-1.X");
    }
}
