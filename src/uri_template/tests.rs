use super::*;

fn tpl(t: &str) -> UriTemplate {
    UriTemplate::parse(t).unwrap_or_else(|e| panic!("{t}: {e}"))
}

/// Match with a fresh variable list; `Some(vars)` on a match.
fn m(t: &str, uri: &str) -> Option<Vec<(String, String)>> {
    let mut vars = Vec::new();
    tpl(t).matches(uri, &mut vars).then_some(vars)
}

fn var<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
    vars.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

// ---- UriTemplate: tutorials and compat cases ----

#[test]
fn healthcare_querydoctor() {
    let v = m("/querydoctor/{category}", "/querydoctor/surgery").unwrap();
    assert_eq!(v, pairs(&[("category", "surgery")]));
    // Optional query when the template has none.
    let v = m("/querydoctor/{category}", "/querydoctor/surgery?x=1").unwrap();
    assert_eq!(var(&v, "category"), Some("surgery"));
    assert!(m("/querydoctor/{category}", "/querydoctor/surgery/extra").is_none());
    assert!(m("/querydoctor/{category}", "/querydoctor").is_none());
}

#[test]
fn uri_template_rest_test_case() {
    // StockQuoteAPI1 `/view/{symbol}` with /stockquote/view/IBM.
    assert_eq!(
        m("/view/{symbol}", "/view/IBM").unwrap(),
        pairs(&[("symbol", "IBM")])
    );
    // StockQuoteAPI2 `/view/*` with /getquote/view/getStockQuote.
    assert_eq!(m("/view/*", "/view/getStockQuote").unwrap(), vec![]);
    assert!(m("/view/*", "/view/a/b?c=d").is_some());
    assert!(m("/view/*", "/view/").is_some());
    assert!(m("/view/*", "/view").is_none());
    assert!(m("/view/{symbol}", "/order/IBM").is_none());
}

const PATTERN1: &str = "/pattern1?latitude={+latitude}&longitude={+longitude}&floor={+floor}";

#[test]
fn last_query_param_empty_pattern1() {
    let v = m(PATTERN1, "/pattern1?latitude=10&longitude=20&floor=30").unwrap();
    assert_eq!(
        v,
        pairs(&[("latitude", "10"), ("longitude", "20"), ("floor", "30")])
    );
    // Empty last value: matched through the "{ after =" rule, the variable is not captured.
    let v = m(PATTERN1, "/pattern1?latitude=10&longitude=20&floor=").unwrap();
    assert_eq!(v, pairs(&[("latitude", "10"), ("longitude", "20")]));
    let v = m(PATTERN1, "/pattern1?latitude=&longitude=20&floor=30").unwrap();
    assert_eq!(
        v,
        pairs(&[("latitude", ""), ("longitude", "20"), ("floor", "30")])
    );
    let v = m(PATTERN1, "/pattern1?latitude=10&longitude=&floor=30").unwrap();
    assert_eq!(
        v,
        pairs(&[("latitude", "10"), ("longitude", ""), ("floor", "30")])
    );
    let v = m(PATTERN1, "/pattern1?latitude=&longitude=&floor=").unwrap();
    assert_eq!(v, pairs(&[("latitude", ""), ("longitude", "")]));
    // `&floor` without '=' -> 404.
    assert!(m(PATTERN1, "/pattern1?latitude=10&longitude=20&floor").is_none());
    // Order matters; a reserved last capture swallows extra parameters.
    assert!(m(PATTERN1, "/pattern1?longitude=20&latitude=10&floor=30").is_none());
    let v = m(PATTERN1, "/pattern1?latitude=1&longitude=2&floor=3&x=4").unwrap();
    assert_eq!(var(&v, "floor"), Some("3&x=4"));
    assert!(tpl(PATTERN1).has_query_template());
    // No optional query: a bare path does not match.
    assert!(m(PATTERN1, "/pattern1").is_none());
}

#[test]
fn last_query_param_empty_patterns_2_and_3() {
    for uri in [
        "/pattern2?latitude=10&longitude=20&floor=",
        "/pattern2?latitude=10&longitude=20&floor",
    ] {
        assert!(m("/pattern2*", uri).is_some(), "{uri}");
        assert!(m(PATTERN1, uri).is_none(), "{uri}");
        assert!(m("/pattern3/*", uri).is_none(), "{uri}");
    }
    for uri in [
        "/pattern3/sample?latitude=10&longitude=20&floor=",
        "/pattern3/sample?latitude=10&longitude=20&floor",
    ] {
        assert!(m("/pattern3/*", uri).is_some(), "{uri}");
        assert!(m("/pattern2*", uri).is_none(), "{uri}");
    }
    assert!(m("/pattern2*", "/pattern2").is_some());
    assert!(m("/pattern2*", "/pattern22/x").is_some());
}

#[test]
fn simple_query_template() {
    let t = "/search?q={q}&r={r}";
    assert_eq!(
        m(t, "/search?q=a%20b&r=x").unwrap(),
        pairs(&[("q", "a b"), ("r", "x")])
    );
    assert!(m(t, "/search?r=x&q=y").is_none());
    // '+' is reserved for {q} (wso2/product-ei#700: resource not found).
    assert!(m(t, "/search?q=a+b&r=1").is_none());
    assert_eq!(m(t, "/search?q=1&r=").unwrap(), pairs(&[("q", "1")]));
    assert!(m(t, "/search?q=1").is_none());
    assert!(m(t, "/search").is_none());
}

// ---- UriTemplate: Synapse's ParserTest ----

#[test]
fn parser_test_simple_string_match() {
    assert_eq!(
        m("/admin/~{user}", "/admin/~hiranya").unwrap(),
        pairs(&[("user", "hiranya")])
    );
    assert!(m("/admin/~{user}", "/admi/~hiranya").is_none());
    assert!(m("/admin/~{user}", "/admin/hiranya").is_none());
    assert!(m("/admin/~{user}", "/admin/~hiranya/foo").is_none());
    // ParserTest's `/admin/~hirany.a` fails only because its shared map holds user=hiranya.
    let t = tpl("/admin/~{user}");
    let mut vars = pairs(&[("user", "hiranya")]);
    assert!(!t.matches("/admin/~hirany.a", &mut vars));
    assert_eq!(vars, pairs(&[("user", "hiranya")]));
    assert!(m("/admin/~{user}", "/admin/~hirany.a").is_some());

    let d = "/dictionary/{char:1}/{word}";
    assert_eq!(
        m(d, "/dictionary/c/cat").unwrap(),
        pairs(&[("char", "c"), ("word", "cat")])
    );
    assert!(m(d, "/dictionry/c/cat").is_none());
    assert!(m(d, "/dictionary/c").is_none());
    assert!(m(d, "/dictionary/co/cat").is_none());
    assert_eq!(
        var(&m(d, "/dictionary/h/hello%20world").unwrap(), "word"),
        Some("hello world")
    );

    let r = "/dictionary/{char}/{+word}";
    assert_eq!(
        var(&m(r, "/dictionary/h/hello+world").unwrap(), "word"),
        Some("hello+world")
    );
    assert_eq!(
        var(&m(r, "/dictionary/h/hello world").unwrap(), "word"),
        Some("hello world")
    );
    assert_eq!(
        var(&m(r, "/dictionary/h/hello%2Bworld").unwrap(), "word"),
        Some("hello+world")
    );

    let l = "/dictionary/{char}/{word,count}";
    assert_eq!(
        m(l, "/dictionary/c/cat,5").unwrap(),
        pairs(&[("char", "c"), ("word", "cat"), ("count", "5")])
    );
    assert_eq!(
        m(l, "/dictionary/c/cat").unwrap(),
        pairs(&[("char", "c"), ("word", "cat"), ("count", "")])
    );
    assert_eq!(
        m(l, "/dictionary/c/,5").unwrap(),
        pairs(&[("char", "c"), ("word", ""), ("count", "5")])
    );
    // A trailing separator: Java's scan ends without a match.
    assert!(m(l, "/dictionary/c/cat,").is_none());

    let l2 = "/dictionary/{char,word}/{count}";
    assert_eq!(
        m(l2, "/dictionary/c,cat/5").unwrap(),
        pairs(&[("char", "c"), ("word", "cat"), ("count", "5")])
    );
    assert_eq!(
        m(l2, "/dictionary/c/5").unwrap(),
        pairs(&[("char", "c"), ("word", ""), ("count", "5")])
    );
    assert!(m(l2, "/dictionary/c,ca,cat/5").is_none());

    let same = "/dictionary/{user}/test?a={user}";
    assert_eq!(
        m(same, "/dictionary/hiranya/test?a=hiranya").unwrap(),
        pairs(&[("user", "hiranya")])
    );
    assert!(m(same, "/dictionary/hiranya/test?a=foo").is_none());

    let mid = "/dictionary/foo-{user}-bar";
    assert_eq!(
        m(mid, "/dictionary/foo-hiranya-bar").unwrap(),
        pairs(&[("user", "hiranya")])
    );
    assert_eq!(
        m(mid, "/dictionary/foo--bar").unwrap(),
        pairs(&[("user", "")])
    );
    assert!(m(mid, "/dictionary/foo-bar").is_none());

    assert_eq!(
        m("/alert/{id}.json", "/alert/foo.json").unwrap(),
        pairs(&[("id", "foo")])
    );
}

#[test]
fn parser_test_wildcards_and_slashes() {
    assert!(m("/", "/").is_some());
    assert!(m("/", "/?a=b").is_some());
    assert!(m("/", "/x").is_none());
    for uri in ["/sanjeewa?test=done", "/sanjeewa", "/"] {
        assert!(m("/*", uri).is_some(), "{uri}");
    }
    for uri in ["/sanjeewa/admin?test=done", "/sanjeewa/test"] {
        assert!(m("/sanjeewa/*", uri).is_some(), "{uri}");
    }
    for uri in [
        "/sanjeewa/admin?test=done",
        "/sanjeewa/test",
        "/sanjeewa/",
        "/sanjeewa",
    ] {
        assert!(m("/sanjeewa*", uri).is_some(), "{uri}");
    }
    for uri in [
        "/sanjeewa/admin?test=done",
        "/sanjeewa/?test=done",
        "/sanjeewa/test",
        "/sanjeewa/",
    ] {
        assert!(m("/{sanjeewa}/*", uri).is_some(), "{uri}");
    }
    assert!(m("/dictionary/{char}/{word}", "/dictionary/d/dog/").is_some());
    assert!(m("/dictionary/{char}/{word}", "/dictionary/d/dog").is_some());
    for uri in ["/test.json?test", "/test.json/", "/test.json"] {
        assert_eq!(
            var(&m("/test{format}*", uri).unwrap(), "format"),
            Some(".json"),
            "{uri}"
        );
    }
    for uri in ["/test.json/test", "/test.json/", "/test.json"] {
        assert!(m("/test{format}/*", uri).is_some(), "{uri}");
    }
    let mut vars = pairs(&[("test", "tester")]);
    assert!(tpl("/sanjeewa/~{test}?*").matches("/sanjeewa/~tester?test", &mut vars));

    let t = tpl("/sanjeewa/{name,id}/*");
    let mut vars = pairs(&[("name", "user"), ("id", "190")]);
    assert!(t.matches("/sanjeewa/user,190/test", &mut vars));
    assert!(t.matches("/sanjeewa/user,190/test?year=2012", &mut vars));

    let t = tpl("/{name,id}/*");
    let mut vars = pairs(&[("name", "user"), ("id", "190")]);
    assert!(t.matches("/user,190/test", &mut vars));
    assert!(t.matches("/user,190/test?year=2012", &mut vars));
    for uri in [
        "/sanjeewa/user,190",
        "/sanjeewa/user,190,11/test",
        "/sanjeewa/user/test",
        "/rangana/user,190/",
        "/sanjeewa/test",
    ] {
        assert!(!t.matches(uri, &mut vars), "{uri}");
    }
    assert_eq!(vars, pairs(&[("name", "user"), ("id", "190")]));
}

#[test]
fn parser_test_reserved_fragment_label_path() {
    assert_eq!(
        m("/admin/~{+user}", "/admin/~foo!bar").unwrap(),
        pairs(&[("user", "foo!bar")])
    );
    assert!(m("/admin/~{+user}", "/admi/~hiranya").is_none());
    assert!(m("/admin/~{+user}", "/admin/hiranya").is_none());
    // Reserved captures may contain '/'.
    assert_eq!(
        m("/admin/~{+user}", "/admin/~hiranya/foo").unwrap(),
        pairs(&[("user", "hiranya/foo")])
    );
    assert_eq!(
        m("/words?{+query}", "/words?a=5").unwrap(),
        pairs(&[("query", "a=5")])
    );
    let feed = "/{symbol}/feed.rss{+queryStr}";
    assert_eq!(
        var(&m(feed, "/APPLE/feed.rss?max=30").unwrap(), "queryStr"),
        Some("?max=30")
    );
    assert!(m(feed, "/APPLE?max=30").is_none());

    assert_eq!(
        m("/admin{#foo}", "/admin#test").unwrap(),
        pairs(&[("foo", "test")])
    );
    assert!(m("/admin{#foo}", "/admin/test").is_none());
    assert_eq!(
        m("/admin{#foo}", "/admin#test,value").unwrap(),
        pairs(&[("foo", "test,value")])
    );

    assert_eq!(
        m("/admin{.action}", "/admin.do").unwrap(),
        pairs(&[("action", "do")])
    );
    assert!(m("/admin{.action}", "/admin.do.bad").is_none());
    assert_eq!(
        m("/admin{.action,sub}", "/admin.do.view").unwrap(),
        pairs(&[("action", "do"), ("sub", "view")])
    );

    assert_eq!(
        m("/admin{/context}", "/admin/foo").unwrap(),
        pairs(&[("context", "foo")])
    );
    assert!(m("/admin{/context}", "/admin.do.bad").is_none());
    assert_eq!(
        m("/admin{/action,sub}", "/admin/do/view").unwrap(),
        pairs(&[("action", "do"), ("sub", "view")])
    );
}

#[test]
fn template_trailing_slash_and_whole_path() {
    assert!(m("/a/", "/a").is_some());
    assert!(m("/a//", "/a").is_some());
    assert!(m("/a/{x}/", "/a/b").is_some());
    assert!(m("/a/{x}", "/a/b/c").is_none());
    assert!(m("/a/b", "/a/bc").is_none());
    // Java arithmetic: the rest `b?c/` ends with '/', so the optional-query test looks at 'c'.
    assert!(m("/a/{x}", "/a/b?c/").is_none());
    assert!(m("/a/{x}", "/a/b?c").is_some());
}

#[test]
fn template_decoding() {
    assert_eq!(
        m("/a/{x}", "/a/caf%C3%A9").unwrap(),
        pairs(&[("x", "café")])
    );
    assert_eq!(
        m("/a/{+x}", "/a/b%2Fc+d").unwrap(),
        pairs(&[("x", "b/c+d")])
    );
    assert_eq!(m("/a/{x}", "/a/é").unwrap(), pairs(&[("x", "é")]));
    let t = tpl("/a/{x}");
    let mut vars = Vec::new();
    assert_eq!(t.try_matches("/a/%zz", &mut vars), Err(DecodeError));
    assert!(!t.matches("/a/%zz", &mut vars));
    assert!(vars.is_empty());
    // '+' is protected as %2B before decoding, so `%+5` is malformed in a capture.
    assert_eq!(
        tpl("/a/{+x}").try_matches("/a/%+5", &mut vars),
        Err(DecodeError)
    );
    assert_eq!(
        m("/a/{+x}", "/a/1+1%3D2").unwrap(),
        pairs(&[("x", "1+1=2")])
    );
}

#[test]
fn template_parse_errors() {
    for bad in [
        "", "/{}", "/a}", "{x}", "/{a{b}}", "/{;x}", "/{?x}", "/{x y}", "/{x:0}", "/{x:a}",
        "/{a,,b}", "/{", "/a{b",
    ] {
        assert!(UriTemplate::parse(bad).is_err(), "{bad}");
    }
    // Java accepts an unterminated expression at the end ("/{abc" is "/{abc}").
    assert_eq!(m("/{abc", "/x").unwrap(), pairs(&[("abc", "x")]));
    assert_eq!(tpl("/x/{y}/").as_str(), "/x/{y}/");
    assert!(!tpl("/x/{y}").has_query_template());
}

// ---- UrlMapping ----

fn um(mapping: &str, path: &str) -> Option<UrlMatch> {
    UrlMapping::parse(mapping).unwrap().match_path(path)
}

#[test]
fn url_mapping_kinds() {
    assert_eq!(um("/a/b/*", "/a/b/c"), Some(UrlMatch::Prefix(2)));
    assert_eq!(um("/a/b/*", "/a/b"), Some(UrlMatch::Prefix(2)));
    assert_eq!(um("/a/b/*", "/a/b?x=1"), Some(UrlMatch::Prefix(2)));
    assert_eq!(um("/a/b/*", "/a/bc"), None);
    assert_eq!(um("/a/b/*", "/a"), None);
    assert_eq!(um("/*", "/anything/at/all"), Some(UrlMatch::Prefix(1)));
    assert_eq!(um("/*", "/"), Some(UrlMatch::Prefix(1)));
    // ApiUtils.trimSlashes bug: "//a/b" becomes "/a/".
    assert_eq!(um("/a/*", "//a/b"), None);

    assert_eq!(um("*.json", "/x/y.json"), Some(UrlMatch::Extension));
    assert_eq!(um("*.json", "/x/y.json?a=1"), Some(UrlMatch::Extension));
    assert_eq!(um("*.json", "/x/y.xml"), None);

    assert_eq!(um("/a/b", "/a/b"), Some(UrlMatch::Exact));
    assert_eq!(um("/a/b", "/a/b/"), Some(UrlMatch::Exact));
    assert_eq!(um("/a/b", "/a/b?x=1"), Some(UrlMatch::Exact));
    assert_eq!(um("/a/b", "/a/b/?x=1"), None);
    assert_eq!(um("/a/b", "/a/bc"), None);
    assert_eq!(um("/a/", "/a"), Some(UrlMatch::Exact));
    assert_eq!(um("/", "/"), Some(UrlMatch::Exact));
    assert_eq!(um("/", "?x=1"), Some(UrlMatch::Exact));
    assert_eq!(UrlMapping::parse("/a/*").unwrap().as_str(), "/a/*");
}

#[test]
fn url_mapping_selection() {
    let maps: Vec<UrlMapping> = ["*.x", "/a/*", "/a/b/*", "/a", "/*"]
        .iter()
        .map(|s| UrlMapping::parse(s).unwrap())
        .collect();
    assert_eq!(select_url_mapping(&maps, "/a"), Some(3));
    assert_eq!(select_url_mapping(&maps, "/a/b/c.x"), Some(2));
    assert_eq!(select_url_mapping(&maps, "/a/q"), Some(1));
    // "/*" (length 1) ties with nothing longer, the extension comes last.
    assert_eq!(select_url_mapping(&maps, "/q.x"), Some(4));
    assert_eq!(select_url_mapping(&maps[..1], "/q.x"), Some(0));
    assert_eq!(select_url_mapping(&maps[..1], "/q.y"), None);
}

// ---- query parameters ----

#[test]
fn query_params_last_query_param_empty() {
    assert_eq!(
        parse_query_params("latitude=10&longitude=20&floor=30").unwrap(),
        pairs(&[("latitude", "10"), ("longitude", "20"), ("floor", "30")])
    );
    assert_eq!(
        parse_query_params("latitude=10&longitude=20&floor=").unwrap(),
        pairs(&[("latitude", "10"), ("longitude", "20"), ("floor", "")])
    );
    assert_eq!(
        parse_query_params("latitude=&longitude=&floor=").unwrap(),
        pairs(&[("latitude", ""), ("longitude", ""), ("floor", "")])
    );
    // `floor` has no '=': it is part of longitude's value, and floor stays unset.
    assert_eq!(
        parse_query_params("latitude=10&longitude=20&floor").unwrap(),
        pairs(&[("latitude", "10"), ("longitude", "20&floor")])
    );
}

#[test]
fn query_params_rules() {
    assert_eq!(
        parse_query_params("a=1+2%20x").unwrap(),
        pairs(&[("a", "1 2 x")])
    );
    assert_eq!(
        parse_query_params("a%20b=1").unwrap(),
        pairs(&[("a%20b", "1")])
    );
    assert_eq!(parse_query_params("a=b=c").unwrap(), pairs(&[("a", "b=c")]));
    assert_eq!(
        parse_query_params("a=1&b=2&a=3").unwrap(),
        pairs(&[("a", "3"), ("b", "2")])
    );
    assert_eq!(parse_query_params("a=1&").unwrap(), pairs(&[("a", "1")]));
    assert_eq!(
        parse_query_params("a=1&&b=2").unwrap(),
        pairs(&[("a", "1&"), ("b", "2")])
    );
    assert_eq!(
        parse_query_params("a=1&x%20y").unwrap(),
        pairs(&[("a", "1&x%20y")])
    );
    assert_eq!(
        parse_query_params("x&a=1&y").unwrap(),
        pairs(&[("null", "null&x"), ("a", "1&y")])
    );
    assert_eq!(parse_query_params("").unwrap(), pairs(&[("null", "null&")]));
    for bad in ["a=%zz", "a=%", "a=%4", "a=1&b=%G0"] {
        assert!(parse_query_params(bad).is_err(), "{bad}");
    }
}

#[test]
fn url_decode_java_semantics() {
    assert_eq!(url_decode("a+b").unwrap(), "a b");
    assert_eq!(url_decode("%41%42c").unwrap(), "ABc");
    assert_eq!(url_decode("%e2%82%ac").unwrap(), "€");
    assert_eq!(url_decode("x%C3").unwrap(), "x\u{FFFD}");
    assert_eq!(url_decode("%+5").unwrap(), "\u{5}");
    assert_eq!(url_decode("%-0").unwrap(), "\0");
    assert_eq!(url_decode("é%20").unwrap(), "é ");
    assert_eq!(url_decode("plain").unwrap(), "plain");
    for bad in ["%-1", "%", "abc%4", "%zz", "%%41"] {
        assert_eq!(url_decode(bad), Err(DecodeError), "{bad}");
    }
}

// ---- ExpandTemplate ----

fn ex(t: &str, vars: &[(&str, &str)]) -> String {
    let vars = pairs(vars);
    let lookup = move |name: &str| var(&vars, name).map(str::to_string);
    ExpandTemplate::parse(t)
        .unwrap_or_else(|e| panic!("{t}: {e}"))
        .expand(&lookup)
}

#[test]
fn expand_healthcare() {
    assert_eq!(
        ex(
            "http://localhost:9090/healthcare/{uri.var.category}",
            &[("uri.var.category", "surgery")]
        ),
        "http://localhost:9090/healthcare/surgery"
    );
}

#[test]
fn expand_operators_and_encoding() {
    let x = &[("uri.var.x", "a b/c?d")];
    assert_eq!(ex("http://h/{uri.var.x}", x), "http://h/a%20b%2Fc%3Fd");
    assert_eq!(ex("http://h/{+uri.var.x}", x), "http://h/a%20b/c?d");
    assert_eq!(ex("http://h/p{#uri.var.x}", x), "http://h/p#a%20b/c?d");
    assert_eq!(
        ex("http://h/p{.uri.var.x}", &[("uri.var.x", "json")]),
        "http://h/p.json"
    );
    assert_eq!(
        ex(
            "http://h{/uri.var.x,uri.var.y}",
            &[("uri.var.x", "a"), ("uri.var.y", "b c")]
        ),
        "http://h/a/b%20c"
    );
    assert_eq!(
        ex(
            "http://h/s{?query.param.q,query.param.r}",
            &[("query.param.q", "a b"), ("query.param.r", "")]
        ),
        "http://h/s?query.param.q=a%20b&query.param.r="
    );
    assert_eq!(
        ex("http://h/s?a=1{&query.param.q}", &[("query.param.q", "x")]),
        "http://h/s?a=1&query.param.q=x"
    );
    assert_eq!(
        ex("http://h/s{;uri.var.m}", &[("uri.var.m", "")]),
        "http://h/s;uri.var.m"
    );
    assert_eq!(
        ex("http://h/{uri.var.x:3}", &[("uri.var.x", "abcdef")]),
        "http://h/abc"
    );
    assert_eq!(
        ex("http://h/{uri.var.x}", &[("uri.var.x", "é~_.-")]),
        "http://h/%C3%A9~_.-"
    );
    // Reserved keeps existing escapes and encodes a stray '%'.
    assert_eq!(
        ex("http://h/{+uri.var.x}", &[("uri.var.x", "a%2Fb%zz")]),
        "http://h/a%2Fb%25zz"
    );
    // Lists: damnhandy's joinParts drops empty parts but keeps a trailing joiner.
    assert_eq!(
        ex(
            "http://h/{uri.var.a,uri.var.b}",
            &[("uri.var.a", ""), ("uri.var.b", "x")]
        ),
        "http://h/x"
    );
    assert_eq!(
        ex(
            "http://h/{uri.var.a,uri.var.b}",
            &[("uri.var.a", "x"), ("uri.var.b", "")]
        ),
        "http://h/x,"
    );
}

#[test]
fn expand_undefined_and_fallbacks() {
    // Undefined variables expand to nothing; only uri.var.* / query.param.* can be defined.
    assert_eq!(
        ex(
            "http://h/{uri.var.a}/{query.param.b}",
            &[("uri.var.a", "x")]
        ),
        "http://h/x/"
    );
    assert_eq!(
        ex("http://h/{foo}", &[("foo", "x"), ("uri.var.a", "y")]),
        "http://h/"
    );
    assert_eq!(
        ex("http://h/p{?query.param.q}", &[("uri.var.a", "y")]),
        "http://h/p"
    );
    // No variable at all: the template text itself.
    let t = ExpandTemplate::parse("http://h/{uri.var.a}").unwrap();
    let none = |_: &str| None;
    assert_eq!(
        t.expand_checked(&none, false).unwrap(),
        "http://h/{uri.var.a}"
    );
    assert_eq!(t.expand_checked(&none, true).unwrap(), "http://h/");
    // Not a java.net.URI: the template text.
    assert_eq!(
        ex("http://h/a b/{uri.var.x}", &[("uri.var.x", "y")]),
        "http://h/a b/{uri.var.x}"
    );
}

#[test]
fn expand_leading_expression_is_reserved() {
    let t = ExpandTemplate::parse("{uri.var.base}/orders").unwrap();
    assert_eq!(t.template(), "{+uri.var.base}/orders");
    assert_eq!(
        ex("{uri.var.base}/orders", &[("uri.var.base", "http://h:1/p")]),
        "http://h:1/p/orders"
    );
    assert_eq!(
        ex("{uri.var.url}", &[("uri.var.url", "http://h/a?b=c")]),
        "http://h/a?b=c"
    );
    assert_eq!(
        ex("{+uri.var.url}", &[("uri.var.url", "http://h/a")]),
        "http://h/a"
    );
    // Legacy templates are not rewritten.
    let legacy = ExpandTemplate::parse("legacy-encoding:{uri.var.url}").unwrap();
    assert!(legacy.is_legacy());
    assert_eq!(legacy.template(), "{uri.var.url}");
}

#[test]
fn expand_dollar_in_reserved_value() {
    let t = ExpandTemplate::parse("http://h/{+uri.var.x}").unwrap();
    let lookup = |_: &str| Some("a$b".to_string());
    assert!(matches!(
        t.expand_checked(&lookup, true),
        Err(ExpandError::GroupReference(_))
    ));
    assert_eq!(t.expand(&lookup), "http://h/{+uri.var.x}");
    // `$0` re-inserts the expression text: not a valid URI, so the template.
    let lookup = |_: &str| Some("a$0".to_string());
    assert_eq!(
        t.expand_checked(&lookup, true).unwrap(),
        "http://h/{+uri.var.x}"
    );
    // Simple expansion encodes '$'.
    assert_eq!(
        ex("http://h/{uri.var.x}", &[("uri.var.x", "a$b")]),
        "http://h/a%24b"
    );
}

#[test]
fn expand_legacy() {
    let t = "legacy-encoding:http://h/{uri.var.x}";
    assert_eq!(ex(t, &[("uri.var.x", "a%20b")]), "http://h/a%20b");
    assert_eq!(ex(t, &[("uri.var.x", "a+b")]), "http://h/a%20b");
    assert_eq!(
        ex(
            "legacy-encoding:http://h/p?q={uri.var.x}",
            &[("uri.var.x", "x y")]
        ),
        "http://h/p?q=x%20y"
    );
    let parsed = ExpandTemplate::parse(t).unwrap();
    let bad = |_: &str| Some("50%".to_string());
    assert!(matches!(
        parsed.expand_checked(&bad, true),
        Err(ExpandError::Encoding(_))
    ));
    assert_eq!(parsed.expand(&bad), "http://h/{uri.var.x}");
}

#[test]
fn expand_parse_errors_and_variables() {
    for bad in [
        "http://h/{uri.var.x",
        "http://h/}",
        "http://h/{}",
        "http://h/{!x}",
        "http://h/{a{b}}",
        "http://h/{x:y}",
    ] {
        assert!(ExpandTemplate::parse(bad).is_err(), "{bad}");
    }
    let t = ExpandTemplate::parse("http://h/{uri.var.a}/{foo,query.param.b}").unwrap();
    assert_eq!(
        t.variables().collect::<Vec<_>>(),
        ["uri.var.a", "query.param.b"]
    );
    assert_eq!(t.as_str(), "http://h/{uri.var.a}/{foo,query.param.b}");
}

#[test]
fn java_uri_syntax() {
    use super::java_uri::is_valid_uri;
    for ok in [
        "http://h/a",
        "http://h:80/x?y=[1]#f",
        "http://[::1]:8080/x",
        "urn:isbn:123",
        "http://h/é",
        "",
        "/rel/path",
        "http:///x",
    ] {
        assert!(is_valid_uri(ok), "{ok}");
    }
    for bad in [
        "http://h/a b",
        "http://h/a%2",
        "http://h/a#b#c",
        ":x",
        "1http://h",
        "http://h/[x]",
        "http://h/{x}",
        "http:",
    ] {
        assert!(!is_valid_uri(bad), "{bad}");
    }
}

/// Deterministic smoke fuzz: no input may panic (slicing on multi-byte characters, arithmetic).
#[test]
fn no_panics_on_arbitrary_input() {
    const ALPHABET: &[&str] = &[
        "/",
        "{",
        "}",
        "+",
        "#",
        ".",
        ",",
        ":",
        "1",
        "?",
        "&",
        "=",
        "*",
        "%",
        "%2",
        "%41",
        "a",
        "b",
        "é",
        "€",
        "😀",
        "-",
        "[",
        "]",
        "$",
        "$0",
        " ",
        "uri.var.a",
        "query.param.b",
        "legacy-encoding:",
        "http://",
        "@",
        ";",
        "\\",
        "\u{1}",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n
    };
    let mut random = |max_len: usize| {
        let len = next(max_len + 1);
        (0..len)
            .map(|_| ALPHABET[next(ALPHABET.len())])
            .collect::<String>()
    };
    let (mut parsed, mut matched) = (0, 0);
    for _ in 0..20_000 {
        let t = random(8);
        let uri = random(10);
        for candidate in [t.clone(), format!("/{t}")] {
            if let Ok(template) = UriTemplate::parse(&candidate) {
                parsed += 1;
                let mut vars = Vec::new();
                if let Ok(true) = template.try_matches(&format!("/{uri}"), &mut vars) {
                    matched += 1;
                }
                let _ = template.try_matches(&uri, &mut vars);
            }
        }
        if let Ok(mapping) = UrlMapping::parse(&t) {
            let _ = mapping.match_path(&uri);
        }
        let _ = parse_query_params(&uri);
        let _ = url_decode(&uri);
        let _ = super::java_uri::is_valid_uri(&uri);
        let _ = super::java_uri::legacy_url(&format!("http://{uri}"));
        if let Ok(e) = ExpandTemplate::parse(&t) {
            let value = uri.clone();
            let lookup = move |_: &str| Some(value.clone());
            let _ = e.expand_checked(&lookup, true);
            let _ = e.expand_checked(&lookup, false);
        }
    }
    assert!(
        parsed > 1_000 && matched > 100,
        "parsed {parsed}, matched {matched}"
    );
}
