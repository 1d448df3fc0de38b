//! The compiler on artifacts: each mediator read from its element into its compiled form, and the
//! problems reported at their positions (the parser only locates the mediators; `mediators/`
//! reads them).

use std::path::Path;

use crate::diag::{Diagnostic, Severity};
use crate::mediators::header::Target;
use crate::mediators::log::{Category, Level};
use crate::mediators::property::Action;
use crate::mediators::{filter, Mediator};
use crate::message::{PropType, Scope, Value};
use crate::program::Program;
use crate::synapse::model::Artifacts;
use crate::synapse::parse::{parse_artifact_file, ArtifactDir};

/// Compiles whole artifact files (named `t0.xml`, `t1.xml`, …) with a registry that is empty.
fn compile(files: &[(ArtifactDir, &str)]) -> (Program, Vec<Diagnostic>) {
    let mut artifacts = Artifacts::default();
    let mut problems = Vec::new();
    for (i, (dir, text)) in files.iter().enumerate() {
        let path = format!("t{i}.xml");
        parse_artifact_file(Path::new(&path), text, *dir, &mut artifacts, &mut problems);
    }
    let home = crate::config::Home::new("/nonexistent/mint-test-home".into());
    let registry = crate::registry::Registry::unopened(
        crate::registry::config::RegistryConfig::defaults(&home),
    );
    let program = super::compile(artifacts, &registry, &mut problems);
    (program, problems)
}

fn of(problems: &[Diagnostic], severity: Severity) -> Vec<String> {
    problems
        .iter()
        .filter(|d| d.severity == severity)
        .map(|d| d.to_string())
        .collect()
}

fn sequence<'p>(program: &'p Program, name: &str) -> &'p [Mediator] {
    &program.sequences[program.named_sequences[name]].mediators
}

const SUPPORT: [(ArtifactDir, &str); 3] = [
    (
        ArtifactDir::Sequences,
        r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="other"><drop/></sequence>"#,
    ),
    (
        ArtifactDir::Sequences,
        r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="r"><respond/></sequence>"#,
    ),
    (
        ArtifactDir::Endpoints,
        r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="EP"><address uri="http://127.0.0.1:9/"/></endpoint>"#,
    ),
];

const SEQUENCE: &str = r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="S">
    <log level="custom" category="debug" separator="|">
        <property name="a" value="x &amp; y"/>
        <property xmlns:m="urn:m" name="b" expression="//m:sym"/>
    </log>
    <property name="P1" value="1" scope="AXIS2" type="integer"/>
    <property name="P2" scope="transport" action="remove"/>
    <property name="P3"><inline xmlns="">v</inline></property>
    <header xmlns:wsse="urn:wsse" name="wsse:Security" action="remove"/>
    <header name="X-H" scope="transport" expression="$ctx:v"/>
    <filter xpath="true()"><then><drop/></then></filter>
    <call blocking="true"><endpoint key="EP"/></call>
    <sequence key="other"/>
    <send receive="r"><endpoint><address uri="http://127.0.0.1:9/svc"/></endpoint></send>
    <propertyGroup><property name="G" value="g"/></propertyGroup>
    <respond/>
</sequence>"#;

#[test]
fn every_mediator_is_read_into_its_compiled_form() {
    let mut files = SUPPORT.to_vec();
    files.push((ArtifactDir::Sequences, SEQUENCE));
    let (program, problems) = compile(&files);
    assert_eq!(of(&problems, Severity::Error), Vec::<String>::new());
    assert_eq!(of(&problems, Severity::Warning), Vec::<String>::new());
    let m = sequence(&program, "S");
    assert_eq!(m.len(), 12);

    let Mediator::Log(log) = &m[0] else {
        panic!("{:?}", m[0])
    };
    assert_eq!((log.level, log.category), (Level::Custom, Category::Debug));
    assert_eq!(log.separator, "|");
    assert!(matches!(&log.props[0], (n, Value::Literal(v)) if n == "a" && v == "x & y"));
    assert!(
        matches!(&log.props[1], (n, Value::XPath(x)) if n == "b" && x.source() == "//m:sym"),
        "the namespace in scope on the property is bound: {:?}",
        log.props[1]
    );

    let Mediator::Property(p1) = &m[1] else {
        panic!("{:?}", m[1])
    };
    assert_eq!((p1.name.as_str(), p1.scope), ("P1", Scope::Axis2));
    assert!(
        matches!(&p1.action, Action::Set { value: Value::Literal(v), ty: PropType::Integer } if v == "1")
    );
    assert!(matches!(
        &m[2],
        Mediator::Property(p) if p.scope == Scope::Transport && matches!(p.action, Action::Remove)
    ));
    assert!(matches!(
        &m[3],
        Mediator::Property(p) if matches!(&p.action, Action::Set { value: Value::Xml(x), .. } if x.contains("<inline"))
    ));
    assert!(matches!(
        &m[4],
        Mediator::Header(h) if h.value.is_none()
            && matches!(&h.target, Target::Soap { ns, prefix, local } if ns == "urn:wsse" && prefix == "wsse" && local == "Security")
    ));
    assert!(matches!(
        &m[5],
        Mediator::Header(h) if matches!(&h.target, Target::Transport(n) if n == "x-h")
            && matches!(&h.value, Some(Value::Property { scope: Scope::Default, name }) if name == "v")
    ));
    assert!(matches!(
        &m[6],
        Mediator::Filter(f) if matches!(f.cond, filter::Cond::XPath(_)) && matches!(f.then[..], [Mediator::Drop(_)]) && f.otherwise.is_empty()
    ));
    let ep = program.named_endpoints["EP"];
    assert!(matches!(&m[7], Mediator::Call(c) if c.endpoint == Some(ep)));
    let other = program.named_sequences["other"];
    assert!(
        matches!(&m[8], Mediator::Sequence(crate::mediators::sequence::Sequence::Named(s)) if *s == other)
    );
    let r = program.named_sequences["r"];
    assert!(matches!(
        &m[9],
        Mediator::Send(s) if matches!(s.receive.as_deref(), Some(crate::mediators::sequence::Sequence::Named(x)) if *x == r) && s.endpoint.is_some_and(|e| program.endpoints[e].name.is_empty() || e != ep)
    ));
    assert!(matches!(&m[10], Mediator::PropertyGroup(g) if g.0.len() == 1));
    assert!(matches!(&m[11], Mediator::Respond(_)));
}

#[test]
fn mediator_problems_are_reported_where_they_are_written() {
    let (program, problems) = compile(&[(
        ArtifactDir::Sequences,
        r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="S" trace="disable">
    <description>ignored</description>
    <property name="p"/>
    <property name="q" value="1" expression="$ctx:x"/>
    <property name="r" value="1" scope="weird"/>
    <property name="s" value="1" group="x"/>
    <sequence/>
    <header name="u:H" value="1"/>
    <log level="loud"><property name="l"/></log>
    <class name="com.example.Mediator"/>
</sequence>"#,
    )]);
    assert_eq!(
        of(&problems, Severity::Error),
        [
            "t0.xml:3:5: property 'p' has no value, expression or inline XML",
            "t0.xml:4:5: <property> has both a value and an expression attribute",
            "t0.xml:5:34: invalid property scope 'weird' (expected default, transport, axis2, axis2-client, operation, registry, system, env, trace, analytics)",
            "t0.xml:6:34: attribute 'group' must be a number, found 'x'",
            "t0.xml:7:5: <sequence> used as a mediator needs a key attribute",
            "t0.xml:8:13: namespace prefix 'u' of header name 'u:H' is not declared",
            "t0.xml:9:10: invalid level 'loud' on <log> (expected simple, headers, full, custom)",
            "t0.xml:9:23: log property 'l' has no value, expression or inline XML",
        ]
    );
    assert_eq!(
        of(&problems, Severity::Warning),
        ["t0.xml:10:5: warning: mediator <class> is not supported yet"]
    );
    // The valid-but-flagged ones are kept (a group error keeps the property), broken ones
    // dropped; an unsupported mediator stays, to fault when it runs.
    let m = sequence(&program, "S");
    assert_eq!(m.len(), 3, "{m:?}");
    assert!(matches!(&m[2], Mediator::Unsupported { name, .. } if name == "class"));
}

#[test]
fn call_reads_its_source_and_target() {
    let (program, problems) = compile(&[(
        ArtifactDir::Sequences,
        r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="S"><call><endpoint><address uri="http://b:1/"/></endpoint><source type="property">P</source><target type="variable">v</target></call><call><endpoint><address uri="http://b:1/"/></endpoint><target type="variable">w</target></call></sequence>"#,
    )]);
    assert!(of(&problems, Severity::Error).is_empty(), "{problems:?}");
    let seq = sequence(&program, "S");
    assert!(matches!(
        &seq[0],
        Mediator::Call(c) if matches!(&c.source, Some(s) if matches!(&s.kind, crate::mediators::call::SourceKind::Property(p) if p == "P"))
            && matches!(c.target, Some(crate::mediators::call::Target::Variable(_)))
    ));
    // A target without a source sends the body.
    assert!(matches!(
        &seq[1],
        Mediator::Call(c) if matches!(&c.source, Some(s) if matches!(s.kind, crate::mediators::call::SourceKind::Body))
    ));
}

/// An element of the Synapse namespace that no MI mediator has is a deployment error, as in WSO2;
/// a mediator MI has and mint lacks, and a connector operation, are warnings.
#[test]
fn an_unknown_mediator_does_not_deploy_and_a_missing_one_is_warned() {
    let (_, problems) = compile(&[(
        ArtifactDir::Sequences,
        r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="S"><respnd/></sequence>"#,
    )]);
    assert_eq!(
        of(&problems, Severity::Error),
        ["t0.xml:1:60: <respnd> is not a mediator (Unknown mediator referenced by configuration element)"]
    );
    let (program, problems) = compile(&[(
        ArtifactDir::Sequences,
        r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="S"><script language="js"/><email.send configKey="c"/></sequence>"#,
    )]);
    assert_eq!(
        of(&problems, Severity::Warning),
        [
            "t0.xml:1:60: warning: mediator <script> is not supported yet",
            "t0.xml:1:83: warning: connector operation <email.send> is not supported yet"
        ]
    );
    assert_eq!(sequence(&program, "S").len(), 2);
}

#[test]
fn a_mediator_in_another_namespace_is_not_that_mediator() {
    let (program, problems) = compile(&[(
        ArtifactDir::Sequences,
        r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="S"><o:drop xmlns:o="urn:other"/></sequence>"#,
    )]);
    assert_eq!(
        of(&problems, Severity::Warning),
        ["t0.xml:1:60: warning: mediator <o:drop> is not supported yet"]
    );
    assert!(matches!(
        &sequence(&program, "S")[0],
        Mediator::Unsupported { .. }
    ));
}

#[test]
fn the_built_in_main_and_fault_compile_without_a_problem() {
    let (program, problems) = compile(&[]);
    assert!(problems.is_empty(), "{problems:?}");
    assert!(matches!(
        sequence(&program, "main"),
        [
            Mediator::Property(_),
            Mediator::Property(_),
            Mediator::Respond(_)
        ]
    ));
    assert!(matches!(
        sequence(&program, "fault"),
        [Mediator::Log(l), Mediator::Drop(_)] if l.props.len() == 3 && l.level == Level::Custom
    ));
}

#[test]
fn mediators_of_artifacts_that_are_not_deployed_are_still_checked() {
    let seq = |name: &str| {
        format!(
            r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="{name}"><log level="loud"/></sequence>"#
        )
    };
    let (s1, s2) = (seq("S"), seq("S"));
    let (_, problems) = compile(&[
        (ArtifactDir::Sequences, &s1),
        (ArtifactDir::Sequences, &s2),
        (
            ArtifactDir::Api,
            r#"<api xmlns="http://ws.apache.org/ns/synapse" name="A" context="no-slash"><resource><inSequence><log level="loud"/></inSequence></resource></api>"#,
        ),
    ]);
    let errors = of(&problems, Severity::Error);
    let loud = |file: &str, col: u32| {
        format!("{file}:1:{col}: invalid level 'loud' on <log> (expected simple, headers, full, custom)")
    };
    assert!(errors.contains(&loud("t0.xml", 65)), "{errors:?}");
    assert!(
        errors.contains(&loud("t1.xml", 65)),
        "the duplicate's too: {errors:?}"
    );
    assert!(
        errors.contains(&loud("t2.xml", 101)),
        "the API's, left out: {errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("duplicate sequence 'S'")));
}

#[test]
fn an_endpoint_property_scope_is_checked_where_it_is_written() {
    let (_, problems) = compile(&[(
        ArtifactDir::Endpoints,
        r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="E"><address uri="http://127.0.0.1:9/"/><property name="p" value="1" scope="weird"/><property name="q" value="1" scope="env"/></endpoint>"#,
    )]);
    assert_eq!(
        of(&problems, Severity::Error),
        ["t0.xml:1:125: endpoint property 'p': invalid scope 'weird'"]
    );
    assert_eq!(
        of(&problems, Severity::Warning),
        ["t0.xml:1:169: warning: property scope 'env' is not supported yet"]
    );
}

#[test]
fn control_properties_mint_does_not_act_on_are_warned_about() {
    let (_, problems) = compile(&[(
        ArtifactDir::Sequences,
        r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="S">
    <property name="COPY_CONTENT_LENGTH_FROM_INCOMING" value="true" scope="axis2"/>
    <property name="FAULTS_AS_HTTP_200" value="true" scope="axis2"/>
    <property name="TRANSPORT_HEADERS" value="x" scope="axis2"/>
    <property name="FORCE_SC_ACCEPTED" value="true" scope="axis2"/>
    <property name="OUT_ONLY" value="true"/>
    <property name="HTTP_SC" value="200" scope="axis2"/>
</sequence>"#,
    )]);
    assert_eq!(
        of(&problems, Severity::Warning),
        [
            "t0.xml:3:5: warning: control property 'FAULTS_AS_HTTP_200' is stored, but mint does not act on it yet (in WSO2 it sends SOAP faults with status 200; mint does so for makefault's faults, not for a backend's)",
            "t0.xml:4:5: warning: control property 'TRANSPORT_HEADERS' is stored, but mint does not act on it yet (in WSO2 it replaces every transport header at once (removing it, which clears them, is honoured))",
        ],
        "COPY_CONTENT_LENGTH_FROM_INCOMING, FORCE_SC_ACCEPTED, OUT_ONLY and HTTP_SC (honoured) are not warned about"
    );
}

#[test]
fn processors_take_synapse_defaults_and_report_what_they_do_not_use() {
    use crate::program::scheduled::{ProcessorKind, Schedule};
    use std::time::Duration;
    let (p, problems) = compile(&[
        (
            ArtifactDir::MessageStores,
            r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="S"/>"#,
        ),
        (
            ArtifactDir::MessageProcessors,
            r#"<messageProcessor xmlns="http://ws.apache.org/ns/synapse" name="P" messageStore="S"
                 class="org.apache.synapse.message.processor.impl.forwarder.ScheduledMessageForwardingProcessor">
               <parameter name="target.endpoint">E</parameter>
               <parameter name="max.delivery.drop">Enabled</parameter>
               <parameter name="non.retry.status.codes">404,x</parameter>
               <parameter name="axis2.repo">r</parameter>
             </messageProcessor>"#,
        ),
        (
            ArtifactDir::Tasks,
            r#"<task xmlns="http://ws.apache.org/ns/synapse" name="T" class="org.apache.synapse.startup.tasks.MessageInjector">
                 <trigger interval="2" count="0"/><property name="message"><m/></property></task>"#,
        ),
    ]);
    let proc = &p.processors[0];
    assert_eq!(proc.interval, Duration::from_millis(1000));
    assert!(proc.active && proc.cron.is_none());
    let ProcessorKind::Forward(f) = &proc.kind else {
        panic!("{:?}", proc.kind)
    };
    assert_eq!(f.endpoint.as_deref(), Some("E"));
    assert_eq!(f.max_attempts, Some(4));
    assert_eq!(f.retry_interval, Duration::from_millis(1000));
    assert!(f.drop_after_max);
    assert_eq!(f.non_retry, [404]);
    let errors = of(&problems, Severity::Error);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("'x' is not an HTTP status code"),
        "{errors:?}"
    );
    let warnings = of(&problems, Severity::Warning).join("\n");
    assert!(
        warnings.contains("endpoint 'E' is not defined"),
        "{warnings}"
    );
    assert!(
        warnings.contains("no message.processor.reply.sequence"),
        "{warnings}"
    );
    assert!(warnings.contains("parameter 'axis2.repo'"), "{warnings}");
    // count="0" runs once, as Quartz's repeat count of 0 does.
    assert_eq!(
        p.tasks[0].schedule,
        Schedule::Every {
            interval: Duration::from_secs(2),
            count: Some(1)
        }
    );
}

#[test]
fn a_processor_on_a_store_mint_does_not_deploy_is_not_deployed_either() {
    let (p, problems) = compile(&[
        (
            ArtifactDir::MessageStores,
            r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="J" class="org.apache.synapse.message.store.impl.resequencer.ResequenceMessageStore"/>"#,
        ),
        (
            ArtifactDir::MessageProcessors,
            r#"<messageProcessor xmlns="http://ws.apache.org/ns/synapse" name="P" messageStore="J"
                 class="org.apache.synapse.message.processor.impl.sampler.SamplingProcessor">
               <parameter name="sequence">s</parameter></messageProcessor>"#,
        ),
        (
            ArtifactDir::MessageStores,
            r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="Q" class="org.apache.synapse.message.store.impl.jdbc.JDBCMessageStore">
               <parameter name="store.jdbc.driver">com.mysql.jdbc.Driver</parameter></messageStore>"#,
        ),
    ]);
    assert!(p.stores.is_empty() && p.processors.is_empty());
    let warnings = of(&problems, Severity::Warning).join("\n");
    assert!(
        warnings.contains("resequence message stores are not supported"),
        "{warnings}"
    );
    assert!(
        warnings.contains("message store 'J' is not deployed, so neither is the processor"),
        "{warnings}"
    );
    assert!(warnings.contains("PostgreSQL only"), "{warnings}");
}

/// Names Jaxen resolves only when it evaluates (a function, a prefix, a variable) do not stop
/// the deployment, as in Synapse (wso2/micro-integrator `integration/mediation-tests/tests-mediator-1`
/// `PropertyIntegrationTestCase`'s `negative.xml` deploys with `fn:concatXXX()`); a syntax error
/// does. Evaluating the expression fails.
#[test]
fn unresolvable_xpath_names_deploy_with_a_warning_and_fail_when_evaluated() {
    let (program, problems) = compile(&[(
        ArtifactDir::Sequences,
        r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="S">
    <property name="a" expression="fn:concatXXX()"/>
    <property name="b" expression="concatXXX()"/>
    <property name="c" expression="$nothing"/>
    <property name="e" expression="//u:x"/>
    <property name="d" expression="concat("/>
</sequence>"#,
    )]);
    assert_eq!(
        of(&problems, Severity::Warning),
        [
            "t0.xml:2:5: warning: XPath 'fn:concatXXX()': unknown function 'concatXXX()' (at offset 0): deployed as Synapse does, and every evaluation of it fails",
            "t0.xml:3:5: warning: XPath 'concatXXX()': unknown function 'concatXXX()' (at offset 0): deployed as Synapse does, and every evaluation of it fails",
            "t0.xml:4:5: warning: XPath '$nothing': unknown variable '$nothing' (at offset 0): deployed as Synapse does, and every evaluation of it fails",
            "t0.xml:5:5: warning: XPath '//u:x': undeclared namespace prefix 'u' (at offset 2): deployed as Synapse does, and every evaluation of it fails",
        ]
    );
    assert_eq!(of(&problems, Severity::Error).len(), 1, "{problems:?}");
    assert_eq!(sequence(&program, "S").len(), 5);
    let x = crate::xpath::XPath::unresolvable("f()", "XPath 'f()': unknown function 'f()'");
    let err = x
        .evaluate_string(&crate::xpath::EmptyDom, &crate::xpath::NoContext, 0)
        .unwrap_err();
    assert_eq!(err.to_string(), "XPath 'f()': unknown function 'f()'");
}
