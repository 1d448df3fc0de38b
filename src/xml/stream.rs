//! The streaming matcher: answers a simple location path ([`StreamPath`]) over raw body bytes
//! with quick-xml events, stopping at the first match, without building a tree.
//!
//! ## Supported XPath shapes
//! An absolute path of element steps, each preceded by `/` (child axis) or `//`
//! (`/descendant-or-self::node()/`), anywhere in the path:
//! - name tests: `name` (no namespace — XPath 1.0 semantics), `p:name` (namespace URI of `p`,
//!   compared by URI), `*` (any element), `p:*` (any element in `p`'s namespace); a step may
//!   also say "any namespace, this local name" (no XPath syntax, for the classifier's use);
//! - an optional positional predicate `[n]` (literal integer ≥ 1) counting, as XPath does,
//!   among the children of the same parent that pass the step's name test (so `//order[1]` is
//!   every `order` that is its parent's first `order` child, not `(//order)[1]`);
//! - an optional final `/text()` or `/@name` / `/@p:name`.
//!
//! The answer is the XPath string-value of the first node of the result in document order
//! (`string(path)`): an element's concatenated descendant text, the first text node child of a
//! matching element (adjacent text, CDATA and references form one text node; comments split
//! text nodes), or an attribute's normalized value. `None` means the node-set is empty. It is
//! borrowed from the input unless references, end-of-line normalization or concatenation
//! required a copy. At most 63 steps.
//!
//! Not supported (use the tree): other axes, `..`, `.`, predicates other than `[n]`, `last()`,
//! functions (`local-name()`, `count()`, …), unions, relative paths, `node()`, `comment()`,
//! variables. Well-formedness is checked only up to the first match; DOCTYPE is refused as in
//! the tree parser.
//!
//! Must not: allocate per event (bindings and counters live in vectors sized by depth), or
//! accept entities beyond the predefined ones.

use std::borrow::Cow;
use std::num::NonZeroU32;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::error::{XmlError, XmlErrorKind};
use super::escape::{push_eol_normalized, resolve_ref};
use super::tree::ParseOptions;

/// How a step is reached from the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamAxis {
    /// `/step`: a child of the previous step's match (of the document node for the first step).
    Child,
    /// `//step`: a descendant (any depth) of the previous step's match.
    Descendant,
}

/// One element step of a [`StreamPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStep {
    /// The axis before the step.
    pub axis: StreamAxis,
    /// Required namespace URI: `Some("")` for no namespace (an unprefixed XPath name test),
    /// `None` for any namespace.
    pub ns: Option<String>,
    /// Required local name; `None` for `*`.
    pub local: Option<String>,
    /// `[n]`: 1-based position among the parent's children passing this step's name test.
    pub position: Option<NonZeroU32>,
}

/// What the path selects from the last step's matching elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamTarget {
    /// The elements themselves.
    Element,
    /// `text()`: their text node children.
    Text,
    /// `@local` or `@p:local`: their attribute with namespace `ns` (`""` when unprefixed).
    Attribute {
        /// Namespace URI (`""` for an unprefixed attribute).
        ns: String,
        /// Local name.
        local: String,
    },
}

/// A compiled simple location path for the streaming matcher (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPath {
    steps: Vec<StreamStep>,
    target: StreamTarget,
    child_bits: u64,
    desc_bits: u64,
    /// Counter slot of each step with a positional predicate (`usize::MAX` otherwise).
    slot: Vec<usize>,
    slots: usize,
    needs_ns: bool,
}

impl StreamPath {
    /// Most steps a path may have.
    pub const MAX_STEPS: usize = 63;

    /// A path of `steps` (1 to [`StreamPath::MAX_STEPS`]) selecting `target`; `None` when the
    /// step count is out of range or a name is empty.
    pub fn new(steps: Vec<StreamStep>, target: StreamTarget) -> Option<StreamPath> {
        if steps.is_empty() || steps.len() > Self::MAX_STEPS {
            return None;
        }
        if steps.iter().any(|s| s.local.as_deref() == Some("")) {
            return None;
        }
        let (mut child_bits, mut desc_bits) = (0u64, 0u64);
        let mut slot = Vec::with_capacity(steps.len());
        let mut slots = 0;
        for (j, s) in steps.iter().enumerate() {
            match s.axis {
                StreamAxis::Child => child_bits |= 1 << j,
                StreamAxis::Descendant => desc_bits |= 1 << j,
            }
            if s.position.is_some() {
                slot.push(slots);
                slots += 1;
            } else {
                slot.push(usize::MAX);
            }
        }
        let needs_ns = steps
            .iter()
            .any(|s| s.ns.as_deref().is_some_and(|n| !n.is_empty()))
            || steps.iter().any(|s| s.ns.as_deref() == Some(""))
            || matches!(&target, StreamTarget::Attribute { ns, .. } if !ns.is_empty());
        Some(StreamPath {
            steps,
            target,
            child_bits,
            desc_bits,
            slot,
            slots,
            needs_ns,
        })
    }

    /// Parses the supported syntax (see the module docs), resolving prefixes with `resolve`
    /// (prefix → namespace URI). `None` when the expression is not of a supported shape or a
    /// prefix is unknown.
    pub fn parse<'r>(expr: &str, resolve: impl Fn(&str) -> Option<&'r str>) -> Option<StreamPath> {
        syntax::parse(expr, resolve)
    }

    /// The steps.
    pub fn steps(&self) -> &[StreamStep] {
        &self.steps
    }

    /// The target.
    pub fn target(&self) -> &StreamTarget {
        &self.target
    }

    /// The string-value of the first node the path selects in `input`, or `None` when it
    /// selects nothing. Stops reading at the first match.
    pub fn first_string<'a>(&self, input: &'a [u8]) -> Result<Option<Cow<'a, str>>, XmlError> {
        Matcher::new(self, input).run()
    }
}

struct Frame {
    /// Bit `j`: this element matches steps `0..j` with step `j - 1` (bit 0: the document node).
    mask: u64,
    /// OR of `mask` over this element and its ancestors.
    anc: u64,
    ns_mark: usize,
}

/// Text accumulated for the answer: borrowed while it is one piece of input.
struct Acc<'a>(Cow<'a, str>);

impl<'a> Acc<'a> {
    fn owned(&mut self) -> &mut String {
        self.0.to_mut()
    }

    fn push_text(&mut self, s: Cow<'a, str>) {
        if s.is_empty() {
            return;
        }
        if self.0.is_empty() && memchr::memchr(b'\r', s.as_bytes()).is_none() {
            self.0 = s;
            return;
        }
        push_eol_normalized(self.0.to_mut(), &s);
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn finish(self) -> Cow<'a, str> {
        self.0
    }
}

struct Matcher<'p, 'a> {
    path: &'p StreamPath,
    input: &'a [u8],
    base: usize,
    frames: Vec<Frame>,
    counters: Vec<u32>,
    bindings: Vec<(&'a str, Cow<'a, str>)>,
    max_depth: usize,
}

impl<'p, 'a> Matcher<'p, 'a> {
    fn new(path: &'p StreamPath, input: &'a [u8]) -> Self {
        let base = if input.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let mut frames = Vec::with_capacity(16);
        frames.push(Frame {
            mask: 1,
            anc: 1,
            ns_mark: 0,
        });
        Matcher {
            path,
            input,
            base,
            frames,
            counters: vec![0; path.slots],
            bindings: Vec::new(),
            max_depth: ParseOptions::default().max_depth,
        }
    }

    fn err(&self, offset: usize, kind: XmlErrorKind, msg: impl Into<String>) -> XmlError {
        XmlError::at(self.input, offset, kind, msg)
    }

    /// `s` (a slice quick-xml produced from the input) with the input's lifetime.
    fn reslice(&self, s: &str) -> Option<&'a str> {
        let input: &'a [u8] = self.input;
        let start = (s.as_ptr() as usize).checked_sub(input.as_ptr() as usize)?;
        let bytes = input.get(start..start + s.len())?;
        // SAFETY: `bytes` is exactly the memory of `s`, a `&str` quick-xml validated as UTF-8;
        // the input is borrowed immutably for 'a.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    }

    fn run(mut self) -> Result<Option<Cow<'a, str>>, XmlError> {
        let mut reader = Reader::from_reader(&self.input[self.base..]);
        let mut pos = self.base;
        // Element target: nesting level inside the matched element while capturing its text.
        let mut capture: Option<usize> = None;
        let mut acc = Acc(Cow::Borrowed(""));
        // Text target: a text node child of a matching element is being accumulated.
        let mut run = false;
        loop {
            let ev = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = self.base + reader.error_position() as usize;
                    return Err(self.err(at, XmlErrorKind::Syntax, e.to_string()));
                }
            };
            let is_text = matches!(ev, Event::Text(_) | Event::CData(_) | Event::GeneralRef(_));
            if run && !is_text {
                if !acc.is_empty() {
                    return Ok(Some(acc.finish()));
                }
                run = false;
            }
            let hit = match ev {
                Event::Start(e) => match capture.as_mut() {
                    Some(level) => {
                        *level += 1;
                        Hit::Miss
                    }
                    None => self.element(&e, pos, false)?,
                },
                Event::Empty(e) if capture.is_none() => self.element(&e, pos, true)?,
                Event::Empty(_) => Hit::Miss,
                Event::End(_) => match capture.as_mut() {
                    Some(level) => {
                        *level -= 1;
                        if *level == 0 {
                            return Ok(Some(acc.finish()));
                        }
                        Hit::Miss
                    }
                    None => {
                        self.close();
                        Hit::Miss
                    }
                },
                Event::Text(t) => {
                    if capture.is_some() || self.text_parent() {
                        run = capture.is_none();
                        acc.push_text(t.into_inner());
                    }
                    Hit::Miss
                }
                Event::CData(c) => {
                    if capture.is_some() || self.text_parent() {
                        run = capture.is_none();
                        acc.push_text(c.into_inner());
                    }
                    Hit::Miss
                }
                Event::GeneralRef(r) => {
                    let resolved = resolve_ref(&r).map_err(|(k, m)| self.err(pos, k, m))?;
                    if capture.is_some() || self.text_parent() {
                        run = capture.is_none();
                        resolved.push_to(acc.owned());
                    }
                    Hit::Miss
                }
                Event::DocType(_) => {
                    return Err(self.err(pos, XmlErrorKind::DocType, "DOCTYPE is not allowed"));
                }
                Event::Eof => return Ok(None),
                Event::Comment(_) | Event::PI(_) | Event::Decl(_) => Hit::Miss,
            };
            match hit {
                Hit::Miss => {}
                Hit::Capture => capture = Some(1),
                Hit::Value(v) => return Ok(Some(v)),
            }
            pos = self.base + reader.buffer_position() as usize;
        }
    }
}

/// What a start tag meant for the answer.
enum Hit<'a> {
    Miss,
    /// The element matched: capture its string-value.
    Capture,
    /// The answer.
    Value(Cow<'a, str>),
}

mod matching;
pub(crate) mod syntax;
