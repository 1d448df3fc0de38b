use crate::json::{json_to_xml, xml_to_json, JsonError, JsonSettings};

fn x2j(xml: &str) -> String {
    xml_to_json(xml.as_bytes(), &JsonSettings::default()).unwrap()
}

fn x2j_with(xml: &str, s: &JsonSettings) -> String {
    xml_to_json(xml.as_bytes(), s).unwrap()
}

fn j2x(json: &str) -> String {
    json_to_xml(json.as_bytes(), &JsonSettings::default()).unwrap()
}

fn pis() -> JsonSettings {
    JsonSettings {
        xml_out_multiple_pi: true,
        ..JsonSettings::default()
    }
}

// ---- compat: mi_json_XMLToJsonTestCase (messageType=application/json + respond) ----

#[test]
fn compat_xml_to_json_simple_object() {
    let body = "<location>\n               <name>Bermuda Triangle</name>\n               <n>25.0000</n>\n               <w>71.0000</w>\n            </location>";
    assert_eq!(
        x2j(body),
        r#"{"location":{"name":"Bermuda Triangle","n":25.0000,"w":71.0000}}"#
    );
}

#[test]
fn compat_xml_to_json_repeated_elements_become_array() {
    let body = "<coordinates>\n    <location>\n        <name>Bermuda Triangle</name>\n        <n>25.0000</n>\n        <w>71.0000</w>\n    </location>\n    <location>\n        <name>Eiffel Tower</name>\n        <n>48.8582</n>\n        <e>2.2945</e>\n    </location>\n </coordinates>";
    let out = x2j(body);
    assert!(out.starts_with(r#"{"coordinates":{"location":[{"#), "{out}");
    assert_eq!(
        out,
        r#"{"coordinates":{"location":[{"name":"Bermuda Triangle","n":25.0000,"w":71.0000},{"name":"Eiffel Tower","n":48.8582,"e":2.2945}]}}"#
    );
}

#[test]
fn compat_xml_to_json_attribute() {
    let body = "<location id=\"1\">\n               <name>Bermuda Triangle</name>\n               <n>25.0000</n>\n               <w>71.0000</w>\n            </location>";
    assert_eq!(
        x2j(body),
        r#"{"location":{"@id":"1","name":"Bermuda Triangle","n":25.0000,"w":71.0000}}"#
    );
}

#[test]
fn compat_xml_to_json_text_next_to_attribute() {
    assert_eq!(
        x2j("<location id=\"1\">Bermuda Triangle</location>"),
        r#"{"location":{"@id":"1","$":"Bermuda Triangle"}}"#
    );
}

#[test]
fn compat_xml_to_json_empty_element_is_null() {
    assert_eq!(
        x2j("<location>\n<name>Bermuda Triangle</name>\n<description></description>\n</location>"),
        r#"{"location":{"name":"Bermuda Triangle","description":null}}"#
    );
}

#[test]
fn compat_payloadfactory_literal_false_xml_arg_to_json() {
    assert_eq!(x2j("<hello/>"), r#"{"hello":null}"#);
}

#[test]
fn compat_transforming_content_types_json_to_xml() {
    let backend = r#"{"appointmentNumber": 1, "doctor": {"name": "thomas collins", "hospital": "grand oak community hospital", "category": "surgery", "availability": "9.00 a.m - 11.00 a.m", "fee": 7000}, "patient": {"name": "John Doe", "dob": "1940-03-19", "ssn": "234-23-525", "address": "California", "phone": "8770586755", "email": "johndoe@gmail.com"}, "fee": 7000, "confirmed": false, "appointmentDate": "2025-04-02"}"#;
    let xml = j2x(backend);
    for want in [
        "<jsonObject>",
        "<appointmentNumber>1</appointmentNumber>",
        "<name>thomas collins</name>",
        "<confirmed>false</confirmed>",
        "<appointmentDate>2025-04-02</appointmentDate>",
    ] {
        assert!(xml.contains(want), "{want} not in {xml}");
    }
    assert_eq!(
        j2x(r#"{"status": "Appointment is successfully removed"}"#),
        "<jsonObject><status>Appointment is successfully removed</status></jsonObject>"
    );
}

// ---- JSON → XML: WSO2's documented examples ----

#[test]
fn json_to_xml_documented_examples() {
    let cases = [
        (r#"{"object":null}"#, "<jsonObject><object/></jsonObject>"),
        (r#"{"object":{}}"#, "<jsonObject><object/></jsonObject>"),
        (r#"{"object":""}"#, "<jsonObject><object/></jsonObject>"),
        ("[]", "<jsonArray/>"),
        ("{}", "<jsonObject/>"),
        (
            r#"{"array":[1,2]}"#,
            "<jsonObject><array>1</array><array>2</array></jsonObject>",
        ),
        (r#"{"array":[]}"#, "<jsonObject></jsonObject>"),
        (
            "[1,2]",
            "<jsonArray><jsonElement>1</jsonElement><jsonElement>2</jsonElement></jsonArray>",
        ),
        (
            "[1, []]",
            "<jsonArray><jsonElement>1</jsonElement><jsonElement><jsonArray/></jsonElement></jsonArray>",
        ),
        (
            r#"{"a":{"b":{"c":"d"}}}"#,
            "<jsonObject><a><b><c>d</c></b></a></jsonObject>",
        ),
        // Number text is kept, except that serde_json writes exponents as `e+N` (WSO2: as sent).
        (
            r#"{"n":25.0000,"i":-3,"e":1E400,"t":true,"f":false}"#,
            "<jsonObject><n>25.0000</n><i>-3</i><e>1e+400</e><t>true</t><f>false</f></jsonObject>",
        ),
    ];
    for (json, xml) in cases {
        assert_eq!(j2x(json), xml, "{json}");
    }
}

#[test]
fn json_to_xml_with_multiple_pis() {
    let s = pis();
    let cases = [
        ("[]", "<jsonArray><?xml-multiple jsonElement?></jsonArray>"),
        (
            r#"{"array":[1,2]}"#,
            "<jsonObject><?xml-multiple array?><array>1</array><array>2</array></jsonObject>",
        ),
        (
            r#"{"array":[]}"#,
            "<jsonObject><?xml-multiple array?></jsonObject>",
        ),
        (
            "[1,2]",
            "<jsonArray><?xml-multiple jsonElement?><jsonElement>1</jsonElement><jsonElement>2</jsonElement></jsonArray>",
        ),
    ];
    for (json, xml) in cases {
        assert_eq!(json_to_xml(json.as_bytes(), &s).unwrap(), xml, "{json}");
    }
}

#[test]
fn json_to_xml_special_keys() {
    assert_eq!(
        j2x(r#"{"$ref":"x","12X12":1,"abc def":2,"a:b":3}"#),
        "<jsonObject><_JsonReader_PS_ref>x</_JsonReader_PS_ref><_JsonReader_PD_12X12>1</_JsonReader_PD_12X12><abc_JsonReader_32_def>2</abc_JsonReader_32_def><a_JsonReader_58_b>3</a_JsonReader_58_b></jsonObject>"
    );
}

#[test]
fn json_to_xml_attributes_text_and_escaping() {
    assert_eq!(
        j2x(r#"{"a":{"@id":"1","@q":"say \"hi\"","$":"text"},"t":"a<b & c> \"d\"\r\n"}"#),
        "<jsonObject><a id=\"1\" q=\"say &quot;hi&quot;\">text</a><t>a&lt;b &amp; c&gt; \"d\"&#13;\n</t></jsonObject>"
    );
}

#[test]
fn json_to_xml_output_is_well_formed_for_mint() {
    let xml = j2x(r#"{"k y":[{"$":"v","@a b":"1"}],"x":[[1,[2]],{}],"u":"é\u2028"}"#);
    let doc = crate::xml::Document::parse(bytes::Bytes::from(xml.clone()));
    assert!(doc.is_ok(), "{xml}: {doc:?}");
}

#[test]
fn json_to_xml_errors() {
    let s = JsonSettings::default();
    match json_to_xml(b"{\n  \"a\": [1,\n}", &s) {
        Err(JsonError::Syntax { line, col, .. }) => assert_eq!((line, col), (3, 1)),
        other => panic!("{other:?}"),
    }
    assert_eq!(json_to_xml(b"\"str\"", &s), Err(JsonError::NotContainer));
    assert_eq!(json_to_xml(b"42", &s), Err(JsonError::NotContainer));
    assert_eq!(json_to_xml(br#"{"":1}"#, &s), Err(JsonError::EmptyKey));
    assert_eq!(
        json_to_xml(br#"{"a":"\u0001"}"#, &s),
        Err(JsonError::InvalidXmlChar(1))
    );
}

// ---- XML → JSON rules ----

#[test]
fn xml_to_json_primitives() {
    let cases = [
        ("<a>true</a>", r#"{"a":true}"#),
        ("<a>false</a>", r#"{"a":false}"#),
        ("<a>null</a>", r#"{"a":null}"#),
        ("<a>1e5</a>", r#"{"a":1E+5}"#),
        ("<a>-0</a>", r#"{"a":0}"#),
        ("<a>007</a>", r#"{"a":"007"}"#),
        ("<a>1.</a>", r#"{"a":"1."}"#),
        ("<a> 5 </a>", r#"{"a":" 5 "}"#),
        ("<a>TRUE</a>", r#"{"a":"TRUE"}"#),
        ("<a>   </a>", r#"{"a":null}"#),
        ("<a/>", r#"{"a":null}"#),
        ("<a><![CDATA[<x> & y]]></a>", r#"{"a":"<x> & y"}"#),
        ("<a>x<!-- c -->y</a>", r#"{"a":"xy"}"#),
        ("<a>l1\nl2 \"q\" \\ \t</a>", r#"{"a":"l1\nl2 \"q\" \\ \t"}"#),
        ("<a n=\"5\">6</a>", r#"{"a":{"@n":"5","$":6}}"#),
        ("<a n=\"5\"/>", r#"{"a":{"@n":"5"}}"#),
    ];
    for (xml, json) in cases {
        assert_eq!(x2j(xml), json, "{xml}");
    }
}

#[test]
fn xml_to_json_arrays() {
    let cases = [
        ("<r><a>1</a></r>", r#"{"r":{"a":1}}"#),
        (
            "<r><a>1</a><a>2</a><b/></r>",
            r#"{"r":{"a":[1,2],"b":null}}"#,
        ),
        (
            "<r><a>1</a><b>2</b><a>3</a></r>",
            r#"{"r":{"a":1,"b":2,"a":3}}"#,
        ),
        ("<r><?xml-multiple a?><a>1</a></r>", r#"{"r":{"a":[1]}}"#),
        ("<r><?xml-multiple a?></r>", r#"{"r":{"a":[]}}"#),
        (
            "<r><?xml-multiple?><a>1</a><b>2</b></r>",
            r#"{"r":{"a":[1],"b":2}}"#,
        ),
        (
            "<r><?xml-multiple a?><a>1</a><a>2</a><b>3</b></r>",
            r#"{"r":{"a":[1,2],"b":3}}"#,
        ),
    ];
    for (xml, json) in cases {
        assert_eq!(x2j(xml), json, "{xml}");
    }
}

#[test]
fn xml_to_json_wrappers_are_stripped() {
    let cases = [
        ("<jsonObject><a>1</a><b>x</b></jsonObject>", r#"{"a":1,"b":"x"}"#),
        (
            "<jsonArray><jsonElement>1</jsonElement><jsonElement>2</jsonElement></jsonArray>",
            "[1,2]",
        ),
        (
            "<jsonArray><?xml-multiple jsonElement?><jsonElement><a>1</a></jsonElement></jsonArray>",
            r#"[{"a":1}]"#,
        ),
        // WSO2 unwraps a one-element anonymous array without the PI.
        (
            "<jsonArray><jsonElement><a>1</a></jsonElement></jsonArray>",
            r#"{"a":1}"#,
        ),
        (
            "<r><jsonArray><jsonElement>1</jsonElement><jsonElement>2</jsonElement></jsonArray></r>",
            r#"{"r":[1,2]}"#,
        ),
        ("<jsonObject/>", "null"),
    ];
    for (xml, json) in cases {
        assert_eq!(x2j(xml), json, "{xml}");
    }
}

#[test]
fn xml_to_json_namespaces_dropped() {
    let xml = r#"<ns:order xmlns:ns="urn:o" xmlns="urn:d" ns:id="7"><ns:item>a</ns:item><item>b</item><q:x xmlns:q="urn:q" q:y="1"/></ns:order>"#;
    assert_eq!(
        x2j(xml),
        r#"{"order":{"@id":"7","item":["a","b"],"x":{"@y":"1"}}}"#
    );
}

#[test]
fn xml_to_json_special_names_decoded() {
    assert_eq!(
        x2j("<jsonObject><_JsonReader_PS_ref>x</_JsonReader_PS_ref><_JsonReader_PD_12X>1</_JsonReader_PD_12X><a_JsonReader_32_b>2</a_JsonReader_32_b></jsonObject>"),
        r#"{"$ref":"x","12X":1,"a b":2}"#
    );
}

#[test]
fn xml_to_json_mixed_content_refused() {
    let err = xml_to_json(b"<a>text<b/></a>", &JsonSettings::default());
    assert_eq!(
        err,
        Err(JsonError::MixedContent {
            element: "a".to_string()
        })
    );
    assert!(matches!(
        xml_to_json(b"<a><b></a>", &JsonSettings::default()),
        Err(JsonError::Xml(_))
    ));
}

#[test]
fn xml_to_json_settings() {
    let no_prim = JsonSettings {
        auto_primitive: false,
        ..JsonSettings::default()
    };
    assert_eq!(
        x2j_with("<r><n>25.0000</n><t>true</t></r>", &no_prim),
        r#"{"r":{"n":"25.0000","t":"true"}}"#
    );
    let no_array = JsonSettings {
        auto_array: false,
        ..JsonSettings::default()
    };
    assert_eq!(
        x2j_with("<r><a>1</a><a>2</a></r>", &no_array),
        r#"{"r":{"a":1,"a":2}}"#
    );
    assert_eq!(
        x2j_with("<r><?xml-multiple a?><a>1</a><a>2</a></r>", &no_array),
        r#"{"r":{"a":[1,2]}}"#
    );
    let no_pi = JsonSettings {
        multiple_pi: false,
        ..JsonSettings::default()
    };
    assert_eq!(
        x2j_with("<r><?xml-multiple a?><a>1</a></r>", &no_pi),
        r#"{"r":{"a":1}}"#
    );
    let empty_str = JsonSettings {
        empty_as_null: false,
        ..JsonSettings::default()
    };
    assert_eq!(x2j_with("<r><a/></r>", &empty_str), r#"{"r":{"a":""}}"#);
    let re = JsonSettings::default()
        .with_disable_auto_primitive_regex("[0-9]{10}")
        .unwrap();
    assert_eq!(
        x2j_with("<r><phone>8770586755</phone><n>12</n><b>true</b></r>", &re),
        r#"{"r":{"phone":"8770586755","n":12,"b":true}}"#
    );
    let nil =
        r#"<r xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><a xsi:nil="true"/><b/></r>"#;
    assert_eq!(x2j(nil), r#"{"r":{"a":{"@nil":"true"},"b":null}}"#);
    let with_nil = JsonSettings {
        xml_nil: true,
        ..JsonSettings::default()
    };
    assert_eq!(x2j_with(nil, &with_nil), r#"{"r":{"a":null,"b":""}}"#);
}

// ---- round trips ----

fn j2x2j(json: &str, s: &JsonSettings) -> String {
    let xml = json_to_xml(json.as_bytes(), s).unwrap();
    xml_to_json(xml.as_bytes(), s).unwrap()
}

#[test]
fn round_trip_json_xml_json() {
    let s = JsonSettings::default();
    let same = [
        r#"{"a":1,"b":"x","c":true,"d":null,"e":{"f":[1,2,3],"g":{"h":25.0000}}}"#,
        r#"{"$ref":"x","12X12":2,"a b":3,"ü":"é"}"#,
        r#"{"a":{"@id":"1","$":"text"}}"#,
        r#"{"s":"line\nbreak \"quoted\" <tag> & \\"}"#,
        "[1,2]",
        r#"[{"a":1},{"a":2}]"#,
    ];
    for json in same {
        assert_eq!(j2x2j(json, &s), json);
    }
    // WSO2's lossy spots: one-element arrays, strings that look like numbers, empty values.
    assert_eq!(j2x2j(r#"{"one":[1]}"#, &s), r#"{"one":1}"#);
    assert_eq!(j2x2j(r#"{"none":[],"x":1}"#, &s), r#"{"x":1}"#);
    assert_eq!(
        j2x2j(r#"{"zip":"01234","n":"12"}"#, &s),
        r#"{"zip":"01234","n":12}"#
    );
    assert_eq!(j2x2j(r#"{"e":"","o":{}}"#, &s), r#"{"e":null,"o":null}"#);
    assert_eq!(j2x2j(r#"[{"a":1}]"#, &s), r#"{"a":1}"#);
    // With the builder's PIs, arrays of 0 and 1 items survive.
    let p = pis();
    assert_eq!(
        j2x2j(r#"{"one":[1],"none":[]}"#, &p),
        r#"{"one":[1],"none":[]}"#
    );
    assert_eq!(j2x2j(r#"[{"a":[1]}]"#, &p), r#"[{"a":[1]}]"#);
}

#[test]
fn round_trip_xml_json_xml() {
    let json = x2j("<order><id>1</id><item>a</item><item>b</item><note/></order>");
    assert_eq!(json, r#"{"order":{"id":1,"item":["a","b"],"note":null}}"#);
    assert_eq!(
        j2x(&json),
        "<jsonObject><order><id>1</id><item>a</item><item>b</item><note/></order></jsonObject>"
    );
    let xml = "<jsonObject><a id=\"1\">t</a><b><c>x</c></b></jsonObject>";
    assert_eq!(j2x(&x2j(xml)), xml);
}

// ---- the streaming converter against the tree ----

/// Regression (issue 12, item 5): JSON → XML built the whole JSON tree first (about 100× the
/// body in memory). `json_to_xml` now writes while reading; its output must stay exactly that
/// of the tree-based `value_to_xml`, errors included.
#[test]
fn streaming_json_to_xml_matches_the_tree() {
    use super::tree_to_xml::value_to_xml;
    use crate::json::parse;
    let check = |json: &str| {
        for s in [JsonSettings::default(), pis()] {
            let tree = parse(json.as_bytes()).and_then(|v| value_to_xml(&v, &s));
            let streamed = json_to_xml(json.as_bytes(), &s);
            assert_eq!(streamed, tree, "{json}");
        }
    };
    for json in [
        r#"{"a":1}"#,
        r#"[]"#,
        r#"[[]]"#,
        r#"[[],[[1]],{},{"a":[]},null,"",0,-0.0e+5,true,false]"#,
        r#"{"a":[1,2,[3,[4,[]]]],"b":{"c":{}},"d":null,"e":"","f":"x&<>\r\n\t\"y"}"#,
        r#"{"@id":"1","$":"text","@n":2,"@o":{"x":1},"$x":3,"@":4,"c":[{"@k":"v","$":"t"}]}"#,
        r#"{"$":{"a":1},"b":2}"#,
        r#"{"a":1,"b":2,"a":3}"#,
        r#"{"k y":[{"$":"v","@a b":"1"}],"x":[[1,[2]],{}],"u":"é\u2028\ud83d\ude00"}"#,
        r#"{"1a":1,"$b":2,"":3}"#,
        r#"{"a":"\u0001"}"#,
        r#"{"a":[1,{"b":"\u0002"}]}"#,
        r#"{"a": [1,}"#,
        "{\n  \"a\": [1,\n}",
        r#""str""#,
        "42",
        " \n{ \"a\" : [ 1 , 2 ] } \n",
        r#"{"a":1} x"#,
        "",
        r#"{"n":12345678901234567890123,"m":1.5E-300,"o":-1}"#,
        r#"[-0,0.5,1.0E+2,1e-0,-12.50,1E400,0e0]"#,
    ] {
        check(json);
    }
    // Many keys (the member index), repeated ones among them.
    let mut many = String::from("{");
    for i in 0..100 {
        many.push_str(&format!("\"k{}\":{i},", i % 40));
    }
    many.push_str("\"z\":[]}");
    check(&many);
    let payload = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/wso2-perf/100000B_JSONPayload.json"
    ))
    .unwrap();
    check(&payload);
}
