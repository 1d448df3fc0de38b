//! MI's basic-auth API handler (`RESTBasicAuthHandler`, wso2/micro-integrator
//! `components/org.wso2.micro.integrator.security/src/main/java/org/wso2/micro/integrator/security/handler/RESTBasicAuthHandler.java`):
//! no `Authorization` header is `401` with `WWW-Authenticate: Basic realm="WSO2 EI"`; credentials
//! the user store does not accept, or that cannot be checked, are `403`; both without a body.
//! Only an authenticated request reaches the resource.

use base64::Engine as _;
use http::{header, HeaderValue, Response, StatusCode};

use super::Engine;
use crate::http::body::Body;
use crate::message::context::MessageContext;

impl Engine {
    /// `None` when the request may go on; otherwise the refusal to send.
    pub(crate) async fn basic_auth(&self, ctx: &MessageContext) -> Option<Response<Body>> {
        let Some(auth) = ctx.headers.get(header::AUTHORIZATION) else {
            let mut r = Response::new(Body::Empty);
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"WSO2 EI\""),
            );
            return Some(r);
        };
        let forbidden = || {
            let mut r = Response::new(Body::Empty);
            *r.status_mut() = StatusCode::FORBIDDEN;
            Some(r)
        };
        // MI skips the six characters of "Basic " whatever they are.
        let Some(credentials) = auth.as_bytes().get(6..) else {
            return forbidden();
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials.trim_ascii())
            .ok()
            .and_then(|d| String::from_utf8(d).ok());
        let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return forbidden();
        };
        let Some(users) = &self.users else {
            if let Some(suppressed) = self.fault_log.allow() {
                tracing::warn!(
                    shard = self.shard,
                    suppressed,
                    "basic auth: no user store is available; request refused"
                );
            }
            return forbidden();
        };
        match users.authenticate(user, password).await {
            Ok(true) => None,
            Ok(false) => forbidden(),
            Err(e) => {
                if let Some(suppressed) = self.fault_log.allow() {
                    tracing::warn!(shard = self.shard, suppressed, error = %e, "basic auth: the user store could not authenticate; request refused");
                }
                forbidden()
            }
        }
    }
}
