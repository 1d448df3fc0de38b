//! mint's own XSLT engine against libxslt: for every stylesheet and input here, the native
//! engine must compile (or, for the constructs it leaves to libxslt, refuse) and give exactly
//! libxslt's output, namespace declarations and escaping included.

use bytes::Bytes;
use mint::xml::Document;
use mint::xmllib::{Resources, Stylesheet};
use mint::xslt::Program;

const SHEETS: &str = "../shared/bench/wso2-perf/synapse";
const REQUESTS: &str = "../shared/bench/wso2-perf/requests";

/// libxslt's output for the element `top` of `doc`, as the xslt mediator takes it (no XML
/// declaration, trimmed).
fn libxslt(sheet: &str, doc: &Document, top: u32) -> String {
    let s = Stylesheet::compile(sheet.as_bytes(), Resources::default()).expect("libxslt compiles");
    let out = s
        .transform(&doc.standalone_bytes(top), &[])
        .expect("libxslt runs");
    let text = String::from_utf8(out).unwrap();
    let mut t = text.trim_start();
    if t.starts_with("<?xml") {
        t = &t[t.find("?>").unwrap() + 2..];
    }
    t.trim().to_string()
}

/// The element a case transforms: the SOAP payload, or the root element.
fn top(doc: &Document) -> u32 {
    doc.soap_payload().unwrap_or_else(|| doc.root_element())
}

/// Runs both engines; panics with both outputs when they differ.
fn same(sheet: &str, input: &str) -> String {
    let doc = Document::parse(Bytes::from(input.to_string())).expect("input parses");
    let top = top(&doc);
    let expected = libxslt(sheet, &doc, top);
    let program = Program::compile(sheet.as_bytes())
        .unwrap_or_else(|e| panic!("native engine refused the stylesheet: {e}\n{sheet}"));
    let got = program
        .transform(&doc, top)
        .unwrap_or_else(|e| panic!("native engine fell back: {e}\n{sheet}\n{input}"));
    assert_eq!(got, expected, "\nstylesheet:\n{sheet}\ninput:\n{input}");
    got
}

/// The stylesheet inside a WSO2 local entry file, as a document of its own.
fn wso2_sheet(file: &str) -> String {
    let text = std::fs::read_to_string(format!("{SHEETS}/{file}")).unwrap();
    let doc = Document::parse(Bytes::from(text)).unwrap();
    let sheet = doc.child_elements(doc.root_element()).next().unwrap();
    String::from_utf8(doc.standalone_bytes(sheet).to_vec()).unwrap()
}

fn stylesheet(body: &str) -> String {
    format!(
        r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:m="urn:m">{body}</xsl:stylesheet>"#
    )
}

const IDENTITY: &str = r#"<xsl:template match="@* | node()"><xsl:copy><xsl:apply-templates select="@* | node()"/></xsl:copy></xsl:template>"#;

#[test]
fn wso2_benchmark_stylesheets_both_ways() {
    let reverse = wso2_sheet("xslt_transform_reverse-1.0.0.xml");
    let forward = wso2_sheet("xslt_transform-1.0.0.xml");
    for size in ["500B", "1000B", "10000B"] {
        let input = std::fs::read_to_string(format!("{REQUESTS}/{size}_buyStocks.xml")).unwrap();
        let reversed = same(&reverse, &input);
        assert!(reversed.contains("skcotSyub"), "{reversed}");
        let back = format!(
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>{reversed}</soapenv:Body></soapenv:Envelope>"#
        );
        same(&forward, &back);
    }
}

#[test]
fn identity_keeps_namespaces_comments_and_escapes() {
    let sheet = stylesheet(IDENTITY);
    same(
        &sheet,
        r#"<a xmlns="urn:d" xmlns:p="urn:p" p:x="1 &amp; &lt;2&gt; &quot;q&quot;"><!-- c --><?pi data?><p:b>t &amp; &lt; &gt; ]]&gt;</p:b><c xmlns=""><d/></c><e xmlns:q="urn:q"><q:f q:g="h"/></e></a>"#,
    );
    same(
        &sheet,
        "<a>tab\there&#13;cr\nnl <b at=\"a&#9;b&#10;c&#13;d\"/></a>",
    );
    same(
        &sheet,
        "<a>caf\u{e9} \u{4e2d} \u{1F600}<b x=\"\u{e9}\"/></a>",
    );
    same(
        &sheet,
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:u="urn:unused"><soapenv:Body><m:x xmlns:m="urn:m"><m:y soapenv:mustUnderstand="1"/></m:x></soapenv:Body></soapenv:Envelope>"#,
    );
}

#[test]
fn literal_result_elements_and_their_namespaces() {
    // A default namespace on the stylesheet, undeclared on a literal element, and prefixed.
    let sheet = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns="urn:default" xmlns:m="urn:m" xmlns:n="urn:n">
  <xsl:template match="/"><m:r a="{count(//*)}" n:b="x"><inner><xsl:for-each select="//item"><i xmlns="" pos="{position()} of {last()}"><xsl:value-of select="."/></i></xsl:for-each></inner><xsl:call-template name="t"/></m:r></xsl:template>
  <xsl:template name="t"><n:called/><plain xmlns=""/></xsl:template>
</xsl:stylesheet>"#;
    same(sheet, "<list><item>1</item><item>two</item></list>");
    let excluded = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:m="urn:m" xmlns:x="urn:x" exclude-result-prefixes="x">
  <xsl:template match="/*"><m:r><xsl:apply-templates/></m:r></xsl:template>
  <xsl:template match="x:*"><found/></xsl:template>
</xsl:stylesheet>"#;
    same(excluded, r#"<a xmlns:x="urn:x"><x:b/>text<c/></a>"#);
}

#[test]
fn instructions() {
    let sheet = stylesheet(
        r#"<xsl:output method="xml" omit-xml-declaration="yes"/>
  <xsl:template match="/order">
    <out>
      <xsl:attribute name="total"><xsl:value-of select="sum(line/@qty)"/></xsl:attribute>
      <xsl:for-each select="line">
        <xsl:choose>
          <xsl:when test="@qty &gt; 5"><big><xsl:value-of select="@sku"/></big></xsl:when>
          <xsl:when test="@qty = 0"><xsl:comment-free/></xsl:when>
          <xsl:otherwise><small n="{position()}"><xsl:value-of select="@qty div 3"/></small></xsl:otherwise>
        </xsl:choose>
        <xsl:if test="position() = last()"><xsl:text>last </xsl:text></xsl:if>
      </xsl:for-each>
      <xsl:copy-of select="note"/>
      <xsl:copy-of select="count(line)"/>
      <xsl:apply-templates select="line" mode="ids"/>
    </out>
  </xsl:template>
  <xsl:template match="line" mode="ids"><id><xsl:value-of select="concat(@sku, '-', string-length(@sku))"/></id></xsl:template>"#,
    )
    .replace("<xsl:when test=\"@qty = 0\"><xsl:comment-free/></xsl:when>", "");
    same(
        &sheet,
        r#"<order><line sku="A" qty="7"/><line sku="B" qty="2"/><line sku="C" qty="1.5"/><note xmlns:z="urn:z" z:k="v">keep <b>this</b></note></order>"#,
    );
}

#[test]
fn numbers_and_encodings_as_libxml2_writes_them() {
    let sheet = stylesheet(
        r#"<xsl:template match="/"><r a="{1 div 3}" b="{1 div 0}"><xsl:for-each select="//n"><v><xsl:value-of select=". * 1"/>|<xsl:value-of select=". div 7"/>|<xsl:value-of select="-(.)"/></v></xsl:for-each></r></xsl:template>"#,
    );
    same(
        &sheet,
        "<l><n>1</n><n>0.5</n><n>1e3</n><n>123456789.123</n><n>10000000000</n><n>0.000001</n><n>2147483647</n><n>-2147483648</n><n>x</n><n>0</n><n>3.14159265358979323</n><n>99999999999999999999</n></l>",
    );
    let utf8 = stylesheet(
        r#"<xsl:output method="xml" encoding="UTF-8"/><xsl:template match="@* | node()"><xsl:copy><xsl:apply-templates select="@* | node()"/></xsl:copy></xsl:template>"#,
    );
    same(&utf8, "<a x=\"caf\u{e9}\">\u{e9}</a>");
}

#[test]
fn attributes_made_by_instructions() {
    let sheet = stylesheet(
        r#"<xsl:template match="/*"><r a="literal" m:b="x"><xsl:attribute name="a">replaced <xsl:value-of select="@k"/></xsl:attribute><xsl:attribute name="{local-name()}-{@k}">made</xsl:attribute><xsl:copy-of select="@*"/><xsl:apply-templates select="@k"/></r></xsl:template>
  <xsl:template match="@k"><xsl:attribute name="from-k"><xsl:value-of select="."/></xsl:attribute></xsl:template>"#,
    );
    same(&sheet, r#"<top k="v" xmlns:o="urn:other" o:z="1"/>"#);
    // `//a` outranks `a` (priority 0.5 against 0), declared later or not.
    let rooted = stylesheet(
        r#"<xsl:template match="//b"><rooted/></xsl:template><xsl:template match="b"><plain/></xsl:template>"#,
    );
    same(&rooted, "<a><b/></a>");
}

#[test]
fn template_priorities_and_builtins() {
    let sheet = stylesheet(
        r#"<xsl:template match="*"><star><xsl:apply-templates/></star></xsl:template>
  <xsl:template match="m:*"><mstar><xsl:apply-templates/></mstar></xsl:template>
  <xsl:template match="m:b"><mb/></xsl:template>
  <xsl:template match="a/c"><ac/></xsl:template>
  <xsl:template match="c" priority="1"><c1/></xsl:template>
  <xsl:template match="d"><d1/></xsl:template>
  <xsl:template match="d"><d2/></xsl:template>
  <xsl:template match="text()[false()]"/>"#,
    )
    .replace(r#"<xsl:template match="text()[false()]"/>"#, "");
    same(
        &sheet,
        r#"<a xmlns:m="urn:m">x<m:b/><m:e>y</m:e><c/><d/><f>z<c/></f></a>"#,
    );
}

#[test]
fn what_the_engine_leaves_to_libxslt() {
    for body in [
        r#"<xsl:variable name="v" select="1"/><xsl:template match="/"><r/></xsl:template>"#,
        r#"<xsl:param name="p"/><xsl:template match="/"><r/></xsl:template>"#,
        r#"<xsl:template match="/"><r><xsl:for-each select="*"><xsl:sort select="."/></xsl:for-each></r></xsl:template>"#,
        r#"<xsl:template match="a[1]"><r/></xsl:template>"#,
        r#"<xsl:output standalone="yes"/><xsl:template match="/"><r/></xsl:template>"#,
        r#"<xsl:output method="text"/><xsl:template match="/"><r/></xsl:template>"#,
        r#"<xsl:import href="x.xsl"/>"#,
        r#"<xsl:key name="k" match="a" use="."/>"#,
        r#"<xsl:template match="/"><r><xsl:value-of select="current()"/></r></xsl:template>"#,
        r#"<xsl:template match="/"><r><xsl:value-of select="document('x')"/></r></xsl:template>"#,
        r#"<xsl:template match="/"><r><xsl:value-of select="get-property('x')"/></r></xsl:template>"#,
        r#"<xsl:template match="/"><r><xsl:element name="e"/></r></xsl:template>"#,
        r#"<xsl:strip-space elements="*"/>"#,
        r#"<xsl:template match="/"><r><xsl:value-of select="count(*/namespace::*)"/></r></xsl:template>"#,
        r#"<xsl:template match="/"><r><xsl:value-of select="id('x')"/></r></xsl:template>"#,
        r#"<xsl:template match="/"><r><xsl:value-of select="concat('n', 1 div 3)"/></r></xsl:template>"#,
    ] {
        assert!(
            Program::compile(stylesheet(body).as_bytes()).is_err(),
            "compiled: {body}"
        );
    }
    // At run time: a result that is not one element, an attribute after children.
    let text = Program::compile(
        stylesheet(r#"<xsl:template match="/">text only</xsl:template>"#).as_bytes(),
    )
    .unwrap();
    let doc = Document::parse(Bytes::from_static(b"<a/>")).unwrap();
    assert!(text.transform(&doc, doc.root_element()).is_err());
    let late = Program::compile(
        stylesheet(r#"<xsl:template match="/"><r><c/><xsl:attribute name="x">1</xsl:attribute></r></xsl:template>"#)
            .as_bytes(),
    )
    .unwrap();
    assert!(late.transform(&doc, doc.root_element()).is_err());
}

/// XPath as the native engine evaluates it inside a stylesheet, against libxml2's XPath (through
/// libxslt), on WSO2's payload: every expression's `xsl:value-of`, and the same as a test.
#[test]
fn xpath_inside_stylesheets_answers_as_libxml2() {
    const EXPRS: &[&str] = &[
        "count(//order)",
        "sum(//order/volume)",
        "sum(//order/price)",
        "sum(//order/price) div count(//order)",
        "//order[last()]/symbol",
        "//order[position() = 2]/buyerID",
        "//order[price > 100]/symbol",
        "//order[volume mod 2 = 0][1]/volume",
        "count(//order[symbol = 'IBM'])",
        "//order[symbol != 'IBM'][3]/symbol",
        "normalize-space('  a  b ')",
        "translate(//order[1]/symbol, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')",
        "substring('12345', 1.5, 2.6)",
        "substring('12345', 0, 3)",
        "substring-before(//order[2]/price, '.')",
        "substring-after(//order[2]/price, '.')",
        "contains(//order[3]/buyerID, 'o')",
        "starts-with(name(/*), 'm:')",
        "local-name(/*)",
        "namespace-uri(/*)",
        "string-length(//order[1]/buyerID)",
        "concat(//order[1]/symbol, '-', //order[2]/symbol)",
        "round(2.5)",
        "round(-2.5)",
        "floor(-1.5)",
        "ceiling(1.2)",
        "number('12.5') * 2",
        "number(' 7 ')",
        "number('abc')",
        "-0",
        "1 div 3",
        "2 div 3 * 3",
        "100000 * 100000",
        "0.1 + 0.2",
        "boolean(//nothing)",
        "not(//order)",
        "//order[1]/price < //order[2]/price",
        "//order/price = '14.56'",
        "count(//order/following-sibling::order)",
        "count(//symbol/ancestor::*)",
        "count(/descendant-or-self::node())",
        "count(//text()[normalize-space()])",
        "string(/)",
        "name(//*[last()])",
        "count(//order[1]/preceding::*)",
        "//order[2]/preceding-sibling::order[1]/symbol",
        "count(..)",
        "true() and false() or true()",
        "7 mod -3",
        "-7 mod 3",
    ];
    let input = std::fs::read_to_string(format!("{REQUESTS}/1000B_buyStocks.xml")).unwrap();
    let mut native = 0;
    for expr in EXPRS {
        let body = format!(
            r#"<xsl:template match="/"><r><v><xsl:value-of select="{e}"/></v><t><xsl:if test="{e}">yes</xsl:if></t></r></xsl:template>"#,
            e = expr.replace('&', "&amp;").replace('<', "&lt;")
        );
        let sheet = stylesheet(&body);
        if Program::compile(sheet.as_bytes()).is_ok() {
            same(&sheet, &input);
            native += 1;
        }
    }
    // Most of them run natively (those that write a computed number through a string
    // function are left to libxslt).
    assert!(native >= EXPRS.len() - 3, "{native} of {}", EXPRS.len());
}

/// Both engines on a whole document, as fastXSLT sends it (XML declaration, layout, the final
/// newline of indented output, all compared byte for byte).
fn same_document(sheet: &str, input: &str) {
    let doc = Document::parse(Bytes::from(input.to_string())).expect("input parses");
    let s = Stylesheet::compile(sheet.as_bytes(), Resources::default()).expect("libxslt compiles");
    let expected = s.transform(input.as_bytes(), &[]).expect("libxslt runs");
    let program = Program::compile(sheet.as_bytes())
        .unwrap_or_else(|e| panic!("native engine refused the stylesheet: {e}\n{sheet}"));
    let got = program
        .transform_document(&doc, doc.root_element())
        .unwrap_or_else(|e| panic!("native engine fell back: {e}\n{sheet}\n{input}"));
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&expected),
        "\nstylesheet:\n{sheet}\ninput:\n{input}"
    );
}

#[test]
fn whole_documents_and_indented_output() {
    for file in [
        "fastxslt_transform_reverse-1.0.0.xml",
        "fastxslt_transform-1.0.0.xml",
    ] {
        let sheet = wso2_sheet(file);
        let input = std::fs::read_to_string(format!("{REQUESTS}/1000B_buyStocks.xml")).unwrap();
        same_document(&sheet, &input);
    }
    for output in [
        r#"<xsl:output indent="yes"/>"#,
        r#"<xsl:output indent="yes" omit-xml-declaration="yes"/>"#,
        r#"<xsl:output indent="no" encoding="UTF-8"/>"#,
        r#"<xsl:output method="xml" indent="yes" version="1.0" encoding="UTF-8"/>"#,
        "",
    ] {
        let sheet = stylesheet(&format!("{output}{IDENTITY}"));
        same_document(
            &sheet,
            "<a><b><c/><!-- note --><?pi x?><d>text<e><f/></e></d></b><g>  </g><h><i/>tail</h></a>",
        );
        let deep = format!("{}{}", "<x>".repeat(40), "</x>".repeat(40));
        same_document(&sheet, &deep);
        let literal = stylesheet(&format!(
            r#"{output}<xsl:template match="/"><r><s><t/></s><u>v</u><xsl:apply-templates/></r></xsl:template>"#
        ));
        same_document(&literal, "<in><p>q</p><z/></in>");
    }
}

/// What a review against libxslt's source found, each checked against libxslt itself.
#[test]
fn review_findings() {
    // An operator between names is an expression, not a child's name.
    let div = stylesheet(
        r#"<xsl:template match="/*"><r><xsl:value-of select="amount div 100"/>|<xsl:value-of select="amount - 1"/>|<xsl:value-of select="amount mod 7"/></r></xsl:template>"#,
    );
    same(&div, "<a><amount>250</amount></a>");
    // The XSLT namespace declared in the input is copied like any other; URIs are written as
    // they are, quoted as libxml2 quotes them.
    let id = stylesheet(IDENTITY);
    same(
        &id,
        r#"<a xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:e="urn:caf&#xE9;?a=1" xmlns:q='urn:"q"'><e:b/><q:c/></a>"#,
    );
    // Priorities as C floats: 1.00000001 and 1 tie, and the later template wins.
    let tie = stylesheet(
        r#"<xsl:template match="b" priority="1.00000001"><first/></xsl:template><xsl:template match="b" priority="1"><second/></xsl:template>"#,
    );
    same(&tie, "<a><b/></a>");
    // xsl:output attributes in other namespaces mean nothing to libxslt.
    let foreign = format!(
        r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:x="urn:x"><xsl:output x:encoding="UTF-8" x:method="html"/>{IDENTITY}</xsl:stylesheet>"#
    );
    same(
        &foreign,
        "<html a=\"\u{e9}\"/>".replace("<html", "<htm").as_str(),
    );

    // Left to libxslt: CDATA in the stylesheet or the input, the children of an attribute, an
    // empty attribute through the built-in template, xmlns="" beside other declarations, a
    // processing instruction without data.
    assert!(Program::compile(
        stylesheet(r#"<xsl:template match="/"><r><![CDATA[x]]></r></xsl:template>"#).as_bytes()
    )
    .is_err());
    let falls_back = |sheet: &str, input: &str| {
        let doc = Document::parse(Bytes::from(input.to_string())).unwrap();
        let p = Program::compile(sheet.as_bytes()).unwrap();
        assert!(
            p.transform(&doc, doc.root_element()).is_err(),
            "{sheet}\n{input}"
        );
    };
    falls_back(&id, "<a>x<![CDATA[y]]>z</a>");
    falls_back(
        &stylesheet(
            r#"<xsl:template match="@*"><f><xsl:apply-templates/></f></xsl:template><xsl:template match="/*"><r><xsl:apply-templates select="@*"/></r></xsl:template>"#,
        ),
        r#"<a x="1"/>"#,
    );
    falls_back(
        &stylesheet(
            r#"<xsl:template match="/*"><r><xsl:apply-templates select="@x"/></r></xsl:template>"#,
        ),
        r#"<a x=""/>"#,
    );
    falls_back(&id, r#"<a><b xmlns="" xmlns:p="urn:p"/></a>"#);
    falls_back(&id, "<a><?pi ?></a>");
    falls_back(&id, r#"<a xmlns:e="urn:e?a=1&amp;b=2"><e:b/></a>"#);
}
