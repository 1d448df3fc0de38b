//! Turning the message context into the client's response, and mint's answers for failures —
//! the one place where errors become HTTP statuses.

use http::{header, HeaderValue, Response, StatusCode};

use crate::error::ErrorKind;
use crate::http::body::Body;
use crate::message::context::{strip_hop_by_hop, MessageContext};

/// The response for a message that `respond` (or `send` in the out-flow) sends back.
pub fn build(ctx: &mut MessageContext) -> Response<Body> {
    let explicit = ctx
        .axis2
        .get("HTTP_SC")
        .and_then(|s| s.trim().parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok());
    let status = match explicit {
        // A SOAP fault made by makefault goes out as 500, unless FAULTS_AS_HTTP_200 asks for 200.
        _ if ctx.is_fault => {
            if ctx.axis2_true("FAULTS_AS_HTTP_200") {
                StatusCode::OK
            } else {
                explicit.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
        Some(s) => s,
        None if ctx.is_response => ctx.status,
        None => StatusCode::OK,
    };
    let mut headers = std::mem::take(&mut ctx.headers);
    strip_hop_by_hop(&mut headers);
    if !ctx.is_response {
        // The message is still the request: its request-only headers do not belong in a response.
        for h in [
            header::HOST,
            header::ACCEPT_ENCODING,
            header::USER_AGENT,
            header::ACCEPT,
        ] {
            headers.remove(h);
        }
        headers.remove("soapaction");
    }
    let mut body = std::mem::take(&mut ctx.body);
    if ctx.axis2_true("NO_ENTITY_BODY") {
        body = Body::Empty;
    }
    if !matches!(body, Body::Incoming(_)) {
        headers.remove(header::CONTENT_LENGTH);
    }
    if let Some(ct) = ctx.axis2.get("ContentType").filter(|ct| !ct.is_empty()) {
        if !matches!(body, Body::Empty) {
            if let Ok(v) = HeaderValue::from_str(ct) {
                headers.insert(header::CONTENT_TYPE, v);
            }
        }
    }
    if matches!(body, Body::Empty) && !ctx.is_response {
        headers.remove(header::CONTENT_TYPE);
    }
    for (k, v) in std::mem::take(&mut ctx.response_headers) {
        headers.insert(k, v);
    }
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp
}

/// What the client gets when a fault handler ran and nobody responded (WSO2's default `fault`
/// sequence drops the message; mint answers like a reverse proxy instead of leaving the client
/// hanging): 502 for backend failures (connection, protocol, unusable response), 504 for backend
/// timeouts, 4xx for what the client sent, 500 otherwise.
pub fn fault_fallback(kind: ErrorKind, code: i64, _message: &str) -> Response<Body> {
    let status = match kind {
        ErrorKind::ConnectFailed
        | ErrorKind::ConnectionClosed
        | ErrorKind::Protocol
        | ErrorKind::BadResponse
        | ErrorKind::SoapFault => StatusCode::BAD_GATEWAY,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Suspended | ErrorKind::NoneReady => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::ClientIo | ErrorKind::BadContent => StatusCode::BAD_REQUEST,
        ErrorKind::ClientTimeout => StatusCode::REQUEST_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&code.to_string()) {
        resp.headers_mut().insert("x-mint-error-code", v);
    }
    resp
}
