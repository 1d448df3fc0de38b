//! The event loop of the streaming matcher: feeds quick-xml events to the per-tag matching
//! (`matching.rs`), accumulates the values of open matches and reports completed matches in
//! document order. Must not: allocate per event (a match's value is copied only when it is not
//! one piece of input), or keep reading once the caller has what it needs.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::ops::{ControlFlow, Range};

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::{Matcher, StreamMatch, StreamTarget};
use crate::xml::error::{XmlError, XmlErrorKind};
use crate::xml::escape::{push_eol_normalized, resolve_ref};

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
        let mut reader = Reader::from_reader(&self.input[self.base..]);
        let mut pos = self.base;
        let mut pending: VecDeque<Pending<'a>> = VecDeque::new();
        // Text target: the last pending match is a text node still being read.
        let mut text_open = false;
        loop {
            let ev = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = self.base + reader.error_position() as usize;
                    return Err(self.err(at, XmlErrorKind::Syntax, e.to_string()));
                }
            };
            let after = self.base + reader.buffer_position() as usize;
            let is_text = matches!(ev, Event::Text(_) | Event::CData(_) | Event::GeneralRef(_));
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
            match ev {
                Event::Start(e) => {
                    for p in pending.iter_mut().filter(|p| p.open) {
                        p.level += 1;
                    }
                    match self.element(&e, pos, accept)? {
                        Some(Found::Element) => pending.push_back(Pending::new(pos)),
                        Some(Found::Attribute(v, range)) => pending.push_back(complete(v, range)),
                        None => {}
                    }
                }
                Event::Empty(e) => {
                    match self.element(&e, pos, accept)? {
                        Some(Found::Element) => {
                            let mut p = Pending::new(pos);
                            p.open = false;
                            p.end = after;
                            pending.push_back(p);
                        }
                        Some(Found::Attribute(v, range)) => pending.push_back(complete(v, range)),
                        None => {}
                    }
                    self.close();
                }
                Event::End(_) => {
                    for p in pending.iter_mut().filter(|p| p.open) {
                        p.level -= 1;
                        if p.level == 0 {
                            p.open = false;
                            p.end = after;
                        }
                    }
                    self.close();
                }
                Event::Text(t) => {
                    let text = t.into_inner();
                    self.text(&text, pos, accept, &mut pending, &mut text_open);
                }
                Event::CData(c) => {
                    let text = c.into_inner();
                    self.text(&text, pos, accept, &mut pending, &mut text_open);
                }
                Event::GeneralRef(r) => {
                    // Always resolved: undefined entities are refused even outside matches.
                    let resolved = resolve_ref(&r).map_err(|(k, m)| self.err(pos, k, m))?;
                    if self.text_parent() || pending.iter().any(|p| p.open) {
                        let mut s = String::new();
                        resolved.push_to(&mut s);
                        self.text(&Cow::Owned(s), pos, accept, &mut pending, &mut text_open);
                    }
                }
                Event::DocType(_) => {
                    return Err(self.err(pos, XmlErrorKind::DocType, "DOCTYPE is not allowed"));
                }
                Event::Eof if self.frames.len() > 1 => {
                    let at = self.input.len();
                    return Err(self.err(
                        at,
                        XmlErrorKind::Syntax,
                        "unclosed element at end of input",
                    ));
                }
                Event::Eof => return Ok(()),
                Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
            }
            while pending.front().is_some_and(|p| !p.open) {
                if let Some(p) = pending.pop_front() {
                    if sink(p.into_match(element_target)).is_break() {
                        return Ok(());
                    }
                }
            }
            pos = after;
        }
    }

    /// A piece of text (text, CDATA or a resolved reference) at `pos`.
    #[allow(clippy::ptr_arg)] // see `Acc::push`
    fn text(
        &self,
        s: &Cow<'a, str>,
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
                p.value.push(s);
            }
            return;
        }
        for p in pending.iter_mut().filter(|p| p.open) {
            p.value.push(s);
            if p.level == 1 {
                p.direct.push(s);
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
