//! `<makefault>`: replaces the message with a SOAP 1.1, SOAP 1.2 or POX fault (code, reason,
//! node, role, detail), marked as a fault and, unless `response="false"`, as a response.

use bytes::Bytes;

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::{MessageContext, Value};
use crate::synapse::model::Element;
use crate::xml::{escape_text, SoapVersion};

#[derive(Debug, Clone)]
pub struct MakeFault {
    /// `soap11`, `soap12` or `pox`; None = the message's own version.
    pub version: Option<String>,
    /// Fault code: `(namespace uri, prefix, local)` from a QName value, or an expression.
    pub code: Option<FaultCode>,
    pub reason: Option<Value>,
    pub node: Option<String>,
    pub role: Option<String>,
    pub detail: Option<Value>,
    /// `response="true"`: the fault becomes a response (sent back by a following `send`).
    pub response: bool,
}

#[derive(Debug, Clone)]
pub enum FaultCode {
    QName {
        ns: String,
        prefix: String,
        local: String,
    },
    Expr(Value),
}

impl Mediate for MakeFault {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let version = el.attr("version").map(str::to_string);
        let mut f = MakeFault {
            version,
            code: None,
            reason: None,
            node: None,
            role: None,
            detail: None,
            // Synapse marks the fault as a response unless response="false".
            response: el.attr("response").is_none_or(|r| r.trim() != "false"),
        };
        for e in el.elements() {
            let co = super::at(e, at);
            match e.local.as_str() {
                "code" => {
                    f.code = match (e.attr("value"), e.attr("expression")) {
                        (Some(q), _) => {
                            let (prefix, local) =
                                q.trim().split_once(':').unwrap_or(("", q.trim()));
                            let ns = e
                                .ns_scope
                                .iter()
                                .rev()
                                .find(|(p, _)| p == prefix)
                                .map(|(_, u)| u.clone())
                                .unwrap_or_default();
                            Some(FaultCode::QName {
                                ns,
                                prefix: prefix.to_string(),
                                local: local.to_string(),
                            })
                        }
                        (None, Some(x)) => Some(FaultCode::Expr(super::expression(c, x, e, &co))),
                        _ => None,
                    }
                }
                "reason" => f.reason = value(c, e, &co),
                "node" => f.node = Some(e.text().trim().to_string()),
                "role" => f.role = Some(e.text().trim().to_string()).filter(|r| !r.is_empty()),
                "detail" => {
                    // Every child element, as Synapse's FaultMediator adds each as a detail
                    // entry (a clone of the artifact's element: an unprefixed one keeps the
                    // artifact's default namespace, usually Synapse's own).
                    f.detail = value(c, e, &co).or_else(|| {
                        if e.elements().next().is_none() {
                            return Some(Value::Literal(e.text().trim().to_string()));
                        }
                        let xml: String = e
                            .elements()
                            .map(super::format_xml_with_default_ns)
                            .collect();
                        Some(Value::Xml(xml))
                    })
                }
                "description" => {}
                other => c.warn(&co, format!("unexpected <{other}> in makefault ignored")),
            }
        }
        Some(f)
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        make_fault(rt, ctx, self).await?;
        Ok(Flow::Continue)
    }
}

/// `value="…"` or `expression="…"` of a makefault child.
fn value(c: &mut impl Compile, e: &Element, at: &Origin) -> Option<Value> {
    match (e.attr("value"), e.attr("expression")) {
        (Some(v), _) => Some(Value::Literal(v.to_string())),
        (None, Some(x)) => Some(super::expression(c, x, e, at)),
        (None, None) => None,
    }
}

async fn make_fault(rt: &impl Runtime, ctx: &mut MessageContext, f: &MakeFault) -> Result<()> {
    let reason = match &f.reason {
        Some(v) => rt.eval(ctx, v).await?,
        None => String::new(),
    };
    let detail = match &f.detail {
        Some(Value::Xml(x)) => x.clone(),
        Some(v) => escape_text(&rt.eval(ctx, v).await?).into_owned(),
        None => String::new(),
    };
    let version = match f.version.as_deref() {
        Some("soap12") => Some(SoapVersion::Soap12),
        Some("pox") => None,
        Some(_) => Some(SoapVersion::Soap11),
        None => {
            let d = ctx.optional_document().await?;
            Some(
                d.and_then(|d| d.soap_version())
                    .unwrap_or(SoapVersion::Soap11),
            )
        }
    };
    let (code_ns, code_prefix, code_local) = match &f.code {
        Some(FaultCode::QName { ns, prefix, local }) => (ns.clone(), prefix.clone(), local.clone()),
        Some(FaultCode::Expr(v)) => {
            let text = rt.eval(ctx, v).await?;
            let (p, l) = text
                .split_once(':')
                .map(|(p, l)| (p.to_string(), l.to_string()))
                .unwrap_or((String::new(), text));
            (String::new(), p, l)
        }
        None => (String::new(), String::new(), "Server".into()),
    };
    let body = match version {
        None => format!("<Exception>{}</Exception>", escape_text(&reason)),
        Some(v) => {
            let env = v.namespace();
            // The fault code keeps the prefix it was written with, declared where it is not the
            // envelope's own (Axiom's `setText(QName)` as Synapse calls it); without a prefix, the
            // envelope's when it names the SOAP namespace.
            let (qname, decl) = if code_prefix.is_empty() && (code_ns == env || code_ns.is_empty())
                || code_prefix == "soapenv" && (code_ns == env || code_ns.is_empty())
            {
                (format!("soapenv:{code_local}"), String::new())
            } else if code_prefix.is_empty() || code_ns.is_empty() {
                (
                    if code_prefix.is_empty() {
                        code_local.clone()
                    } else {
                        format!("{code_prefix}:{code_local}")
                    },
                    String::new(),
                )
            } else {
                (
                    format!("{code_prefix}:{code_local}"),
                    format!(
                        " xmlns:{code_prefix}=\"{}\"",
                        crate::xml::escape_attr(&code_ns)
                    ),
                )
            };
            let inner = match v {
                SoapVersion::Soap11 => {
                    let mut s = format!("<soapenv:Fault{decl}><faultcode>{qname}</faultcode><faultstring>{}</faultstring>", escape_text(&reason));
                    if let Some(r) = &f.role {
                        s.push_str(&format!("<faultactor>{}</faultactor>", escape_text(r)));
                    }
                    if !detail.is_empty() {
                        s.push_str(&format!("<detail>{detail}</detail>"));
                    }
                    s.push_str("</soapenv:Fault>");
                    s
                }
                SoapVersion::Soap12 => {
                    let mut s = format!(
                        "<soapenv:Fault{decl}><soapenv:Code><soapenv:Value>{qname}</soapenv:Value></soapenv:Code><soapenv:Reason><soapenv:Text xml:lang=\"en\">{}</soapenv:Text></soapenv:Reason>",
                        escape_text(&reason)
                    );
                    if let Some(n) = &f.node {
                        s.push_str(&format!("<soapenv:Node>{}</soapenv:Node>", escape_text(n)));
                    }
                    if let Some(r) = &f.role {
                        s.push_str(&format!("<soapenv:Role>{}</soapenv:Role>", escape_text(r)));
                    }
                    if !detail.is_empty() {
                        s.push_str(&format!("<soapenv:Detail>{detail}</soapenv:Detail>"));
                    }
                    s.push_str("</soapenv:Fault>");
                    s
                }
            };
            format!("<soapenv:Envelope xmlns:soapenv=\"{env}\"><soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>")
        }
    };
    let ct = match version {
        Some(SoapVersion::Soap12) => "application/soap+xml",
        Some(SoapVersion::Soap11) => "text/xml",
        None => "application/xml",
    };
    ctx.set_content(Bytes::from(body), Some(ct));
    ctx.is_fault = true;
    if f.response {
        ctx.is_response = true;
    }
    Ok(())
}
