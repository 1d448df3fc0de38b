//! `<throttle>`: Synapse's throttle mediator, with WSO2's throttle policies (WS-Policy, inline
//! or by `key`), as MI runs them on one node:
//! - `MaximumConcurrentAccess`: requests in flight through this mediator at once; a request
//!   holds its slot until the backend answers or the request ends (Synapse hands it back at the
//!   backend's response, the answer to the client, a timeout, a failure or a fault);
//! - per caller (`throttle:ID throttle:type="IP|DOMAIN"`: an address, a range
//!   `a.b.c.X-a.b.c.Y`, `a.b.c.*`, `*.example.com`, or `other`) `Allow`, `Deny`, or `Control`
//!   with `MaximumCount` requests per `UnitTime` ms, in a window that starts at the first
//!   request; past the count a caller is refused until the window ends, or for
//!   `ProhibitTimePeriod` ms after the refusal when one is given. The caller is the first
//!   `X-Forwarded-For` address, else the client's (`REMOTE_ADDR`); the domain the
//!   `X-Forwarded-Host`, else the client's address (mint does no reverse lookup, nor does
//!   Synapse's transport); domain rules are consulted before address rules; a caller no rule
//!   matches is not throttled. All callers a rule matches share its count (as in Synapse,
//!   whose count is per throttle, artifact and rule);
//! - both of WSO2's policy forms: `MediatorThrottleAssertion` and the older `ThrottleAssertion`
//!   (`wsp:All` per caller, the first alternative of its `wsp:ExactlyOne`, `IsAllow`); a policy
//!   without either (a wrong namespace, say) throttles nothing, as in Synapse, with a warning;
//! - accepted: `onAccept` (attribute: a sequence key, else the element's mediators), whose
//!   result is the mediator's (the flow goes on after the throttle unless it stops), and
//!   without one the flow goes on; refused: `onReject` likewise, and without one the flow
//!   stops. On the response path the mediator does nothing.
//!
//! The counts are the server's, not a shard's: atomics shared by the shards (one compare-and-
//! swap per request for a window, one for a concurrency slot), no lock. A policy by key is read
//! at its first use and kept (as Synapse keeps it).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use arc_swap::ArcSwap;

use super::{Compile, Flow, Mediate, Mediator, Runtime};
use crate::diag::{Origin, Pos};
use crate::error::{Error, Result};
use crate::message::context::ConcurrencySlot;
use crate::message::{MessageContext, Value};
use crate::synapse::model::{Element, LocalEntryValue};
use crate::synapse::parse::is_synapse;

const THROTTLE_NS: &str = "http://www.wso2.org/products/wso2commons/throttle";
const WSP_NS: &str = "http://schemas.xmlsoap.org/ws/2004/09/policy";

#[derive(Debug, Clone)]
pub struct Throttle(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    policy: Source,
    on_accept: Option<Vec<Mediator>>,
    on_reject: Option<Vec<Mediator>>,
}

#[derive(Debug)]
enum Source {
    /// No policy (`<throttle id="A"/>`, as written in out-sequences): everything is accepted.
    None,
    /// Inline or a local entry: built at deployment.
    Ready(Arc<Limits>),
    /// A registry key: built at first use.
    Key(Value, OnceLock<Arc<Limits>>),
}

/// A built policy with its counts.
#[derive(Debug)]
struct Limits {
    /// Free slots and the limit.
    concurrency: Option<(Arc<AtomicI64>, i64)>,
    domain: Vec<Rule>,
    ip: Vec<Rule>,
    /// Each artifact's windows (one per rule: domain rules, then address rules), added on an
    /// artifact's first request.
    windows: ArcSwap<Vec<(String, Arc<[Window]>)>>,
}

#[derive(Debug)]
struct Rule {
    pattern: Pattern,
    access: Access,
}

#[derive(Debug, PartialEq)]
enum Pattern {
    Exact(String),
    /// `a.b.c.X-a.b.c.Y`: the prefix `a.b.c.` and the last byte's bounds.
    Range(String, u8, u8),
    /// `a.b.c.*` (the prefix with its dot) or `*.example.com` (the suffix with its dot).
    Prefix(String),
    Suffix(String),
    Other,
}

#[derive(Debug, Clone, PartialEq)]
enum Access {
    Allow,
    Deny,
    Control {
        max: u64,
        unit_ms: u64,
        prohibit_ms: u64,
    },
    /// Parsed, but every request through it fails (Synapse: "Invalid Throttle Configuration").
    Invalid(String),
}

impl Mediate for Throttle {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut r = c.reader(&at.file);
        r.known_attrs(el, &["id", "onAccept", "onReject", "description"]);
        if el.attr("id").is_none_or(|i| i.trim().is_empty()) {
            r.error(el.pos, "throttle needs an id attribute");
            return None;
        }
        let mut policy_el = None;
        let (mut accept_el, mut reject_el) = (None, None);
        for child in el.elements() {
            if is_synapse(child, "policy") {
                policy_el = Some(child);
            } else if is_synapse(child, "onAccept") {
                accept_el = Some(child);
            } else if is_synapse(child, "onReject") {
                reject_el = Some(child);
            } else if !is_synapse(child, "description") {
                r.unknown_child(child, "throttle");
            }
        }
        let mut problems = Vec::new();
        let policy = match policy_el {
            None => Source::None,
            Some(p) => match (p.attr("key"), p.elements().next()) {
                (Some(k), _) if k.trim().is_empty() => {
                    r.error(p.pos, "key attribute should have a value");
                    return None;
                }
                (Some(k), _) => match c.local_entry(k.trim()) {
                    Some(LocalEntryValue::Xml(x)) => {
                        // Its problems are told at <policy>, with their place in the entry.
                        let x = x.clone();
                        let mut found = Vec::new();
                        let built = build(&x, &mut found);
                        problems.extend(found.into_iter().map(|(pos, msg, error)| {
                            let k = k.trim();
                            let msg = format!("local entry '{k}' ({}:{}): {msg}", pos.line, pos.col);
                            (p.pos, msg, error)
                        }));
                        built.map_or(Source::None, Source::Ready)
                    }
                    Some(_) => {
                        let mut r = c.reader(&at.file);
                        r.error(p.pos, format!("throttle policy '{}' is no XML local entry", k.trim()));
                        return None;
                    }
                    None => Source::Key(super::dynamic_value(c, k, p, at), OnceLock::new()),
                },
                (None, Some(x)) => build(x, &mut problems).map_or(Source::None, Source::Ready),
                (None, None) => Source::None,
            },
        };
        let mut r = c.reader(&at.file);
        let mut failed = false;
        for (pos, msg, error) in problems {
            if error {
                failed = true;
                r.error(pos, msg);
            } else {
                r.warn(pos, msg);
            }
        }
        if failed {
            return None;
        }
        // The attribute (a sequence key) wins over the element of the same name.
        let mut pick = |attr: &str, inline: Option<&Element>| match el.attr(attr) {
            Some(key) => c
                .sequence_key(key.trim(), at)
                .map(|id| vec![Mediator::Sequence(super::sequence::Sequence::Named(id))]),
            None => inline.map(|e| super::list(c, e, &super::at(e, at))),
        };
        let on_accept = pick("onAccept", accept_el);
        let on_reject = pick("onReject", reject_el);
        Some(Throttle(Arc::new(Inner {
            policy,
            on_accept,
            on_reject,
        })))
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        if ctx.is_response {
            return Ok(Flow::Continue);
        }
        let limits = match &self.0.policy {
            Source::None => None,
            Source::Ready(l) => Some(l.clone()),
            Source::Key(key, built) => Some(match built.get() {
                Some(l) => l.clone(),
                None => {
                    let l = by_key(rt, ctx, key).await?;
                    built.get_or_init(|| l).clone()
                }
            }),
        };
        let accepted = match &limits {
            None => true,
            Some(l) => l.admit(ctx)?,
        };
        let branch = if accepted {
            &self.0.on_accept
        } else {
            &self.0.on_reject
        };
        match branch {
            Some(list) => Ok(rt.run_list(ctx, list).await),
            None if accepted => Ok(Flow::Continue),
            None => Ok(Flow::Stop),
        }
    }

    fn branches(&self) -> Vec<&[Mediator]> {
        [&self.0.on_accept, &self.0.on_reject]
            .into_iter()
            .flatten()
            .map(Vec::as_slice)
            .collect()
    }
}

/// A policy from the registry, built (its problems are the request's fault).
async fn by_key(rt: &impl Runtime, ctx: &mut MessageContext, key: &Value) -> Result<Arc<Limits>> {
    let key = rt.eval(ctx, key).await?;
    let res = rt
        .registry()
        .lookup(&key)
        .await?
        .ok_or_else(|| Error::mediation(format!("Cannot find throttling policy using key: {key}")))?;
    let text = String::from_utf8_lossy(&res.content);
    let el = crate::xml::element::parse_document(&text).map_err(|(p, e)| {
        Error::mediation(format!("throttling policy '{key}' ({}:{}): {e}", p.line, p.col))
    })?;
    let mut problems = Vec::new();
    let built = build(&el, &mut problems);
    match (built, problems.iter().find(|(_, _, error)| *error)) {
        (Some(l), None) => Ok(l),
        (_, Some((pos, msg, _))) => Err(Error::mediation(format!(
            "throttling policy '{key}' ({}:{}): {msg}",
            pos.line, pos.col
        ))),
        (None, None) => Err(Error::mediation(format!("throttling policy '{key}' is broken"))),
    }
}

type Problems = Vec<(Pos, String, bool)>;

fn is(el: &Element, ns: &str, local: &str) -> bool {
    el.ns == ns && el.local == local
}

/// An attribute in a namespace (`throttle:type`).
fn attr_ns<'a>(el: &'a Element, ns: &str, local: &str) -> Option<&'a str> {
    el.attrs.iter().find_map(|a| {
        let (prefix, l) = a.name.split_once(':')?;
        (l == local && el.resolve_prefix(prefix) == Some(ns)).then_some(a.value.as_str())
    })
}

/// Builds a policy element (`wsp:Policy`) into limits; problems go to `problems` (errors with
/// `true`). None when an error was found.
fn build(policy: &Element, problems: &mut Problems) -> Option<Arc<Limits>> {
    let before = problems.iter().filter(|p| p.2).count();
    let assertion = find_assertion(policy);
    let mut limits = Limits {
        concurrency: None,
        domain: Vec::new(),
        ip: Vec::new(),
        windows: ArcSwap::from_pointee(Vec::new()),
    };
    match assertion {
        None => problems.push((
            policy.pos,
            "no throttle:MediatorThrottleAssertion or throttle:ThrottleAssertion (namespace \
             http://www.wso2.org/products/wso2commons/throttle) in this policy: as in Synapse, \
             nothing is throttled"
                .into(),
            false,
        )),
        Some(a) => {
            let legacy = a.local == "ThrottleAssertion";
            if a.elements().next().is_none() {
                problems.push((a.pos, "Empty the policy components".into(), true));
            }
            for child in a.elements() {
                if is(child, THROTTLE_NS, "MaximumConcurrentAccess") {
                    let text = child.text();
                    match text.trim().parse::<i64>() {
                        Ok(n) if n > 0 => {
                            limits.concurrency = Some((Arc::new(AtomicI64::new(n)), n))
                        }
                        _ => problems.push((
                            child.pos,
                            format!(
                                "MaximumConcurrentAccess '{}': no concurrency limit (as in \
                                 Synapse, for a value that is not a positive number)",
                                text.trim()
                            ),
                            false,
                        )),
                    }
                } else if child.ns == WSP_NS && (child.local == "Policy" || child.local == "All") {
                    let rule = if legacy {
                        legacy_caller(child, problems)
                    } else {
                        caller(child, problems)
                    };
                    if let Some((domain, rule)) = rule {
                        let list = if domain {
                            &mut limits.domain
                        } else {
                            &mut limits.ip
                        };
                        // A later rule for the same caller replaces the earlier one.
                        list.retain(|r| r.pattern != rule.pattern);
                        list.push(rule);
                    }
                } else if child.ns == WSP_NS {
                    problems.push((
                        child.pos,
                        format!("wsp:{} here is ignored (as in Synapse)", child.local),
                        false,
                    ));
                } else {
                    problems.push((
                        child.pos,
                        format!("unexpected policy element with name {}", child.local),
                        true,
                    ));
                }
            }
        }
    }
    (problems.iter().filter(|p| p.2).count() == before).then(|| Arc::new(limits))
}

/// The first throttle assertion under the policy's operators (`wsp:Policy`, `wsp:All`,
/// `wsp:ExactlyOne`).
fn find_assertion(el: &Element) -> Option<&Element> {
    if el.ns == THROTTLE_NS
        && (el.local == "MediatorThrottleAssertion" || el.local == "ThrottleAssertion")
    {
        return Some(el);
    }
    if el.ns != WSP_NS {
        return None;
    }
    el.elements().find_map(find_assertion)
}

/// A caller's `throttle:ID`: (is a domain, pattern).
fn caller_id(id: &Element, problems: &mut Problems) -> Option<(bool, Pattern)> {
    if id.local != "ID" || id.ns != THROTTLE_NS {
        problems.push((id.pos, format!("Expect ID, found {}", id.local), true));
        return None;
    }
    let domain = match attr_ns(id, THROTTLE_NS, "type").map(str::trim) {
        Some("IP") => false,
        Some("DOMAIN") => true,
        Some("ROLE") => {
            problems.push((
                id.pos,
                "ROLE callers are not consulted by the throttle mediator (as in Synapse): this \
                 rule is ignored"
                    .into(),
                false,
            ));
            return None;
        }
        Some(t) => {
            problems.push((id.pos, format!("Unsupported throttle type '{t}'"), true));
            return None;
        }
        None => {
            problems.push((
                id.pos,
                "throttle:ID needs a throttle:type (IP or DOMAIN)".into(),
                true,
            ));
            return None;
        }
    };
    let text = id.text();
    let v = text.trim();
    if v.is_empty() {
        problems.push((id.pos, "throttle:ID is empty".into(), true));
        return None;
    }
    Some((domain, pattern(v, domain)))
}

fn pattern(v: &str, domain: bool) -> Pattern {
    if v == "other" {
        return Pattern::Other;
    }
    if domain {
        return match v.strip_prefix('*') {
            Some(suffix) => Pattern::Suffix(suffix.to_string()),
            None => Pattern::Exact(v.to_string()),
        };
    }
    if let Some(prefix) = v.strip_suffix('*') {
        return Pattern::Prefix(prefix.to_string());
    }
    if let Some((first, last)) = v.split_once('-') {
        let (first, last) = (first.trim(), last.trim());
        let split = |a: &str| a.rsplit_once('.').map(|(p, l)| (p.to_string(), l.parse::<u8>()));
        if let (Some((p1, Ok(lo))), Some((p2, Ok(hi)))) = (split(first), split(last)) {
            if p1 == p2 {
                return Pattern::Range(format!("{p1}."), lo, hi);
            }
        }
    }
    Pattern::Exact(v.to_string())
}

/// A `MediatorThrottleAssertion` caller: `wsp:Policy` holding the ID and a `wsp:Policy` with
/// `Allow`, `Deny` or `Control`.
fn caller(el: &Element, problems: &mut Problems) -> Option<(bool, Rule)> {
    let mut id = None;
    let mut access = None;
    for child in el.elements() {
        if is(child, WSP_NS, "Policy") {
            for a in child.elements() {
                if is(a, THROTTLE_NS, "Allow") {
                    access = Some(Access::Allow);
                } else if is(a, THROTTLE_NS, "Deny") {
                    access = Some(Access::Deny);
                } else if is(a, THROTTLE_NS, "Control") {
                    match a.elements().find(|p| is(p, WSP_NS, "Policy")) {
                        Some(p) => access = Some(control(p, false, problems)?),
                        None => {
                            problems.push((a.pos, "throttle:Control needs a wsp:Policy".into(), true));
                            return None;
                        }
                    }
                } else {
                    problems.push((
                        a.pos,
                        format!("Invalid Throttle Policy configuration: {}", a.local),
                        true,
                    ));
                    return None;
                }
            }
        } else {
            id = Some(caller_id(child, problems)?);
        }
    }
    let (domain, pattern) = id?;
    // Without the nested policy Synapse drops the caller.
    let access = access?;
    Some((domain, Rule { pattern, access }))
}

/// A `ThrottleAssertion` caller: `wsp:All` (or `wsp:Policy`) with the ID and a `wsp:ExactlyOne`
/// whose first alternative is a `wsp:All` of limits or `IsAllow`.
fn legacy_caller(el: &Element, problems: &mut Problems) -> Option<(bool, Rule)> {
    let mut id = None;
    let mut access = None;
    for child in el.elements() {
        if is(child, WSP_NS, "ExactlyOne") {
            match child.elements().next() {
                Some(first) if is(first, WSP_NS, "All") => {
                    access = Some(control(first, true, problems)?)
                }
                Some(first) if is(first, THROTTLE_NS, "IsAllow") => {
                    access = Some(match first.text().trim() {
                        "true" => Access::Allow,
                        "false" => Access::Deny,
                        other => {
                            problems.push((first.pos, format!("IsAllow '{other}' is not true or false"), true));
                            return None;
                        }
                    })
                }
                _ => {}
            }
        } else if child.ns == THROTTLE_NS {
            id = Some(caller_id(child, problems)?);
        }
    }
    match (id, access) {
        (Some((domain, pattern)), Some(access)) => Some((domain, Rule { pattern, access })),
        _ => {
            problems.push((
                el.pos,
                "ID and one of Valid Control policy component are Mandatory".into(),
                true,
            ));
            None
        }
    }
}

/// `MaximumCount`, `UnitTime`, `ProhibitTimePeriod`.
fn control(el: &Element, legacy: bool, problems: &mut Problems) -> Option<Access> {
    let (mut max, mut unit, mut prohibit) = (None, None, None);
    for p in el.elements() {
        let text = p.text();
        let v = text.trim().to_string();
        match (p.ns == THROTTLE_NS, p.local.as_str()) {
            (true, "MaximumCount") => max = Some((v, p.pos)),
            (true, "UnitTime") => unit = Some((v, p.pos)),
            (true, "ProhibitTimePeriod") => prohibit = Some((v, p.pos)),
            _ => {
                problems.push((p.pos, format!("Undefined Policy property {}", p.local), true));
                return None;
            }
        }
    }
    if max.is_none() && unit.is_none() || legacy && (max.is_none() || unit.is_none()) {
        problems.push((el.pos, "Maximum Count and UnitTime are Mandatory".into(), true));
        return None;
    }
    for (v, pos) in [&max, &unit].into_iter().flatten() {
        if v.is_empty() {
            problems.push((*pos, "MaximumCount and UnitTime cannot be empty".into(), true));
            return None;
        }
    }
    let unit_ms = match &unit {
        None => {
            return Some(Access::Invalid(
                "Invalid Throttle Configuration: no UnitTime".into(),
            ))
        }
        Some((v, pos)) => match v.parse::<i64>() {
            Ok(n) if n > 0 => n as u64,
            Ok(n) if n < 0 => {
                return Some(Access::Invalid(format!(
                    "Invalid Throttle Configuration: UnitTime {n}"
                )))
            }
            _ => {
                problems.push((*pos, format!("Unit Time cannot find ('{v}')"), true));
                return None;
            }
        },
    };
    let max = match &max {
        // Without a count every request is refused (Synapse's count is 0).
        None => 0,
        Some((v, pos)) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => n as u64,
            Ok(n) => {
                return Some(Access::Invalid(format!(
                    "Invalid Throttle Configuration: MaximumCount {n}"
                )))
            }
            Err(_) => {
                problems.push((
                    *pos,
                    format!("MaximumCount '{v}' is not a number: the caller is not limited (as in Synapse)"),
                    false,
                ));
                return Some(Access::Allow);
            }
        },
    };
    let prohibit_ms = match &prohibit {
        None => 0,
        Some((v, _)) if v.is_empty() => 0,
        Some((v, pos)) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => n as u64,
            Ok(n) => {
                return Some(Access::Invalid(format!(
                    "Invalid Throttle Configuration: ProhibitTimePeriod {n}"
                )))
            }
            Err(_) => {
                problems.push((*pos, format!("ProhibitTimePeriod '{v}' is not a number: 0"), false));
                0
            }
        },
    };
    Some(Access::Control {
        max,
        unit_ms,
        prohibit_ms,
    })
}

impl Limits {
    /// Whether the request may pass: a concurrency slot first, then its caller's rate.
    fn admit(&self, ctx: &mut MessageContext) -> Result<bool> {
        let slot = match &self.concurrency {
            None => None,
            Some((available, limit)) => {
                let taken = available
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                        (v > 0).then_some(v - 1)
                    })
                    .is_ok();
                if !taken {
                    return Ok(false);
                }
                Some(ConcurrencySlot {
                    available: available.clone(),
                    limit: *limit,
                })
            }
        };
        // A refusal by rate hands the slot back at once (the slot drops).
        let ok = self.rate(ctx)?;
        if ok {
            if let Some(s) = slot {
                ctx.throttle_slot = Some(s);
            }
        }
        Ok(ok)
    }

    fn rate(&self, ctx: &MessageContext) -> Result<bool> {
        let header = |name: &str| {
            ctx.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let remote = ctx.remote.map(|ip| ip.to_string());
        let mut matched = None;
        if !self.domain.is_empty() {
            if let Some(host) = header("x-forwarded-host").or_else(|| remote.clone()) {
                matched = find(&self.domain, &host, true);
            }
        }
        if matched.is_none() && !self.ip.is_empty() {
            if let Some(ip) = header("x-forwarded-for").or(remote) {
                matched = find(&self.ip, &ip, false).map(|i| i + self.domain.len());
            }
        }
        let Some(index) = matched else {
            return Ok(true);
        };
        let rule = if index < self.domain.len() {
            &self.domain[index]
        } else {
            &self.ip[index - self.domain.len()]
        };
        match &rule.access {
            Access::Allow => Ok(true),
            Access::Deny => Ok(false),
            Access::Invalid(why) => Err(Error::mediation(format!(
                "Error occurred during throttling: {why}"
            ))),
            Access::Control {
                max,
                unit_ms,
                prohibit_ms,
            } => {
                let artifact = ctx
                    .props
                    .get("proxy.name")
                    .or_else(|| ctx.props.get("SYNAPSE_REST_API"))
                    .map_or("", |v| v.as_str());
                let windows = self.windows_of(artifact);
                Ok(windows[index].admit(now_ms(), *max, *unit_ms, *prohibit_ms))
            }
        }
    }

    /// The windows of an artifact (made on its first request).
    fn windows_of(&self, artifact: &str) -> Arc<[Window]> {
        if let Some((_, w)) = self.windows.load().iter().find(|(a, _)| a == artifact) {
            return w.clone();
        }
        let mut made = None;
        self.windows.rcu(|list| {
            let mut list = Vec::clone(list);
            if !list.iter().any(|(a, _)| a == artifact) {
                let w: Arc<[Window]> = (0..self.domain.len() + self.ip.len())
                    .map(|_| Window::default())
                    .collect();
                list.push((artifact.to_string(), w));
            }
            made = list.iter().find(|(a, _)| a == artifact).map(|(_, w)| w.clone());
            list
        });
        made.unwrap_or_else(|| Arc::from(Vec::new()))
    }
}

/// The rule a caller falls under: exact, then range, then prefix/suffix, then `other`.
fn find(rules: &[Rule], caller: &str, domain: bool) -> Option<usize> {
    let pos = |f: &dyn Fn(&Pattern) -> bool| rules.iter().position(|r| f(&r.pattern));
    pos(&|p| matches!(p, Pattern::Exact(e) if e == caller))
        .or_else(|| {
            if domain {
                return None;
            }
            let (prefix, last) = caller.rsplit_once('.')?;
            let last: u8 = last.parse().ok()?;
            pos(&|p| {
                matches!(p, Pattern::Range(pre, lo, hi)
                    if pre.strip_suffix('.') == Some(prefix) && (*lo..=*hi).contains(&last))
            })
        })
        .or_else(|| {
            pos(&|p| match p {
                Pattern::Prefix(pre) => caller.starts_with(pre.as_str()),
                Pattern::Suffix(suf) => caller.ends_with(suf.as_str()),
                _ => false,
            })
        })
        .or_else(|| pos(&|p| *p == Pattern::Other))
}

/// Milliseconds since the process's first throttle (never 0: 0 means "not set").
fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// A fixed window: its end (ms, 38 bits) and count (26 bits) in one word, so that a request is
/// counted with one compare-and-swap; and when a refused caller may come back.
#[derive(Debug, Default)]
struct Window {
    state: AtomicU64,
    next_access: AtomicU64,
}

const COUNT_BITS: u32 = 26;
const COUNT_MAX: u64 = (1 << COUNT_BITS) - 1;

/// Latest window end the packed word holds (ms): about 8.7 years; a later end is held as this.
const END_MAX: u64 = (1 << (64 - COUNT_BITS)) - 1;

fn pack(end: u64, count: u64) -> u64 {
    (end.min(END_MAX) << COUNT_BITS) | count.min(COUNT_MAX)
}

fn unpack(s: u64) -> (u64, u64) {
    (s >> COUNT_BITS, s & COUNT_MAX)
}

impl Window {
    /// Synapse's CallerContext: `max` requests per window of `unit` ms from the first; past it,
    /// refused until the window ends or `prohibit` ms after the first refusal.
    fn admit(&self, now: u64, max: u64, unit: u64, prohibit: u64) -> bool {
        if max == 0 {
            return false;
        }
        // Counts above the packed width are as good as unlimited.
        let max = max.min(COUNT_MAX);
        loop {
            let s = self.state.load(Ordering::Acquire);
            let (end, count) = unpack(s);
            let next = self.next_access.load(Ordering::Acquire);
            let fresh = pack(now.saturating_add(unit), 1);
            let new = if end != 0 && now < end {
                if next != 0 && next <= now {
                    // The prohibition ended before the window: a new window starts.
                    fresh
                } else if count < max {
                    pack(end, count + 1)
                } else {
                    let until = if prohibit == 0 {
                        end
                    } else {
                        now.saturating_add(prohibit)
                    };
                    let _ = self.next_access.compare_exchange(
                        0,
                        until,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                    return false;
                }
            } else {
                if end != 0 && count >= max && next != 0 && next > now {
                    return false;
                }
                fresh
            };
            if self
                .state
                .compare_exchange(s, new, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                if new == fresh {
                    self.next_access.store(0, Ordering::Release);
                }
                return true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_counts_refuses_and_starts_again() {
        let w = Window::default();
        // 3 per 100 ms.
        assert!((0..3).all(|i| w.admit(10 + i, 3, 100, 0)));
        assert!(!w.admit(50, 3, 100, 0));
        assert!(!w.admit(109, 3, 100, 0));
        assert!(w.admit(110, 3, 100, 0), "the window ended");
        assert!(w.admit(111, 3, 100, 0));
        // A prohibition past the window's end holds.
        let w = Window::default();
        assert!(w.admit(1, 1, 100, 0));
        assert!(!w.admit(50, 1, 100, 500));
        assert!(!w.admit(200, 1, 100, 500));
        assert!(w.admit(551, 1, 100, 500));
        // One shorter than the window ends it early.
        let w = Window::default();
        assert!(w.admit(1, 1, 1000, 0));
        assert!(!w.admit(10, 1, 1000, 20));
        assert!(!w.admit(29, 1, 1000, 20));
        assert!(w.admit(31, 1, 1000, 20));
        assert!(!w.admit(32, 1, 1000, 20));
    }

    #[test]
    fn windows_far_away_do_not_overflow() {
        let w = Window::default();
        assert!(w.admit(5, 1, u64::MAX / 2, u64::MAX / 2));
        assert!(!w.admit(6, 1, u64::MAX / 2, u64::MAX / 2));
        assert!(!w.admit(7, 1, u64::MAX / 2, u64::MAX / 2));
    }

    #[test]
    fn a_window_holds_across_threads() {
        let w = Arc::new(Window::default());
        let accepted = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (w, accepted) = (w.clone(), accepted.clone());
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        if w.admit(5, 1000, 1_000_000, 0) {
                            accepted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(accepted.load(Ordering::Relaxed), 1000);
    }

    #[test]
    fn callers_match_as_in_synapse() {
        let rule = |p: &str| Rule {
            pattern: pattern(p, false),
            access: Access::Allow,
        };
        let rules = vec![
            rule("other"),
            rule("10.0.0.*"),
            rule("192.168.8.200 - 192.168.8.222"),
            rule("192.168.8.201"),
        ];
        assert_eq!(find(&rules, "192.168.8.201", false), Some(3));
        assert_eq!(find(&rules, "192.168.8.210", false), Some(2));
        assert_eq!(find(&rules, "10.0.0.7", false), Some(1));
        assert_eq!(find(&rules, "127.0.0.1", false), Some(0));
        assert_eq!(find(&rules[1..], "127.0.0.1", false), None);
        let domains = vec![Rule {
            pattern: pattern("*.example.com", true),
            access: Access::Deny,
        }];
        assert_eq!(find(&domains, "api.example.com", true), Some(0));
        assert_eq!(find(&domains, "example.org", true), None);
    }
}
