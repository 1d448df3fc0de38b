//! XPath 1.0 with Synapse's extensions, compiled at deploy time and evaluated per message.
//!
//! * [`compile`] turns an expression and the namespace declarations in scope on the artifact
//!   element into an [`XPath`]: tokenized, parsed, names resolved, checked (unknown prefixes,
//!   functions, variables and wrong argument counts are [`CompileError`]s with the byte offset
//!   in the expression). The artifact's default namespace (`("", uri)`) is never applied:
//!   unprefixed names in XPath 1.0 have no namespace.
//! * [`XPath::evaluate`] runs it over any [`Dom`] with an [`XPathContext`] that answers the
//!   Synapse parts (`$ctx:`, `$trp:`, `$axis2:`, `$url:`, `$func:`, `$body`, `$header`, `$env`,
//!   `get-property()` in every scope, ...). Evaluation never panics; errors are [`EvalError`]s.
//! * [`XPath::reads_content`] and [`XPath::stream_path`] let the engine keep messages unparsed
//!   when an expression reads only properties, or only a simple path (see [`SimplePath`]).
//!
//! Synapse specifics worth knowing:
//! * Synapse evaluates with the **SOAP envelope element** as the context node; pass that as
//!   `context_node` for relative paths (`soapenv:Body/...`) to behave the same.
//! * A missing property is Java `null` in Synapse/Jaxen; it is modelled as the empty node-set,
//!   which behaves the same (`""`, `NaN`, `false`, comparisons false) except that
//!   `= false()` / `!= true()` hold for it, where Jaxen answers false.
//! * A function's prefix is ignored (`fn:concat`, `synapse:get-property`), as in Jaxen.
//!   Jaxen's `ends-with`, `upper-case`, `lower-case` are available too.
//! * `evaluate_string` applies XPath's `string()` (first node only). What Synapse's mediators
//!   store is different (all nodes joined, elements serialized, `count()` as `"3.0"`):
//!   [`XPath::evaluate_synapse_string`] reproduces it, given an element serializer.
//!
//! This module owns expression semantics only: no message state, no I/O, no logging.

pub mod dom;

mod ast;
mod axes;
mod classify;
pub(crate) mod codec;
pub(crate) mod datefmt;
mod eval;
mod functions;
mod lexer;
mod parser;
mod resolve;
pub mod stringify;
mod synapse;
mod value;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

pub use classify::{Anchor, SimplePath, SimpleStep, SimpleTail};
pub use dom::{Dom, NodeId, NodeKind};
pub use stringify::{java_double_to_string, Serializer};
pub use synapse::{
    query_param_from_url, split_registry_key, Clock, MessageField, NoContext, PropertyValue, Scope,
    XPathContext,
};
pub use value::{format_number, parse_number, with_exponents, Value};

/// Why an expression does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileErrorKind {
    /// Nothing but whitespace.
    #[error("empty expression")]
    Empty,
    /// Longer than the 64 KiB guard.
    #[error("expression is too long")]
    TooLong,
    /// Nests deeper than the evaluator allows.
    #[error("expression nests too deeply")]
    TooDeep,
    /// A character that starts no token.
    #[error("unexpected character '{0}'")]
    UnexpectedChar(char),
    /// A string literal without its closing quote.
    #[error("unterminated string literal")]
    UnterminatedLiteral,
    /// A token where another was expected.
    #[error("unexpected {found}, expected {expected}")]
    Unexpected {
        /// The token found.
        found: String,
        /// What the grammar allows here.
        expected: &'static str,
    },
    /// The expression stops early.
    #[error("unexpected end of expression, expected {0}")]
    UnexpectedEnd(&'static str),
    /// Other syntax errors.
    #[error("{0}")]
    Syntax(String),
    /// A namespace prefix not declared on the artifact element.
    #[error("undeclared namespace prefix '{0}'")]
    UnknownPrefix(String),
    /// `name::` where `name` is no axis.
    #[error("unknown axis '{0}'")]
    UnknownAxis(String),
    /// A function neither XPath, Jaxen nor Synapse defines.
    #[error("unknown function '{0}()'")]
    UnknownFunction(String),
    /// A Synapse/Jaxen function this implementation does not provide.
    #[error("function '{0}()' is not supported")]
    UnsupportedFunction(String),
    /// Wrong number of arguments.
    #[error("{name}() takes {expected} argument(s), got {got}")]
    Arity {
        /// Function name.
        name: &'static str,
        /// Accepted argument counts.
        expected: String,
        /// Arguments given.
        got: usize,
    },
    /// `$name` that is neither `$body`, `$header`, `$env` nor prefixed.
    #[error("unknown variable '${0}'")]
    UnknownVariable(String),
    /// A value used where only a node-set makes sense.
    #[error("{0} must be a node-set")]
    NotNodeSet(&'static str),
    /// An invalid literal SYSTEM_DATE format.
    #[error("invalid SYSTEM_DATE format: unknown pattern letter '{0}'")]
    DateFormat(char),
    /// `json-eval(...)` given to the XPath compiler.
    #[error("json-eval() is a JSONPath expression, not XPath")]
    JsonPath,
}

/// A compile error: what went wrong and where (byte offset into the expression).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at offset {offset})")]
pub struct CompileError {
    /// Byte offset in the expression where the problem was found.
    pub offset: usize,
    /// What went wrong.
    pub kind: CompileErrorKind,
}

impl CompileError {
    pub(crate) fn new(offset: usize, kind: CompileErrorKind) -> CompileError {
        CompileError { offset, kind }
    }
}

/// A runtime error: the expression is well-formed but this message makes it fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// A value used where a node-set is required (path step, predicate, union, count()...).
    #[error("{0} is not a node-set")]
    NotNodeSet(&'static str),
    /// A charset argument of base64Encode/base64Decode/url-encode/url-decode.
    #[error("unsupported charset '{0}'")]
    UnsupportedCharset(String),
    /// A computed SYSTEM_DATE format with an unknown pattern letter.
    #[error("invalid SYSTEM_DATE format: unknown pattern letter '{0}'")]
    DateFormat(char),
    /// The evaluation needed more work than allowed for a document of this size (see
    /// `eval.rs`): the expression grows faster than the document.
    #[error("the expression needs more work than allowed for this document")]
    Budget,
    /// A name the expression uses that nothing defines (a function, a prefix, a variable):
    /// Jaxen resolves these when it evaluates, so Synapse deploys the expression and fails here.
    #[error("{0}")]
    Unresolvable(String),
}

/// A compiled expression. Cheap to evaluate, immutable, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct XPath {
    source: Box<str>,
    /// Why every evaluation fails ([`XPath::unresolvable`]).
    fails: Option<Box<str>>,
    expr: ast::Expr,
    reads_content: bool,
    simple: Option<SimplePath>,
}

/// Compiles `expr`. `namespaces` are the `(prefix, uri)` declarations in scope on the artifact
/// element (later entries win over earlier ones with the same prefix; the default namespace
/// entry `("", uri)` is ignored). The `xml` prefix is always bound.
pub fn compile(expr: &str, namespaces: &[(String, String)]) -> Result<XPath, CompileError> {
    let e = parser::parse(expr, namespaces)?;
    Ok(XPath {
        source: expr.into(),
        fails: None,
        reads_content: classify::reads_content(&e),
        simple: classify::simple_path(&e),
        expr: e,
    })
}

impl CompileErrorKind {
    /// Whether Jaxen (Synapse's XPath engine) only finds this when it evaluates: a function,
    /// namespace prefix or variable it cannot resolve, a function called with the wrong number
    /// of arguments. Syntax errors it finds when the expression is built.
    pub fn found_at_evaluation(&self) -> bool {
        matches!(
            self,
            CompileErrorKind::UnknownFunction(_)
                | CompileErrorKind::UnknownPrefix(_)
                | CompileErrorKind::UnknownVariable(_)
                | CompileErrorKind::Arity { .. }
        )
    }
}

impl XPath {
    /// An expression that deploys but fails every evaluation with `why`, as Synapse's do when
    /// Jaxen cannot resolve a name in them ([`CompileErrorKind::found_at_evaluation`]).
    pub fn unresolvable(source: &str, why: &str) -> XPath {
        let mut x = compile("''", &[]).expect("a literal compiles");
        x.source = source.into();
        x.fails = Some(why.into());
        x.reads_content = false;
        x.simple = None;
        x
    }

    fn check_resolved(&self) -> Result<(), EvalError> {
        match &self.fails {
            Some(why) => Err(EvalError::Unresolvable(why.to_string())),
            None => Ok(()),
        }
    }

    /// Same as [`compile`].
    pub fn compile(expr: &str, namespaces: &[(String, String)]) -> Result<XPath, CompileError> {
        compile(expr, namespaces)
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether evaluation may read the message content. `false` means the result depends only
    /// on the [`XPathContext`] (properties, headers, ...), so `dom` may be [`EmptyDom`].
    pub fn reads_content(&self) -> bool {
        self.reads_content
    }

    /// The simple-path description when the expression has that shape (see [`SimplePath`]).
    pub fn stream_path(&self) -> Option<&SimplePath> {
        self.simple.as_ref()
    }

    /// Evaluates with `context_node` as the context node (position and size 1).
    pub fn evaluate<D: Dom + ?Sized>(
        &self,
        dom: &D,
        ctx: &dyn XPathContext,
        context_node: NodeId,
    ) -> Result<Value, EvalError> {
        self.evaluate_at(dom, ctx, context_node, 1, 1)
    }

    /// Evaluates with a full focus: the context node, its position (1-based) and the size of
    /// the context (what XSLT's `xsl:for-each` and `xsl:apply-templates` set).
    pub fn evaluate_at<D: Dom + ?Sized>(
        &self,
        dom: &D,
        ctx: &dyn XPathContext,
        node: NodeId,
        pos: usize,
        size: usize,
    ) -> Result<Value, EvalError> {
        self.check_resolved()?;
        let metered = eval::Metered::new(dom);
        let ev = eval::Ev {
            dom: &metered,
            cx: ctx,
        };
        ev.eval(&self.expr, eval::Focus { node, pos, size })
    }

    /// Whether the expression is plain XPath 1.0 whose result does not depend on how a
    /// number is written as text: no variable, no Synapse or Jaxen extension function, no
    /// `get-property()`, no number passed where a string is taken (`concat(1 div 3)`: XPath
    /// engines differ in the digits they write). What another XSLT processor gives the same
    /// answer for, given the same number formatting of the final result.
    pub fn is_plain_xpath1(&self) -> bool {
        classify::plain_xpath1(&self.expr)
    }

    fn focus(node: NodeId) -> eval::Focus {
        eval::Focus {
            node,
            pos: 1,
            size: 1,
        }
    }

    /// Evaluates and converts with XPath's `string()`.
    pub fn evaluate_string<D: Dom + ?Sized>(
        &self,
        dom: &D,
        ctx: &dyn XPathContext,
        context_node: NodeId,
    ) -> Result<String, EvalError> {
        Ok(self
            .evaluate(dom, ctx, context_node)?
            .into_string_value(dom))
    }

    /// Evaluates and converts with XPath's `boolean()` (what `<filter xpath>` uses).
    pub fn evaluate_boolean<D: Dom + ?Sized>(
        &self,
        dom: &D,
        ctx: &dyn XPathContext,
        context_node: NodeId,
    ) -> Result<bool, EvalError> {
        self.check_resolved()?;
        let metered = eval::Metered::new(dom);
        let ev = eval::Ev {
            dom: &metered,
            cx: ctx,
        };
        ev.boolean(&self.expr, Self::focus(context_node))
    }

    /// Evaluates and converts with XPath's `number()`.
    pub fn evaluate_number<D: Dom + ?Sized>(
        &self,
        dom: &D,
        ctx: &dyn XPathContext,
        context_node: NodeId,
    ) -> Result<f64, EvalError> {
        Ok(self.evaluate(dom, ctx, context_node)?.to_number(dom))
    }

    /// Evaluates an expression that must yield a node-set (document order, no duplicates).
    pub fn evaluate_nodes<D: Dom + ?Sized>(
        &self,
        dom: &D,
        ctx: &dyn XPathContext,
        context_node: NodeId,
    ) -> Result<Vec<NodeId>, EvalError> {
        self.check_resolved()?;
        let metered = eval::Metered::new(dom);
        let ev = eval::Ev {
            dom: &metered,
            cx: ctx,
        };
        ev.nodes(&self.expr, Self::focus(context_node))
    }
}

impl XPath {
    /// Evaluates and converts the result as Synapse's `SynapseXPath.stringValueOf` does (the
    /// string the property, log, header and payloadFactory mediators use): all nodes of a
    /// node-set joined, a lone element as its own trimmed text or else its XML (written by
    /// `serialize`), numbers computed by XPath as Java doubles (`"3.0"`). `None` is Java's
    /// `null` (a missing property read at the top level). Details in `stringify.rs`.
    pub fn evaluate_synapse_string<D: Dom + ?Sized>(
        &self,
        dom: &D,
        ctx: &dyn XPathContext,
        context_node: NodeId,
        serialize: &mut Serializer<'_>,
    ) -> Result<Option<String>, EvalError> {
        let v = self.evaluate(dom, ctx, context_node)?;
        Ok(stringify::synapse_string(
            &self.expr,
            &self.source,
            v,
            dom,
            serialize,
        ))
    }
}

impl fmt::Display for XPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// A document with nothing but its root node (id 0), for evaluating expressions that do not
/// [read the content](XPath::reads_content).
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyDom;

impl Dom for EmptyDom {
    fn kind(&self, _n: NodeId) -> NodeKind {
        NodeKind::Root
    }
    fn parent(&self, _n: NodeId) -> Option<NodeId> {
        None
    }
    fn first_child(&self, _n: NodeId) -> Option<NodeId> {
        None
    }
    fn next_sibling(&self, _n: NodeId) -> Option<NodeId> {
        None
    }
    fn prev_sibling(&self, _n: NodeId) -> Option<NodeId> {
        None
    }
    fn attributes(&self, _n: NodeId) -> &[NodeId] {
        &[]
    }
    fn namespaces(&self, _n: NodeId) -> &[NodeId] {
        &[]
    }
    fn local_name(&self, _n: NodeId) -> &str {
        ""
    }
    fn namespace_uri(&self, _n: NodeId) -> &str {
        ""
    }
    fn prefix(&self, _n: NodeId) -> &str {
        ""
    }
    fn string_value(&self, _n: NodeId) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    fn subtree_end(&self, n: NodeId) -> NodeId {
        n
    }
}
