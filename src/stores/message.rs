//! A message as a store keeps it: what a message processor needs to send it again as the
//! `store` mediator saw it (request line, transport headers, properties, content).

use bytes::Bytes;

/// One stored message. Persistent stores keep it as JSON ([`StoredMessage::to_json`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoredMessage {
    /// Synapse's message id (`urn:uuid:…`), unique in the store.
    pub id: String,
    /// The HTTP method the message arrived with.
    pub method: String,
    /// The request URI (path and query) the message arrived on.
    pub uri: String,
    /// The `To` address, when one was set.
    pub to: Option<String>,
    /// The SOAP action, when there is one.
    pub action: Option<String>,
    /// Transport headers, in order.
    pub headers: Vec<(String, String)>,
    /// Default-scope (Synapse) properties with text values.
    pub properties: Vec<(String, String)>,
    /// Axis2-scope properties (`messageType`, `ContentType`, `HTTP_METHOD`, …).
    pub axis2: Vec<(String, String)>,
    /// The content, as it would be sent.
    pub body: Bytes,
    /// What the content is (`xml`, `json` or `other`), whatever `messageType` says.
    pub body_type: String,
    /// A mediator replaced the content (its `Content-Type` header no longer describes it).
    pub body_replaced: bool,
    /// Only the SOAP body's first element is the payload (see the message context's field).
    pub payload_only: bool,
}

impl StoredMessage {
    /// The message as a JSON document (the body base64-encoded).
    pub fn to_json(&self) -> String {
        use base64::Engine as _;
        let pairs = |v: &[(String, String)]| {
            serde_json::Value::Array(v.iter().map(|(k, v)| serde_json::json!([k, v])).collect())
        };
        serde_json::json!({
            "id": self.id,
            "method": self.method,
            "uri": self.uri,
            "to": self.to,
            "action": self.action,
            "headers": pairs(&self.headers),
            "properties": pairs(&self.properties),
            "axis2": pairs(&self.axis2),
            "body": base64::engine::general_purpose::STANDARD.encode(&self.body),
            "body_type": self.body_type,
            "body_replaced": self.body_replaced,
            "payload_only": self.payload_only,
        })
        .to_string()
    }

    /// Reads what [`StoredMessage::to_json`] wrote.
    pub fn from_json(text: &str) -> Result<StoredMessage, String> {
        use base64::Engine as _;
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("stored message: {e}"))?;
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let pairs = |k: &str| -> Result<Vec<(String, String)>, String> {
            let Some(items) = v.get(k).and_then(|x| x.as_array()) else {
                return Ok(Vec::new());
            };
            items
                .iter()
                .map(|p| match p.as_array().map(Vec::as_slice) {
                    Some([a, b]) => match (a.as_str(), b.as_str()) {
                        (Some(a), Some(b)) => Ok((a.to_string(), b.to_string())),
                        _ => Err(format!("stored message: bad entry in {k}")),
                    },
                    _ => Err(format!("stored message: bad entry in {k}")),
                })
                .collect()
        };
        let body = base64::engine::general_purpose::STANDARD
            .decode(text("body").unwrap_or_default())
            .map_err(|e| format!("stored message: body: {e}"))?;
        Ok(StoredMessage {
            id: text("id").ok_or("stored message: no id")?,
            method: text("method").unwrap_or_else(|| "POST".into()),
            uri: text("uri").unwrap_or_else(|| "/".into()),
            to: text("to"),
            action: text("action"),
            headers: pairs("headers")?,
            properties: pairs("properties")?,
            axis2: pairs("axis2")?,
            body: Bytes::from(body),
            body_type: text("body_type").unwrap_or_else(|| "other".into()),
            body_replaced: v.get("body_replaced").and_then(|x| x.as_bool()) == Some(true),
            payload_only: v.get("payload_only").and_then(|x| x.as_bool()) == Some(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_everything() {
        let m = StoredMessage {
            id: "urn:uuid:1".into(),
            method: "POST".into(),
            uri: "/services/P?x=1".into(),
            to: Some("http://h/x".into()),
            action: Some("urn:getQuote".into()),
            headers: vec![("content-type".into(), "text/xml".into())],
            properties: vec![("a".into(), "b \"c\"".into())],
            axis2: vec![("messageType".into(), "text/xml".into())],
            body: Bytes::from_static(b"<a>\xc3\xa9</a>"),
            body_type: "xml".into(),
            body_replaced: true,
            payload_only: false,
        };
        assert_eq!(StoredMessage::from_json(&m.to_json()).unwrap(), m);
        assert!(StoredMessage::from_json("{}").is_err());
    }
}
