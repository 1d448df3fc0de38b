//! The Synapse configuration language: artifact model, parser (quick-xml → model with `line:col`
//! positions), REST dispatch helpers (URI templates, URL mappings) and the deployer that compiles
//! a home's artifacts into one immutable [`deploy::Config`].
//!
//! Shards never parse configuration: everything here runs at start-up (or on redeploy), off the
//! request path.

pub mod car;
pub mod model;
pub mod parse;
pub mod resolve;
