//! Per-tag work of the streaming matcher: the step bit-masks (prefixes resolved through the
//! checker's binding stack, which has read the tag's declarations already), positional
//! counters, the attribute lookup, and the two pruning questions (can anything below this
//! element match? can anything after this point match?). Must not: allocate per tag (vectors
//! are reused).

use std::borrow::Cow;

use quick_xml::events::attributes::Attributes;

use super::scan::Found;
use super::{Frame, Matcher, NameFinder, NameSeen, StreamTarget};
use crate::xml::error::{XmlError, XmlErrorKind};
use crate::xml::escape::attr_value;
use crate::xml::lex::same;

impl<'a> Matcher<'_, 'a> {
    /// A start or empty-element tag `<…>` at `pos` whose name ends at `name_end` and attributes
    /// at `content_end`: enters the element (the caller closes an empty one after this) and
    /// reports a new match when `accept` is set.
    #[inline(always)]
    pub(super) fn element(
        &mut self,
        pos: usize,
        name_end: usize,
        content_end: usize,
        accept: bool,
    ) -> Result<Option<Found<'a>>, XmlError> {
        let mask = self.open(pos, name_end)?;
        if !accept || mask & (1u64 << self.path.steps.len()) == 0 {
            return Ok(None);
        }
        Ok(match &self.path.target {
            StreamTarget::Element => Some(Found::Element),
            StreamTarget::Attribute { ns, local } => {
                let tag = self.tag(pos, content_end)?;
                self.attribute(tag, name_end - pos - 1, ns, local, pos)?
            }
            StreamTarget::Text => None,
        })
    }

    /// The tag's text between `<` and `>` (or `/>`), as quick-xml hands it to `Attributes`.
    fn tag(&self, pos: usize, content_end: usize) -> Result<&'a str, XmlError> {
        let input: &'a [u8] = self.input;
        std::str::from_utf8(&input[pos + 1..content_end])
            .map_err(|_| self.err(pos, XmlErrorKind::Encoding, "invalid UTF-8"))
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
            if f.mask != 0 {
                self.forget_stop();
            }
        }
        self.counters.truncate(self.frames.len() * self.path.slots);
    }

    /// The steps the open elements lead to changed: `stop_from` must be computed again.
    #[inline(always)]
    fn forget_stop(&mut self) {
        self.stop_anc = u64::MAX;
        self.stop_from = 0;
        self.stop_exact = false;
    }

    /// True when nothing inside the current element can be selected: no step can match below
    /// it (its own mask offers no child step, its ancestors' none reachable by a descendant
    /// step) and, for a `text()` path, it is not a selected element itself. The caller also
    /// knows that no match is open around it (an open match needs the text inside).
    pub(super) fn dead_inside(&self) -> bool {
        let p = self.path;
        self.frames.last().is_some_and(|f| {
            (f.mask & p.child_bits) | (f.anc & p.desc_bits) == 0
                && !(matches!(p.target, StreamTarget::Text)
                    && f.mask & (1u64 << p.steps.len()) != 0)
        })
    }

    /// True when no node at or after `pos` can be selected, given that no match is open:
    /// every step a later element could match (the steps the open elements lead to: `anc` of
    /// the innermost) starts a chain to the last step that needs an element whose local name
    /// does not occur in `input[pos..]` (as bytes, anywhere: in markup, text, comments or
    /// values; a false occurrence only means reading on). For a `text()` path an open selected
    /// element also keeps reading going. The answer is a position (`self.stop_from`) computed
    /// when `anc` changes or when it is reached while only a bound; callers compare `pos` with
    /// `self.stop_from` first and call this only when it is reached.
    pub(super) fn nothing_after(&mut self, pos: usize) -> bool {
        let anc = self.frames.last().map_or(0, |f| f.anc);
        if anc != self.stop_anc || (pos >= self.stop_from && !self.stop_exact) {
            (self.stop_from, self.stop_exact) = self.stop_from(anc, pos);
            self.stop_anc = anc;
        }
        pos >= self.stop_from && self.stop_exact
    }

    /// The position from which no later node can be selected given `anc`, and whether it is
    /// exact (else a lower bound, at which to look again).
    #[inline(never)]
    fn stop_from(&mut self, anc: u64, pos: usize) -> (usize, bool) {
        let p = self.path;
        let last = p.steps.len();
        // With child steps only, every element that cannot match is skipped already (nothing
        // below it can match either): the name searches would cost more than they save.
        if p.desc_bits == 0 || (matches!(p.target, StreamTarget::Text) && anc & (1u64 << last) != 0)
        {
            return (usize::MAX, true);
        }
        let live = anc & !(1u64 << last);
        if live == 0 {
            return (0, true);
        }
        // Chain `j` (steps `j..last`) is dead from the smallest `until` of its steps on (exact
        // when an exact value attains that minimum); chains share suffixes, so walk the steps
        // from the last, keeping the suffix minimum. A value at or before `pos` is exact
        // (bounds are past `pos`), so once the minimum is there, every longer chain is dead.
        let first = live.trailing_zeros() as usize;
        let (mut suffix, mut suffix_exact) = (usize::MAX, true);
        let (mut stop, mut exact) = (0, true);
        for k in (first..last).rev() {
            let (u, ex) = self.until(k, pos);
            if u < suffix {
                (suffix, suffix_exact) = (u, ex);
            } else if u == suffix {
                suffix_exact |= ex;
            }
            if live & (1u64 << k) != 0 {
                stop = stop.max(suffix);
                exact &= suffix_exact;
            }
            if suffix <= pos {
                break;
            }
        }
        (stop, exact)
    }

    /// Until where step `k`'s local name occurs at or after a position: one past the start of
    /// its last occurrence (exact: `true`), or a bound past `pos` (`false`). The next
    /// occurrence is searched forward from `pos` over a short window (names usually recur soon:
    /// an end tag follows its start tag), a few times per name; when the window holds none,
    /// reaches the end, or after those few times, the last occurrence is searched backwards from
    /// the end, once.
    fn until(&mut self, k: usize, pos: usize) -> (usize, bool) {
        const WINDOW: usize = 2048;
        const FORWARD_TRIES: u8 = 4;
        let Some(finder) = self.path.finders.0.get(k).and_then(Option::as_ref) else {
            return (usize::MAX, true);
        };
        let tries = match self.names[k] {
            NameSeen::Last(u) => return (u, true),
            NameSeen::Ahead(q, _) if q >= pos => return (q + 1, false),
            NameSeen::Ahead(_, n) => n,
            NameSeen::Unknown => 0,
        };
        // When the window reaches the end anyway (a small body), the backward search answers
        // exactly at once, where forward searches would only give bounds to search again from.
        let from = pos.min(self.input.len());
        let to = from.saturating_add(WINDOW + finder.fwd.needle().len());
        if tries < FORWARD_TRIES && to < self.input.len() {
            if let Some(q) = finder.fwd.find(&self.input[from..to]) {
                self.names[k] = NameSeen::Ahead(from + q, tries + 1);
                return (from + q + 1, false);
            }
        }
        let u = last_occurrence(self.input, finder).map_or(0, |i| i + 1);
        self.names[k] = NameSeen::Last(u);
        (u, true)
    }

    /// Enters an element: records its namespace declarations, computes which steps it matches,
    /// pushes its frame. Returns its mask.
    #[inline(always)]
    fn open(&mut self, pos: usize, name_end: usize) -> Result<u64, XmlError> {
        if self.frames.len() > self.max_depth {
            return Err(self.err(pos, XmlErrorKind::Limit, "element nesting too deep"));
        }
        let input: &'a [u8] = self.input;
        let (p_mask, p_anc) = self.frames.last().map_or((0, 0), |f| (f.mask, f.anc));
        let path = self.path;
        let mut bits = (p_mask & path.child_bits) | (p_anc & path.desc_bits);
        let mut mask = 0u64;
        if bits != 0 {
            let qname = &input[pos + 1..name_end];
            // The prefix and local part (split at the first `:`), computed when a step needs
            // them: a named step first compares the name's tail, which rejects most elements
            // without looking for the colon.
            let mut split: Option<(&[u8], &[u8])> = None;
            let block = (self.frames.len() - 1) * path.slots;
            let mut uri: Option<Cow<'a, str>> = None;
            while bits != 0 {
                let j = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let step = &path.steps[j];
                if let Some(l) = step.local.as_deref() {
                    let l = l.as_bytes();
                    let n = qname.len();
                    if n < l.len()
                        || !same(&qname[n - l.len()..], l)
                        || (n > l.len() && qname[n - l.len() - 1] != b':')
                    {
                        continue;
                    }
                }
                let (prefix, local) = *split.get_or_insert_with(|| split_qname(qname));
                if step
                    .local
                    .as_deref()
                    .is_some_and(|l| !same(l.as_bytes(), local))
                {
                    continue;
                }
                if let Some(ns) = step.ns.as_deref() {
                    if uri.is_none() {
                        uri = Some(self.resolve(prefix, pos)?);
                    }
                    // `same`, not `==`: an empty `String`'s pointer is dangling, and glibc's
                    // AVX-512 `memcmp` reads it with a masked load even for length 0, which
                    // costs a fault-suppression assist (about 100 ns on this AMD CPU).
                    if !uri
                        .as_deref()
                        .is_some_and(|u| same(u.as_bytes(), ns.as_bytes()))
                    {
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
        });
        if mask != 0 {
            self.forget_stop();
        }
        for _ in 0..path.slots {
            self.counters.push(0);
        }
        Ok(mask)
    }

    /// A raw attribute value from the input, unescaped and normalized.
    fn value(&self, raw: Cow<'a, str>, pos: usize) -> Result<Cow<'a, str>, XmlError> {
        let map = |(k, m)| self.err(pos, k, m);
        Ok(match raw {
            Cow::Borrowed(v) => attr_value(v).map_err(map)?,
            Cow::Owned(v) => Cow::Owned(attr_value(&v).map_err(map)?.into_owned()),
        })
    }

    /// The namespace URI `prefix` is bound to here: the checker has read this tag's
    /// declarations already (and keeps an empty element's until the next tag).
    #[inline(always)]
    fn resolve(&self, prefix: &[u8], pos: usize) -> Result<Cow<'a, str>, XmlError> {
        match self.check.resolve(prefix) {
            Some(uri) => Ok(uri),
            None if prefix.is_empty() => Ok(Cow::Borrowed("")),
            None => Err(self.err(
                pos,
                XmlErrorKind::Namespace,
                format!("unbound prefix {}", String::from_utf8_lossy(prefix)),
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
                !prefix.is_empty()
                    && same(
                        self.resolve(prefix.as_bytes(), pos)?.as_bytes(),
                        ns.as_bytes(),
                    )
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

/// `(prefix, local)` of a QName, split at its first `:` (no prefix: empty).
fn split_qname(qname: &[u8]) -> (&[u8], &[u8]) {
    match qname.iter().position(|&b| b == b':') {
        Some(i) => (&qname[..i], &qname[i + 1..]),
        None => (&qname[..0], qname),
    }
}

/// The start of the last occurrence of the name in `hay`. Names usually occur near the end
/// (end tags), so the last few hundred bytes are searched backwards (two-way, scalar); when
/// they hold none, earlier blocks are searched from the end one at a time, each forward with
/// the vectorized searcher, overlapping by `needle.len() - 1` bytes so no occurrence is cut.
fn last_occurrence(hay: &[u8], finder: &NameFinder) -> Option<usize> {
    const TAIL: usize = 256;
    const BLOCK: usize = 4096;
    let needle = finder.fwd.needle();
    let tail = hay.len().saturating_sub(TAIL);
    if let Some(k) = finder.rev.rfind(&hay[tail..]) {
        return Some(tail + k);
    }
    let mut end = tail;
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        let window = &hay[start..(end + needle.len().saturating_sub(1)).min(hay.len())];
        if let Some(k) = finder.fwd.find_iter(window).last() {
            return Some(start + k);
        }
        end = start;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{last_occurrence, NameFinder};
    use memchr::memmem::{Finder, FinderRev};

    #[test]
    fn last_occurrence_across_blocks() {
        let finder = |n: &'static [u8]| NameFinder {
            fwd: Finder::new(n),
            rev: FinderRev::new(n),
        };
        let f = finder(b"order");
        for len in [0, 4, 5, 255, 256, 300, 4095, 4096, 4353, 9000, 20_000] {
            // No occurrence at all.
            assert_eq!(last_occurrence(&vec![b'x'; len], &f), None, "{len}");
            // One occurrence at each interesting place, possibly cut by a block boundary.
            for at in [
                0usize, 1, 250, 251, 252, 255, 256, 4090, 4092, 4096, 4350, 8190, 8192,
            ] {
                if at + 5 > len {
                    continue;
                }
                let mut hay = vec![b'x'; len];
                hay[at..at + 5].copy_from_slice(b"order");
                assert_eq!(last_occurrence(&hay, &f), Some(at), "{len} {at}");
                // An earlier one does not hide it; a later one wins.
                if at >= 10 {
                    hay[2..7].copy_from_slice(b"order");
                    assert_eq!(last_occurrence(&hay, &f), Some(at), "{len} {at}");
                }
            }
        }
    }
}
