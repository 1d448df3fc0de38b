//! Errors of the XML layer: [`XmlError`] for input that is not acceptable XML (with a byte offset
//! and a 1-based line/column computed only when the error is built), [`EditError`] for edits that
//! would not produce a well-formed document. Must not: log, or carry the input itself.

use thiserror::Error;

/// What class of problem an [`XmlError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XmlErrorKind {
    /// Not well-formed XML (tags, attributes, references, structure).
    Syntax,
    /// The input is not valid UTF-8 (the only encoding accepted; transcode before parsing).
    Encoding,
    /// A `<!DOCTYPE …>` declaration; always refused (no DTDs, no external entities).
    DocType,
    /// A reference to an entity other than the five predefined ones, or an invalid character
    /// reference.
    Entity,
    /// A namespace error: unbound prefix, illegal declaration, duplicate expanded attribute name.
    Namespace,
    /// A configured limit was exceeded (depth, node count, document size).
    Limit,
}

/// Input that is not acceptable XML, located in the original buffer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message} at line {line}, column {col} (byte {offset})")]
pub struct XmlError {
    /// Class of the problem.
    pub kind: XmlErrorKind,
    /// Byte offset into the parsed buffer where the problem was detected.
    pub offset: usize,
    /// 1-based line of `offset`.
    pub line: u32,
    /// 1-based column of `offset`, counted in characters.
    pub col: u32,
    /// Human-readable description.
    pub message: String,
}

impl XmlError {
    /// Builds an error at `offset` of `input`, computing line and column from the offset.
    pub fn at(input: &[u8], offset: usize, kind: XmlErrorKind, message: impl Into<String>) -> Self {
        let offset = offset.min(input.len());
        let (line, col) = line_col(input, offset);
        XmlError {
            kind,
            offset,
            line,
            col,
            message: message.into(),
        }
    }
}

/// 1-based (line, column) of `offset` in `input`; columns count UTF-8 characters.
pub(crate) fn line_col(input: &[u8], offset: usize) -> (u32, u32) {
    let head = &input[..offset.min(input.len())];
    let line = memchr::memchr_iter(b'\n', head).count() + 1;
    let line_start = memchr::memrchr(b'\n', head).map_or(0, |i| i + 1);
    // Count characters, not bytes: continuation bytes (0b10xx_xxxx) do not start a character.
    let col = head[line_start..]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count()
        + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// An edit that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EditError {
    /// The target node id is not a node of this document.
    #[error("node {0} is not in this document")]
    NoSuchNode(u32),
    /// The operation needs an element and the target is another kind of node.
    #[error("node {0} is not an element")]
    NotAnElement(u32),
    /// The operation would leave the document without exactly one root element, or put text or
    /// several elements at the top level.
    #[error("edit would make the document ill-formed at the top level")]
    TopLevel,
    /// The target kind does not support this operation (e.g. inserting next to an attribute).
    #[error("operation not supported on node {0}")]
    Unsupported(u32),
    /// An attribute name or namespace that cannot be written.
    #[error("invalid attribute name: {0}")]
    InvalidName(String),
    /// New XML content did not parse.
    #[error("invalid XML content: {0}")]
    Content(#[from] XmlError),
}
