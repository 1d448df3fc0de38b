//! `<throwError type="…" errorMessage="…"/>` (MI 4.4): raises a fault with ERROR_CODE = `type`
//! (default `ANY`) and ERROR_MESSAGE = the message (default "Error occurred in the mediation
//! flow"); `errorMessage="{${…}}"` is evaluated per message, a bare `${…}` is literal text, as in MI.

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::{MessageContext, Value};
use crate::synapse::model::Element;

#[derive(Debug, Clone)]
pub struct ThrowError {
    pub kind: String,
    pub message: Value,
}

impl Mediate for ThrowError {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        c.reader(&at.file)
            .known_attrs(el, &["type", "errorMessage", "description"]);
        let kind = el.attr("type").unwrap_or("ANY").to_string();
        let text = el
            .attr("errorMessage")
            .unwrap_or("Error occurred in the mediation flow");
        let message = super::dynamic_value(c, text, el, at);
        Some(ThrowError { kind, message })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let message = rt.eval(ctx, &self.message).await?;
        Err(Error::thrown(&self.kind, message))
    }
}
