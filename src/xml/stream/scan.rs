//! The event loop of the streaming matcher: feeds the tokens of `lex.rs` to the per-tag
//! matching (`matching.rs`), accumulates the values of open matches and reports completed
//! matches in document order. Two shortcuts, both only while no match is open: an element below
//! which nothing can match, and everything once no later node can match
//! (`Matcher::nothing_after`), are read with the tokenizer alone (same checks, no matching
//! work). Every token also passes the tree parser's checks (`check.rs`), to the end of the input
//! even once the caller has what it needs. Must not: allocate per event (a match's value is
//! copied only when it is not one piece of input).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::ops::{ControlFlow, Range};

use super::{Frame, Matcher, StreamMatch, StreamTarget};
use crate::xml::error::{XmlError, XmlErrorKind};
use crate::xml::escape::{push_eol_normalized, resolve_ref};
use crate::xml::lex::{same, Lexer, Tok};

/// A match found at a start tag.
pub(super) enum Found<'a> {
    /// The element itself: its value is accumulated until its end tag.
    Element,
    /// An attribute value, complete, and the range of its raw value.
    Attribute(Cow<'a, str>, Range<usize>),
}

/// Text accumulated for a match: borrowed while it is one piece of input.
#[derive(Default)]
struct Acc<'a>(Cow<'a, str>);

impl<'a> Acc<'a> {
    // `&Cow` on purpose: a borrowed piece is kept as `Cow::Borrowed` with the input's lifetime.
    #[allow(clippy::ptr_arg)]
    fn push(&mut self, s: &Cow<'a, str>) {
        if s.is_empty() {
            return;
        }
        if self.0.is_empty() && memchr::memchr(b'\r', s.as_bytes()).is_none() {
            self.0 = s.clone();
            return;
        }
        push_eol_normalized(self.0.to_mut(), s);
    }
}

/// A token the quiet loop hands to the full loop: its position, the token and, for a start tag,
/// what entering the element found (the element is entered already).
type Handoff<'a> = (usize, Tok, Option<Found<'a>>);

/// A match not reported yet (matches are reported in document order, once complete).
struct Pending<'a> {
    start: usize,
    end: usize,
    open: bool,
    /// Element matches: open elements inside the match, itself included.
    level: usize,
    value: Acc<'a>,
    direct: Acc<'a>,
}

impl<'a> Pending<'a> {
    fn new(start: usize) -> Self {
        Pending {
            start,
            end: start,
            open: true,
            level: 1,
            value: Acc::default(),
            direct: Acc::default(),
        }
    }

    fn into_match(self, element: bool) -> StreamMatch<'a> {
        let value = self.value.0;
        let direct_text = if element {
            self.direct.0
        } else {
            value.clone()
        };
        StreamMatch {
            range: self.start..self.end,
            value,
            direct_text,
        }
    }
}

impl<'a> Matcher<'_, 'a> {
    /// Runs over the input, calling `sink` with each match in document order until it breaks.
    /// With `first_only`, no match is started once one is pending.
    pub(super) fn scan(
        mut self,
        first_only: bool,
        sink: &mut dyn FnMut(StreamMatch<'a>) -> ControlFlow<()>,
    ) -> Result<(), XmlError> {
        let element_target = matches!(self.path.target, StreamTarget::Element);
        let mut lex = Lexer::new(self.input, self.base);
        let mut pending: VecDeque<Pending<'a>> = VecDeque::new();
        // Text target: the last pending match is a text node still being read.
        let mut text_open = false;
        loop {
            // With no match open, the quiet loop runs ahead and hands back the first token that
            // starts one (its element already entered) or is text of a selected element.
            let (pos, tok, entered) = if pending.is_empty() {
                match self.quiet(&mut lex)? {
                    Some(q) => q,
                    None => return self.read_unmatched(&mut lex, None),
                }
            } else {
                (lex.pos, self.next(&mut lex)?, None)
            };
            let after = lex.pos;
            let is_text = matches!(tok, Tok::Text | Tok::CData | Tok::Ref);
            if text_open && !is_text {
                text_open = false;
                if let Some(p) = pending.back_mut() {
                    p.open = false;
                    p.end = pos;
                    if p.value.0.is_empty() {
                        // Only empty CDATA: not a text node.
                        pending.pop_back();
                    }
                }
            }
            let accept = !first_only || pending.is_empty();
            match tok {
                Tok::Start {
                    name_end,
                    content_end,
                    empty,
                } => {
                    let found = match entered {
                        Some(found) => Some(found),
                        None => self.element(pos, name_end, content_end, accept)?,
                    };
                    if empty {
                        match found {
                            Some(Found::Element) => {
                                let mut p = Pending::new(pos);
                                p.open = false;
                                p.end = after;
                                pending.push_back(p);
                            }
                            Some(Found::Attribute(v, range)) => {
                                pending.push_back(complete(v, range))
                            }
                            None => {}
                        }
                        self.close();
                    } else {
                        if !pending.is_empty() {
                            for p in pending.iter_mut().filter(|p| p.open) {
                                p.level += 1;
                            }
                        }
                        match found {
                            Some(Found::Element) => pending.push_back(Pending::new(pos)),
                            Some(Found::Attribute(v, range)) => {
                                pending.push_back(complete(v, range))
                            }
                            None => {}
                        }
                        if pending.is_empty() && self.dead_inside() {
                            if self.nothing_after(after) {
                                return self.read_unmatched(&mut lex, None);
                            }
                            self.skip(&mut lex)?;
                            self.close();
                        }
                    }
                }
                Tok::End => {
                    if !pending.is_empty() {
                        for p in pending.iter_mut().filter(|p| p.open) {
                            p.level -= 1;
                            if p.level == 0 {
                                p.open = false;
                                p.end = after;
                            }
                        }
                    }
                    self.close();
                }
                Tok::Text => {
                    self.text(pos, after, pos, accept, &mut pending, &mut text_open)?;
                }
                Tok::CData => {
                    self.text(
                        pos + 9,
                        after - 3,
                        pos,
                        accept,
                        &mut pending,
                        &mut text_open,
                    )?;
                }
                Tok::Ref => {
                    // Always resolved: undefined entities are refused even outside matches.
                    let name = self.piece(pos + 1, after - 1, pos)?;
                    let resolved = resolve_ref(name).map_err(|(k, m)| self.err(pos, k, m))?;
                    if self.text_parent() || pending.iter().any(|p| p.open) {
                        let mut s = String::new();
                        resolved.push_to(&mut s);
                        self.push_text(Cow::Owned(s), pos, accept, &mut pending, &mut text_open);
                    }
                }
                Tok::DocType => {
                    return Err(self.err(pos, XmlErrorKind::DocType, "DOCTYPE is not allowed"));
                }
                Tok::Eof => return lex.check_utf8(),
                Tok::Comment | Tok::Pi => {}
            }
            if pending.front().is_some_and(|p| !p.open) {
                // Nothing is answered from input that is not UTF-8 up to the answer.
                lex.check_utf8()?;
                while pending.front().is_some_and(|p| !p.open) {
                    if let Some(p) = pending.pop_front() {
                        if sink(p.into_match(element_target)).is_break() {
                            // The caller has its answer; the rest must still be well-formed.
                            return self.read_unmatched(&mut lex, None);
                        }
                    }
                }
            }
            if lex.pos >= self.stop_from && pending.is_empty() && self.nothing_after(lex.pos) {
                return self.read_unmatched(&mut lex, None);
            }
        }
    }

    /// Reads tokens while no match is open, doing only what that needs: entering and leaving
    /// elements, resolving references, skipping elements below which nothing can match, and
    /// stopping at the end or once nothing later can match (`None`: the caller reads the rest
    /// with [`Self::read_unmatched`]). Returns the first token that needs the
    /// full loop: a start tag that is a match (already entered: with what was found) or text
    /// (text, CDATA, reference) whose parent is a selected element of a `text()` path.
    #[inline(always)]
    fn quiet(&mut self, lex: &mut Lexer<'a>) -> Result<Option<Handoff<'a>>, XmlError> {
        let text_path = matches!(self.path.target, StreamTarget::Text);
        loop {
            if self.path.plain {
                self.plain(lex);
            }
            let pos = lex.pos;
            let tok = self.next(lex)?;
            match tok {
                Tok::Start {
                    name_end,
                    content_end,
                    empty,
                } => {
                    if let Some(found) = self.element(pos, name_end, content_end, true)? {
                        return Ok(Some((pos, tok, Some(found))));
                    }
                    if empty {
                        self.close();
                    } else if self.dead_inside() {
                        if self.nothing_after(lex.pos) {
                            return Ok(None);
                        }
                        self.skip(lex)?;
                        self.close();
                    }
                }
                Tok::End => self.close(),
                Tok::Text | Tok::CData if text_path && self.text_parent() => {
                    return Ok(Some((pos, tok, None)));
                }
                Tok::Ref => {
                    if text_path && self.text_parent() {
                        return Ok(Some((pos, tok, None)));
                    }
                    let name = self.piece(pos + 1, lex.pos - 1, pos)?;
                    resolve_ref(name).map_err(|(k, m)| self.err(pos, k, m))?;
                }
                Tok::DocType => {
                    return Err(self.err(pos, XmlErrorKind::DocType, "DOCTYPE is not allowed"));
                }
                Tok::Eof => return Ok(None),
                Tok::Text | Tok::CData | Tok::Comment | Tok::Pi => {}
            }
            if lex.pos >= self.stop_from && self.nothing_after(lex.pos) {
                return Ok(None);
            }
        }
    }

    /// Reads ahead with the plain run (`Lexer::plain_run`) over elements no step selects.
    /// A child of an element the matcher entered is read when it matches none of the steps
    /// that element's frame offers, its positional counters counted as [`Self::open`] counts
    /// them; deeper (below an element the run entered, which matched nothing, so that no child
    /// step applies), when its local name is that of no descendant step the nearest entered
    /// element's ancestors lead to. Its name has no prefix and the run crosses no namespace
    /// declaration, so its namespace is the default one in scope when the run starts. The
    /// elements the run leaves are closed as [`Self::close`] does; those it leaves open get the
    /// frame entering them would give (no step matched, the ancestors' steps) and zero
    /// counters (their children passed no positional step's name test, or the run stopped).
    /// For a path whose every step names a local name and that selects no text
    /// (`StreamPath::plain`), while no match is open.
    #[inline(always)]
    fn plain(&mut self, lex: &mut Lexer<'a>) {
        let path = self.path;
        // The declarations of an empty element read last are out of scope for what follows.
        self.check.leave_empty();
        let default_ns = self.check.resolve(b"");
        let default_ns = default_ns.as_deref().unwrap_or("");
        let Matcher {
            frames,
            counters,
            check,
            max_depth,
            ..
        } = self;
        let frames = &*frames;
        // Whether an element named `name` (no prefix) passes step `j`'s name test.
        let passes = |j: usize, name: &[u8]| {
            let step = &path.steps[j];
            step.local
                .as_deref()
                .is_none_or(|l| same(l.as_bytes(), name))
                && step
                    .ns
                    .as_deref()
                    .is_none_or(|u| same(u.as_bytes(), default_ns.as_bytes()))
        };
        let watched = |name: &[u8], open: usize, low: usize| {
            // `frames[d]`: the element at depth `d` (0: the document node).
            if open > low {
                let mut live = frames[low].anc & path.desc_bits;
                while live != 0 {
                    let j = live.trailing_zeros() as usize;
                    live &= live - 1;
                    if passes(j, name) {
                        return true;
                    }
                }
                return false;
            }
            let f = &frames[open];
            let mut live = (f.mask & path.child_bits) | (f.anc & path.desc_bits);
            let block = open * path.slots;
            let mut counted = 0u64;
            while live != 0 {
                let j = live.trailing_zeros() as usize;
                live &= live - 1;
                if !passes(j, name) {
                    continue;
                }
                let Some(p) = path.steps[j].position else {
                    return true;
                };
                match counters.get(block + path.slot[j]) {
                    Some(&c) if c + 1 == p.get() => return true,
                    Some(_) => counted |= 1 << j,
                    None => {}
                }
            }
            // It matches nothing: the steps whose name test it passed count it.
            while counted != 0 {
                let j = counted.trailing_zeros() as usize;
                counted &= counted - 1;
                if let Some(c) = counters.get_mut(block + path.slot[j]) {
                    *c += 1;
                }
            }
            false
        };
        let Some(low) = check.plain_run(lex, 0, *max_depth, watched) else {
            return;
        };
        while self.frames.len() > low + 1 {
            self.close();
        }
        let frame = Frame {
            mask: 0,
            anc: self.frames[low].anc,
        };
        while self.frames.len() <= lex.depth() {
            self.frames.push(frame);
            self.counters.extend(std::iter::repeat_n(0, path.slots));
        }
    }

    /// Reads to the end tag of the element just entered (whose frame the caller pops) with
    /// [`Self::read_unmatched`].
    fn skip(&mut self, lex: &mut Lexer<'a>) -> Result<(), XmlError> {
        self.read_unmatched(lex, Some(lex.depth() - 1))
    }

    /// Reads with the tokenizer's checks, the depth limit and reference resolution, and no
    /// matching, to the end tag that leaves `outer` elements open, or (`None`) to the end of
    /// the input, then checks UTF-8 of everything read.
    fn read_unmatched(
        &mut self,
        lex: &mut Lexer<'a>,
        outer: Option<usize>,
    ) -> Result<(), XmlError> {
        // With `outer`, the end tag that leaves `outer` elements open is read below.
        let floor = outer.map_or(0, |d| d + 1);
        loop {
            self.check
                .plain_run(lex, floor, self.max_depth, |_, _, _| false);
            let pos = lex.pos;
            match self.next(lex)? {
                Tok::Start { empty, .. } => {
                    // As `open`: the element's ancestors plus the document node.
                    let ancestors = lex.depth() - usize::from(!empty);
                    if ancestors + 1 > self.max_depth {
                        return Err(self.err(pos, XmlErrorKind::Limit, "element nesting too deep"));
                    }
                }
                Tok::End if Some(lex.depth()) == outer => return Ok(()),
                Tok::Ref => {
                    let name = self.piece(pos + 1, lex.pos - 1, pos)?;
                    resolve_ref(name).map_err(|(k, m)| self.err(pos, k, m))?;
                }
                Tok::DocType => {
                    return Err(self.err(pos, XmlErrorKind::DocType, "DOCTYPE is not allowed"));
                }
                Tok::Eof if outer.is_none() => return lex.check_utf8(),
                Tok::Eof => {
                    return Err(self.err(
                        pos,
                        XmlErrorKind::Syntax,
                        "unclosed element at end of input",
                    ))
                }
                Tok::End | Tok::Text | Tok::CData | Tok::Comment | Tok::Pi => {}
            }
        }
    }

    /// The next token, checked with the tree parser's rules.
    #[inline(always)]
    fn next(&mut self, lex: &mut Lexer<'a>) -> Result<Tok, XmlError> {
        let pos = lex.pos;
        let tok = lex.next()?;
        self.check.token(pos, lex.pos, tok)?;
        Ok(tok)
    }

    /// `input[start..end]` as text (`at`: where to blame invalid UTF-8).
    fn piece(&self, start: usize, end: usize, at: usize) -> Result<&'a str, XmlError> {
        let input: &'a [u8] = self.input;
        std::str::from_utf8(&input[start..end]).map_err(|e| {
            self.err(
                at.max(start + e.valid_up_to()),
                XmlErrorKind::Encoding,
                "invalid UTF-8",
            )
        })
    }

    /// Character data `input[start..end]` of a token at `pos`, when a match needs it.
    #[inline(always)]
    fn text(
        &self,
        start: usize,
        end: usize,
        pos: usize,
        accept: bool,
        pending: &mut VecDeque<Pending<'a>>,
        text_open: &mut bool,
    ) -> Result<(), XmlError> {
        if self.text_parent() || (!pending.is_empty() && pending.iter().any(|p| p.open)) {
            let s = self.piece(start, end, pos)?;
            self.push_text(Cow::Borrowed(s), pos, accept, pending, text_open);
        }
        Ok(())
    }

    /// A piece of text (text, CDATA or a resolved reference) at `pos`.
    fn push_text(
        &self,
        s: Cow<'a, str>,
        pos: usize,
        accept: bool,
        pending: &mut VecDeque<Pending<'a>>,
        text_open: &mut bool,
    ) {
        if self.text_parent() {
            if !*text_open {
                if !accept {
                    return;
                }
                pending.push_back(Pending::new(pos));
                *text_open = true;
            }
            if let Some(p) = pending.back_mut() {
                p.value.push(&s);
            }
            return;
        }
        for p in pending.iter_mut().filter(|p| p.open) {
            p.value.push(&s);
            if p.level == 1 {
                p.direct.push(&s);
            }
        }
    }
}

fn complete(value: Cow<'_, str>, range: Range<usize>) -> Pending<'_> {
    Pending {
        start: range.start,
        end: range.end,
        open: false,
        level: 0,
        value: Acc(value),
        direct: Acc::default(),
    }
}
