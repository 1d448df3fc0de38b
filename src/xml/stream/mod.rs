//! The streaming matcher: answers a simple location path ([`StreamPath`]) over raw body bytes
//! with mint's tokenizer (quick-xml's rules, see `xml/lex.rs`), without building a tree,
//! reading no further than the answer needs.
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
//! Answers: [`StreamPath::first_string`] gives the XPath string-value of the first selected
//! node in document order (`string(path)`, `None` for an empty node-set);
//! [`StreamPath::first_match`] and [`StreamPath::for_each_match`] give [`StreamMatch`]es (byte
//! range, string-value, and for elements the text of their own text children — what Synapse
//! concatenates when it turns a node-set into a string), in document order. An element's value is
//! its concatenated descendant text; a text node is a maximal run of adjacent text, CDATA and
//! references (comments and PIs split text nodes; empty CDATA alone is no text node); an
//! attribute's value is unescaped and normalized. Values borrow from the input unless references,
//! end-of-line normalization or concatenation required a copy. At most 63 steps.
//!
//! Not supported (use the tree): other axes, `..`, `.`, predicates other than `[n]`, `last()`,
//! functions (`local-name()`, `count()`, …), unions, `node()`, `comment()`, variables.
//!
//! Anchors other than the document node map onto element steps: a path relative to the document
//! element (Synapse's default context) is that path with a leading child step `*` (any namespace,
//! any name); `$body/x` is `/*/{env}:Body/x` with `{env}` from [`super::soap::soap_version_of`]
//! (this accepts a `Body` that is not the envelope's second child, which the tree would not).
//!
//! Matching stops at the first match for `first_*`, or when the callback breaks; the rest of the
//! input is still read and checked (below). Matching work ends earlier too: (1) an element below which nothing can
//! match, and (2) everything after the point where no later node can be selected, are read by
//! the tokenizer alone. (2) is decided by names: the steps a later element could match are those
//! the open elements lead to; from each, a later match needs elements matching every following
//! step, so if one of those steps names a local name that occurs nowhere (as bytes: in markup,
//! text, comments, CDATA or attribute values) in the rest of the input, that way is closed; when
//! every way is closed and no match is open, the answer is complete. For `//order[1]/symbol`
//! that is after the last `order` or `symbol`; on a body without them, at once. A step without
//! a local name (`*`, `p:*`) never closes a way. (2) applies only to paths with a `//` step:
//! with child steps only, every element that cannot match falls under (1) already (for
//! `/soapenv:Envelope/soapenv:Header/t:routing`, the SOAP body is read without matching).
//!
//! Checking: the whole input is always read and checked, and refused exactly when
//! [`super::Document::parse`] refuses it (differential tests hold both to that): quick-xml's
//! syntax rules (the tokenizer reproduces them; a differential test holds it to quick-xml),
//! end-tag names, UTF-8, DOCTYPE (refused), undefined entities, depth and unclosed elements at
//! the end, and the tree's own rules (`stream/check.rs`: one root, nothing but whitespace, PIs
//! and comments outside it, the XML declaration only at the start, names, attributes and their
//! limit, duplicates, namespace declarations and bound prefixes, the node count). So a body the
//! tree refuses is never routed or forwarded on a streamed answer.
//!
//! Most markup (text without references, `<name>`, `<name/>`, `</name>` with unprefixed ASCII
//! names and no attributes) is read by one loop, `Lexer::plain_run`, wherever it needs no
//! matching work: the rest after the answer, skipped subtrees, and elements no step selects
//! (`Matcher::plain`, which counts positional steps as entering them would).
//!
//! Must not: allocate per event (bindings and counters live in vectors sized by depth), or
//! accept entities beyond the predefined ones.

use std::borrow::Cow;
use std::num::NonZeroU32;
use std::ops::{ControlFlow, Range};

use super::error::{XmlError, XmlErrorKind};
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
    /// Every step names a local name and the path selects no text: the matcher may read
    /// ahead over elements with other names (`Matcher::plain`).
    plain: bool,
    /// A searcher per step with a local name, built once (building one costs more than
    /// searching a small body).
    finders: NameFinders,
}

/// The local-name searchers of a path's steps; equal whenever the steps are (they are made from
/// them), so they take no part in comparisons.
#[derive(Debug, Clone)]
struct NameFinders(Vec<Option<NameFinder>>);

/// Forward (vectorized) and reverse (two-way) searchers for one local name.
#[derive(Debug, Clone)]
struct NameFinder {
    fwd: memchr::memmem::Finder<'static>,
    rev: memchr::memmem::FinderRev<'static>,
}

impl PartialEq for NameFinders {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for NameFinders {}

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
        let needs_ns = steps.iter().any(|s| s.ns.is_some())
            || matches!(&target, StreamTarget::Attribute { ns, .. } if !ns.is_empty());
        let plain = steps.iter().all(|s| s.local.is_some()) && target != StreamTarget::Text;
        let finders = NameFinders(
            steps
                .iter()
                .map(|s| {
                    s.local.as_deref().map(|l| NameFinder {
                        fwd: memchr::memmem::Finder::new(l.as_bytes()).into_owned(),
                        rev: memchr::memmem::FinderRev::new(l.as_bytes()).into_owned(),
                    })
                })
                .collect(),
        );
        Some(StreamPath {
            steps,
            target,
            child_bits,
            desc_bits,
            slot,
            slots,
            needs_ns,
            plain,
            finders,
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
    /// selects nothing (`string(path)` is this or `""`). Stops matching at the first match, then
    /// checks the rest of the input.
    pub fn first_string<'a>(&self, input: &'a [u8]) -> Result<Option<Cow<'a, str>>, XmlError> {
        Ok(self.first_match(input)?.map(|m| m.value))
    }

    /// The first node the path selects in `input`, in document order. Stops matching there, then
    /// checks the rest of the input.
    pub fn first_match<'a>(&self, input: &'a [u8]) -> Result<Option<StreamMatch<'a>>, XmlError> {
        let mut first = None;
        Matcher::new(self, input)
            .scan(true, &mut |m| {
                first = Some(m);
                ControlFlow::Break(())
            })
            .map_err(|e| refusal(input, e))?;
        Ok(first)
    }

    /// Calls `f` with every node the path selects, in document order (a nested match is
    /// reported after the match that contains it, once both are complete), until `f` breaks or
    /// the input ends. Matching stops when `f` breaks; the rest of the input is still checked.
    pub fn for_each_match<'a>(
        &self,
        input: &'a [u8],
        mut f: impl FnMut(StreamMatch<'a>) -> ControlFlow<()>,
    ) -> Result<(), XmlError> {
        Matcher::new(self, input)
            .scan(false, &mut f)
            .map_err(|e| refusal(input, e))
    }
}

/// The error to refuse `input` with when the scan stopped at `e`: as the tree parser, which
/// checks the whole input's UTF-8 before anything else, invalid UTF-8 anywhere comes first.
#[cold]
fn refusal(input: &[u8], e: XmlError) -> XmlError {
    if e.kind == XmlErrorKind::Encoding {
        return e;
    }
    match std::str::from_utf8(input) {
        Ok(_) => e,
        Err(u) => XmlError::at(
            input,
            u.valid_up_to(),
            XmlErrorKind::Encoding,
            "invalid UTF-8",
        ),
    }
}

/// One node selected by a [`StreamPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamMatch<'a> {
    /// Where the node is in the input: an element from `<` of its start tag to past `>` of its
    /// end tag; a text node as written (references and CDATA markup included); an attribute's
    /// value as written between the quotes.
    pub range: Range<usize>,
    /// The XPath string-value (an element's descendant text; unescaped).
    pub value: Cow<'a, str>,
    /// For an element, the concatenated text of its own text children only (what Axiom's
    /// `OMElement.getText()` returns, which Synapse uses when converting node-sets to strings);
    /// for text and attribute nodes, the same as `value`.
    pub direct_text: Cow<'a, str>,
}

/// What the matcher knows of where a step's local name occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameSeen {
    /// Not searched yet.
    Unknown,
    /// It occurs at this position (found by the `n`th forward search from an earlier one).
    Ahead(usize, u8),
    /// One past the start of its last occurrence (0: it does not occur; `usize::MAX`: the
    /// step has no name, `*`).
    Last(usize),
}

#[derive(Clone, Copy)]
struct Frame {
    /// Bit `j`: this element matches steps `0..j` with step `j - 1` (bit 0: the document node).
    mask: u64,
    /// OR of `mask` over this element and its ancestors.
    anc: u64,
}

struct Matcher<'p, 'a> {
    path: &'p StreamPath,
    input: &'a [u8],
    base: usize,
    frames: Vec<Frame>,
    counters: Vec<u32>,
    max_depth: usize,
    /// Per step: what is known of where its local name occurs in the input.
    names: Vec<NameSeen>,
    /// The `anc` for which `stop_from` was computed (`u64::MAX`: none yet).
    stop_anc: u64,
    /// Exact (`stop_exact`): from this position on, no later node can be selected (given
    /// `stop_anc`). Otherwise no stop before it; it is computed again there.
    stop_from: usize,
    stop_exact: bool,
    /// The tree parser's rules, applied to every token read; also the namespace bindings in
    /// scope, which the matching reads (one binding stack, kept by the checker).
    check: check::Checker<'a>,
}

impl<'p, 'a> Matcher<'p, 'a> {
    fn new(path: &'p StreamPath, input: &'a [u8]) -> Self {
        let base = if input.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let mut frames = Vec::with_capacity(16);
        frames.push(Frame { mask: 1, anc: 1 });
        Matcher {
            path,
            input,
            base,
            frames,
            counters: vec![0; path.slots],
            max_depth: ParseOptions::default().max_depth,
            names: vec![NameSeen::Unknown; path.steps.len()],
            stop_anc: u64::MAX,
            stop_from: 0,
            stop_exact: false,
            check: check::Checker::new(input, base),
        }
    }

    #[cold]
    fn err(&self, offset: usize, kind: XmlErrorKind, msg: impl Into<String>) -> XmlError {
        XmlError::at(self.input, offset, kind, msg)
    }
}

mod check;
#[cfg(test)]
pub(crate) use super::lex::lex_all;
mod matching;
mod scan;
pub(crate) mod syntax;
