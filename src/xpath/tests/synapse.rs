//! Synapse variables and functions through the mock context.

use std::borrow::Cow;

use super::dom::TestDom;
use super::{eval_with, Mock};
use crate::xpath::datefmt::DatePattern;
use crate::xpath::{
    compile, Clock, EvalError, MessageField, NoContext, PropertyValue, Scope, Value,
};

const ENV: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header><h>hv</h></soapenv:Header><soapenv:Body><m:getQuote xmlns:m="http://services.samples"><m:request><m:symbol>IBM</m:symbol></m:request></m:getQuote></soapenv:Body></soapenv:Envelope>"#;

fn str_of(d: &TestDom, cx: &Mock, e: &str) -> String {
    eval_with(d, cx, e).into_string_value(d)
}

fn bool_of(d: &TestDom, cx: &Mock, e: &str) -> bool {
    eval_with(d, cx, e).to_boolean()
}

#[test]
fn property_variables() {
    let d = TestDom::parse("<r/>");
    let cx = Mock::default()
        .with(Scope::Default, "foo", "bar")
        .with(Scope::Axis2, "REST_URL_POSTFIX", "/x?y=1")
        .with(Scope::Transport, "Content-Type", "text/xml")
        .with(Scope::Func, "p", "fv")
        .with(Scope::Operation, "op", "ov")
        .with(Scope::Config, "c", "cv")
        .with_value(Scope::Default, "BooleanVal", PropertyValue::Boolean(true))
        .with_value(Scope::Default, "FalseVal", PropertyValue::Boolean(false))
        .with_value(Scope::Default, "IntVal", PropertyValue::Number(123.0))
        .with_value(Scope::Default, "Zero", PropertyValue::Number(0.0));
    assert_eq!(str_of(&d, &cx, "$ctx:foo"), "bar");
    assert_eq!(str_of(&d, &cx, "$axis2:REST_URL_POSTFIX"), "/x?y=1");
    assert_eq!(str_of(&d, &cx, "$trp:content-type"), "text/xml");
    assert_eq!(str_of(&d, &cx, "$func:p"), "fv");
    assert_eq!(str_of(&d, &cx, "$operation:op"), "ov");
    assert_eq!(str_of(&d, &cx, "$config:c"), "cv");
    assert_eq!(
        str_of(&d, &cx, "concat($ctx:foo, '-', $trp:Content-Type)"),
        "bar-text/xml"
    );
    assert!(bool_of(&d, &cx, "$ctx:foo = 'bar'"));
    // Typed properties behave like Java Boolean / Number objects in Jaxen.
    assert!(bool_of(&d, &cx, "$ctx:BooleanVal"));
    assert!(!bool_of(&d, &cx, "$ctx:FalseVal"));
    assert_eq!(str_of(&d, &cx, "$ctx:BooleanVal"), "true");
    assert!(bool_of(&d, &cx, "$ctx:IntVal"));
    assert!(!bool_of(&d, &cx, "$ctx:Zero"));
    assert_eq!(str_of(&d, &cx, "$ctx:IntVal"), "123");
    assert!(bool_of(&d, &cx, "$ctx:IntVal = '123'"));
    assert!(bool_of(&d, &cx, "$ctx:IntVal > 100"));
    // A missing property is Java null: "" as a string, false, and unequal to everything.
    assert_eq!(str_of(&d, &cx, "$ctx:missing"), "");
    assert!(!bool_of(&d, &cx, "$ctx:missing"));
    assert!(!bool_of(&d, &cx, "$ctx:missing = ''"));
    assert!(!bool_of(&d, &cx, "$ctx:missing != ''"));
    assert!(bool_of(&d, &cx, "not($ctx:missing)"));
    assert!(bool_of(&d, &cx, "string($ctx:missing) = ''"));
    assert_eq!(str_of(&d, &cx, "$trp:nope"), "");
    // $sys: reads as "" when missing (not null).
    assert!(bool_of(&d, &cx, "$sys:missing = ''"));
}

#[test]
fn url_and_map_variables() {
    let d = TestDom::parse("<r/>");
    let mut cx = Mock::default().field(
        MessageField::To,
        "/api/stock?symbol=IBM&Q=hello%20w%C3%B6rld&flag&plus=a+b",
    );
    cx.maps
        .insert(("myMap".into(), "k".into()), "mapped".into());
    assert_eq!(str_of(&d, &cx, "$url:symbol"), "IBM");
    assert_eq!(str_of(&d, &cx, "$url:q"), "hello wörld");
    assert_eq!(str_of(&d, &cx, "$url:flag"), "");
    assert_eq!(str_of(&d, &cx, "$url:plus"), "a+b");
    assert_eq!(str_of(&d, &cx, "$url:none"), "");
    assert!(bool_of(&d, &cx, "$url:none = ''"));
    assert_eq!(str_of(&d, &cx, "$myMap:k"), "mapped");
    assert_eq!(str_of(&d, &cx, "$myMap:other"), "");
}

#[test]
fn soap_variables() {
    let d = TestDom::parse(ENV);
    let cx = Mock {
        envelope: Some(d.find("Envelope")),
        header: Some(d.find("Header")),
        body: Some(d.find("Body")),
        ..Mock::default()
    };
    assert_eq!(str_of(&d, &cx, "local-name($body/*[1])"), "getQuote");
    assert_eq!(
        str_of(&d, &cx, "$body/m:getQuote/m:request/m:symbol"),
        "IBM"
    );
    assert_eq!(str_of(&d, &cx, "count($body//*)"), "3");
    assert_eq!(str_of(&d, &cx, "$header/h"), "hv");
    assert_eq!(str_of(&d, &cx, "local-name($env)"), "Envelope");
    assert_eq!(str_of(&d, &cx, "name($env/*[2])"), "soapenv:Body");
    // No envelope: the variables are empty node-sets.
    let none = Mock::default();
    assert_eq!(str_of(&d, &none, "count($body/*)"), "0");
}

#[test]
fn get_property_scopes() {
    let d = TestDom::parse("<r/>");
    let cx = Mock::default()
        .with(Scope::Default, "x", "dx")
        .with(Scope::Default, "axis2-client", "not-a-scope-here")
        .with(Scope::Transport, "X-Hdr", "th")
        .with(Scope::Axis2, "messageType", "application/json")
        .with(Scope::Axis2Client, "c", "cv")
        .with(Scope::Operation, "o", "ov")
        .with(Scope::Env, "HOME", "/root")
        .with(Scope::Registry, "gov:/a/b.xml", "<a/>")
        .with(Scope::Registry, "conf:/x@prop", "pv")
        .with(Scope::Func, "p", "fv")
        .with(Scope::File, "f", "fv2")
        .field(MessageField::To, "http://h/svc")
        .field(MessageField::MessageFormat, "soap11")
        .field(MessageField::OperationName, "mediate")
        .field(MessageField::MessageId, "urn:uuid:1")
        .field(MessageField::Action, "urn:getQuote");
    for (e, want) in [
        ("get-property('x')", "dx"),
        ("get-property('default', 'x')", "dx"),
        ("synapse:get-property('x')", "dx"),
        ("get-property('transport', 'x-hdr')", "th"),
        ("get-property('axis2', 'messageType')", "application/json"),
        ("get-property('axis2-client', 'c')", "cv"),
        ("get-property('operation', 'o')", "ov"),
        ("get-property('env', 'HOME')", "/root"),
        ("get-property('registry', 'gov:/a/b.xml')", "<a/>"),
        ("get-property('registry', 'conf:/x@prop')", "pv"),
        ("get-property('func', 'p')", "fv"),
        ("get-property('file', 'f')", "fv2"),
        ("get-property('system', 'nope')", ""),
        ("get-property('To')", "http://h/svc"),
        ("get-property('MESSAGE_FORMAT')", "soap11"),
        ("get-property('OperationName')", "mediate"),
        ("get-property('MessageID')", "urn:uuid:1"),
        ("get-property('Action')", "urn:getQuote"),
        ("get-property('ReplyTo')", ""),
        ("get-property('')", ""),
        ("get-property('bogus', 'x', 'y')", ""),
        // A 2-argument call whose first argument is no scope is (name, dateFormat).
        ("get-property('x', 'yyyy')", "dx"),
        ("get-property(concat('', 'x'))", "dx"),
        ("get-property(substring('transport!', 1, 9), 'X-HDR')", "th"),
    ] {
        assert_eq!(str_of(&d, &cx, e), want, "{e}");
    }
    assert!(!bool_of(&d, &cx, "get-property('missing') = ''"));
    assert!(bool_of(&d, &cx, "get-property('system', 'nope') = ''"));
}

#[test]
fn system_date_and_time() {
    let d = TestDom::parse("<r/>");
    let mut cx = Mock {
        clock: Some(Clock {
            epoch_millis: 1_709_211_909_007, // 2024-02-29T13:05:09.007Z, a Thursday
            utc_offset_secs: 0,
        }),
        ..Mock::default()
    };
    let eq = |cx: &Mock, e: &str, want: &str| assert_eq!(str_of(&d, cx, e), want, "{e}");
    eq(&cx, "get-property('SYSTEM_TIME')", "1709211909007");
    eq(
        &cx,
        "get-property('transport', 'SYSTEM_TIME')",
        "1709211909007",
    );
    eq(&cx, "get-property('SYSTEM_DATE')", "2/29/24, 1:05 PM");
    eq(
        &cx,
        "get-property('SYSTEM_DATE', \"yyyy-MM-dd'T'HH:mm:ss.SSSXXX\")",
        "2024-02-29T13:05:09.007Z",
    );
    eq(
        &cx,
        "get-property('default', 'SYSTEM_DATE', 'yyyy')",
        "2024",
    );
    eq(
        &cx,
        "get-property('SYSTEM_DATE', concat('yy', 'yy'))",
        "2024",
    );
    cx.clock = Some(Clock {
        epoch_millis: 1_709_211_909_007,
        utc_offset_secs: 19_800,
    });
    eq(
        &cx,
        "get-property('SYSTEM_DATE', \"yyyy-MM-dd'T'HH:mm:ss.SSSXXX\")",
        "2024-02-29T18:35:09.007+05:30",
    );
    // A computed, invalid pattern fails at run time (a literal one at compile time).
    let x = compile("get-property('SYSTEM_DATE', concat('q', ''))", &[]).unwrap();
    assert_eq!(x.evaluate(&d, &cx, 0), Err(EvalError::DateFormat('q')));
}

#[test]
fn date_patterns() {
    let t = 1_709_211_909_007; // 2024-02-29T13:05:09.007Z
    let f = |p: &str, off: i32| DatePattern::parse(p).unwrap().format(t, off);
    assert_eq!(
        f("yy MMM MMMM d D w W F E EEEE u a h K k H G", 0),
        "24 Feb February 29 60 9 5 5 Thu Thursday 4 PM 1 1 13 13 AD"
    );
    assert_eq!(f("M/d/y S SS SSSS", 0), "2/29/2024 7 07 0007");
    assert_eq!(f("z zzzz Z X", 0), "UTC Coordinated Universal Time +0000 Z");
    assert_eq!(
        f("z Z X XX XXX", 19_800),
        "GMT+05:30 +0530 +05 +0530 +05:30"
    );
    assert_eq!(f("Z XXX", -3_600), "-0100 -01:00");
    assert_eq!(f("h 'o''clock' ''", 0), "1 o'clock '");
    assert_eq!(f("dd.MM.yyyy HH:mm:ss", 0), "29.02.2024 13:05:09");
    assert_eq!(DatePattern::parse("yyyy-qq"), Err('q'));
    assert_eq!(
        DatePattern::parse("'unterminated"),
        Ok(DatePattern::parse("'unterminated'").unwrap())
    );
    // Before the epoch and at day boundaries.
    let g = |ms: i64, p: &str| DatePattern::parse(p).unwrap().format(ms, 0);
    assert_eq!(g(0, "yyyy-MM-dd HH:mm:ss E"), "1970-01-01 00:00:00 Thu");
    assert_eq!(g(-1, "yyyy-MM-dd HH:mm:ss.SSS"), "1969-12-31 23:59:59.999");
    assert_eq!(g(951_782_400_000, "yyyy-MM-dd D"), "2000-02-29 60");
}

#[test]
fn encoding_functions() {
    let d = TestDom::parse("<r><v>hello</v></r>");
    let cx = Mock::default();
    let eq = |e: &str, want: &str| assert_eq!(str_of(&d, &cx, e), want, "{e}");
    eq("base64Encode('hello')", "aGVsbG8=");
    eq("base64Encode(//v)", "aGVsbG8=");
    eq("base64Encode('')", "");
    eq("base64Encode('ab')", "YWI=");
    eq("base64Encode('abc')", "YWJj");
    eq("base64Encode('héllo', 'ISO-8859-1')", "aOlsbG8=");
    eq("base64Encode('héllo', 'utf-8')", "aMOpbGxv");
    eq("base64Decode('aGVsbG8=')", "hello");
    eq("base64Decode('aGVsbG8')", "hello");
    eq("base64Decode('aGVs\nbG8=')", "hello");
    eq("base64Decode('aOlsbG8=', 'ISO-8859-1')", "héllo");
    eq("base64Decode('ICBoaSAg')", "hi");
    eq("base64Decode('')", "");
    eq(
        "base64Decode(base64Encode('ü x', 'UTF-16'), 'UTF-16')",
        "ü x",
    );
    eq(
        "base64Decode(base64Encode('ü x', 'UTF-16LE'), 'UTF-16LE')",
        "ü x",
    );
    eq("base64Decode(base64Encode('abc', 'US-ASCII'))", "abc");
    eq("base64Decode('-_8=')", "\u{FFFD}\u{FFFD}");
    eq("url-encode('a b&c=d/e?f g+h')", "a%20b&c=d/e?f%20g+h");
    eq("url-encode('ü')", "%C3%BC");
    eq("url-encode('ü', 'ISO-8859-1')", "%FC");
    eq("url-encode('a+b#c')", "a%2Bb%23c");
    eq(
        "url-encode('/p[1]?q=[x]&r=a+b')",
        "/p%5B1%5D?q=%5Bx%5D&r=a+b",
    );
    eq("url-encode('')", "");
    eq("url-decode('a+b%20c%C3%BC')", "a b cü");
    eq("url-decode('100%')", "100%");
    eq("url-decode('%FC', 'ISO-8859-1')", "ü");
    eq("wso2:vault-lookup('pw')", "s3cret");
    // An unknown alias reads as itself (wso2/carbon-secvault SecretManager.getSecret).
    eq("vault-lookup('other')", "other");
    let x = compile("base64Encode('x', 'EBCDIC-FOO')", &[]).unwrap();
    assert_eq!(
        x.evaluate(&d, &cx, 0),
        Err(EvalError::UnsupportedCharset("EBCDIC-FOO".into()))
    );
}

#[test]
fn no_context_and_empty_dom() {
    let x = compile("concat(get-property('a'), $ctx:b, 'c')", &[]).unwrap();
    assert!(!x.reads_content());
    let v = x.evaluate(&crate::xpath::EmptyDom, &NoContext, 0).unwrap();
    assert_eq!(v, Value::String("c".into()));
    let y = compile("count(//a)", &[]).unwrap();
    assert_eq!(
        y.evaluate_number(&crate::xpath::EmptyDom, &NoContext, 0),
        Ok(0.0)
    );
}

#[test]
fn node_valued_properties() {
    let d = TestDom::parse("<r><a>1</a><a>2</a></r>");
    let all = compile("/r/a", &[])
        .unwrap()
        .evaluate_nodes(&d, &NoContext, 0)
        .unwrap();
    let (a1, a2) = (all[0], all[1]);
    let cx = Mock::default().with_value(
        Scope::Default,
        "nodes",
        PropertyValue::Nodes(vec![a2, a1, a2]),
    );
    assert_eq!(str_of(&d, &cx, "count($ctx:nodes)"), "2");
    assert_eq!(str_of(&d, &cx, "$ctx:nodes"), "1");
    assert_eq!(str_of(&d, &cx, "$ctx:nodes[2]"), "2");
    assert_eq!(str_of(&d, &cx, "$ctx:nodes/text()"), "1");
    let s = Mock::default().with_value(
        Scope::Default,
        "s",
        PropertyValue::String(Cow::Borrowed("text")),
    );
    let x = compile("$ctx:s/a", &[]).unwrap();
    assert!(matches!(
        x.evaluate(&d, &s, 0),
        Err(EvalError::NotNodeSet(_))
    ));
}
