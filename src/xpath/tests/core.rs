//! Operators, the comparison matrix, number formatting and the core function library.

use super::dom::TestDom;
use super::{b, n, s};

fn nums() -> TestDom {
    TestDom::parse("<r><n>1</n><n>2</n><s>abc</s><e/><w> 7 </w></r>")
}

#[test]
fn comparison_matrix() {
    let d = nums();
    let t = |e: &str| assert!(b(&d, e), "expected true: {e}");
    let f = |e: &str| assert!(!b(&d, e), "expected false: {e}");
    // node-set vs number
    t("//n = 1");
    f("//n = 3");
    t("//n != 1");
    t("//n < 2");
    f("//n > 2");
    t("//n >= 2");
    t("1 < //n");
    f("2 < //n");
    t("//w = 7");
    // node-set vs string
    t("//n = '2'");
    t("//n != '2'");
    t("//s = 'abc'");
    f("//s != 'abc'");
    t("//e = ''");
    t("'abc' = //s");
    t("//n < '2'");
    f("//s < 'abd'");
    // the empty node-set compares false with everything but booleans
    f("//missing = ''");
    f("//missing != ''");
    f("//missing = 0");
    f("//missing != 0");
    f("//missing < 1");
    t("//missing = false()");
    f("//missing = true()");
    // node-set vs boolean
    t("//n = true()");
    t("true() = //n");
    f("//n != true()");
    f("//n > true()");
    t("//n >= true()");
    // node-set vs node-set
    t("//n = //n");
    t("//n != //n");
    f("//s != //s");
    t("//n < //n");
    t("//n > //n");
    t("//n >= //n");
    f("//s < //n");
    f("//s = //n");
    f("//n = //missing");
    f("//n != //missing");
    // atoms
    t("true() = 1");
    t("false() = 0");
    t("'1' = 1");
    t("'1.0' = 1");
    f("'1.0' = '1'");
    t("true() = 'x'");
    t("false() = ''");
    f("true() = ''");
    t("1 < '2'");
    f("'a' < 'b'");
    f("'a' >= 'a'");
    t("true() > false()");
    t("'' != 0");
    f("0 div 0 = 0 div 0");
    t("0 div 0 != 0 div 0");
    t("1 div 0 > 1000000");
    t("-1 div 0 < -1000000");
    t("0 = -0");
    // precedence and chaining
    t("1 < 2 = true()");
    t("3 > 2 > 1 = false()");
    t("1 = 1 and 2 = 2 or 1 = 2");
    f("1 = 2 or 2 = 3 and 1 = 1");
}

#[test]
fn arithmetic() {
    let d = nums();
    assert_eq!(n(&d, "5 mod 2"), 1.0);
    assert_eq!(n(&d, "5 mod -2"), 1.0);
    assert_eq!(n(&d, "-5 mod 2"), -1.0);
    assert_eq!(n(&d, "-5 mod -2"), -1.0);
    assert_eq!(n(&d, "7 div 2"), 3.5);
    assert_eq!(n(&d, "2*3"), 6.0);
    assert_eq!(n(&d, "2 * 3 + 1"), 7.0);
    assert_eq!(n(&d, "1 + 2 * 3"), 7.0);
    assert_eq!(n(&d, "(1 + 2) * 3"), 9.0);
    assert_eq!(n(&d, "1 - -1"), 2.0);
    assert_eq!(n(&d, "--1"), 1.0);
    assert_eq!(n(&d, "---1"), -1.0);
    assert_eq!(n(&d, "- '3'"), -3.0);
    assert_eq!(n(&d, "--'3'"), 3.0);
    assert_eq!(n(&d, "10 - 2 - 3"), 5.0);
    assert_eq!(n(&d, "//n[2] * //w"), 14.0);
    assert_eq!(n(&d, "1 div 0"), f64::INFINITY);
    assert!(n(&d, "0 div 0").is_nan());
    assert!(n(&d, "'x' + 1").is_nan());
    assert!(n(&d, "1 mod 0").is_nan());
    assert_eq!(n(&d, "true() + true()"), 2.0);
    // `-` inside names, `*` and operator names as element names
    let d2 = TestDom::parse("<div><a-b>3</a-b><and>4</and><mod>5</mod></div>");
    assert_eq!(n(&d2, "/div/a-b"), 3.0);
    assert_eq!(n(&d2, "/div/a-b - 1"), 2.0);
    assert_eq!(n(&d2, "div/and * div/mod"), 20.0);
    assert_eq!(n(&d2, "count(*) * 2"), 2.0);
    assert_eq!(n(&d2, "count(div/*) div 3"), 1.0);
    assert_eq!(n(&d2, "div/mod mod 3"), 2.0);
}

#[test]
fn number_formatting() {
    let d = nums();
    for (e, want) in [
        ("1", "1"),
        ("-1", "-1"),
        ("1.5", "1.5"),
        ("-1.5", "-1.5"),
        ("-0", "0"),
        ("0 * -1", "0"),
        ("0 div 0", "NaN"),
        ("1 div 0", "Infinity"),
        ("-1 div 0", "-Infinity"),
        ("1 div 3", "0.3333333333333333"),
        ("0.1 + 0.2", "0.30000000000000004"),
        ("100000000000000000000", "100000000000000000000"),
        (
            "1000000 * 1000000 * 1000000 * 1000",
            "1000000000000000000000",
        ),
        ("0.000001", "0.000001"),
        ("0.0000001", "0.0000001"),
        ("123456789012", "123456789012"),
        ("2.50", "2.5"),
        ("007", "7"),
        ("1.", "1"),
        (".5", "0.5"),
        ("count(//n)", "2"),
        ("sum(//n) div 2", "1.5"),
    ] {
        assert_eq!(s(&d, &format!("string({e})")), want, "{e}");
        assert_eq!(s(&d, e), want, "{e} (result conversion)");
    }
}

#[test]
fn number_parsing() {
    let d = nums();
    for (e, want) in [
        ("number(' 12 ')", Some(12.0)),
        ("number('1.')", Some(1.0)),
        ("number('.5')", Some(0.5)),
        ("number('-.5')", Some(-0.5)),
        ("number('-12.25')", Some(-12.25)),
        ("number('\n\t3\r')", Some(3.0)),
        ("number('+1')", None),
        ("number('1e3')", None),
        ("number('')", None),
        ("number('.')", None),
        ("number('-')", None),
        ("number('- 1')", None),
        ("number('abc')", None),
        ("number('Infinity')", None),
        ("number('1 2')", None),
        ("number(true())", Some(1.0)),
        ("number(false())", Some(0.0)),
        ("number(//w)", Some(7.0)),
        ("number(//s)", None),
        ("number(//missing)", None),
        ("number(/r/n)", Some(1.0)),
    ] {
        let got = n(&d, e);
        match want {
            Some(w) => assert_eq!(got, w, "{e}"),
            None => assert!(got.is_nan(), "{e}: {got}"),
        }
    }
}

#[test]
fn string_functions() {
    let d = nums();
    let eq = |e: &str, want: &str| assert_eq!(s(&d, e), want, "{e}");
    eq("string(//n)", "1");
    eq("string(/)", "12abc 7 ");
    eq("string()", "12abc 7 ");
    eq("string(//missing)", "");
    eq("string(true())", "true");
    eq("concat('a', 1, true(), //s)", "a1trueabc");
    eq("concat('a', 'b', 'c', 'd')", "abcd");
    assert!(b(&d, "starts-with('abc', 'ab')"));
    assert!(b(&d, "starts-with('abc', '')"));
    assert!(!b(&d, "starts-with('abc', 'b')"));
    assert!(b(&d, "contains('abc', 'bc')"));
    assert!(b(&d, "contains(//s, 'b')"));
    assert!(!b(&d, "contains('abc', 'x')"));
    eq("substring-before('1999/04/01', '/')", "1999");
    eq("substring-after('1999/04/01', '/')", "04/01");
    eq("substring-before('abc', 'x')", "");
    eq("substring-after('abc', 'x')", "");
    eq("substring-before('abc', '')", "");
    eq("substring-after('abc', '')", "abc");
    // the examples of spec §4.2
    eq("substring('12345', 2, 3)", "234");
    eq("substring('12345', 2)", "2345");
    eq("substring('12345', 1.5, 2.6)", "234");
    eq("substring('12345', 0, 3)", "12");
    eq("substring('12345', 0 div 0, 3)", "");
    eq("substring('12345', 1, 0 div 0)", "");
    eq("substring('12345', -42, 1 div 0)", "12345");
    eq("substring('12345', -1 div 0, 1 div 0)", "");
    eq("substring('12345', 5, 10)", "5");
    eq("substring('12345', 6)", "");
    eq("substring('héllo wörld', 2, 4)", "éllo");
    eq("string-length('héllo')", "5");
    eq("string-length('')", "0");
    eq("string-length(//s)", "3");
    eq("normalize-space('  a \t b\n\n c  ')", "a b c");
    eq("normalize-space('')", "");
    eq("normalize-space(//w)", "7");
    eq("translate('bar', 'abc', 'ABC')", "BAr");
    eq("translate('--aaa--', 'abc-', 'ABC')", "AAA");
    eq("translate('aab', 'aa', 'xy')", "xxb");
    eq("translate('hello', '', 'x')", "hello");
    eq("translate('añb', 'ñ', 'n')", "anb");
    // Jaxen extensions exposed by Synapse
    assert!(b(&d, "ends-with('abc', 'bc')"));
    assert!(!b(&d, "ends-with('abc', 'b')"));
    eq("upper-case('aBc')", "ABC");
    eq("lower-case('aBc', 'en')", "abc");
}

#[test]
fn string_functions_on_context_node() {
    let d = TestDom::parse("<r><v>  x  y </v></r>");
    let v = d.find("v");
    let x = |e: &str| {
        crate::xpath::compile(e, &[])
            .unwrap()
            .evaluate_string(&d, &super::Mock::default(), v)
            .unwrap()
    };
    assert_eq!(x("string()"), "  x  y ");
    assert_eq!(x("string-length()"), "7");
    assert_eq!(x("normalize-space()"), "x y");
    assert_eq!(x("local-name()"), "v");
    assert_eq!(x("name()"), "v");
    assert_eq!(x("namespace-uri()"), "");
    assert_eq!(x("number()"), "NaN");
    assert_eq!(x("."), "  x  y ");
    assert_eq!(x("position()"), "1");
    assert_eq!(x("last()"), "1");
}

#[test]
fn boolean_and_number_functions() {
    let d = nums();
    let t = |e: &str| assert!(b(&d, e), "expected true: {e}");
    let f = |e: &str| assert!(!b(&d, e), "expected false: {e}");
    f("boolean('')");
    t("boolean('0')");
    t("boolean(' ')");
    f("boolean(0)");
    f("boolean(-0)");
    f("boolean(0 div 0)");
    t("boolean(-1)");
    t("boolean(//n)");
    f("boolean(//missing)");
    t("boolean(//e)");
    f("not(1)");
    t("not(//missing)");
    t("true()");
    f("false()");
    let num = |e: &str| n(&d, e);
    assert_eq!(num("sum(//n)"), 3.0);
    assert!(num("sum(//*)").is_nan());
    assert_eq!(num("sum(//missing)"), 0.0);
    assert_eq!(num("count(//n | //s)"), 3.0);
    assert_eq!(num("floor(2.5)"), 2.0);
    assert_eq!(num("floor(-2.5)"), -3.0);
    assert_eq!(num("ceiling(2.1)"), 3.0);
    assert_eq!(num("ceiling(-2.1)"), -2.0);
    assert_eq!(s(&d, "ceiling(-0.5)"), "0");
    assert_eq!(num("1 div ceiling(-0.5)"), f64::NEG_INFINITY);
    assert_eq!(num("round(2.5)"), 3.0);
    assert_eq!(num("round(2.4999)"), 2.0);
    assert_eq!(num("round(-2.5)"), -2.0);
    assert_eq!(num("round(-2.6)"), -3.0);
    assert_eq!(num("1 div round(-0.4)"), f64::NEG_INFINITY);
    assert_eq!(num("1 div round(-0.5)"), f64::NEG_INFINITY);
    assert_eq!(num("round(0.49999999999999994)"), 0.0);
    assert_eq!(num("round(1 div 0)"), f64::INFINITY);
    assert!(num("round(0 div 0)").is_nan());
    assert!(num("floor('x')").is_nan());
}

#[test]
fn name_functions() {
    let d = TestDom::parse(
        r#"<r xmlns:x="urn:x" xmlns="urn:d"><x:item x:a="1" b="2"/><?pi data?><!--c--></r>"#,
    );
    let eq = |e: &str, want: &str| assert_eq!(s(&d, e), want, "{e}");
    eq("local-name(/*)", "r");
    eq("namespace-uri(/*)", "urn:d");
    eq("name(/*)", "r");
    eq("local-name(//x:item)", "item");
    eq("name(//x:item)", "x:item");
    eq("namespace-uri(//x:item)", "urn:x");
    eq("name(//x:item/@x:a)", "x:a");
    eq("local-name(//x:item/@*[2])", "b");
    eq("namespace-uri(//x:item/@b)", "");
    eq("local-name(//missing)", "");
    eq("name(/)", "");
    eq("local-name(/*/processing-instruction())", "pi");
    eq("name(/*/comment())", "");
    eq("local-name(/*/namespace::x)", "x");
    eq("string(/*/namespace::x)", "urn:x");
    eq("name(//x:item | /*)", "r");
    // The artifact's default namespace does not apply to unprefixed names.
    eq("count(/r)", "0");
    eq("count(/*[local-name() = 'r'])", "1");
}

#[test]
fn lang_and_id() {
    let d = TestDom::parse(
        r#"<r xml:lang="en-US"><p/><q xml:lang="de"><z xml:id="k1"/></q><z xml:id="k2"/></r>"#,
    );
    let at = |name: &str, e: &str| {
        crate::xpath::compile(e, &[])
            .unwrap()
            .evaluate_boolean(&d, &super::Mock::default(), d.find(name))
            .unwrap()
    };
    assert!(at("p", "lang('en')"));
    assert!(at("p", "lang('EN')"));
    assert!(at("p", "lang('en-us')"));
    assert!(!at("p", "lang('e')"));
    assert!(!at("p", "lang('en-US-x')"));
    assert!(at("q", "lang('de')"));
    assert!(!at("q", "lang('en')"));
    assert_eq!(n(&d, "count(id('k1 k2 nope'))"), 2.0);
    assert_eq!(n(&d, "count(id('nope'))"), 0.0);
    assert_eq!(s(&d, "local-name(id('k2')/..)"), "r");
}
