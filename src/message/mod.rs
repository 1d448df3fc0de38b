//! One message as mediators work on it: the [`context::MessageContext`] (request, then possibly a
//! response, with its properties by scope), its content ([`content`]), the property tables
//! ([`propmap`], [`properties`]) and the compiled values mediators read from it ([`value`]).
//!
//! Below the mediators and the program: it knows HTTP bodies and the library tier, nothing of
//! artifacts, engines or shards.

pub mod content;
pub mod context;
pub mod properties;
pub mod propmap;
pub mod split;
mod stored;
pub mod value;

pub use self::context::MessageContext;
pub use self::value::{EpId, Expr, PropType, Scope, SeqId, SynapseExpr, Value};
