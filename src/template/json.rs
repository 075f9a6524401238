//! Reads JSON text into the located [`Node`] tree with jsonc-parser's AST.

use jsonc_parser::ast::{ObjectPropName, Value};
use jsonc_parser::{CollectOptions, ParseOptions};

use super::tree::{Entry, Node, NodeKind, ScalarStyle};

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
    Ok(convert(&value))
}

fn convert(value: &Value<'_>) -> Node {
    let scalar = |range: &jsonc_parser::common::Range, value: String, style| Node {
        span: range.start..range.end,
        kind: NodeKind::Scalar { value, style },
        tag: None,
        anchored: false,
    };
    match value {
        Value::StringLit(s) => scalar(&s.range, s.value.to_string(), ScalarStyle::DoubleQuoted),
        Value::NumberLit(n) => scalar(&n.range, n.value.to_string(), ScalarStyle::Plain),
        Value::BooleanLit(b) => scalar(&b.range, b.value.to_string(), ScalarStyle::Plain),
        Value::NullKeyword(n) => scalar(&n.range, "null".into(), ScalarStyle::Plain),
        Value::Array(a) => Node {
            span: a.range.start..a.range.end,
            kind: NodeKind::Seq {
                items: a.elements.iter().map(convert).collect(),
                flow: true,
            },
            tag: None,
            anchored: false,
        },
        Value::Object(o) => Node {
            span: o.range.start..o.range.end,
            kind: NodeKind::Map {
                entries: o
                    .properties
                    .iter()
                    .map(|p| {
                        let key = match &p.name {
                            ObjectPropName::String(s) => {
                                scalar(&s.range, s.value.to_string(), ScalarStyle::DoubleQuoted)
                            }
                            ObjectPropName::Word(w) => {
                                scalar(&w.range, w.value.to_string(), ScalarStyle::Plain)
                            }
                        };
                        Entry {
                            key,
                            value: convert(&p.value),
                        }
                    })
                    .collect(),
                flow: true,
            },
            tag: None,
            anchored: false,
        },
    }
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
    }
}
