//! Per-tag work of the streaming matcher: namespace scope (only for tags that contain `xmlns`,
//! and only when the path compares namespaces), the step bit-masks, positional counters and the
//! attribute lookup. Must not: allocate per tag (vectors are reused; a namespace URI is copied
//! only when its declaration holds a reference).

use std::borrow::Cow;

use quick_xml::events::attributes::Attributes;
use quick_xml::events::BytesStart;

use super::scan::Found;
use super::{Frame, Matcher, StreamTarget};
use crate::xml::error::{XmlError, XmlErrorKind};
use crate::xml::escape::attr_value;
use crate::xml::XML_NS;

impl<'a> Matcher<'_, 'a> {
    /// A start or empty-element tag: enters the element (the caller closes an empty one after
    /// this) and reports a new match when `accept` is set.
    pub(super) fn element(
        &mut self,
        e: &BytesStart<'_>,
        pos: usize,
        accept: bool,
    ) -> Result<Option<Found<'a>>, XmlError> {
        let tag = self.reslice(e).ok_or_else(|| {
            self.err(
                pos,
                XmlErrorKind::Syntax,
                "internal: event not borrowed from input",
            )
        })?;
        let name_len = e.name().0.len();
        let mask = self.open(tag, name_len, pos)?;
        if !accept || mask & (1u64 << self.path.steps.len()) == 0 {
            return Ok(None);
        }
        Ok(match &self.path.target {
            StreamTarget::Element => Some(Found::Element),
            StreamTarget::Attribute { ns, local } => {
                self.attribute(tag, name_len, ns, local, pos)?
            }
            StreamTarget::Text => None,
        })
    }

    /// True when text here is a text node child of a matching element (text target only).
    pub(super) fn text_parent(&self) -> bool {
        matches!(self.path.target, StreamTarget::Text)
            && self.frames.len() > 1
            && self
                .frames
                .last()
                .is_some_and(|f| f.mask & (1u64 << self.path.steps.len()) != 0)
    }

    /// Leaves the current element.
    pub(super) fn close(&mut self) {
        if self.frames.len() <= 1 {
            return;
        }
        if let Some(f) = self.frames.pop() {
            self.bindings.truncate(f.ns_mark);
        }
        self.counters.truncate(self.frames.len() * self.path.slots);
    }

    /// Enters an element: records its namespace declarations, computes which steps it matches,
    /// pushes its frame. Returns its mask.
    fn open(&mut self, tag: &'a str, name_len: usize, pos: usize) -> Result<u64, XmlError> {
        if self.frames.len() > self.max_depth {
            return Err(self.err(pos, XmlErrorKind::Limit, "element nesting too deep"));
        }
        let ns_mark = self.bindings.len();
        if self.path.needs_ns
            && tag.len() > name_len
            && memchr::memmem::find(&tag.as_bytes()[name_len..], b"xmlns").is_some()
        {
            self.declare(tag, name_len, pos)?;
        }
        let (p_mask, p_anc) = self.frames.last().map_or((0, 0), |f| (f.mask, f.anc));
        let path = self.path;
        let mut bits = (p_mask & path.child_bits) | (p_anc & path.desc_bits);
        let mut mask = 0u64;
        if bits != 0 {
            let qname = &tag[..name_len];
            let (prefix, local) = qname.split_once(':').unwrap_or(("", qname));
            let block = (self.frames.len() - 1) * path.slots;
            let mut uri: Option<Cow<'a, str>> = None;
            while bits != 0 {
                let j = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let step = &path.steps[j];
                if step.local.as_deref().is_some_and(|l| l != local) {
                    continue;
                }
                if let Some(ns) = step.ns.as_deref() {
                    if uri.is_none() {
                        uri = Some(self.resolve(prefix, pos)?);
                    }
                    if uri.as_deref() != Some(ns) {
                        continue;
                    }
                }
                if let Some(p) = step.position {
                    let Some(c) = self.counters.get_mut(block + path.slot[j]) else {
                        continue;
                    };
                    *c += 1;
                    if *c != p.get() {
                        continue;
                    }
                }
                mask |= 1 << (j + 1);
            }
        }
        self.frames.push(Frame {
            mask,
            anc: p_anc | mask,
            ns_mark,
        });
        self.counters.resize(self.frames.len() * path.slots, 0);
        Ok(mask)
    }

    fn declare(&mut self, tag: &'a str, name_len: usize, pos: usize) -> Result<(), XmlError> {
        for a in Attributes::new(tag, name_len).with_checks(false) {
            let a = a.map_err(|e| {
                self.err(
                    pos,
                    XmlErrorKind::Syntax,
                    format!("malformed attribute: {e}"),
                )
            })?;
            let key = a.key.0;
            let prefix = match key.strip_prefix("xmlns") {
                Some("") => "",
                Some(rest) => match rest.strip_prefix(':') {
                    Some(p) => p,
                    None => continue,
                },
                None => continue,
            };
            let uri = self.value(a.value, pos)?;
            self.bindings.push((prefix, uri));
        }
        Ok(())
    }

    /// A raw attribute value from the input, unescaped and normalized.
    fn value(&self, raw: Cow<'a, str>, pos: usize) -> Result<Cow<'a, str>, XmlError> {
        let map = |(k, m)| self.err(pos, k, m);
        Ok(match raw {
            Cow::Borrowed(v) => attr_value(v).map_err(map)?,
            Cow::Owned(v) => Cow::Owned(attr_value(&v).map_err(map)?.into_owned()),
        })
    }

    /// The namespace URI `prefix` is bound to here.
    fn resolve(&self, prefix: &str, pos: usize) -> Result<Cow<'a, str>, XmlError> {
        if prefix == "xml" {
            return Ok(Cow::Borrowed(XML_NS));
        }
        match self.bindings.iter().rev().find(|(p, _)| *p == prefix) {
            Some((_, uri)) => Ok(uri.clone()),
            None if prefix.is_empty() => Ok(Cow::Borrowed("")),
            None => Err(self.err(
                pos,
                XmlErrorKind::Namespace,
                format!("unbound prefix {prefix}"),
            )),
        }
    }

    /// The value of attribute `{ns}local` of the current tag, with the range of its raw value.
    fn attribute(
        &self,
        tag: &'a str,
        name_len: usize,
        ns: &str,
        local: &str,
        pos: usize,
    ) -> Result<Option<Found<'a>>, XmlError> {
        for a in Attributes::new(tag, name_len).with_checks(false) {
            let a = a.map_err(|e| {
                self.err(
                    pos,
                    XmlErrorKind::Syntax,
                    format!("malformed attribute: {e}"),
                )
            })?;
            let key = a.key.0;
            let (prefix, name) = key.split_once(':').unwrap_or(("", key));
            if name != local || prefix == "xmlns" || (prefix.is_empty() && name == "xmlns") {
                continue;
            }
            let matches = if ns.is_empty() {
                prefix.is_empty()
            } else {
                !prefix.is_empty() && self.resolve(prefix, pos)? == ns
            };
            if matches {
                let start =
                    (a.value.as_ptr() as usize).saturating_sub(self.input.as_ptr() as usize);
                let range = start..start + a.value.len();
                return self
                    .value(a.value, pos)
                    .map(|v| Some(Found::Attribute(v, range)));
            }
        }
        Ok(None)
    }
}
