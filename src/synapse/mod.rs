//! The Synapse configuration language, front end only: the artifact model, the parser (positioned
//! elements → model with `line:col`), `$SYSTEM:`/`$FILE:` value resolution and CAR reading.
//! The compiler, a layer above, turns the model into the program the engine runs. Mediators are
//! not modelled here: a sequence keeps its element, and each mediator's module (`mediators/`, a
//! layer above) reads its own element with [`parse::Reader`].
//!
//! Shards never parse configuration: everything here runs at start-up (or on redeploy), off the
//! request path.

pub mod car;
pub mod model;
pub mod parse;
pub mod resolve;
