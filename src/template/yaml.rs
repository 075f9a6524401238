//! Reads YAML text into the located [`Node`] tree from libyaml's events.
//!
//! # Why libyaml
//!
//! The located tree used to come from saphyr-parser, a strict YAML 1.2 parser. CloudFormation
//! and the tools around it (PyYAML, cfn-lint, serde_yaml) are lenient where YAML 1.2 is strict:
//! they accept a quoted scalar whose continuation lines are not indented past its key, plain
//! scalars inside flow collections at any column, and JSON-looking text with trailing commas
//! or raw line breaks inside strings. saphyr refuses all of these ("invalid indentation in
//! quoted scalar", "invalid indentation in flow construct") and has no switch to relax them.
//! So this reader drives libyaml itself, through `unsafe-libyaml` (the Rust translation of
//! libyaml that serde_yaml already compiles in): it accepts exactly what libyaml accepts, with
//! every byte of the input kept, because the tree only records byte ranges.
//!
//! The proof (serde_yaml) now sits on the same scanner, so both readers accept the same files.
//! What stays independent is what the proof checks: the tree's byte ranges and values are built
//! here from raw events, the splices from those ranges, and the proof decodes the edited text on
//! its own and compares values. The cross-check with a parser that shares no code with libyaml
//! is `tests/fuzz.rs`, which re-reads every successful edit with ruamel.yaml's pure-Python
//! loader.
//!
//! # Bounded time
//!
//! libyaml checks every pending simple key on every token, which costs time proportional to
//! the nesting depth of flow collections: 200 KB of nested `[` took 49.5 s. The builder
//! refuses collections nested deeper than [`MAX_DEPTH`] as soon as the event that opens one
//! arrives, so the scanner never holds more than that many levels (plus the 1,024 characters
//! it may look ahead for a simple key), and the whole stream is read, so a second document
//! cannot hide a deep structure from the limit.
//!
//! This file holds the crate's only `unsafe` code: the calls into `unsafe-libyaml`, each with
//! its safety argument, wrapped in the safe [`LibYaml`] iterator.

#![allow(
    unsafe_code,
    reason = "libyaml's event parser (unsafe-libyaml, the parser serde_yaml uses) has a C-shaped API; each unsafe block states its SAFETY"
)]

use std::ffi::CStr;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use super::tree::{Entry, Node, NodeKind, ScalarStyle};

/// Collections may nest at most this deep. serde_yaml and serde_json stop at 128, CloudFormation
/// templates need a few dozen levels at most, and the limit bounds libyaml's scanning time.
pub const MAX_DEPTH: usize = 100;

/// A YAML syntax error at a byte offset.
#[derive(Debug)]
pub struct YamlSyntaxError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// The parser's description.
    pub message: String,
}

/// Parses `text`, which must hold exactly one YAML document, into a located tree. A leading
/// byte-order mark is skipped here rather than by libyaml, whose scanner counts it as a column
/// (so that a key on the first line would sit one column right of the keys below it); spans
/// and error offsets stay offsets into the whole text.
pub fn parse(text: &str) -> Result<Node, YamlSyntaxError> {
    let base = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = &text[base..];
    let moved = |e: YamlSyntaxError| YamlSyntaxError {
        offset: e.offset + base,
        message: e.message,
    };
    let mut parser = LibYaml::new(body);
    let mut builder = Builder {
        text: body,
        stack: Vec::new(),
        root: None,
        documents: 0,
    };
    loop {
        let event = parser
            .next_event()
            .map_err(|e| moved(e.into_syntax_error(body)))?;
        if builder.push(event).map_err(moved)? {
            break;
        }
    }
    let mut root = builder.root.ok_or_else(|| YamlSyntaxError {
        offset: base,
        message: "the file holds no YAML document".into(),
    })?;
    if base > 0 {
        root.shift(base);
    }
    Ok(root)
}

/// One libyaml event, copied out of libyaml's memory.
#[derive(Debug)]
struct Event {
    kind: EventKind,
    /// Byte offset where the event starts (including a tag or anchor before a node).
    start: usize,
    /// Byte offset just past the event's text.
    end: usize,
}

#[derive(Debug)]
enum EventKind {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias,
    Scalar {
        value: String,
        style: ScalarStyle,
        tag: Option<String>,
        anchored: bool,
    },
    SequenceStart {
        flow: bool,
        tag: Option<String>,
        anchored: bool,
    },
    SequenceEnd,
    MappingStart {
        flow: bool,
        tag: Option<String>,
        anchored: bool,
    },
    MappingEnd,
}

/// libyaml's error, as read from the parser.
struct LibYamlError {
    problem: String,
    /// Byte offset of the problem.
    offset: usize,
    context: Option<(String, usize)>,
}

impl LibYamlError {
    fn into_syntax_error(self, text: &str) -> YamlSyntaxError {
        let message = match self.context {
            Some((context, at)) if at < self.offset => {
                let lines = super::tree::LineIndex::new(text);
                let place = lines.location(text, at);
                format!(
                    "{} ({context} that starts at line {}, column {})",
                    self.problem, place.line, place.column
                )
            }
            Some((context, _)) => format!("{} ({context})", self.problem),
            None => self.problem,
        };
        YamlSyntaxError {
            offset: self.offset.min(text.len()),
            message,
        }
    }
}

/// A safe iterator over libyaml's events for one input string.
struct LibYaml<'t> {
    /// Boxed so that its address never changes while libyaml holds it.
    parser: Box<MaybeUninit<unsafe_libyaml::yaml_parser_t>>,
    /// libyaml reads the input through a raw pointer: the borrow keeps it alive.
    input: PhantomData<&'t str>,
}

impl<'t> LibYaml<'t> {
    fn new(input: &'t str) -> Self {
        let mut parser = Box::new(MaybeUninit::<unsafe_libyaml::yaml_parser_t>::uninit());
        // SAFETY: `yaml_parser_initialize` fully initialises the parser behind the pointer,
        // which points to memory we own. The input pointer and length describe `input`, which
        // outlives `Self` through the `'t` borrow and is never moved (a `&str` points into
        // memory we do not own).
        unsafe {
            let p = parser.as_mut_ptr();
            if unsafe_libyaml::yaml_parser_initialize(p).fail {
                panic!("libyaml could not allocate its parser");
            }
            unsafe_libyaml::yaml_parser_set_encoding(p, unsafe_libyaml::YAML_UTF8_ENCODING);
            unsafe_libyaml::yaml_parser_set_input_string(p, input.as_ptr(), input.len() as u64);
        }
        Self {
            parser,
            input: PhantomData,
        }
    }

    /// The next event, or libyaml's error. After an error or the stream end, libyaml keeps
    /// answering with the same; callers stop there.
    fn next_event(&mut self) -> Result<Event, LibYamlError> {
        let p = self.parser.as_mut_ptr();
        let mut raw = MaybeUninit::<unsafe_libyaml::yaml_event_t>::uninit();
        // SAFETY: the parser was initialised in `new`. `yaml_parser_parse` initialises the
        // event on success; on failure it leaves it zeroed (no memory to free) and sets the
        // error fields that `error` reads.
        unsafe {
            if unsafe_libyaml::yaml_parser_parse(p, raw.as_mut_ptr()).fail {
                return Err(Self::error(p));
            }
            let event = raw.as_mut_ptr();
            let converted = convert(&*event);
            unsafe_libyaml::yaml_event_delete(event);
            Ok(converted)
        }
    }

    /// Reads the error fields of a failed parser.
    ///
    /// # Safety
    /// `p` points to an initialised parser whose last call failed.
    unsafe fn error(p: *mut unsafe_libyaml::yaml_parser_t) -> LibYamlError {
        // SAFETY: per the contract, `p` is initialised; `problem` and `context` are null or
        // point to static NUL-terminated strings.
        let parser = unsafe { &*p };
        let problem = unsafe { c_string(parser.problem.cast()) }
            .unwrap_or_else(|| "libyaml failed without saying why".into());
        let offset = if parser.error == unsafe_libyaml::YAML_READER_ERROR {
            parser.problem_offset as usize
        } else {
            parser.problem_mark.index as usize
        };
        let context = unsafe { c_string(parser.context.cast()) }
            .map(|c| (c, parser.context_mark.index as usize));
        LibYamlError {
            problem,
            offset,
            context,
        }
    }
}

impl Drop for LibYaml<'_> {
    fn drop(&mut self) {
        // SAFETY: the parser was initialised in `new` and is deleted exactly once, here.
        unsafe { unsafe_libyaml::yaml_parser_delete(self.parser.as_mut_ptr()) }
    }
}

/// Copies a NUL-terminated C string; `None` for a null pointer.
///
/// # Safety
/// `ptr` is null or points to a NUL-terminated string that lives for this call.
unsafe fn c_string(ptr: *const std::ffi::c_char) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: per the contract.
    Some(
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// Copies an event's data out of libyaml's memory.
///
/// # Safety
/// `event` was initialised by a successful `yaml_parser_parse` and not yet deleted.
unsafe fn convert(event: &unsafe_libyaml::yaml_event_t) -> Event {
    let start = event.start_mark.index as usize;
    let end = event.end_mark.index as usize;
    // SAFETY (every union access below): the union field read is the one that `type_` says
    // is live; anchors and tags are null or NUL-terminated strings owned by the event.
    let kind = match event.type_ {
        unsafe_libyaml::YAML_STREAM_START_EVENT => EventKind::StreamStart,
        unsafe_libyaml::YAML_STREAM_END_EVENT => EventKind::StreamEnd,
        unsafe_libyaml::YAML_DOCUMENT_START_EVENT => EventKind::DocumentStart,
        unsafe_libyaml::YAML_DOCUMENT_END_EVENT => EventKind::DocumentEnd,
        unsafe_libyaml::YAML_ALIAS_EVENT => EventKind::Alias,
        unsafe_libyaml::YAML_SCALAR_EVENT => {
            let data = unsafe { event.data.scalar };
            // SAFETY: `value` points to `length` bytes owned by the event.
            let bytes = unsafe { std::slice::from_raw_parts(data.value, data.length as usize) };
            EventKind::Scalar {
                value: String::from_utf8_lossy(bytes).into_owned(),
                style: match data.style {
                    unsafe_libyaml::YAML_SINGLE_QUOTED_SCALAR_STYLE => ScalarStyle::SingleQuoted,
                    unsafe_libyaml::YAML_DOUBLE_QUOTED_SCALAR_STYLE => ScalarStyle::DoubleQuoted,
                    unsafe_libyaml::YAML_LITERAL_SCALAR_STYLE
                    | unsafe_libyaml::YAML_FOLDED_SCALAR_STYLE => ScalarStyle::Block,
                    _ => ScalarStyle::Plain,
                },
                tag: unsafe { c_string(data.tag.cast()) },
                anchored: !data.anchor.is_null(),
            }
        }
        unsafe_libyaml::YAML_SEQUENCE_START_EVENT => {
            let data = unsafe { event.data.sequence_start };
            EventKind::SequenceStart {
                flow: data.style == unsafe_libyaml::YAML_FLOW_SEQUENCE_STYLE,
                tag: unsafe { c_string(data.tag.cast()) },
                anchored: !data.anchor.is_null(),
            }
        }
        unsafe_libyaml::YAML_SEQUENCE_END_EVENT => EventKind::SequenceEnd,
        unsafe_libyaml::YAML_MAPPING_START_EVENT => {
            let data = unsafe { event.data.mapping_start };
            EventKind::MappingStart {
                flow: data.style == unsafe_libyaml::YAML_FLOW_MAPPING_STYLE,
                tag: unsafe { c_string(data.tag.cast()) },
                anchored: !data.anchor.is_null(),
            }
        }
        unsafe_libyaml::YAML_MAPPING_END_EVENT => EventKind::MappingEnd,
        // libyaml answers a call after the stream end with an empty event.
        _ => EventKind::StreamEnd,
    };
    Event { kind, start, end }
}

enum Open {
    Map {
        start: usize,
        flow: bool,
        tag: Option<String>,
        anchored: bool,
        entries: Vec<Entry>,
        pending_key: Option<Node>,
    },
    Seq {
        start: usize,
        flow: bool,
        tag: Option<String>,
        anchored: bool,
        items: Vec<Node>,
    },
}

struct Builder<'a> {
    text: &'a str,
    stack: Vec<Open>,
    root: Option<Node>,
    documents: usize,
}

impl Open {
    /// The finished collection: a flow collection ends at its closing bracket (the end event's
    /// `end`), a block collection at the end of its last child.
    fn close(self, end: usize) -> Node {
        match self {
            Open::Map {
                start: s,
                flow,
                tag,
                anchored,
                entries,
                ..
            } => {
                let last_end = entries.last().map_or(s, |e| e.value.span.end);
                Node {
                    span: s..if flow { end } else { last_end },
                    kind: NodeKind::Map { entries, flow },
                    tag,
                    anchored,
                }
            }
            Open::Seq {
                start: s,
                flow,
                tag,
                anchored,
                items,
            } => {
                let last_end = items.last().map_or(s, |i| i.span.end);
                Node {
                    span: s..if flow { end } else { last_end },
                    kind: NodeKind::Seq { items, flow },
                    tag,
                    anchored,
                }
            }
        }
    }
}

impl Builder<'_> {
    /// Handles one event; returns true at the end of the stream.
    fn push(&mut self, event: Event) -> Result<bool, YamlSyntaxError> {
        let Event { kind, start, end } = event;
        let end = end.min(self.text.len());
        let start = start.min(end);
        match kind {
            EventKind::Scalar {
                value,
                style,
                tag,
                anchored,
            } => {
                let span = self.scalar_token(start, end, style, tag.is_some() || anchored);
                self.attach(Node {
                    span,
                    kind: NodeKind::Scalar { value, style },
                    tag,
                    anchored,
                });
            }
            EventKind::Alias => self.attach(Node {
                span: start..end,
                kind: NodeKind::Alias,
                tag: None,
                anchored: false,
            }),
            EventKind::MappingStart {
                flow,
                tag,
                anchored,
            } => {
                self.check_depth(start)?;
                self.stack.push(Open::Map {
                    start: self.collection_start(start, end, flow, '{'),
                    flow,
                    tag,
                    anchored,
                    entries: Vec::new(),
                    pending_key: None,
                });
            }
            EventKind::SequenceStart {
                flow,
                tag,
                anchored,
            } => {
                self.check_depth(start)?;
                self.stack.push(Open::Seq {
                    start: self.collection_start(start, end, flow, '['),
                    flow,
                    tag,
                    anchored,
                    items: Vec::new(),
                });
            }
            EventKind::MappingEnd | EventKind::SequenceEnd => self.close(start, end)?,
            EventKind::DocumentStart => self.start_document(start)?,
            EventKind::StreamEnd => return Ok(true),
            EventKind::StreamStart | EventKind::DocumentEnd => {}
        }
        Ok(false)
    }

    /// Closes the innermost open collection (its end event spans `start..end`) and attaches it
    /// to its parent.
    fn close(&mut self, start: usize, end: usize) -> Result<(), YamlSyntaxError> {
        let open = self.stack.pop().ok_or_else(|| YamlSyntaxError {
            offset: start,
            message: "unbalanced collection end".into(),
        })?;
        self.attach(open.close(end));
        Ok(())
    }

    /// Counts a document starting at `start`: a template is one document.
    fn start_document(&mut self, start: usize) -> Result<(), YamlSyntaxError> {
        self.documents += 1;
        if self.documents > 1 {
            return Err(YamlSyntaxError {
                offset: start,
                message: "a second YAML document starts here, but a template is one document"
                    .into(),
            });
        }
        Ok(())
    }

    fn check_depth(&self, offset: usize) -> Result<(), YamlSyntaxError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlSyntaxError {
                offset,
                message: format!(
                    "collections nest more than {MAX_DEPTH} levels deep here, which no CloudFormation template needs"
                ),
            });
        }
        Ok(())
    }

    /// A flow collection starts at its bracket; the event's start may be a tag or anchor.
    fn collection_start(&self, start: usize, end: usize, flow: bool, bracket: char) -> usize {
        if !flow {
            return start;
        }
        start + self.text[start..end].find(bracket).unwrap_or(0)
    }

    fn attach(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => entries.push(Entry { key, value: node }),
            },
        }
    }

    /// The byte range of a scalar's own token: libyaml's event starts at a leading tag or
    /// anchor, which is skipped here. An empty plain scalar (a key with no value) is an empty
    /// range where libyaml puts it.
    fn scalar_token(
        &self,
        start: usize,
        end: usize,
        style: ScalarStyle,
        has_prefix: bool,
    ) -> std::ops::Range<usize> {
        let text = self.text;
        let quote = match style {
            ScalarStyle::SingleQuoted => Some('\''),
            ScalarStyle::DoubleQuoted => Some('"'),
            _ => None,
        };
        if let Some(quote) = quote {
            let open = start + text[start..end].find(quote).unwrap_or(0);
            return open..end;
        }
        if !has_prefix {
            return start..end;
        }
        // Skip `!Tag` / `&anchor` prefixes and the blanks after them.
        let mut pos = start;
        let bytes = text.as_bytes();
        while pos < end && (bytes[pos] == b'!' || bytes[pos] == b'&') {
            while pos < end && !bytes[pos].is_ascii_whitespace() {
                pos += 1;
            }
            while pos < end && bytes[pos].is_ascii_whitespace() {
                pos += 1;
            }
        }
        pos..end.max(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token<'t>(text: &'t str, node: &Node) -> &'t str {
        &text[node.span.clone()]
    }

    #[test]
    fn scalar_spans_are_exact_tokens() {
        let text = "P:\n  D: 'x''y'   # c\n  E: \"a\\\"b\" # d\n  F: !Ref  AWS::Region\n  G: plain value # e\n  H: !Sub \"x\"\n";
        let root = parse(text).unwrap();
        let p = root.get("P").unwrap();
        assert_eq!(token(text, p.get("D").unwrap()), "'x''y'");
        assert_eq!(p.get("D").unwrap().as_scalar(), Some("x'y"));
        assert_eq!(token(text, p.get("E").unwrap()), "\"a\\\"b\"");
        assert_eq!(token(text, p.get("F").unwrap()), "AWS::Region");
        assert_eq!(p.get("F").unwrap().tag.as_deref(), Some("!Ref"));
        assert_eq!(token(text, p.get("G").unwrap()), "plain value");
        assert_eq!(token(text, p.get("H").unwrap()), "\"x\"");
    }

    #[test]
    fn containers_know_flow_and_spans() {
        let text = "M:\n  r1:\n    K: v1\n  r2: { K: v2, L: 'w' }\n  r3: &a [1]\n";
        let root = parse(text).unwrap();
        let m = root.get("M").unwrap();
        assert!(matches!(m.kind, NodeKind::Map { flow: false, .. }));
        let r2 = m.get("r2").unwrap();
        assert!(matches!(r2.kind, NodeKind::Map { flow: true, .. }));
        assert_eq!(token(text, r2), "{ K: v2, L: 'w' }");
        assert_eq!(token(text, m.get("r3").unwrap()), "[1]");
        assert_eq!(
            token(text, m),
            "r1:\n    K: v1\n  r2: { K: v2, L: 'w' }\n  r3: &a [1]"
        );
    }

    #[test]
    fn non_ascii_text_maps_to_bytes() {
        let text = "D: \"héllo wörld\"\nA: ami-0123456789abcdef0\n";
        let root = parse(text).unwrap();
        assert_eq!(token(text, root.get("A").unwrap()), "ami-0123456789abcdef0");
    }

    #[test]
    fn anchors_and_aliases_are_seen() {
        let text = "a: &x {k: v}\nb: *x\n";
        let root = parse(text).unwrap();
        assert!(root.get("a").unwrap().anchored);
        assert!(matches!(root.get("b").unwrap().kind, NodeKind::Alias));
    }

    #[test]
    fn syntax_errors_carry_an_offset_and_context() {
        let text = "a: [1, 2\nb: c\n";
        let err = parse(text).unwrap_err();
        assert!(err.offset > 0, "{err:?}");
        assert!(err.message.contains("flow sequence"), "{err:?}");
    }

    #[test]
    fn lenient_like_libyaml() {
        // A quoted scalar whose continuation is not indented past its key (strict YAML 1.2
        // refuses it); a plain scalar in a flow sequence at a low column; JSON with a trailing
        // comma and a raw line break in a string.
        let text = "Resources:\n  X:\n    Description: \"one\ntwo\"\n    Tags: [\n  a, b\n    ]\n";
        let root = parse(text).unwrap();
        let x = root.get("Resources").unwrap().get("X").unwrap();
        assert_eq!(x.get("Description").unwrap().as_scalar(), Some("one two"));
        assert_eq!(token(text, x.get("Description").unwrap()), "\"one\ntwo\"");
        let json = "{\"a\": {\"b\": \"x\n   y\",},\n}";
        let root = parse(json).unwrap();
        assert_eq!(
            root.get("a").unwrap().get("b").unwrap().as_scalar(),
            Some("x y")
        );
    }

    #[test]
    fn a_bom_is_skipped_and_offsets_stay_bytes_of_the_whole_text() {
        // The second key must line up with the first, which follows the mark.
        let text = "\u{feff}A: ami-0123456789abcdef0\r\nB: [1\r\n";
        let err = parse(text).unwrap_err();
        assert_eq!(&text[err.offset..], "", "{err:?}");
        let text = "\u{feff}A: ami-0123456789abcdef0\r\nB: 2\r\n";
        let root = parse(text).unwrap();
        assert_eq!(token(text, root.get("A").unwrap()), "ami-0123456789abcdef0");
        assert_eq!(token(text, root.get("B").unwrap()), "2");
    }

    #[test]
    fn deep_nesting_is_refused_early_and_fast() {
        let deep = "[".repeat(200_000);
        let started = std::time::Instant::now();
        let err = parse(&deep).unwrap_err();
        assert!(err.message.contains("nest more than"), "{err:?}");
        assert_eq!(err.offset, MAX_DEPTH);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let block: String = (0..MAX_DEPTH + 1)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect();
        assert!(parse(&block)
            .unwrap_err()
            .message
            .contains("nest more than"));
    }

    #[test]
    fn a_second_document_is_refused() {
        let err = parse("a: 1\n---\nb: [[[[\n").unwrap_err();
        assert_eq!(err.offset, 5, "{err:?}");
    }
}
