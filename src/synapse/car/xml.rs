//! A tiny element tree for CAR descriptors (`artifacts.xml`, `artifact.xml`, `registry-info.xml`,
//! `.meta/~*.xml`), with the 1-based `line:col` of every element so errors can point into the
//! zip entry.
//!
//! WSO2 reads these files with Axiom by *local* name (`getChildrenWithLocalName`), so namespaces
//! are dropped here: element and attribute names keep only their local part, and `xmlns`
//! declarations are not attributes. The Synapse artifacts themselves are not parsed here.
//!
//! Safety: a DOCTYPE is refused (no entity expansion), nesting is capped at [`MAX_DEPTH`] and
//! size at [`MAX_ELEMENTS`], and only the predefined entities and character references are
//! resolved.

use crate::synapse::model::Pos;
use crate::xml::element::LineIndex;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use quick_xml::XmlVersion;

/// Deepest nesting accepted; real descriptors are 4 levels deep.
const MAX_DEPTH: usize = 64;

/// Most elements accepted in one document, so that a descriptor of tiny elements cannot turn
/// into a tree many times its size (65 536 dependencies need about as many).
const MAX_ELEMENTS: usize = 250_000;

/// One element: local name, attributes (local names), direct text, child elements, position.
#[derive(Debug, Clone, Default)]
pub(super) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// Text and CDATA directly inside this element, concatenated (not trimmed).
    pub text: String,
    pub children: Vec<Element>,
    pub line: u32,
    pub col: u32,
}

/// A parse error at a 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct XmlError {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl Element {
    /// The value of the attribute with this local name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Child elements with this local name, in document order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first child with this local name (Axiom's `getFirstChildWithName`).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The trimmed text of the first child with this local name; `None` when absent or blank.
    pub fn child_text(&self, name: &str) -> Option<String> {
        let text = self.child(name)?.text.trim();
        (!text.is_empty()).then(|| text.to_string())
    }
}

/// Parses `text` and returns its root element.
pub(super) fn parse(text: &str) -> Result<Element, XmlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = LineIndex::new(text);
    build(text, &lines).map_err(|(offset, message)| {
        let Pos { line, col } = lines.pos(offset);
        XmlError { line, col, message }
    })
}

/// Offset-tagged error while building.
type BuildError = (usize, String);

fn build(text: &str, lines: &LineIndex<'_>) -> Result<Element, BuildError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let offset = to_usize(reader.buffer_position());
        let event = reader
            .read_event()
            .map_err(|e| (to_usize(reader.error_position()), e.to_string()))?;
        if matches!(event, Event::Start(_) | Event::Empty(_)) {
            count += 1;
            if count > MAX_ELEMENTS {
                return Err((offset, format!("more than {MAX_ELEMENTS} elements")));
            }
        }
        match event {
            Event::Start(start) => {
                let element = open(&start, offset, lines, &stack, root.is_some())?;
                stack.push(element);
            }
            Event::Empty(start) => {
                let element = open(&start, offset, lines, &stack, root.is_some())?;
                close(element, &mut stack, &mut root);
            }
            Event::End(_) => {
                // quick-xml has checked that the end tag matches the innermost open element.
                if let Some(element) = stack.pop() {
                    close(element, &mut stack, &mut root);
                }
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content(), offset)?,
            Event::CData(t) => push_text(&mut stack, &t.xml10_content(), offset)?,
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten()
                } else {
                    predefined_entity(&r)
                };
                let ch = resolved.ok_or_else(|| (offset, format!("unknown entity '&{};'", &*r)))?;
                push_text(&mut stack, ch.encode_utf8(&mut [0; 4]), offset)?;
            }
            Event::DocType(_) => return Err((offset, "DOCTYPE is not allowed".to_string())),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => return finish(stack, root, offset),
        }
    }
}

/// Builds an element from a start tag, refusing a second root and excessive depth.
fn open(
    start: &BytesStart<'_>,
    offset: usize,
    lines: &LineIndex<'_>,
    stack: &[Element],
    have_root: bool,
) -> Result<Element, BuildError> {
    if stack.is_empty() && have_root {
        return Err((offset, "only one root element is allowed".to_string()));
    }
    if stack.len() >= MAX_DEPTH {
        return Err((offset, format!("elements nested deeper than {MAX_DEPTH}")));
    }
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| (offset, e.to_string()))?;
        let qname = attr.key.0;
        if qname == "xmlns" || qname.starts_with("xmlns:") {
            continue;
        }
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| (offset, format!("attribute '{qname}': {e}")))?;
        attrs.push((local(qname).to_string(), value.into_owned()));
    }
    let Pos { line, col } = lines.pos(offset);
    Ok(Element {
        name: local(start.name().0).to_string(),
        attrs,
        line,
        col,
        ..Element::default()
    })
}

/// Attaches a finished element to its parent, or makes it the root.
fn close(element: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// Adds text to the innermost open element; outside the root only whitespace is allowed.
fn push_text(stack: &mut [Element], text: &str, offset: usize) -> Result<(), BuildError> {
    match stack.last_mut() {
        Some(open) => open.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err((offset, "text outside the root element".to_string())),
    }
    Ok(())
}

fn finish(
    stack: Vec<Element>,
    root: Option<Element>,
    offset: usize,
) -> Result<Element, BuildError> {
    if let Some(open) = stack.last() {
        return Err((offset, format!("element <{}> is not closed", open.name)));
    }
    root.ok_or_else(|| (offset, "no root element".to_string()))
}

fn predefined_entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

/// `prefix:local` → `local`.
fn local(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, l)| l)
}

fn to_usize(pos: u64) -> usize {
    usize::try_from(pos).unwrap_or(usize::MAX)
}
