//! A stylesheet or schema named by a `key` attribute (xslt, fastXSLT, validate): a local entry,
//! a registry resource, or `{expression}` evaluated per message; compiled once per shard.
//!
//! A local entry's text is compiled once at deployment (so that a broken one is reported with
//! its position) and then once per shard at first use; a registry resource's whenever the
//! registry cache hands over a new copy (its `cachableDuration`). The per-shard cache is keyed by
//! the text's address, and each entry keeps its text alive, so an address is never reused while
//! cached.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use super::{Compile, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::{MessageContext, Value};
use crate::synapse::model::Element;

/// What a key names: a text compiled into `Self`.
pub trait Compiled: Sized + 'static {
    /// What it is, for messages ("xslt stylesheet").
    const WHAT: &'static str;
    fn compile(text: &[u8]) -> std::result::Result<Self, String>;
}

impl Compiled for crate::xmllib::Stylesheet {
    const WHAT: &'static str = "xslt stylesheet";
    fn compile(text: &[u8]) -> std::result::Result<Self, String> {
        crate::xmllib::Stylesheet::compile(text)
    }
}

impl Compiled for crate::xmllib::Schema {
    const WHAT: &'static str = "schema";
    fn compile(text: &[u8]) -> std::result::Result<Self, String> {
        crate::xmllib::Schema::compile(text)
    }
}

/// Where the text comes from.
#[derive(Debug, Clone)]
pub enum Key {
    /// A local entry's text (shared by the shards; each compiles its own).
    Local(Arc<str>),
    /// A registry resource, or a key computed per message.
    Lookup(Value),
}

impl Key {
    /// A `key` attribute naming a `T`: a local entry (compiled once here), else a registry key,
    /// or `{expression}`.
    pub fn compile<T: Compiled>(
        c: &mut impl Compile,
        key_text: &str,
        el: &Element,
        at: &Origin,
    ) -> Option<Key> {
        Some(match super::dynamic_value(c, key_text, el, at) {
            Value::Literal(k) => match super::local_text(c, k.trim()) {
                Some(text) => {
                    if let Err(e) = T::compile(text.as_bytes()) {
                        c.error(at, format!("{} '{}': {e}", T::WHAT, k.trim()));
                        return None;
                    }
                    Key::Local(Arc::from(text))
                }
                None => Key::Lookup(Value::Literal(k.trim().to_string())),
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
                Key::Lookup(dynamic)
            }
        })
    }

    /// This shard's compiled `T` for this message.
    pub async fn get<T: Compiled>(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
    ) -> Result<Rc<T>> {
        match self {
            Key::Local(text) => compiled(Text::Local(text.clone())),
            Key::Lookup(v) => {
                let key = rt.eval(ctx, v).await?;
                let found = rt
                    .registry()
                    .lookup(&key)
                    .await
                    .map_err(|e| Error::mediation(format!("{} '{key}': {e}", T::WHAT)))?;
                match found {
                    Some(res) => compiled(Text::Registry(res)),
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

type Cache = HashMap<(usize, TypeId), (Text, Rc<dyn Any>)>;

thread_local! {
    static COMPILED: RefCell<Cache> = RefCell::default();
}

/// This shard's compiled `T` of `text`, compiled on first use.
fn compiled<T: Compiled>(text: Text) -> Result<Rc<T>> {
    let slot = (text.address(), TypeId::of::<T>());
    let cached = COMPILED.with(|c| c.borrow().get(&slot).map(|(_, v)| v.clone()));
    if let Some(v) = cached.and_then(|v| v.downcast::<T>().ok()) {
        return Ok(v);
    }
    let value = Rc::new(
        T::compile(text.bytes()).map_err(|e| Error::mediation(format!("{}: {e}", T::WHAT)))?,
    );
    COMPILED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        c.insert(slot, (text, value.clone() as Rc<dyn Any>));
    });
    Ok(value)
}
