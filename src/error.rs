//! The one domain error type: a low-cardinality kind (usable as a metric label), the side that
//! failed, context text and the cause. Lower layers return it; the connection task turns it into a
//! response in one place (the engine's `respond::fault_fallback`).

use std::fmt;

/// Which party a failure is attributed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The HTTP client talking to mint sent something wrong.
    Client,
    /// A backend (endpoint) failed.
    Backend,
    /// mint itself.
    Internal,
    /// Configuration or artifacts.
    Config,
}

/// What failed, as a small closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad flags, bad `deployment.toml`, unreadable home.
    BadConfig,
    /// Artifacts that do not validate.
    BadArtifact,
    /// A socket could not be bound.
    Bind,
    /// TLS set-up failed.
    Tls,
    /// Connecting to a backend failed (Synapse 101503).
    ConnectFailed,
    /// The backend did not answer in time (Synapse 101504).
    Timeout,
    /// The backend closed the connection (Synapse 101505).
    ConnectionClosed,
    /// The backend spoke broken HTTP (Synapse 101506).
    Protocol,
    /// The backend's response could not be processed: too large to read, or content a mediator
    /// or the output conversion cannot use (Synapse 101510).
    BadResponse,
    /// The backend answered a SOAP fault and `FORCE_ERROR_ON_SOAP_FAULT` makes that a failure
    /// of the endpoint (Synapse's ENDPOINT_CUSTOM_ERROR, 500000).
    SoapFault,
    /// The endpoint is suspended (Synapse 303001).
    Suspended,
    /// No child of a failover / loadbalance endpoint is ready (Synapse 303000).
    NoneReady,
    /// The client sent a body larger than allowed.
    BodyTooLarge,
    /// Reading the client's body failed.
    ClientIo,
    /// The client was too slow sending its body.
    ClientTimeout,
    /// A mediator failed (bad value, unsupported feature, missing endpoint...).
    Mediation,
    /// The message content is not what a mediator needs (malformed XML, …).
    BadContent,
    /// Runtime/OS resource problem.
    Io,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadConfig => "bad_config",
            ErrorKind::BadArtifact => "bad_artifact",
            ErrorKind::Bind => "bind",
            ErrorKind::Tls => "tls",
            ErrorKind::ConnectFailed => "connect_failed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ConnectionClosed => "connection_closed",
            ErrorKind::Protocol => "protocol",
            ErrorKind::BadResponse => "bad_response",
            ErrorKind::SoapFault => "soap_fault",
            ErrorKind::Suspended => "suspended",
            ErrorKind::NoneReady => "none_ready",
            ErrorKind::BodyTooLarge => "body_too_large",
            ErrorKind::ClientIo => "client_io",
            ErrorKind::ClientTimeout => "client_timeout",
            ErrorKind::Mediation => "mediation",
            ErrorKind::BadContent => "bad_content",
            ErrorKind::Io => "io",
        }
    }
}

type Cause = Box<dyn std::error::Error + Send + Sync>;

/// mint's error: kind + side + context + optional cause.
pub struct Error {
    pub kind: ErrorKind,
    pub side: Side,
    pub context: String,
    pub cause: Option<Cause>,
    /// The `ERROR_CODE` a `throwError` raised the fault with (its `type`), in place of the
    /// Synapse code of the kind.
    pub thrown: Option<Box<str>>,
}

/// Context text of a timeout whose endpoint says `responseAction=discard`.
const DISCARDED: &str = "response discarded after the endpoint timeout";

impl Error {
    /// A timeout whose endpoint says `responseAction=discard`: the late response is dropped and
    /// no fault handler runs.
    pub fn discarded() -> Self {
        Error::new(ErrorKind::Timeout, Side::Backend, DISCARDED)
    }

    /// Whether this is a [`Error::discarded`] timeout.
    pub fn is_discarded(&self) -> bool {
        self.kind == ErrorKind::Timeout && self.context == DISCARDED
    }

    pub fn new(kind: ErrorKind, side: Side, context: impl Into<String>) -> Self {
        Error {
            kind,
            side,
            context: context.into(),
            cause: None,
            thrown: None,
        }
    }

    /// A fault a `throwError` raises: ERROR_CODE is `code`, ERROR_MESSAGE the message.
    pub fn thrown(code: &str, message: impl Into<String>) -> Self {
        Error {
            thrown: Some(code.into()),
            ..Error::mediation(message)
        }
    }

    pub fn with_cause(mut self, cause: impl Into<Cause>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    pub fn config(context: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadConfig, Side::Config, context)
    }

    pub fn mediation(context: impl Into<String>) -> Self {
        Error::new(ErrorKind::Mediation, Side::Internal, context)
    }

    /// Whether this is a transport-level failure of a backend (what triggers failover and
    /// suspension in Synapse; HTTP error statuses are not).
    pub fn is_transport(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::ConnectFailed
                | ErrorKind::Timeout
                | ErrorKind::ConnectionClosed
                | ErrorKind::Protocol
                | ErrorKind::SoapFault
                | ErrorKind::Suspended
                | ErrorKind::NoneReady
        )
    }

    /// The error as the fault handler sees it: content that a backend sent and mint cannot use
    /// (a response over `max_body_size`, malformed XML or JSON) is a backend fault, not the
    /// client's.
    pub fn attributed(self) -> Error {
        let content = matches!(
            self.kind,
            ErrorKind::BodyTooLarge
                | ErrorKind::BadContent
                | ErrorKind::ClientIo
                | ErrorKind::ClientTimeout
        );
        if self.side == Side::Backend && content {
            Error {
                kind: ErrorKind::BadResponse,
                ..self
            }
        } else {
            self
        }
    }

    /// The Synapse `ERROR_CODE` for this failure, as WSO2 sets it.
    pub fn synapse_code(&self) -> i64 {
        match self.kind {
            ErrorKind::ConnectFailed => 101503,
            ErrorKind::Timeout => 101504,
            ErrorKind::ConnectionClosed => 101505,
            ErrorKind::Protocol => 101506,
            ErrorKind::BadResponse => 101510,
            ErrorKind::SoapFault => 500000,
            ErrorKind::Suspended => 303001,
            ErrorKind::NoneReady => 303000,
            ErrorKind::ClientIo | ErrorKind::ClientTimeout => 101000,
            ErrorKind::BodyTooLarge => 101001,
            _ => 0,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)?;
        if let Some(c) = &self.cause {
            write!(f, ": {c}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({}, {:?}, {self})", self.kind.as_str(), self.side)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
