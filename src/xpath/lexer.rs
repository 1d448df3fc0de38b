//! XPath 1.0 tokenizer (spec §3.7, "Lexical Structure").
//!
//! Produces the whole token list up front, each token with the byte offset where it starts, so
//! the parser can look ahead freely and report errors at precise offsets. The two context rules
//! of §3.7 are applied here: after a token that cannot end an operand, `*` is a name test and
//! `and`/`or`/`div`/`mod` are names; otherwise `*` is multiplication and those words are
//! operators. The "followed by `(`" and "followed by `::`" rules are left to the parser, which
//! sees the next token.

use super::{CompileError, CompileErrorKind};

/// Expressions longer than this are rejected (deploy-time guard against absurd input).
pub(crate) const MAX_EXPR_LEN: usize = 64 * 1024;

/// One token; string payloads borrow from the expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok<'a> {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    DotDot,
    At,
    Comma,
    ColonColon,
    Slash,
    DoubleSlash,
    Pipe,
    Plus,
    Minus,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    /// `*` as the multiplication operator.
    Multiply,
    And,
    Or,
    Div,
    Mod,
    /// `*` as a name test.
    Star,
    /// `prefix:*`.
    NsStar(&'a str),
    /// A QName (`prefix` is `None` when unprefixed).
    Name(Option<&'a str>, &'a str),
    Literal(&'a str),
    Number(f64),
    /// `$prefix:local` or `$local`.
    Var(Option<&'a str>, &'a str),
}

impl Tok<'_> {
    /// Whether an operand may follow this token (the "preceding token" set of §3.7 rule 1).
    fn expects_operand(&self) -> bool {
        !matches!(
            self,
            Tok::RParen
                | Tok::RBracket
                | Tok::Dot
                | Tok::DotDot
                | Tok::Star
                | Tok::NsStar(_)
                | Tok::Name(..)
                | Tok::Literal(_)
                | Tok::Number(_)
                | Tok::Var(..)
        )
    }

    /// Short description for error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Name(Some(p), l) => format!("name '{p}:{l}'"),
            Tok::Name(None, l) => format!("name '{l}'"),
            Tok::NsStar(p) => format!("'{p}:*'"),
            Tok::Literal(s) => format!("string literal '{s}'"),
            Tok::Number(n) => format!("number {n}"),
            Tok::Var(Some(p), l) => format!("variable '${p}:{l}'"),
            Tok::Var(None, l) => format!("variable '${l}'"),
            other => format!("'{}'", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Dot => ".",
            Tok::DotDot => "..",
            Tok::At => "@",
            Tok::Comma => ",",
            Tok::ColonColon => "::",
            Tok::Slash => "/",
            Tok::DoubleSlash => "//",
            Tok::Pipe => "|",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Eq => "=",
            Tok::Neq => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Multiply | Tok::Star => "*",
            Tok::And => "and",
            Tok::Or => "or",
            Tok::Div => "div",
            Tok::Mod => "mod",
            _ => "?",
        }
    }
}

/// A token and the byte offset of its first character.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    pub at: usize,
}

fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// NCName start character (non-ASCII characters are accepted as letters).
fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == '-' || c == '.'
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    out: Vec<Token<'a>>,
}

/// Splits `src` into tokens.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token<'_>>, CompileError> {
    if src.len() > MAX_EXPR_LEN {
        return Err(CompileError::new(MAX_EXPR_LEN, CompileErrorKind::TooLong));
    }
    let mut lx = Lexer {
        src,
        pos: 0,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

impl<'a> Lexer<'a> {
    fn peek_byte(&self, ahead: usize) -> Option<u8> {
        self.src.as_bytes().get(self.pos + ahead).copied()
    }

    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn expects_operand(&self) -> bool {
        self.out.last().is_none_or(|t| t.tok.expects_operand())
    }

    fn push(&mut self, tok: Tok<'a>, at: usize) {
        self.out.push(Token { tok, at });
    }

    fn run(&mut self) -> Result<(), CompileError> {
        while let Some(b) = self.peek_byte(0) {
            let at = self.pos;
            if is_xml_space(b) {
                self.pos += 1;
                continue;
            }
            let single = |t| Some((t, 1));
            let two = |t| Some((t, 2));
            let simple = match (b, self.peek_byte(1)) {
                (b'(', _) => single(Tok::LParen),
                (b')', _) => single(Tok::RParen),
                (b'[', _) => single(Tok::LBracket),
                (b']', _) => single(Tok::RBracket),
                (b'@', _) => single(Tok::At),
                (b',', _) => single(Tok::Comma),
                (b':', Some(b':')) => two(Tok::ColonColon),
                (b'/', Some(b'/')) => two(Tok::DoubleSlash),
                (b'/', _) => single(Tok::Slash),
                (b'|', _) => single(Tok::Pipe),
                (b'+', _) => single(Tok::Plus),
                (b'-', _) => single(Tok::Minus),
                (b'=', _) => single(Tok::Eq),
                (b'!', Some(b'=')) => two(Tok::Neq),
                (b'<', Some(b'=')) => two(Tok::Le),
                (b'<', _) => single(Tok::Lt),
                (b'>', Some(b'=')) => two(Tok::Ge),
                (b'>', _) => single(Tok::Gt),
                (b'.', Some(b'.')) => two(Tok::DotDot),
                (b'.', Some(d)) if d.is_ascii_digit() => None,
                (b'.', _) => single(Tok::Dot),
                (b'*', _) => {
                    if self.expects_operand() {
                        single(Tok::Star)
                    } else {
                        single(Tok::Multiply)
                    }
                }
                _ => None,
            };
            if let Some((tok, len)) = simple {
                self.pos += len;
                self.push(tok, at);
                continue;
            }
            match b {
                b'"' | b'\'' => self.literal(b)?,
                b'0'..=b'9' | b'.' => self.number(),
                b'$' => {
                    self.pos += 1;
                    let (prefix, local) = self.qname(at, false)?;
                    match local {
                        NameEnd::Local(l) => self.push(Tok::Var(prefix, l), at),
                        NameEnd::Star => {
                            return Err(CompileError::new(
                                at,
                                CompileErrorKind::Syntax("a variable name cannot be '*'".into()),
                            ))
                        }
                    }
                }
                _ => {
                    let c = self.peek_char().unwrap_or('\u{0}');
                    if !is_name_start(c) {
                        return Err(CompileError::new(at, CompileErrorKind::UnexpectedChar(c)));
                    }
                    let (prefix, local) = self.qname(at, true)?;
                    let tok = match (prefix, local) {
                        (Some(p), NameEnd::Star) => Tok::NsStar(p),
                        (None, NameEnd::Local(l)) if !self.expects_operand() => match l {
                            "and" => Tok::And,
                            "or" => Tok::Or,
                            "div" => Tok::Div,
                            "mod" => Tok::Mod,
                            _ => Tok::Name(None, l),
                        },
                        (p, NameEnd::Local(l)) => Tok::Name(p, l),
                        (None, NameEnd::Star) => Tok::Star,
                    };
                    self.push(tok, at);
                }
            }
        }
        Ok(())
    }

    fn literal(&mut self, quote: u8) -> Result<(), CompileError> {
        let at = self.pos;
        let body = &self.src[at + 1..];
        match body.bytes().position(|b| b == quote) {
            Some(end) => {
                self.push(Tok::Literal(&body[..end]), at);
                self.pos = at + 1 + end + 1;
                Ok(())
            }
            None => Err(CompileError::new(at, CompileErrorKind::UnterminatedLiteral)),
        }
    }

    fn number(&mut self) {
        let at = self.pos;
        let bytes = self.src.as_bytes();
        let mut end = at;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end < bytes.len() && bytes[end] == b'.' {
            end += 1;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
        }
        let text = &self.src[at..end];
        // "1." is valid XPath but not valid for Rust's parser; ".5" is fine for both.
        let value = text
            .strip_suffix('.')
            .unwrap_or(text)
            .parse::<f64>()
            .unwrap_or(f64::NAN);
        self.pos = end;
        self.push(Tok::Number(value), at);
    }

    fn ncname(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let rest = &self.src[start..];
        let mut chars = rest.char_indices();
        match chars.next() {
            Some((_, c)) if is_name_start(c) => {}
            _ => return None,
        }
        let end = chars
            .find(|&(_, c)| !is_name_char(c))
            .map_or(rest.len(), |(i, _)| i);
        self.pos = start + end;
        Some(&rest[..end])
    }

    /// Reads `NCName`, `NCName:NCName` or (when `allow_star`) `NCName:*`.
    fn qname(
        &mut self,
        at: usize,
        allow_star: bool,
    ) -> Result<(Option<&'a str>, NameEnd<'a>), CompileError> {
        let Some(first) = self.ncname() else {
            return Err(CompileError::new(
                at,
                CompileErrorKind::Syntax("expected a name".into()),
            ));
        };
        if self.peek_byte(0) == Some(b':') && self.peek_byte(1) != Some(b':') {
            self.pos += 1;
            if allow_star && self.peek_byte(0) == Some(b'*') {
                self.pos += 1;
                return Ok((Some(first), NameEnd::Star));
            }
            return match self.ncname() {
                Some(local) => Ok((Some(first), NameEnd::Local(local))),
                None => Err(CompileError::new(
                    self.pos,
                    CompileErrorKind::Syntax(format!("expected a local name after '{first}:'")),
                )),
            };
        }
        Ok((None, NameEnd::Local(first)))
    }
}

enum NameEnd<'a> {
    Local(&'a str),
    Star,
}
