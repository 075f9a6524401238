//! Reads strict JSON text into the located [`Node`] tree with jsonc-parser's AST.
//!
//! Strict means what `serde_json` (the proof's JSON parser) accepts: jsonc-parser's extensions
//! are switched off, and a raw control character inside a string (jsonc-parser takes a raw
//! line break there) is an error too. Text that looks like JSON but is not strict JSON is read
//! as YAML instead, as CloudFormation reads it (see `Template::parse`). A leading byte-order
//! mark is skipped; offsets stay offsets into the whole text.

use jsonc_parser::ast::{ObjectPropName, Value};
use jsonc_parser::{CollectOptions, ParseOptions};

use super::tree::{Entry, Node, NodeKind, ScalarStyle};
use super::yaml::MAX_DEPTH;

/// A JSON syntax error at a byte offset.
#[derive(Debug)]
pub struct JsonSyntaxError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// The parser's description.
    pub message: String,
}

/// Parses strict JSON into a located tree.
pub fn parse(text: &str) -> Result<Node, JsonSyntaxError> {
    let base = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut root = parse_body(&text[base..]).map_err(|e| JsonSyntaxError {
        offset: e.offset + base,
        message: e.message,
    })?;
    if base > 0 {
        root.shift(base);
    }
    Ok(root)
}

fn parse_body(text: &str) -> Result<Node, JsonSyntaxError> {
    let strict = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        ..ParseOptions::default()
    };
    let result =
        jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &strict).map_err(|e| {
            JsonSyntaxError {
                offset: e.range().start,
                message: e.kind().to_string(),
            }
        })?;
    let value = result.value.ok_or_else(|| JsonSyntaxError {
        offset: 0,
        message: "the file holds no JSON value".into(),
    })?;
    convert(text, &value, 0)
}

/// A raw control character inside the string token at `range`: strict JSON (and serde_json)
/// refuses it, YAML folds a raw line break into a space.
fn check_string(text: &str, range: &jsonc_parser::common::Range) -> Result<(), JsonSyntaxError> {
    match text[range.start..range.end].bytes().position(|b| b < 0x20) {
        Some(i) => Err(JsonSyntaxError {
            offset: range.start + i,
            message: "a raw control character (such as a line break) inside a string; strict JSON writes it as an escape like \\n".into(),
        }),
        None => Ok(()),
    }
}

fn convert(text: &str, value: &Value<'_>, depth: usize) -> Result<Node, JsonSyntaxError> {
    let scalar = |range: &jsonc_parser::common::Range, value: String, style| Node {
        span: range.start..range.end,
        kind: NodeKind::Scalar { value, style },
        tag: None,
        anchored: false,
    };
    let nested = |start: usize| {
        if depth >= MAX_DEPTH {
            Err(JsonSyntaxError {
                offset: start,
                message: format!("objects and arrays nest more than {MAX_DEPTH} levels deep here, which no CloudFormation template needs"),
            })
        } else {
            Ok(())
        }
    };
    Ok(match value {
        Value::StringLit(s) => {
            check_string(text, &s.range)?;
            scalar(&s.range, s.value.to_string(), ScalarStyle::DoubleQuoted)
        }
        Value::NumberLit(n) => scalar(&n.range, n.value.to_string(), ScalarStyle::Plain),
        Value::BooleanLit(b) => scalar(&b.range, b.value.to_string(), ScalarStyle::Plain),
        Value::NullKeyword(n) => scalar(&n.range, "null".into(), ScalarStyle::Plain),
        Value::Array(a) => {
            nested(a.range.start)?;
            Node {
                span: a.range.start..a.range.end,
                kind: NodeKind::Seq {
                    items: a
                        .elements
                        .iter()
                        .map(|e| convert(text, e, depth + 1))
                        .collect::<Result<_, _>>()?,
                    flow: true,
                },
                tag: None,
                anchored: false,
            }
        }
        Value::Object(o) => {
            nested(o.range.start)?;
            let mut entries = Vec::with_capacity(o.properties.len());
            for p in &o.properties {
                let key = match &p.name {
                    ObjectPropName::String(s) => {
                        check_string(text, &s.range)?;
                        scalar(&s.range, s.value.to_string(), ScalarStyle::DoubleQuoted)
                    }
                    ObjectPropName::Word(w) => {
                        scalar(&w.range, w.value.to_string(), ScalarStyle::Plain)
                    }
                };
                entries.push(Entry {
                    key,
                    value: convert(text, &p.value, depth + 1)?,
                });
            }
            Node {
                span: o.range.start..o.range.end,
                kind: NodeKind::Map {
                    entries,
                    flow: true,
                },
                tag: None,
                anchored: false,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_tokens() {
        let text = "{\r\n  \"M\": { \"us-east-1\": {\"64\": \"ami-1853ac65\"} },\r\n  \"N\": [1, true]\r\n}";
        let root = parse(text).unwrap();
        let ami = root
            .get("M")
            .unwrap()
            .get("us-east-1")
            .unwrap()
            .get("64")
            .unwrap();
        assert_eq!(&text[ami.span.clone()], "\"ami-1853ac65\"");
        assert_eq!(ami.as_scalar(), Some("ami-1853ac65"));
        assert_eq!(&text[root.get("N").unwrap().span.clone()], "[1, true]");
    }

    #[test]
    fn rejects_json_extensions() {
        assert!(parse("{\"a\": 1,}").is_err());
        assert!(parse("{\"a\": 1 // c\n}").is_err());
        assert!(parse("{a: 1}").is_err());
        let raw_break = parse("{\"a\": \"x\n y\"}").unwrap_err();
        assert_eq!(raw_break.offset, 8);
    }

    #[test]
    fn a_bom_is_skipped_and_spans_stay_in_the_whole_text() {
        let text = "\u{feff}{\"A\": \"ami-1853ac65\"}";
        let root = parse(text).unwrap();
        let a = root.get("A").unwrap();
        assert_eq!(&text[a.span.clone()], "\"ami-1853ac65\"");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!(
            "{}1{}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert!(parse(&deep).unwrap_err().message.contains("nest more than"));
        let ok = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }
}
