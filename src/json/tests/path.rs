use serde_json::Value;

use crate::json::{parse, JsonError, JsonPath, JsonPathResult};

const STORE: &str = r#"{"store":{"book":[
  {"category":"reference","author":"Nigel Rees","title":"Sayings of the Century","price":8.95},
  {"category":"fiction","author":"Evelyn Waugh","title":"Sword of Honour","price":12.99},
  {"category":"fiction","author":"Herman Melville","title":"Moby Dick","isbn":"0-553-21311-3","price":8.99},
  {"category":"fiction","author":"J. R. R. Tolkien","title":"The Lord of the Rings","isbn":"0-395-19395-8","price":22.99}
 ],"bicycle":{"color":"red","price":19.95}},
 "expensive":10}"#;

fn store() -> Value {
    parse(STORE.as_bytes()).unwrap()
}

fn eval(path: &str, doc: &Value) -> String {
    JsonPath::compile(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .evaluate(doc)
        .to_synapse_string()
}

#[test]
fn jayway_readme_examples() {
    let doc = store();
    let cases = [
        (
            "$.store.book[*].author",
            r#"["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]"#,
        ),
        (
            "$..author",
            r#"["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]"#,
        ),
        ("$.store..price", "[8.95,12.99,8.99,22.99,19.95]"),
        ("$..book[2].title", r#"["Moby Dick"]"#),
        ("$..book[-2].title", r#"["Moby Dick"]"#),
        (
            "$..book[0,1].title",
            r#"["Sayings of the Century","Sword of Honour"]"#,
        ),
        (
            "$..book[:2].title",
            r#"["Sayings of the Century","Sword of Honour"]"#,
        ),
        ("$..book[1:2].title", r#"["Sword of Honour"]"#),
        (
            "$..book[-2:].title",
            r#"["Moby Dick","The Lord of the Rings"]"#,
        ),
        (
            "$..book[2:].title",
            r#"["Moby Dick","The Lord of the Rings"]"#,
        ),
        (
            "$..book[?(@.isbn)].title",
            r#"["Moby Dick","The Lord of the Rings"]"#,
        ),
        (
            "$.store.book[?(@.price < 10)].title",
            r#"["Sayings of the Century","Moby Dick"]"#,
        ),
        (
            "$..book[?(@.price <= $['expensive'])].title",
            r#"["Sayings of the Century","Moby Dick"]"#,
        ),
        (
            "$..book[?(@.author =~ /.*REES/i)].title",
            r#"["Sayings of the Century"]"#,
        ),
        ("$.store.book.length()", "4"),
        ("$..price.max()", "22.99"),
        ("$..price.min()", "8.95"),
        ("$.store.bicycle.keys()", r#"["color","price"]"#),
    ];
    for (path, want) in cases {
        assert_eq!(eval(path, &doc), want, "{path}");
    }
}

#[test]
fn synapse_string_rendering() {
    let doc = store();
    let cases = [
        ("$.store.book[0].title", "Sayings of the Century"),
        ("$.store.book[0].price", "8.95"),
        ("$.expensive", "10"),
        ("$.store.bicycle", r#"{"color":"red","price":19.95}"#),
        ("$['store']['bicycle']['color']", "red"),
        ("$[\"store\"].bicycle.color", "red"),
        ("store.bicycle.color", "red"),
        (
            "$.store.bicycle['color','price']",
            r#"{"color":"red","price":19.95}"#,
        ),
        ("$.store.bicycle.*", r#"["red",19.95]"#),
        // Nothing found: definite → "", indefinite → [] unless a definite step was refused.
        ("$.store.missing", ""),
        ("$.store.book[9]", ""),
        ("$.store.book[*].missing", "[]"),
        ("$.missing[*]", ""),
        ("$.expensive.x", ""),
        ("$.store.book.title", ""),
        ("$.store.book[?(@.price > 100)]", "[]"),
    ];
    for (path, want) in cases {
        assert_eq!(eval(path, &doc), want, "{path}");
    }
}

#[test]
fn primitives_and_number_text() {
    let doc =
        parse(br#"{"a":null,"b":true,"n":1.50,"big":12345678901234567890,"s":"x\"y","o":{}}"#)
            .unwrap();
    assert_eq!(eval("$.a", &doc), "null");
    assert_eq!(eval("$.b", &doc), "true");
    assert_eq!(eval("$.n", &doc), "1.50");
    assert_eq!(eval("$.big", &doc), "12345678901234567890");
    assert_eq!(eval("$.s", &doc), "x\"y");
    assert_eq!(eval("$.o", &doc), "{}");
    assert_eq!(eval("$..s", &doc), r#"["x\"y"]"#);
}

#[test]
fn compat_literal_argument_extract() {
    let doc = parse(br#"{"extract": "<hello/>"}"#).unwrap();
    assert_eq!(eval("$.extract", &doc), "<hello/>");
}

#[test]
fn filters() {
    let doc = store();
    let cases = [
        (
            "$.store.book[?(@.category == 'fiction' && @.price > 10)].title",
            r#"["Sword of Honour","The Lord of the Rings"]"#,
        ),
        (
            "$.store.book[?(@.category == 'reference' || @.price > 20)].title",
            r#"["Sayings of the Century","The Lord of the Rings"]"#,
        ),
        (
            "$.store.book[?(@.isbn != '0-553-21311-3')].title",
            r#"["Sayings of the Century","Sword of Honour","The Lord of the Rings"]"#,
        ),
        ("$.store.book[?(!@.isbn)].price", "[8.95,12.99]"),
        (
            "$.store.book[?(@.category in ['reference'])].author",
            r#"["Nigel Rees"]"#,
        ),
        (
            "$.store.book[?(@.price >= 22.99)].author",
            r#"["J. R. R. Tolkien"]"#,
        ),
        (
            "$.store.book[?(@.author > 'J')].author",
            r#"["Nigel Rees","J. R. R. Tolkien"]"#,
        ),
        ("$.store.bicycle[?(@.color == 'red')].price", "[19.95]"),
        ("$..[?(@.color)].color", r#"["red"]"#),
        (
            "$.store.book[?(@.price == 8.95)].author",
            r#"["Nigel Rees"]"#,
        ),
        ("$.store.book[?@.price == 8.95].author", r#"["Nigel Rees"]"#),
        (
            "$.store.book[?(@['price'] == 8.95)].author",
            r#"["Nigel Rees"]"#,
        ),
    ];
    for (path, want) in cases {
        assert_eq!(eval(path, &doc), want, "{path}");
    }
    let ids = parse(br#"{"items":[{"id":1,"v":"a"},{"id":"2","v":"b"}]}"#).unwrap();
    assert_eq!(eval("$.items[?(@.id == '1')].v", &ids), r#"["a"]"#);
    assert_eq!(eval("$.items[?(@.id == 2)].v", &ids), r#"["b"]"#);
}

#[test]
fn aggregates_and_whole_body() {
    let doc = parse(br#"{"n":[1,2,3,4],"s":"abc"}"#).unwrap();
    assert_eq!(eval("$.n.length()", &doc), "4");
    assert_eq!(eval("$.n.sum()", &doc), "10.0");
    assert_eq!(eval("$.n.avg()", &doc), "2.5");
    assert_eq!(eval("$.n.first()", &doc), "1");
    assert_eq!(eval("$.n.last()", &doc), "4");
    assert_eq!(eval("$.s.length()", &doc), "3");
    assert_eq!(eval("$.n[*].length()", &doc), "4");
    assert_eq!(eval("$.missing.length()", &doc), "");
    for whole in ["$", "$.", " $ "] {
        let p = JsonPath::compile(whole).unwrap();
        assert!(p.is_whole_body(), "{whole}");
        assert_eq!(p.evaluate(&doc), JsonPathResult::Value(doc.clone()));
    }
    assert!(!JsonPath::compile("$.n").unwrap().is_whole_body());
}

#[test]
fn definiteness_and_lists() {
    for (p, definite) in [
        ("$.a.b[0]", true),
        ("$['a']", true),
        ("$.a[*]", false),
        ("$..a", false),
        ("$.a[0,1]", false),
        ("$.a[1:]", false),
        ("$.a[?(@.x)]", false),
        ("$['a','b']", true),
        ("$['a','b'].c", false),
    ] {
        assert_eq!(JsonPath::compile(p).unwrap().is_definite(), definite, "{p}");
    }
    let doc = parse(br#"{"a":[{"x":1},{"x":2}]}"#).unwrap();
    let r = JsonPath::compile("$.a[*].x").unwrap().evaluate(&doc);
    assert_eq!(r.clone().into_values().len(), 2);
    assert_eq!(
        JsonPath::compile("$.a[0]")
            .unwrap()
            .evaluate(&doc)
            .into_values(),
        vec![parse(br#"{"x":1}"#).unwrap()]
    );
    assert!(JsonPath::compile("$.b")
        .unwrap()
        .evaluate(&doc)
        .into_values()
        .is_empty());
}

#[test]
fn compile_errors() {
    for bad in [
        "$.store[",
        "$[?(@.a ==)]",
        "$.a.foo()",
        "$[?(@.a =~ /x)]",
        "$.",
        "$.a b",
    ] {
        let r = JsonPath::compile(bad);
        if bad == "$." {
            assert!(r.is_ok());
            continue;
        }
        match r {
            Err(JsonError::Path { path, .. }) => assert_eq!(path, bad),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

/// Regression (issue 12, item 5): `json-eval` parsed the whole payload into a tree for any
/// path. `evaluate_bytes` walks the raw payload for definite name/index paths; its result must
/// be the tree's for every path.
#[test]
fn evaluate_bytes_matches_the_tree() {
    let docs = [
        r#"{"a":{"b":[1,{"c":"x","d":null},[2,3]],"e":"\u00e9\n"},"a2":1,"dup":1,"dup":{"z":2},"n":1.50}"#,
        r#"[{"id":1,"name":"n1"},{"id":2,"name":"n2"},[],{}]"#,
        r#"{}"#,
        r#"[]"#,
        r#"{"a": [1,}"#,
        r#""s""#,
    ];
    let paths = [
        "$",
        "$.",
        "$.a",
        "$.a.b",
        "$.a.b[0]",
        "$.a.b[1].c",
        "$.a.b[1].d",
        "$.a.b[2][1]",
        "$.a.b[-1]",
        "$.a.b[-4]",
        "$.a.b[9]",
        "$.a.e",
        "$.dup",
        "$.dup.z",
        "$.n",
        "$.missing",
        "$.missing.x",
        "$.a.b.c",
        "$[0]",
        "$[1].name",
        "$[-1]",
        "$[3].x",
        "$[0].id",
        "a.b",
        "$['a']['b'][0]",
        "$.a.b[*]",
        "$..c",
        "$.a.b.length()",
        "$[*].name",
        "$['a','a2']",
    ];
    for d in docs {
        let tree = crate::json::parse(d.as_bytes());
        for p in paths {
            let path = JsonPath::compile(p).unwrap();
            let want = tree
                .as_ref()
                .map(|v| path.evaluate(v))
                .map_err(Clone::clone);
            assert_eq!(path.evaluate_bytes(d.as_bytes()), want, "{p} on {d}");
        }
    }
}

// Jayway's set / delete / renameKey, as Synapse's enrich uses them (wso2/wso2-synapse
// mediators/elementary/Target.java): every match changes; a missing last member is not created;
// a definite path through a missing member is refused.
#[test]
fn set_delete_and_rename_change_every_match() {
    let p = |s: &str| JsonPath::compile(s).unwrap();
    let mut doc = store();
    assert!(p("$.store.book[*].price").set(&mut doc, &Value::from(1)));
    assert_eq!(eval("$.store.book[*].price", &doc), "[1,1,1,1]");
    assert!(p("$.store.nothere").set(&mut doc, &Value::from(1)));
    assert_eq!(eval("$.store.nothere", &doc), "");
    assert!(!p("$.missing.deeper").set(&mut doc, &Value::Null));

    let mut doc = store();
    // Items go from the last and members before their containers, so every location holds.
    assert!(p("$..book[?(@.price > 10)]").delete(&mut doc));
    assert!(p("$.store.book[*].author").delete(&mut doc));
    assert_eq!(
        eval("$.store.book[*].title", &doc),
        r#"["Sayings of the Century","Moby Dick"]"#
    );
    assert_eq!(
        eval("$.store.book[0]", &doc),
        r#"{"category":"reference","title":"Sayings of the Century","price":8.95}"#
    );
    assert!(p("$.store.book[0,1]").delete(&mut doc));
    assert_eq!(eval("$.store.book", &doc), "[]");

    let mut doc = store();
    p("$.store.bicycle")
        .rename_key(&mut doc, "color", "colour")
        .unwrap();
    assert_eq!(
        eval("$.store.bicycle", &doc),
        r#"{"price":19.95,"colour":"red"}"#
    );
    assert!(p("$.store.bicycle")
        .rename_key(&mut doc, "color", "c")
        .is_err());
}
