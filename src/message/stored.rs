//! A message going into a message store and coming back out: what is kept is what a message
//! processor needs to send it as the `store` mediator saw it (request line, transport headers,
//! default- and axis2-scope properties, `To`, SOAP action, the content as it stands).

use std::time::Duration;

use http::{HeaderName, HeaderValue};

use super::context::{BodyType, MessageContext};
use crate::error::Result;
use crate::http::body::Body;
use crate::stores::StoredMessage;

impl MessageContext {
    /// The message as a store keeps it (the body is read to the end first), with a new id.
    pub async fn to_stored(&mut self) -> Result<StoredMessage> {
        let body = self.body_bytes().await?;
        let pairs = |m: &super::context::Props| {
            let mut v: Vec<(String, String)> = m
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_str().to_owned()))
                .collect();
            v.sort();
            v
        };
        Ok(StoredMessage {
            // Each stored copy is a message of its own, with an id of its own (as Synapse's
            // clone and its persistent stores give it): storing one message twice stores two.
            id: super::context::fresh_message_id(),
            method: self.method.as_str().to_string(),
            uri: self.uri.to_string(),
            to: self.to.clone(),
            action: self.action.clone(),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            properties: pairs(&self.props),
            axis2: pairs(&self.axis2),
            body,
            body_type: match self.body_type {
                BodyType::Xml => "xml",
                BodyType::Json => "json",
                BodyType::Other => "other",
            }
            .to_string(),
            body_replaced: self.body_replaced,
            payload_only: self.payload_only,
        })
    }

    /// A message taken out of a store, ready to be sent again (or mediated: a sampling
    /// processor's sequence, a task's injection).
    pub fn from_stored(
        m: StoredMessage,
        max_body: usize,
        body_timeout: Duration,
    ) -> MessageContext {
        let mut req = http::Request::new(Body::full(m.body));
        *req.method_mut() =
            http::Method::from_bytes(m.method.as_bytes()).unwrap_or(http::Method::POST);
        *req.uri_mut() = m
            .uri
            .parse()
            .unwrap_or_else(|_| http::Uri::from_static("/"));
        for (k, v) in &m.headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                req.headers_mut().append(k, v);
            }
        }
        let mut ctx = MessageContext::new(req, false, max_body, body_timeout);
        ctx.props = m
            .properties
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        ctx.axis2 = m
            .axis2
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        ctx.controls = ctx
            .props
            .keys()
            .chain(ctx.axis2.keys())
            .any(|k| super::properties::CONTROL.contains(&k.as_ref()));
        ctx.to = m.to;
        ctx.action = m.action;
        ctx.body_type = match m.body_type.as_str() {
            "xml" => BodyType::Xml,
            "json" => BodyType::Json,
            _ => BodyType::Other,
        };
        ctx.body_replaced = m.body_replaced;
        ctx.payload_only = m.payload_only;
        ctx.set_message_id(m.id);
        ctx
    }
}
