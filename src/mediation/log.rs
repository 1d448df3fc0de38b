//! The log mediator: one line per message, in WSO2's layout (`To: …, MessageID: …, Direction: …`,
//! then the properties), written through `tracing` under the target `mint::log_mediator` at the
//! mediator's category.

use std::fmt::Write as _;

use super::context::MessageContext;
use super::mediator::LogProp;
use super::Engine;
use crate::error::Result;
use crate::synapse::model::{LogCategory, LogLevel};

pub(super) async fn log(
    engine: &Engine,
    ctx: &mut MessageContext,
    level: LogLevel,
    category: LogCategory,
    separator: &str,
    props: &[LogProp],
) -> Result<()> {
    let mut line = String::with_capacity(128);
    let mut first = true;
    let mut field = |line: &mut String, k: &str, v: &str| {
        if !first {
            line.push_str(separator);
        }
        first = false;
        let _ = write!(line, "{k}: {v}");
    };
    if level != LogLevel::Custom {
        let to = ctx.to.clone().unwrap_or_else(|| ctx.uri.path().to_string());
        field(&mut line, "To", &to);
        if let Some(a) = &ctx.action {
            field(&mut line, "WSAction", a);
            field(&mut line, "SOAPAction", a);
        }
        field(
            &mut line,
            "Direction",
            if ctx.is_response {
                "response"
            } else {
                "request"
            },
        );
    }
    if matches!(level, LogLevel::Headers | LogLevel::Full) {
        for (k, v) in ctx.headers.iter() {
            field(&mut line, k.as_str(), v.to_str().unwrap_or("<binary>"));
        }
    }
    for p in props {
        let v = engine.eval(ctx, &p.value).await?;
        // Custom properties read `name = value`, as WSO2 prints them.
        if !first {
            line.push_str(separator);
        }
        first = false;
        let _ = write!(line, "{} = {v}", p.name);
    }
    if level == LogLevel::Full {
        let body = ctx.body_bytes().await?;
        let text = String::from_utf8_lossy(&body);
        if !first {
            line.push_str(separator);
        }
        let _ = write!(line, "Envelope: {}", text.trim());
    }
    match category {
        LogCategory::Trace => tracing::trace!(target: "mint::log_mediator", "{line}"),
        LogCategory::Debug => tracing::debug!(target: "mint::log_mediator", "{line}"),
        LogCategory::Info => tracing::info!(target: "mint::log_mediator", "{line}"),
        LogCategory::Warn => tracing::warn!(target: "mint::log_mediator", "{line}"),
        LogCategory::Error | LogCategory::Fatal => {
            tracing::error!(target: "mint::log_mediator", "{line}")
        }
    }
    Ok(())
}
