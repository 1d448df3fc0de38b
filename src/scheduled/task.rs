//! A scheduled task (Synapse's `MessageInjector`): at each of its times, a new message with the
//! task's payload goes to a sequence, a proxy service or the main sequence. The first run is at
//! once (Quartz's `startNow`); `count` runs in all, or without end. Each run is mediated on its
//! own, so a slow flow does not delay the next run.

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;

use super::until_next;
use crate::http::body::Body;
use crate::mediation::{Engine, EngineSlot};
use crate::message::MessageContext;
use crate::program::scheduled::{Format, InjectTo, Schedule, Task};
use crate::xml::soap::{build_envelope, SoapVersion};

pub(super) async fn run(def: Task, slot: Rc<EngineSlot>) {
    match &def.schedule {
        Schedule::Every { interval, count } => {
            let mut runs = 0u64;
            loop {
                inject(&def, slot.get());
                runs += 1;
                if count.is_some_and(|c| runs >= c) {
                    return;
                }
                glommio::timer::sleep(*interval).await;
            }
        }
        Schedule::Cron(cron) => {
            while until_next(&cron.schedule).await {
                inject(&def, slot.get());
            }
            tracing::info!(task = %def.name, "the cron expression names no further time: the task ends");
        }
    }
}

/// Starts one run of the task.
fn inject(def: &Task, engine: Rc<Engine>) {
    let mut ctx = message(def, &engine);
    let name = def.name.clone();
    let target = def.inject.target.clone();
    glommio::spawn_local(async move {
        let config = engine.config.clone();
        match &target {
            InjectTo::Sequence(seq) => match config.named_sequences.get(seq) {
                Some(&id) => {
                    ctx.fault_stack.push(config.fault);
                    engine.run_seq(&mut ctx, id).await;
                }
                None => tracing::error!(task = %name, "Sequence: {seq} not found"),
            },
            InjectTo::Proxy(proxy) => match config.proxies.get(proxy) {
                Some(p) => engine.run_proxy(&mut ctx, p).await,
                None => tracing::error!(task = %name, "Proxy: {proxy} not found"),
            },
            InjectTo::Main => {
                ctx.fault_stack.push(config.fault);
                engine.run_seq(&mut ctx, config.main).await;
            }
        }
    })
    .detach();
}

/// The message of one run: the payload in a SOAP envelope (or alone, for `pox` and `get`),
/// with `To`, the SOAP action and `task.name` set.
fn message(def: &Task, engine: &Engine) -> MessageContext {
    let inj = &def.inject;
    let payload = inj.message.as_bytes();
    let (body, content_type) = match inj.format {
        Format::Soap11 => (
            build_envelope(SoapVersion::Soap11, None, payload),
            "text/xml".to_string(),
        ),
        Format::Soap12 => (
            build_envelope(SoapVersion::Soap12, None, payload),
            match &inj.soap_action {
                Some(a) => format!("application/soap+xml; action=\"{a}\""),
                None => "application/soap+xml".to_string(),
            },
        ),
        Format::Pox | Format::Get => (
            Bytes::copy_from_slice(payload),
            "application/xml".to_string(),
        ),
    };
    let mut req = http::Request::new(Body::full(body));
    if inj.format == Format::Get {
        *req.method_mut() = http::Method::GET;
    } else {
        *req.method_mut() = http::Method::POST;
    }
    if let Ok(v) = http::HeaderValue::from_str(&content_type) {
        req.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    if inj.format == Format::Soap11 {
        if let Some(Ok(v)) = inj
            .soap_action
            .as_ref()
            .map(|a| http::HeaderValue::from_str(&format!("\"{a}\"")))
        {
            req.headers_mut().insert("soapaction", v);
        }
    }
    let mut ctx = MessageContext::new(
        req,
        false,
        engine.settings.http.max_body_size,
        Duration::from_millis(engine.settings.http.body_read_timeout_ms),
    );
    ctx.action = inj.soap_action.clone();
    ctx.to = inj.to.clone();
    ctx.props
        .insert("task.name".into(), def.name.clone().into());
    ctx
}
