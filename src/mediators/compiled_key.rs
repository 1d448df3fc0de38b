//! Stylesheets and schemas named by `key` attributes (xslt, fastXSLT, validate): each a local
//! entry, a registry resource, or `{expression}` evaluated per message, with the `<resource
//! location="…" key="…"/>`s their imports may read (keyed the same ways); compiled once per
//! shard.
//!
//! When every text is a local entry, the whole is compiled once at deployment (so that a broken
//! one is reported with its position) and then once per shard at first use; with registry
//! resources, whenever the registry cache hands over a new copy of any of them (its
//! `cachableDuration`). The per-shard cache is keyed by the texts' addresses, and each entry
//! keeps its texts alive, so an address is never reused while cached.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::Arc;

use super::{Compile, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::{MessageContext, Value};
use crate::synapse::model::Element;
use crate::xmllib::Resources;

/// What a key names: a text compiled into `Self`.
pub trait Compiled: Sized + 'static {
    /// What it is, for messages ("xslt stylesheet").
    const WHAT: &'static str;
    /// Compiles `texts` (one per key; only the validate mediator takes several) with the mapped
    /// resources.
    fn compile(texts: &[&[u8]], resources: Resources) -> std::result::Result<Self, String>;
}

/// A stylesheet compiled for libxslt and, when it keeps to what mint's own engine runs
/// ([`crate::xslt`]), for that engine too.
pub struct Sheet {
    pub lib: crate::xmllib::Stylesheet,
    pub native: Option<crate::xslt::Program>,
}

impl Compiled for Sheet {
    const WHAT: &'static str = "xslt stylesheet";
    fn compile(texts: &[&[u8]], resources: Resources) -> std::result::Result<Self, String> {
        let [one] = texts else {
            return Err("one stylesheet expected".into());
        };
        let lib = crate::xmllib::Stylesheet::compile(one, resources)?;
        let native = match crate::xslt::Program::compile(one) {
            Ok(p) => Some(p),
            Err(why) => {
                tracing::debug!("stylesheet runs on libxslt: mint's engine does not run {why}");
                None
            }
        };
        Ok(Sheet { lib, native })
    }
}

impl Compiled for crate::xmllib::Schema {
    const WHAT: &'static str = "schema";
    fn compile(texts: &[&[u8]], resources: Resources) -> std::result::Result<Self, String> {
        crate::xmllib::Schema::compile(texts, resources)
    }
}

/// Where one text comes from.
#[derive(Debug, Clone)]
enum Part {
    /// A local entry's text (shared by the shards; each compiles its own).
    Local(Arc<str>),
    /// A registry resource, or a key computed per message.
    Lookup(Value),
}

/// The texts one mediator compiles: its keys, and the resources mapped by location.
#[derive(Debug, Clone)]
pub struct Key {
    parts: Arc<[Part]>,
    resources: Arc<[(String, Part)]>,
}

/// A `<resource location="…" key="…"/>` child, as written.
pub struct ResourceSpec<'a> {
    pub location: &'a str,
    pub key: &'a str,
    pub el: &'a Element,
}

/// A `<resource location="…" key="…"/>` child (None, reported, when incomplete).
pub fn resource<'a>(
    r: &mut crate::synapse::parse::Reader<'_>,
    el: &'a Element,
) -> Option<ResourceSpec<'a>> {
    r.known_attrs(el, &["location", "key"]);
    let location = r.required(el, "location")?;
    let key = r.required(el, "key")?;
    Some(ResourceSpec { location, key, el })
}

impl Key {
    /// A `key` attribute naming a `T` (a local entry, else a registry key, or `{expression}`).
    pub fn compile<T: Compiled>(
        c: &mut impl Compile,
        key_text: &str,
        el: &Element,
        at: &Origin,
    ) -> Option<Key> {
        Key::compile_all::<T>(c, &[(key_text, el)], &[], at)
    }

    /// Several keys naming the texts of one `T`, with resources their imports may read;
    /// compiled once here when all are local entries.
    pub fn compile_all<T: Compiled>(
        c: &mut impl Compile,
        keys: &[(&str, &Element)],
        resources: &[ResourceSpec<'_>],
        at: &Origin,
    ) -> Option<Key> {
        let parts: Vec<Part> = keys.iter().map(|(k, el)| part::<T>(c, k, el, at)).collect();
        let mapped: Vec<(String, Part)> = resources
            .iter()
            .map(|r| {
                (
                    r.location.to_string(),
                    part::<T>(c, r.key, r.el, &super::at(r.el, at)),
                )
            })
            .collect();
        let locals = |p: &Part| match p {
            Part::Local(t) => Some(t.clone()),
            Part::Lookup(_) => None,
        };
        let texts: Option<Vec<Arc<str>>> = parts.iter().map(locals).collect();
        let res: Option<Vec<(&str, Arc<str>)>> = mapped
            .iter()
            .map(|(l, p)| locals(p).map(|t| (l.as_str(), t)))
            .collect();
        if let (Some(texts), Some(res)) = (texts, res) {
            let bytes: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
            let res: Vec<(&str, &[u8])> = res.iter().map(|(l, t)| (*l, t.as_bytes())).collect();
            if let Err(e) = T::compile(&bytes, Resources::new(&res)) {
                let names: Vec<&str> = keys.iter().map(|(k, _)| k.trim()).collect();
                c.error(at, format!("{} '{}': {e}", T::WHAT, names.join("', '")));
                return None;
            }
        }
        Some(Key {
            parts: parts.into(),
            resources: mapped.into(),
        })
    }

    /// This shard's compiled `T` for this message.
    pub async fn get<T: Compiled>(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
    ) -> Result<Rc<T>> {
        if let ([one], []) = (&*self.parts, &*self.resources) {
            let text = one.fetch::<T>(rt, ctx).await?;
            return compiled::<T>(std::slice::from_ref(&text), &[]);
        }
        let mut texts = Vec::with_capacity(self.parts.len() + self.resources.len());
        for p in self.parts.iter() {
            texts.push(p.fetch::<T>(rt, ctx).await?);
        }
        for (_, p) in self.resources.iter() {
            texts.push(p.fetch::<T>(rt, ctx).await?);
        }
        let locations: Vec<&str> = self.resources.iter().map(|(l, _)| l.as_str()).collect();
        compiled::<T>(&texts, &locations)
    }
}

/// One key as written: a local entry's text, else a registry key, or `{expression}`.
fn part<T: Compiled>(c: &mut impl Compile, key_text: &str, el: &Element, at: &Origin) -> Part {
    match super::dynamic_value(c, key_text, el, at) {
        Value::Literal(k) => match super::local_text(c, k.trim()) {
            Some(text) => Part::Local(Arc::from(text)),
            None => Part::Lookup(Value::Literal(k.trim().to_string())),
        },
        dynamic => {
            c.warn(
                at,
                format!(
                    "a computed {} key is looked up in the registry only (mint does not \
                     search local entries for it)",
                    T::WHAT
                ),
            );
            Part::Lookup(dynamic)
        }
    }
}

impl Part {
    /// The text for this message.
    async fn fetch<T: Compiled>(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
    ) -> Result<Text> {
        match self {
            Part::Local(text) => Ok(Text::Local(text.clone())),
            Part::Lookup(v) => {
                let key = rt.eval(ctx, v).await?;
                let found = rt
                    .registry()
                    .lookup(&key)
                    .await
                    .map_err(|e| Error::mediation(format!("{} '{key}': {e}", T::WHAT)))?;
                match found {
                    Some(res) => Ok(Text::Registry(res)),
                    None => Err(Error::mediation(format!(
                        "{} '{key}': no such local entry or registry resource",
                        T::WHAT
                    ))),
                }
            }
        }
    }
}

/// A text the shard's cache holds.
#[derive(Clone)]
enum Text {
    Local(Arc<str>),
    Registry(Arc<crate::registry::Resource>),
}

impl Text {
    fn address(&self) -> usize {
        match self {
            Text::Local(t) => Arc::as_ptr(t) as *const u8 as usize,
            Text::Registry(r) => Arc::as_ptr(r) as usize,
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Text::Local(t) => t.as_bytes(),
            Text::Registry(r) => &r.content,
        }
    }
}

/// Most texts a shard keeps compiled; beyond, the cache starts again (redeployments and
/// registry refreshes leave old entries behind).
const CACHE_MAX: usize = 256;

/// Slot: the first text's address, a hash of all the texts' addresses, the compiled type.
type Slot = (usize, u64, TypeId);
type Cache = HashMap<Slot, (Vec<Text>, Rc<dyn Any>)>;

thread_local! {
    static COMPILED: RefCell<Cache> = RefCell::default();
}

/// This shard's compiled `T` of `texts` (the keys' texts, then one per resource location),
/// compiled on first use.
fn compiled<T: Compiled>(texts: &[Text], locations: &[&str]) -> Result<Rc<T>> {
    let first = texts.first().map_or(0, Text::address);
    let all = if texts.len() == 1 {
        0
    } else {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        texts.iter().for_each(|t| t.address().hash(&mut h));
        h.finish()
    };
    let slot = (first, all, TypeId::of::<T>());
    let same = |held: &[Text]| {
        held.len() == texts.len()
            && held
                .iter()
                .zip(texts)
                .all(|(a, b)| a.address() == b.address())
    };
    let cached = COMPILED.with(|c| {
        c.borrow()
            .get(&slot)
            .filter(|(held, _)| same(held))
            .map(|(_, v)| v.clone())
    });
    if let Some(v) = cached.and_then(|v| v.downcast::<T>().ok()) {
        return Ok(v);
    }
    let keys = texts.len() - locations.len();
    let bytes: Vec<&[u8]> = texts[..keys].iter().map(Text::bytes).collect();
    let mapped: Vec<(&str, &[u8])> = locations
        .iter()
        .zip(&texts[keys..])
        .map(|(l, t)| (*l, t.bytes()))
        .collect();
    let value = Rc::new(
        T::compile(&bytes, Resources::new(&mapped))
            .map_err(|e| Error::mediation(format!("{}: {e}", T::WHAT)))?,
    );
    COMPILED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        c.insert(slot, (texts.to_vec(), value.clone() as Rc<dyn Any>));
    });
    Ok(value)
}
