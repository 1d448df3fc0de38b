//! Start tags for the tree builder: attributes and `xmlns` declarations split apart, namespace
//! nodes and the in-scope list built, element and attribute prefixes resolved, attribute values
//! unescaped only when needed, duplicate attributes (by expanded name) refused.
//! Must not: allocate per tag beyond the arena pushes (scratch vectors live in the builder).

use std::borrow::Cow;

use super::{new_elem, new_node, Builder, RawAttr};
use crate::xml::attrs::{self, ascii_name, AsciiName, SplitError};
use crate::xml::error::{XmlError, XmlErrorKind};
use crate::xml::escape::{attr_value, is_name};
use crate::xml::tree::{Span, NONE};
use crate::xml::XML_NS;
use crate::xpath::dom::{NodeId, NodeKind};

const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

impl<'s> Builder<'s> {
    /// The source text at a span recorded from a reader slice.
    fn src_str(&self, start: usize, len: usize) -> &'s str {
        let src: &'s [u8] = self.src;
        let bytes = src.get(start..start + len).unwrap_or(&[]);
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: callers pass offsets recorded from `&str` slices of `doc` (the buffer after
        // UTF-8 validation, or sub-slices split at ASCII bytes), so the range is valid UTF-8 on
        // character boundaries.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    fn value_span(&mut self, start: usize, len: usize) -> Result<Span, XmlError> {
        let raw = self.src_str(start, len);
        match attr_value(raw).map_err(|e| self.ref_err(start, e))? {
            Cow::Borrowed(_) => Ok(Span::src(start, len)),
            Cow::Owned(o) => Ok(self.push_owned(&o)),
        }
    }

    /// The namespace node binding `prefix` in scope at element `id`.
    fn resolve(&self, id: NodeId, prefix: &str) -> Option<NodeId> {
        if prefix == "xml" {
            return Some(self.xml_ns);
        }
        let e = &self.elems[self.nodes[id as usize].aux as usize];
        let list = &self.ns_lists[e.ns_start as usize..(e.ns_start + e.ns_len) as usize];
        list.iter()
            .copied()
            .find(|&b| self.span_bytes(self.nodes[b as usize].name) == prefix.as_bytes())
    }

    fn uri_bytes(&self, ns: u32) -> &[u8] {
        if ns == NONE {
            return b"";
        }
        self.span_bytes(self.nodes[ns as usize].value)
    }

    /// Splits the tag's attributes (`src[pos + 1..content_end]`, the name `name_len` bytes
    /// long) into `attrs` and `decls`.
    fn collect_attributes(
        &mut self,
        pos: usize,
        name_len: usize,
        content_end: usize,
    ) -> Result<(), XmlError> {
        self.attrs.clear();
        self.decls.clear();
        let tag = self.piece(pos + 1, content_end, pos)?;
        let base = self.src.as_ptr() as usize;
        let (attrs, decls) = (&mut self.attrs, &mut self.decls);
        let r = attrs::split(tag, name_len, self.opts.max_attributes, |key, value| {
            // Both are slices of `tag`, itself a slice of `src`.
            let key_start = key.as_ptr() as usize - base;
            let value_start = value.as_ptr() as usize - base;
            let raw = RawAttr {
                name: Span::src(key_start, key.len()),
                local_off: memchr::memchr(b':', key.as_bytes()).map_or(0, |i| i + 1) as u32,
                value_start,
                value_len: value.len(),
                src_start: key_start,
                src_end: value_start + value.len() + 1,
            };
            if key == "xmlns" || key.starts_with("xmlns:") {
                decls.push(raw);
            } else {
                attrs.push(raw);
            }
        });
        r.map_err(|e| {
            let kind = match e {
                SplitError::TooMany => XmlErrorKind::Limit,
                _ => XmlErrorKind::Syntax,
            };
            self.err(pos, kind, e.message())
        })
    }

    pub(super) fn start(
        &mut self,
        pos: usize,
        name_end: usize,
        content_end: usize,
        after: usize,
        empty: bool,
    ) -> Result<(), XmlError> {
        let depth = self.stack.len();
        if depth >= self.opts.max_depth {
            return Err(self.err(pos, XmlErrorKind::Limit, "element nesting too deep"));
        }
        if depth == 0 && self.root_elem != NONE {
            return Err(self.err(pos, XmlErrorKind::Syntax, "more than one root element"));
        }
        let qstart = pos + 1;
        let qname = self.piece(qstart, name_end, pos)?;
        let local_off = match ascii_name(qname.as_bytes()) {
            AsciiName::Name(colon) => colon,
            AsciiName::NotAscii if is_name(qname) => memchr::memchr(b':', qname.as_bytes()),
            _ => return Err(self.err(pos, XmlErrorKind::Syntax, "invalid element name")),
        }
        .map_or(0, |i| i + 1);
        if name_end < content_end {
            self.collect_attributes(pos, name_end - qstart, content_end)?;
        } else {
            self.attrs.clear();
            self.decls.clear();
        }

        let parent = self.stack.last().copied().unwrap_or(0);
        let pe = self.elems[self.nodes[parent as usize].aux as usize];
        let mut n = new_node(NodeKind::Element, 0);
        n.name = Span::src(qstart, qname.len());
        n.local_off = local_off as u32;
        n.src_start = pos as u32;
        n.src_end = after as u32;
        n.aux = self.elems.len() as u32;
        let mut el = new_elem(self.attr_ids.len(), pe.ns_start as usize);
        el.ns_len = if depth == 0 { 0 } else { pe.ns_len };
        el.tag_end = after as u32;
        el.empty = empty;
        let aux = self.elems.len();
        self.elems.push(el);
        let id = self.link(n);
        if depth == 0 {
            self.root_elem = id;
        }

        let own = self.declarations(id, depth == 0, pos)?;
        self.elems[aux].own_ns = own;
        if own > 0 || self.elems[aux].undeclares_default {
            self.scope_list(id, aux, own);
        }

        if local_off > 0 {
            let prefix = &qname[..local_off - 1];
            let ns = self.resolve(id, prefix).filter(|_| prefix != "xmlns");
            let Some(ns) = ns else {
                return Err(self.err(
                    pos,
                    XmlErrorKind::Namespace,
                    format!("unbound prefix in <{qname}>"),
                ));
            };
            self.nodes[id as usize].ns = ns;
        }
        // The default namespace: the parent's unless this element declares namespaces.
        let default_ns = if own > 0 || self.elems[aux].undeclares_default {
            self.resolve(id, "").unwrap_or(NONE)
        } else {
            self.default_ns.last().copied().unwrap_or(NONE)
        };
        if local_off == 0 {
            self.nodes[id as usize].ns = default_ns;
        }

        self.attribute_nodes(id, aux, pos)?;
        self.check_count(pos)?;
        if empty {
            self.nodes[id as usize].end = (self.nodes.len() - 1) as u32;
        } else {
            self.stack.push(id);
            self.default_ns.push(default_ns);
        }
        Ok(())
    }

    /// Creates the namespace nodes declared on element `id` (and the implicit `xml` one on the
    /// document element); returns how many were created.
    fn declarations(&mut self, id: NodeId, is_root: bool, pos: usize) -> Result<u32, XmlError> {
        let mut own = 0;
        if is_root {
            let mut x = new_node(NodeKind::Namespace, id);
            x.name = Span::owned(0, 3);
            x.value = Span::owned(3, XML_NS.len());
            x.src_start = pos as u32;
            x.src_end = pos as u32;
            x.end = self.nodes.len() as u32;
            self.xml_ns = self.nodes.len() as NodeId;
            self.nodes.push(x);
            own += 1;
        }
        let aux = self.nodes[id as usize].aux as usize;
        for i in 0..self.decls.len() {
            let d = &self.decls[i];
            let (name, value_start, value_len, src_start, src_end) =
                (d.name, d.value_start, d.value_len, d.src_start, d.src_end);
            let key = self.src_str(name.start as usize, name.byte_len());
            if self.decls[..i]
                .iter()
                .any(|p| self.src_str(p.name.start as usize, p.name.byte_len()) == key)
            {
                return Err(self.err(
                    src_start,
                    XmlErrorKind::Syntax,
                    format!("duplicate attribute {key}"),
                ));
            }
            let prefix = key.strip_prefix("xmlns:").unwrap_or("");
            let value = self.value_span(value_start, value_len)?;
            let uri = self.span_bytes(value);
            if prefix == "xml" {
                if uri != XML_NS.as_bytes() {
                    return Err(self.err(
                        src_start,
                        XmlErrorKind::Namespace,
                        "the xml prefix cannot be rebound",
                    ));
                }
                continue;
            }
            if prefix == "xmlns" || uri == XML_NS.as_bytes() || uri == XMLNS_NS.as_bytes() {
                return Err(self.err(
                    src_start,
                    XmlErrorKind::Namespace,
                    format!("reserved namespace binding {key}"),
                ));
            }
            if uri.is_empty() {
                if !prefix.is_empty() {
                    return Err(self.err(
                        src_start,
                        XmlErrorKind::Namespace,
                        format!("{key} bound to an empty namespace"),
                    ));
                }
                self.elems[aux].undeclares_default = true;
                self.has_default_undecl = true;
                continue;
            }
            let mut ns = new_node(NodeKind::Namespace, id);
            if !prefix.is_empty() {
                ns.name = Span::src(name.start as usize + 6, prefix.len());
            }
            ns.value = value;
            ns.src_start = src_start as u32;
            ns.src_end = src_end as u32;
            ns.end = self.nodes.len() as u32;
            self.nodes.push(ns);
            own += 1;
        }
        Ok(own)
    }

    /// Builds element `id`'s own in-scope list: the parent's bindings not overridden, then its
    /// own namespace nodes (ids `id + 1 ..= id + own`).
    fn scope_list(&mut self, id: NodeId, aux: usize, own: u32) {
        let start = self.ns_lists.len();
        let (ps, pl) = (
            self.elems[aux].ns_start as usize,
            self.elems[aux].ns_len as usize,
        );
        let undeclares = self.elems[aux].undeclares_default;
        for k in ps..ps + pl {
            let b = self.ns_lists[k];
            let prefix = self.span_bytes(self.nodes[b as usize].name);
            let overridden = (undeclares && prefix.is_empty())
                || (id + 1..=id + own)
                    .any(|o| self.span_bytes(self.nodes[o as usize].name) == prefix);
            if !overridden {
                self.ns_lists.push(b);
            }
        }
        self.ns_lists.extend(id + 1..=id + own);
        self.elems[aux].ns_start = start as u32;
        self.elems[aux].ns_len = (self.ns_lists.len() - start) as u32;
    }

    fn attribute_nodes(&mut self, id: NodeId, aux: usize, pos: usize) -> Result<(), XmlError> {
        for i in 0..self.attrs.len() {
            let a = &self.attrs[i];
            let (name, local_off, value_start, value_len, src_start, src_end) = (
                a.name,
                a.local_off,
                a.value_start,
                a.value_len,
                a.src_start,
                a.src_end,
            );
            let key = self.src_str(name.start as usize, name.byte_len());
            let ns = if local_off == 0 {
                NONE
            } else {
                let prefix = &key[..local_off as usize - 1];
                match self.resolve(id, prefix) {
                    Some(ns) => ns,
                    None => {
                        return Err(self.err(
                            src_start,
                            XmlErrorKind::Namespace,
                            format!("unbound prefix in attribute {key}"),
                        ))
                    }
                }
            };
            let value = self.value_span(value_start, value_len)?;
            let mut n = new_node(NodeKind::Attribute, id);
            n.name = name;
            n.local_off = local_off;
            n.value = value;
            n.ns = ns;
            n.src_start = src_start as u32;
            n.src_end = src_end as u32;
            n.end = self.nodes.len() as u32;
            self.attr_ids.push(n.end);
            self.nodes.push(n);
        }
        let count = self.attrs.len();
        self.elems[aux].attr_len = count as u32;
        if count > 1 {
            self.check_duplicates(aux, pos)?;
        }
        Ok(())
    }

    fn attr_key(&self, a: NodeId) -> (&[u8], &[u8]) {
        let n = &self.nodes[a as usize];
        let name = self.span_bytes(n.name);
        (&name[n.local_off as usize..], self.uri_bytes(n.ns))
    }

    /// Refuses two attributes with the same expanded name (namespace URI, local name).
    fn check_duplicates(&mut self, aux: usize, pos: usize) -> Result<(), XmlError> {
        let e = self.elems[aux];
        let ids = &self.attr_ids[e.attr_start as usize..(e.attr_start + e.attr_len) as usize];
        let dup = if ids.len() <= 8 {
            ids.iter().enumerate().any(|(i, &a)| {
                ids[..i]
                    .iter()
                    .any(|&b| self.attr_key(a) == self.attr_key(b))
            })
        } else {
            let mut scratch = std::mem::take(&mut self.sort_scratch);
            scratch.clear();
            scratch.extend_from_slice(ids);
            scratch.sort_unstable_by(|&a, &b| self.attr_key(a).cmp(&self.attr_key(b)));
            let dup = scratch
                .windows(2)
                .any(|w| self.attr_key(w[0]) == self.attr_key(w[1]));
            self.sort_scratch = scratch;
            dup
        };
        if dup {
            return Err(self.err(pos, XmlErrorKind::Syntax, "duplicate attribute"));
        }
        Ok(())
    }
}
