//! Proxy services (`<proxy>`), REST APIs (`<api>` and its `<resource>`s) and local entries
//! (`<localEntry>`), plus the in/out/fault sequence slots that proxies and resources share.

use crate::synapse::model::{
    Api, Element, EndpointRef, LocalEntry, LocalEntryValue, Proxy, PublishWsdl, Resource,
    ResourceMatcher, SeqRef, Sequence, Target, VersionType,
};

use super::{endpoint, in_synapse_ns, is_synapse, Reader};

/// HTTP methods a resource may list.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];

/// The sequence slots of a proxy `<target>` or an API `<resource>`, as attributes or children.
const FLOW_NAMES: [&str; 3] = ["inSequence", "outSequence", "faultSequence"];

pub(super) fn proxy(ctx: &mut Reader<'_>, el: &Element) -> Option<Proxy> {
    let name = ctx.required(el, "name")?.to_string();
    let mut transports = el.attr("transports").map(split_list).unwrap_or_default();
    if transports.is_empty() {
        transports = vec!["http".to_string(), "https".to_string()];
    }
    let start_on_load = ctx.bool_attr(el, "startOnLoad", true);

    let mut target = None;
    let mut publish_wsdl = None;
    let mut parameters = Vec::new();
    for child in el.elements() {
        if !in_synapse_ns(child) {
            ctx.unknown_child(child, "proxy");
            continue;
        }
        match child.local.as_str() {
            "target" if target.is_some() => {
                ctx.error(child.pos, "<proxy> has more than one <target>");
            }
            "target" => target = Some(proxy_target(ctx, child)),
            "publishWSDL" => publish_wsdl = self::publish_wsdl(ctx, child),
            "parameter" => {
                if let Some(name) = ctx.required(child, "name") {
                    parameters.push((name.to_string(), parameter_value(child)));
                }
            }
            "description" => {}
            // WS-Security guards the service: a proxy that asks for it is not served without it.
            "policy" | "enableSec" => ctx.error(
                child.pos,
                format!("<{}>: WS-Security policies are not implemented by mint: the proxy is not deployed, since mint never serves open what its author protected", child.local),
            ),
            "enableAddressing" | "enableRM" => ctx.warn(
                child.pos,
                format!("<{}> (WS-Addressing / WS-ReliableMessaging) is not supported by mint and is ignored", child.local),
            ),
            _ => ctx.unknown_child(child, "proxy"),
        }
    }
    let target = target.unwrap_or_else(|| {
        ctx.error(el.pos, "<proxy> has no <target> element");
        Target::default()
    });

    Some(Proxy {
        name,
        origin: ctx.origin(el.pos),
        transports,
        start_on_load,
        target,
        publish_wsdl,
        parameters,
    })
}

fn proxy_target(ctx: &mut Reader<'_>, el: &Element) -> Target {
    let [in_sequence, out_sequence, fault_sequence] = flows(ctx, el);
    let endpoint_child = el.elements().find(|c| is_synapse(c, "endpoint"));
    let endpoint = match (el.attribute("endpoint"), endpoint_child) {
        (Some(attr), child) => {
            if let Some(child) = child {
                ctx.warn(
                    child.pos,
                    "<endpoint> is ignored because the target has an endpoint attribute",
                );
            }
            key_attr(ctx, el, "endpoint").map(|key| EndpointRef::Key {
                key,
                origin: ctx.origin(attr.pos),
            })
        }
        (None, Some(child)) => endpoint::reference(ctx, child),
        (None, None) => None,
    };
    let mut endpoints = 0;
    for child in el.elements() {
        if is_synapse(child, "endpoint") {
            endpoints += 1;
            if endpoints == 2 {
                ctx.error(child.pos, "<target> has more than one <endpoint>");
            }
        } else if !(in_synapse_ns(child) && FLOW_NAMES.contains(&child.local.as_str())) {
            ctx.unknown_child(child, "target");
        }
    }
    Target {
        in_sequence,
        out_sequence,
        fault_sequence,
        endpoint,
    }
}

fn publish_wsdl(ctx: &mut Reader<'_>, el: &Element) -> Option<PublishWsdl> {
    if let Some(key) = el.attr("key") {
        return Some(PublishWsdl::Key(key.to_string()));
    }
    if let Some(uri) = el.attr("uri") {
        return Some(PublishWsdl::Uri(uri.to_string()));
    }
    // `<resource location key/>` children map imported schemas; the WSDL itself is the other child.
    if let Some(definition) = el.elements().find(|c| !is_synapse(c, "resource")) {
        return Some(PublishWsdl::Inline(definition.clone()));
    }
    if el.attr("endpoint").is_some() {
        ctx.warn(
            el.pos,
            "<publishWSDL endpoint=...> is not supported yet and is ignored",
        );
    } else {
        ctx.error(
            el.pos,
            "<publishWSDL> needs a key or uri attribute, or an inline WSDL",
        );
    }
    None
}

/// A `<parameter>` value: its text, or the source of its XML content.
fn parameter_value(el: &Element) -> String {
    match el.elements().next() {
        Some(child) => child.source.clone(),
        None => el.text().trim().to_string(),
    }
}

/// An `<api>`; None when it cannot be deployed (reported), its inline sequences then going to
/// `orphans` so that their mediators are still checked.
pub(super) fn api(ctx: &mut Reader<'_>, el: &Element, orphans: &mut Vec<Sequence>) -> Option<Api> {
    let name = ctx.required(el, "name").map(str::to_string);
    let mut context = ctx.required(el, "context").map(str::to_string);
    if let (Some(ctx_value), Some(attr)) = (&context, el.attribute("context")) {
        if !ctx_value.starts_with('/') {
            ctx.error(
                attr.pos,
                format!("API context '{ctx_value}' must start with '/'"),
            );
            context = None;
        }
    }
    let version = el
        .attr("version")
        .filter(|v| !v.trim().is_empty())
        .map(str::to_string);
    // Without a version WSO2 uses its default (unversioned) strategy whatever version-type says.
    let version_type = match ctx.choice_attr(el, "version-type", &["context", "url"]) {
        Some("context") if version.is_some() => VersionType::Context,
        Some("url") if version.is_some() => VersionType::Url,
        _ => VersionType::None,
    };
    let hostname = el.attr("hostname").map(str::to_string);
    let port = api_port(ctx, el);

    let mut resources = Vec::new();
    let mut cors = None;
    let mut basic_auth = false;
    let mut cors_first = false;
    for child in el.elements() {
        if !in_synapse_ns(child) {
            ctx.unknown_child(child, "api");
            continue;
        }
        match child.local.as_str() {
            "resource" => resources.push(resource(ctx, child)),
            "handlers" => (cors, basic_auth, cors_first) = api_handlers(ctx, child),
            "description" => {}
            _ => ctx.unknown_child(child, "api"),
        }
    }
    if resources.is_empty() {
        ctx.error(el.pos, "<api> has no <resource>");
    }

    let (Some(name), Some(mut context)) = (name, context) else {
        for r in resources {
            for s in [r.in_sequence, r.out_sequence, r.fault_sequence] {
                if let Some(SeqRef::Inline(s)) = s {
                    orphans.push(s);
                }
            }
        }
        return None;
    };
    if version_type == VersionType::Context {
        if let Some(version) = &version {
            context = context.replace("{version}", version);
        }
    }
    if context.len() > 1 && context.ends_with('/') {
        context.pop();
    }
    Some(Api {
        name,
        origin: ctx.origin(el.pos),
        context,
        version,
        version_type,
        hostname,
        port,
        resources,
        cors,
        basic_auth,
        cors_first,
    })
}

/// `<handlers>`: mint runs MI's basic-auth handler and its per-API CORS handler. Any other handler
/// is Java code mint cannot run, and handlers are where MI APIs put authentication (JWT, OAuth,
/// custom): an API with one is not deployed rather than served open.
fn api_handlers(
    ctx: &mut Reader<'_>,
    el: &Element,
) -> (Option<crate::config::security::ApiCors>, bool, bool) {
    use crate::config::security::{ApiCors, BASIC_AUTH_HANDLER_CLASS, CORS_HANDLER_CLASS};
    let mut cors = None;
    let mut basic_auth = false;
    let mut cors_first = false;
    for h in el.elements() {
        if !in_synapse_ns(h) || h.local != "handler" {
            ctx.unknown_child(h, "handlers");
            continue;
        }
        let Some(class) = ctx.required(h, "class") else {
            continue;
        };
        if class == BASIC_AUTH_HANDLER_CLASS {
            basic_auth = true;
            continue;
        }
        if class != CORS_HANDLER_CLASS {
            ctx.error(
                h.pos,
                format!("API handler '{class}' is not implemented by mint: the API is not deployed, since handlers may guard access and mint never serves open what its author protected"),
            );
            continue;
        }
        let mut c = ApiCors::default();
        let split = |v: &str| -> Vec<String> {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        for p in h.elements() {
            if !in_synapse_ns(p) || p.local != "property" {
                ctx.unknown_child(p, "handler");
                continue;
            }
            let (Some(name), Some(value)) = (ctx.required(p, "name"), p.attr("value")) else {
                ctx.error(p.pos, "a CORS handler <property> needs name and value");
                continue;
            };
            match name {
                "allowedOrigins" => c.allowed_origins = split(value),
                "allowHeaders" => c.allow_headers = Some(value.to_string()),
                "allowedMethods" => c.allowed_methods = split(value),
                "allowCredentials" => c.allow_credentials = value.trim().eq_ignore_ascii_case("true"),
                "maxAge" => c.max_age = Some(value.trim().to_string()),
                other => ctx.warn(
                    p.pos,
                    format!("CORS handler property '{other}' is not one MI's CORSRequestHandler reads; ignored"),
                ),
            }
        }
        cors_first |= !basic_auth;
        cors = Some(c);
    }
    (cors, basic_auth, cors_first)
}

/// `port="..."`: `-1` (WSO2's "any") and absence mean no port restriction.
fn api_port(ctx: &mut Reader<'_>, el: &Element) -> Option<u16> {
    let attr = el.attribute("port")?;
    let value = attr.value.trim();
    if value == "-1" {
        return None;
    }
    let port = value.parse().ok();
    if port.is_none() {
        ctx.error(
            attr.pos,
            format!("API port '{}' is not a valid port number", attr.value),
        );
    }
    port
}

fn resource(ctx: &mut Reader<'_>, el: &Element) -> Resource {
    let mut methods = Vec::new();
    if let Some(attr) = el.attribute("methods") {
        for method in split_list(&attr.value) {
            let method = method.to_ascii_uppercase();
            if !METHODS.contains(&method.as_str()) {
                ctx.error(
                    attr.pos,
                    format!("unknown HTTP method '{method}' in resource methods"),
                );
            } else if !methods.contains(&method) {
                methods.push(method);
            }
        }
    }
    let matcher = match (el.attr("uri-template"), el.attr("url-mapping")) {
        (Some(template), Some(_)) => {
            ctx.error(
                el.pos,
                "<resource> cannot have both uri-template and url-mapping",
            );
            ResourceMatcher::UriTemplate(template.to_string())
        }
        (Some(template), None) => ResourceMatcher::UriTemplate(template.to_string()),
        (None, Some(mapping)) => ResourceMatcher::UrlMapping(mapping.to_string()),
        (None, None) => ResourceMatcher::Default,
    };
    let protocol = ctx
        .choice_attr(el, "protocol", &["http", "https"])
        .map(str::to_string);
    let [in_sequence, out_sequence, fault_sequence] = flows(ctx, el);
    for child in el.elements() {
        let known = in_synapse_ns(child)
            && (FLOW_NAMES.contains(&child.local.as_str()) || child.local == "description");
        if !known {
            ctx.unknown_child(child, "resource");
        }
    }
    Resource {
        origin: ctx.origin(el.pos),
        methods,
        matcher,
        protocol,
        content_type: el.attr("content-type").map(str::to_string),
        user_agent: el.attr("user-agent").map(str::to_string),
        in_sequence,
        out_sequence,
        fault_sequence,
    }
}

/// The in/out/fault sequences of a proxy target or API resource. A key attribute wins over an
/// inline child of the same name, as in WSO2 (the child is reported and ignored).
fn flows(ctx: &mut Reader<'_>, el: &Element) -> [Option<SeqRef>; 3] {
    FLOW_NAMES.map(|name| {
        let mut children = el.elements().filter(|c| is_synapse(c, name));
        let child = children.next();
        if let Some(extra) = children.next() {
            ctx.error(extra.pos, format!("<{name}> is given more than once"));
        }
        match (el.attribute(name), child) {
            (Some(attr), child) => {
                if let Some(child) = child {
                    ctx.warn(
                        child.pos,
                        format!("<{name}> is ignored because the {name} attribute is set"),
                    );
                }
                key_attr(ctx, el, name).map(|key| SeqRef::Key {
                    key,
                    origin: ctx.origin(attr.pos),
                })
            }
            (None, Some(child)) => Some(SeqRef::Inline(super::sequence(ctx, child))),
            (None, None) => None,
        }
    })
}

pub(super) fn local_entry(ctx: &mut Reader<'_>, el: &Element) -> Option<LocalEntry> {
    let key = ctx.required(el, "key")?.to_string();
    let value = if let Some(src) = el.attr("src") {
        LocalEntryValue::Src(src.to_string())
    } else {
        // `<description>` is the entry's metadata, not its value (Synapse's
        // `EntryFactory`), so a text entry may carry one (WSO2's ValidateJSONSchemaTestCase:
        // a JSON Schema in CDATA, then `<description/>`).
        let mut elements = el
            .elements()
            .filter(|e| !super::is_synapse(e, "description"));
        match elements.next() {
            Some(first) => {
                if let Some(extra) = elements.next() {
                    ctx.warn(
                        extra.pos,
                        "a local entry holds one XML element; the others are ignored",
                    );
                }
                LocalEntryValue::Xml(first.clone())
            }
            None => LocalEntryValue::Text(el.text().trim().to_string()),
        }
    };
    Some(LocalEntry {
        key,
        origin: ctx.origin(el.pos),
        value,
    })
}

/// A key-valued attribute that must not be empty (reported when it is).
fn key_attr(ctx: &mut Reader<'_>, el: &Element, name: &str) -> Option<String> {
    ctx.required(el, name).map(|key| key.trim().to_string())
}

/// Splits a list written with spaces and/or commas (`"http https"`, `"http,https"`).
fn split_list(list: &str) -> Vec<String> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}
