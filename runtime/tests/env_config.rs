//! The `OTEL_*` environment variables, through a lookup table (the process environment is
//! never touched), and the code overrides of `Config`.
#![allow(
    clippy::too_many_lines,
    reason = "table tests: one row per case reads better than many small functions"
)]

use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use traced_runtime::config::{Config, EnvConfig, EnvWarning, TracesExporter};
use traced_runtime::export::otlp::{OtlpCompression, OtlpProtocol};
use traced_runtime::model::SpanLimits;
use traced_runtime::pipeline::BatchConfig;
use traced_runtime::{Sampler, Value};

/// Variables set for one case.
type Vars<'a> = &'a [(&'a str, &'a str)];

fn parse(vars: Vars<'_>) -> (EnvConfig, Vec<EnvWarning>) {
    let lookup = |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    EnvConfig::parse(&lookup)
}

/// Parses one variable; returns the config and the variables warned about.
fn one(name: &str, value: &str) -> (EnvConfig, Vec<&'static str>) {
    let (c, w) = parse(&[(name, value)]);
    (c, w.iter().map(|w| w.variable).collect())
}

#[test]
fn an_empty_environment_gives_opentelemetry_s_defaults() {
    let (c, w) = parse(&[]);
    assert!(w.is_empty(), "{w:?}");
    assert!(!c.sdk_disabled);
    assert_eq!(c.service_name, None);
    assert!(c.resource_attributes.is_empty());
    assert_eq!(c.sampler.description(), Sampler::default().description());
    assert_eq!(c.exporter, TracesExporter::Console);
    assert_eq!(c.otlp.endpoint, "http://localhost:4318/v1/traces");
    assert_eq!(c.otlp.protocol, OtlpProtocol::HttpProtobuf);
    assert!(c.otlp.headers.is_empty());
    assert_eq!(c.otlp.timeout, Duration::from_secs(10));
    assert_eq!(c.otlp.compression, OtlpCompression::None);
    assert_eq!(c.batch, BatchConfig::default());
    assert_eq!(c.limits, SpanLimits::default());
}

#[test]
fn every_variable_set_to_empty_or_blank_is_unset() {
    let names = [
        "OTEL_SDK_DISABLED",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG",
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        "OTEL_BSP_SCHEDULE_DELAY",
        "OTEL_BSP_EXPORT_TIMEOUT",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_SPAN_EVENT_COUNT_LIMIT",
        "OTEL_SPAN_LINK_COUNT_LIMIT",
        "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "OTEL_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
        "TRACED_OTLP_MAX_REQUEST_SIZE",
    ];
    for blank in ["", "   "] {
        let vars: Vec<(&str, &str)> = names.iter().map(|n| (*n, blank)).collect();
        let (c, w) = parse(&vars);
        assert!(w.is_empty(), "{blank:?}: {w:?}");
        assert_eq!(c.exporter, TracesExporter::Console);
        assert_eq!(c.batch, BatchConfig::default());
        assert_eq!(c.limits, SpanLimits::default());
        assert_eq!(c.otlp.endpoint, "http://localhost:4318/v1/traces");
        assert_eq!(c.otlp.tls, traced_runtime::export::otlp::OtlpTls::default());
        assert_eq!(c.service_name, None);
    }
}

#[test]
fn sdk_disabled_is_true_only_for_true() {
    let table = [
        ("true", true, false),
        ("TRUE", true, false),
        ("True", true, false),
        (" true ", true, false),
        ("false", false, false),
        ("FALSE", false, false),
        ("", false, false),
        ("1", false, true),
        ("yes", false, true),
        ("on", false, true),
    ];
    for (value, disabled, warned) in table {
        let (c, w) = one("OTEL_SDK_DISABLED", value);
        assert_eq!(c.sdk_disabled, disabled, "{value:?}");
        assert_eq!(w == ["OTEL_SDK_DISABLED"], warned, "{value:?}: {w:?}");
    }
}

#[test]
fn service_name() {
    assert_eq!(
        one("OTEL_SERVICE_NAME", "checkout")
            .0
            .service_name
            .as_deref(),
        Some("checkout")
    );
    assert_eq!(one("OTEL_SERVICE_NAME", "").0.service_name, None);
}

#[test]
fn resource_attributes_are_percent_decoded_and_all_or_nothing() {
    let ok: &[(&str, &[(&str, &str)])] = &[
        ("a=1,b=2", &[("a", "1"), ("b", "2")]),
        (" a = 1 , b=2 ", &[("a", "1"), ("b", "2")]),
        ("a=1,,b=2,", &[("a", "1"), ("b", "2")]),
        ("msg=hello%20world%2C%3D%25", &[("msg", "hello world,=%")]),
        ("k%20ey=v", &[("k ey", "v")]),
        ("euro=%E2%82%AC", &[("euro", "€")]),
        ("empty=", &[("empty", "")]),
        ("a=1=2", &[("a", "1=2")]),
        ("service.name=from-attrs", &[("service.name", "from-attrs")]),
    ];
    for (value, expected) in ok {
        let (c, w) = one("OTEL_RESOURCE_ATTRIBUTES", value);
        assert!(w.is_empty(), "{value:?}: {w:?}");
        let got: Vec<(&str, &str)> = c
            .resource_attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, *expected, "{value:?}");
    }
    for bad in ["a", "a=1,b", "=v", "a=%zz", "a=%2", "a=%FF", "%=1"] {
        let (c, w) = one("OTEL_RESOURCE_ATTRIBUTES", bad);
        assert_eq!(w, ["OTEL_RESOURCE_ATTRIBUTES"], "{bad:?}");
        assert!(
            c.resource_attributes.is_empty(),
            "{bad:?}: the whole value is dropped"
        );
    }
}

#[test]
fn service_name_beats_resource_attributes_and_code_beats_both() {
    let vars = [
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=attrs,team=payments",
        ),
        ("OTEL_SERVICE_NAME", "env-name"),
    ];
    let lookup = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let config = Config::from_lookup(&lookup);
    let r = config.resource();
    assert_eq!(r.service_name(), "env-name");
    assert_eq!(r.get("team"), Some(&Value::String("payments".into())));
    assert_eq!(
        r.get("telemetry.sdk.name"),
        Some(&Value::String("traced".into()))
    );
    let r = config
        .with_service_name("code-name")
        .with_resource_attribute("team", "search")
        .with_resource_attribute("replicas", 3)
        .resource();
    assert_eq!(r.service_name(), "code-name");
    assert_eq!(r.get("team"), Some(&Value::String("search".into())));
    assert_eq!(r.get("replicas"), Some(&Value::I64(3)));
    let only_attrs = Config::from_lookup(&|n: &str| {
        (n == "OTEL_RESOURCE_ATTRIBUTES").then(|| "service.name=attrs".to_owned())
    });
    assert_eq!(only_attrs.resource().service_name(), "attrs");
}

#[test]
fn samplers_and_their_argument() {
    let on = "AlwaysOnSampler";
    let off = "AlwaysOffSampler";
    let pb = |root: &str| {
        format!(
            "ParentBased{{root:{root},remoteParentSampled:{on},remoteParentNotSampled:{off},localParentSampled:{on},localParentNotSampled:{off}}}"
        )
    };
    let table: &[(&str, &str, String, &[&str])] = &[
        ("", "", pb(on), &[]),
        ("always_on", "", on.into(), &[]),
        ("ALWAYS_ON", "", on.into(), &[]),
        ("always_off", "", off.into(), &[]),
        ("traceidratio", "", "TraceIdRatioBased{1}".into(), &[]),
        (
            "traceidratio",
            "0.25",
            "TraceIdRatioBased{0.25}".into(),
            &[],
        ),
        ("traceidratio", "0", "TraceIdRatioBased{0}".into(), &[]),
        ("traceidratio", "1", "TraceIdRatioBased{1}".into(), &[]),
        (
            "traceidratio",
            "1.5",
            "TraceIdRatioBased{1}".into(),
            &["OTEL_TRACES_SAMPLER_ARG"],
        ),
        (
            "traceidratio",
            "-0.1",
            "TraceIdRatioBased{1}".into(),
            &["OTEL_TRACES_SAMPLER_ARG"],
        ),
        (
            "traceidratio",
            "half",
            "TraceIdRatioBased{1}".into(),
            &["OTEL_TRACES_SAMPLER_ARG"],
        ),
        (
            "traceidratio",
            "NaN",
            "TraceIdRatioBased{1}".into(),
            &["OTEL_TRACES_SAMPLER_ARG"],
        ),
        ("parentbased_always_on", "", pb(on), &[]),
        ("parentbased_always_off", "", pb(off), &[]),
        (
            "parentbased_traceidratio",
            "0.1",
            pb("TraceIdRatioBased{0.1}"),
            &[],
        ),
        (
            "parentbased_traceidratio",
            "",
            pb("TraceIdRatioBased{1}"),
            &[],
        ),
        (
            "parentbased_traceidratio",
            "x",
            pb("TraceIdRatioBased{1}"),
            &["OTEL_TRACES_SAMPLER_ARG"],
        ),
        // An argument for a sampler that takes none is not used.
        ("always_on", "0.5", on.into(), &[]),
        // Without a sampler, the argument is not used.
        ("", "0.5", pb(on), &[]),
        ("sometimes", "", pb(on), &["OTEL_TRACES_SAMPLER"]),
        ("jaeger_remote", "", pb(on), &["OTEL_TRACES_SAMPLER"]),
        ("xray", "", pb(on), &["OTEL_TRACES_SAMPLER"]),
    ];
    for (sampler, arg, expected, warned) in table {
        let (c, w) = parse(&[
            ("OTEL_TRACES_SAMPLER", sampler),
            ("OTEL_TRACES_SAMPLER_ARG", arg),
        ]);
        assert_eq!(c.sampler.description(), *expected, "{sampler:?} {arg:?}");
        let w: Vec<_> = w.iter().map(|w| w.variable).collect();
        assert_eq!(w, *warned, "{sampler:?} {arg:?}");
    }
}

#[test]
fn exporter_choice_and_its_endpoint_dependent_default() {
    let otlp_or_console = if cfg!(any(feature = "otlp-http", feature = "otlp-grpc")) {
        TracesExporter::Otlp
    } else {
        TracesExporter::Console
    };
    let feature_warning: &[&str] = if cfg!(any(feature = "otlp-http", feature = "otlp-grpc")) {
        &[]
    } else {
        &["OTEL_TRACES_EXPORTER"]
    };
    let table: &[(Vars<'_>, TracesExporter, Vec<&str>)] = &[
        (&[], TracesExporter::Console, vec![]),
        (
            &[("OTEL_TRACES_EXPORTER", "console")],
            TracesExporter::Console,
            vec![],
        ),
        (
            &[("OTEL_TRACES_EXPORTER", "CONSOLE")],
            TracesExporter::Console,
            vec![],
        ),
        (
            &[("OTEL_TRACES_EXPORTER", "none")],
            TracesExporter::None,
            vec![],
        ),
        (
            &[("OTEL_TRACES_EXPORTER", "otlp")],
            otlp_or_console,
            feature_warning.to_vec(),
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")],
            otlp_or_console,
            if cfg!(any(feature = "otlp-http", feature = "otlp-grpc")) {
                vec![]
            } else {
                vec!["OTEL_EXPORTER_OTLP_ENDPOINT"]
            },
        ),
        (
            &[(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://collector:4318/v1/traces",
            )],
            otlp_or_console,
            if cfg!(any(feature = "otlp-http", feature = "otlp-grpc")) {
                vec![]
            } else {
                vec!["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
            },
        ),
        // An explicit choice beats the endpoint-dependent default.
        (
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("OTEL_TRACES_EXPORTER", "console"),
            ],
            TracesExporter::Console,
            vec![],
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("OTEL_TRACES_EXPORTER", "none"),
            ],
            TracesExporter::None,
            vec![],
        ),
        // Unknown entries are reported and skipped; an unknown-only value is the default.
        (
            &[("OTEL_TRACES_EXPORTER", "zipkin")],
            TracesExporter::Console,
            vec!["OTEL_TRACES_EXPORTER"],
        ),
        (
            &[("OTEL_TRACES_EXPORTER", "logging")],
            TracesExporter::Console,
            vec!["OTEL_TRACES_EXPORTER"],
        ),
        (
            &[("OTEL_TRACES_EXPORTER", "zipkin, none")],
            TracesExporter::None,
            vec!["OTEL_TRACES_EXPORTER"],
        ),
        // One exporter: the first known one is used and the rest reported.
        (
            &[("OTEL_TRACES_EXPORTER", "console,none")],
            TracesExporter::Console,
            vec!["OTEL_TRACES_EXPORTER"],
        ),
        (
            &[("OTEL_TRACES_EXPORTER", "console, console")],
            TracesExporter::Console,
            vec![],
        ),
    ];
    for (vars, expected, warned) in table {
        let (c, w) = parse(vars);
        assert_eq!(c.exporter, *expected, "{vars:?}");
        let w: Vec<_> = w.iter().map(|w| w.variable).collect();
        assert_eq!(w, *warned, "{vars:?}");
    }
}

#[cfg(not(any(feature = "otlp-http", feature = "otlp-grpc")))]
#[test]
fn without_the_otlp_feature_otlp_is_reported_by_name() {
    let (c, w) = parse(&[("OTEL_TRACES_EXPORTER", "otlp")]);
    assert_eq!(c.exporter, TracesExporter::Console);
    assert_eq!(
        w[0].to_string(),
        "traced: ignoring OTEL_TRACES_EXPORTER=\"otlp\": traced was built without the `otlp` feature; using the console exporter"
    );
}

#[test]
fn otlp_endpoints() {
    let table: &[(Vars<'_>, &str, &[&str])] = &[
        (&[], "http://localhost:4318/v1/traces", &[]),
        (
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")],
            "http://localhost:4317",
            &[],
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")],
            "http://collector:4318/v1/traces",
            &[],
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318/")],
            "https://collector:4318/v1/traces",
            &[],
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://gateway/otlp/")],
            "http://gateway/otlp/v1/traces",
            &[],
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ],
            "http://collector:4318/v1/traces",
            &[],
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ],
            "http://collector:4317",
            &[],
        ),
        // The signal's own endpoint is used as is, and beats the base.
        (
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://traces:9999/custom",
                ),
            ],
            "http://traces:9999/custom",
            &[],
        ),
        // Not URLs: reported and ignored.
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")],
            "http://localhost:4318/v1/traces",
            &["OTEL_EXPORTER_OTLP_ENDPOINT"],
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://")],
            "http://localhost:4318/v1/traces",
            &["OTEL_EXPORTER_OTLP_ENDPOINT"],
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318"),
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://traces"),
            ],
            "http://base:4318/v1/traces",
            &["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"],
        ),
    ];
    for (vars, endpoint, warned) in table {
        // Pin the exporter so the feature-dependent default does not add a warning.
        let mut vars = vars.to_vec();
        vars.push(("OTEL_TRACES_EXPORTER", "none"));
        let (c, w) = parse(&vars);
        assert_eq!(c.otlp.endpoint, *endpoint, "{vars:?}");
        let w: Vec<_> = w.iter().map(|w| w.variable).collect();
        assert_eq!(w, *warned, "{vars:?}");
    }
}

#[test]
fn otlp_protocol_compression_and_timeout_with_signal_overrides() {
    type Check = fn(&EnvConfig) -> bool;
    let table: &[(Vars<'_>, Check, &[&str])] = &[
        (
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")],
            |c| c.otlp.protocol == OtlpProtocol::Grpc,
            &[],
        ),
        (
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "HTTP/JSON")],
            |c| c.otlp.protocol == OtlpProtocol::HttpJson,
            &[],
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
            ],
            |c| c.otlp.protocol == OtlpProtocol::HttpProtobuf,
            &[],
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift"),
            ],
            |c| c.otlp.protocol == OtlpProtocol::Grpc,
            &["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"],
        ),
        (
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http")],
            |c| c.otlp.protocol == OtlpProtocol::HttpProtobuf,
            &["OTEL_EXPORTER_OTLP_PROTOCOL"],
        ),
        (
            &[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")],
            |c| c.otlp.compression == OtlpCompression::Gzip,
            &[],
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
                ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
            ],
            |c| c.otlp.compression == OtlpCompression::None,
            &[],
        ),
        (
            &[("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd")],
            |c| c.otlp.compression == OtlpCompression::None,
            &["OTEL_EXPORTER_OTLP_COMPRESSION"],
        ),
        (
            &[("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")],
            |c| c.otlp.timeout == Duration::from_millis(2500),
            &[],
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700"),
            ],
            |c| c.otlp.timeout == Duration::from_millis(700),
            &[],
        ),
        (
            &[("OTEL_EXPORTER_OTLP_TIMEOUT", "0")],
            |c| c.otlp.timeout == Duration::from_millis(u64::from(u32::MAX)),
            &[],
        ),
        (
            &[("OTEL_EXPORTER_OTLP_TIMEOUT", "-1")],
            |c| c.otlp.timeout == Duration::from_secs(10),
            &["OTEL_EXPORTER_OTLP_TIMEOUT"],
        ),
        (
            &[("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")],
            |c| c.otlp.timeout == Duration::from_secs(10),
            &["OTEL_EXPORTER_OTLP_TIMEOUT"],
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "soon"),
            ],
            |c| c.otlp.timeout == Duration::from_millis(2500),
            &["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"],
        ),
    ];
    for (vars, check, warned) in table {
        let (c, w) = parse(vars);
        assert!(check(&c), "{vars:?}: {:?}", c.otlp);
        let w: Vec<_> = w.iter().map(|w| w.variable).collect();
        assert_eq!(w, *warned, "{vars:?}");
    }
}

#[test]
fn otlp_headers_are_decoded_the_traces_list_replaces_the_general_one_and_never_echoed() {
    let headers = |vars: &[(&str, &str)]| {
        let (c, w) = parse(vars);
        let h: Vec<(String, String)> = c.otlp.headers.into_iter().collect();
        (h, w)
    };
    let (h, w) = headers(&[(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "api-key=s%3Dcr%2Ct, x-tenant = acme ",
    )]);
    assert!(w.is_empty());
    assert_eq!(
        h,
        [
            ("api-key".to_owned(), "s=cr,t".to_owned()),
            ("x-tenant".to_owned(), "acme".to_owned())
        ]
    );
    let (h, _) = headers(&[
        ("OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "c=3"),
    ]);
    assert_eq!(h, [("c".to_owned(), "3".to_owned())]);
    // A malformed traces list is reported and the general one is used.
    let (h, w) = headers(&[
        ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "secret-token-without-equals",
        ),
    ]);
    assert_eq!(h, [("a".to_owned(), "1".to_owned())]);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].variable, "OTEL_EXPORTER_OTLP_TRACES_HEADERS");
    assert_eq!(w[0].value, None);
    assert!(!w[0].to_string().contains("secret"), "{}", w[0]);
    let (h, w) = headers(&[("OTEL_EXPORTER_OTLP_HEADERS", "key=%G0")]);
    assert!(h.is_empty());
    assert_eq!(w[0].variable, "OTEL_EXPORTER_OTLP_HEADERS");
}

#[test]
fn batch_processor_variables() {
    type Check = fn(&BatchConfig) -> bool;
    let d = BatchConfig::default();
    let table: &[(&str, &str, Check, bool)] = &[
        (
            "OTEL_BSP_SCHEDULE_DELAY",
            "250",
            |b| b.scheduled_delay() == Duration::from_millis(250),
            false,
        ),
        (
            "OTEL_BSP_SCHEDULE_DELAY",
            "0",
            |b| b.scheduled_delay().is_zero(),
            false,
        ),
        (
            "OTEL_BSP_SCHEDULE_DELAY",
            "-5",
            |b| b.scheduled_delay() == Duration::from_secs(5),
            true,
        ),
        (
            "OTEL_BSP_SCHEDULE_DELAY",
            "5s",
            |b| b.scheduled_delay() == Duration::from_secs(5),
            true,
        ),
        (
            "OTEL_BSP_SCHEDULE_DELAY",
            "1.5",
            |b| b.scheduled_delay() == Duration::from_secs(5),
            true,
        ),
        (
            "OTEL_BSP_EXPORT_TIMEOUT",
            "1000",
            |b| b.export_timeout() == Duration::from_secs(1),
            false,
        ),
        (
            "OTEL_BSP_EXPORT_TIMEOUT",
            "0",
            |b| b.export_timeout().is_zero(),
            false,
        ),
        (
            "OTEL_BSP_EXPORT_TIMEOUT",
            "never",
            |b| b.export_timeout() == Duration::from_secs(30),
            true,
        ),
        (
            "OTEL_BSP_MAX_QUEUE_SIZE",
            "4096",
            |b| b.max_queue_size() == 4096 && b.max_export_batch_size() == 512,
            false,
        ),
        // A queue below the default batch size shrinks the batch, silently.
        (
            "OTEL_BSP_MAX_QUEUE_SIZE",
            "100",
            |b| b.max_queue_size() == 100 && b.max_export_batch_size() == 100,
            false,
        ),
        (
            "OTEL_BSP_MAX_QUEUE_SIZE",
            "0",
            |b| b.max_queue_size() == BatchConfig::default().max_queue_size(),
            true,
        ),
        (
            "OTEL_BSP_MAX_QUEUE_SIZE",
            "-1",
            |b| b.max_queue_size() == BatchConfig::default().max_queue_size(),
            true,
        ),
        (
            "OTEL_BSP_MAX_QUEUE_SIZE",
            "99999999999",
            |b| b.max_queue_size() == BatchConfig::default().max_queue_size(),
            true,
        ),
        (
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            "64",
            |b| b.max_export_batch_size() == 64,
            false,
        ),
        (
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            "2048",
            |b| b.max_export_batch_size() == 2048,
            false,
        ),
        (
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            "0",
            |b| b.max_export_batch_size() == 512,
            true,
        ),
        (
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            "big",
            |b| b.max_export_batch_size() == 512,
            true,
        ),
        // Larger than the queue: clamped to it, and reported.
        (
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            "10000",
            |b| b.max_export_batch_size() == 8192,
            true,
        ),
    ];
    for (name, value, check, warned) in table {
        let (c, w) = one(name, value);
        assert!(check(&c.batch), "{name}={value:?}: {:?}", c.batch);
        assert_eq!(!w.is_empty(), *warned, "{name}={value:?}: {w:?}");
        assert!(w.iter().all(|v| v == name), "{w:?}");
        // Nothing else moved.
        if *name != "OTEL_BSP_SCHEDULE_DELAY" {
            assert_eq!(c.batch.scheduled_delay(), d.scheduled_delay());
        }
    }
    let (c, w) = parse(&[
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "200"),
    ]);
    assert_eq!(
        (c.batch.max_queue_size(), c.batch.max_export_batch_size()),
        (100, 100)
    );
    assert_eq!(w[0].variable, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
    assert!(
        w[0].message.contains("OTEL_BSP_MAX_QUEUE_SIZE (100)"),
        "{}",
        w[0]
    );
}

#[test]
fn span_limits_with_their_general_fallbacks() {
    type Get = fn(&SpanLimits) -> Option<u32>;
    let attrs: Get = |l| Some(l.max_attributes_per_span);
    let events: Get = |l| Some(l.max_events_per_span);
    let links: Get = |l| Some(l.max_links_per_span);
    let event_attrs: Get = |l| Some(l.max_attributes_per_event);
    let link_attrs: Get = |l| Some(l.max_attributes_per_link);
    let length: Get = |l| l.max_attribute_value_length;
    let debug_length: Get = |l| l.max_debug_value_length;
    let table: &[(Vars<'_>, Get, Option<u32>, &[&str])] = &[
        (
            &[("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "16")],
            attrs,
            Some(16),
            &[],
        ),
        (
            &[("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "0")],
            attrs,
            Some(0),
            &[],
        ),
        (
            &[("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "-1")],
            attrs,
            Some(128),
            &["OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"],
        ),
        (
            &[("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "many")],
            attrs,
            Some(128),
            &["OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"],
        ),
        (
            &[("OTEL_ATTRIBUTE_COUNT_LIMIT", "32")],
            attrs,
            Some(32),
            &[],
        ),
        (
            &[("OTEL_ATTRIBUTE_COUNT_LIMIT", "32")],
            event_attrs,
            Some(32),
            &[],
        ),
        (
            &[("OTEL_ATTRIBUTE_COUNT_LIMIT", "32")],
            link_attrs,
            Some(32),
            &[],
        ),
        (
            &[("OTEL_ATTRIBUTE_COUNT_LIMIT", "32")],
            events,
            Some(128),
            &[],
        ),
        (
            &[
                ("OTEL_ATTRIBUTE_COUNT_LIMIT", "32"),
                ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "8"),
            ],
            attrs,
            Some(8),
            &[],
        ),
        (
            &[
                ("OTEL_ATTRIBUTE_COUNT_LIMIT", "32"),
                ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "x"),
            ],
            attrs,
            Some(32),
            &["OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"],
        ),
        (
            &[("OTEL_SPAN_EVENT_COUNT_LIMIT", "4")],
            events,
            Some(4),
            &[],
        ),
        (
            &[("OTEL_SPAN_EVENT_COUNT_LIMIT", "1e3")],
            events,
            Some(128),
            &["OTEL_SPAN_EVENT_COUNT_LIMIT"],
        ),
        (&[("OTEL_SPAN_LINK_COUNT_LIMIT", "2")], links, Some(2), &[]),
        (
            &[("OTEL_SPAN_LINK_COUNT_LIMIT", "two")],
            links,
            Some(128),
            &["OTEL_SPAN_LINK_COUNT_LIMIT"],
        ),
        (
            &[("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "5")],
            event_attrs,
            Some(5),
            &[],
        ),
        (
            &[
                ("OTEL_ATTRIBUTE_COUNT_LIMIT", "32"),
                ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "5"),
            ],
            event_attrs,
            Some(5),
            &[],
        ),
        (
            &[("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "-5")],
            event_attrs,
            Some(128),
            &["OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"],
        ),
        (
            &[("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "6")],
            link_attrs,
            Some(6),
            &[],
        ),
        (
            &[("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "?")],
            link_attrs,
            Some(128),
            &["OTEL_LINK_ATTRIBUTE_COUNT_LIMIT"],
        ),
        (&[], length, None, &[]),
        (
            &[("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "256")],
            length,
            Some(256),
            &[],
        ),
        (
            &[("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "0")],
            length,
            Some(0),
            &[],
        ),
        (
            &[("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64")],
            length,
            Some(64),
            &[],
        ),
        (
            &[
                ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64"),
                ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "128"),
            ],
            length,
            Some(128),
            &[],
        ),
        (
            &[("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "-1")],
            length,
            None,
            &["OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT"],
        ),
        (
            &[("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "long")],
            length,
            None,
            &["OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"],
        ),
        (&[], debug_length, Some(4096), &[]),
        (
            &[("TRACED_DEBUG_VALUE_LENGTH_LIMIT", "100")],
            debug_length,
            Some(100),
            &[],
        ),
        (
            &[("TRACED_DEBUG_VALUE_LENGTH_LIMIT", "0")],
            debug_length,
            None,
            &[],
        ),
        (
            &[("TRACED_DEBUG_VALUE_LENGTH_LIMIT", "big")],
            debug_length,
            Some(4096),
            &["TRACED_DEBUG_VALUE_LENGTH_LIMIT"],
        ),
    ];
    for (vars, get, expected, warned) in table {
        let (c, w) = parse(vars);
        assert_eq!(get(&c.limits), *expected, "{vars:?}");
        let w: Vec<_> = w.iter().map(|w| w.variable).collect();
        assert_eq!(w, *warned, "{vars:?}");
    }
}

#[test]
fn each_bad_value_is_reported_once_with_its_name_and_value() {
    let (_, w) = parse(&[
        ("OTEL_ATTRIBUTE_COUNT_LIMIT", "lots"),
        ("OTEL_BSP_SCHEDULE_DELAY", "soon"),
        ("OTEL_SDK_DISABLED", "nope"),
    ]);
    let lines: Vec<String> = w.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "traced: ignoring OTEL_SDK_DISABLED=\"nope\": expected true or false; using false",
            "traced: ignoring OTEL_BSP_SCHEDULE_DELAY=\"soon\": not a non-negative number of milliseconds",
            "traced: ignoring OTEL_ATTRIBUTE_COUNT_LIMIT=\"lots\": not a non-negative integer",
        ]
    );
}

#[test]
fn code_overrides_beat_the_environment() {
    let vars = [
        ("OTEL_TRACES_SAMPLER", "always_off"),
        ("OTEL_TRACES_EXPORTER", "console"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "10"),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "1"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_SDK_DISABLED", "true"),
    ];
    let lookup = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let env = Config::from_lookup(&lookup);
    assert!(env.warnings().is_empty());
    let s = env.settings();
    assert!(s.sdk_disabled);
    assert_eq!(s.sampler.description(), "AlwaysOffSampler");
    assert_eq!(s.batch.max_queue_size(), 10);
    let mut otlp = s.otlp.clone();
    otlp.endpoint = "http://elsewhere:4318/v1/traces".into();
    otlp.protocol = OtlpProtocol::HttpJson;
    let c = env
        .with_sdk_disabled(false)
        .with_sampler(Sampler::AlwaysOn)
        .with_exporter(TracesExporter::None)
        .with_batch_config(BatchConfig::default())
        .with_limits(SpanLimits::default())
        .with_otlp(otlp.clone());
    let s = c.settings();
    assert!(!s.sdk_disabled);
    assert_eq!(s.sampler.description(), "AlwaysOnSampler");
    assert_eq!(s.exporter, TracesExporter::None);
    assert_eq!(s.batch, BatchConfig::default());
    assert_eq!(s.limits, SpanLimits::default());
    assert_eq!(s.otlp, otlp);
}

/// The pipeline is process-wide: tests that install one take turns.
static PIPELINE: Mutex<()> = Mutex::new(());

#[test]
fn sdk_disabled_installs_nothing() {
    let _lock = PIPELINE.lock().unwrap_or_else(PoisonError::into_inner);
    let guard =
        Config::from_lookup(&|n: &str| (n == "OTEL_SDK_DISABLED").then(|| "true".into())).install();
    assert!(traced_runtime::pipeline::installed().is_none());
    let span = traced_runtime::span("ignored").start();
    assert!(!span.is_recording());
    drop(span);
    drop(guard);
}

#[test]
fn an_installed_configuration_uses_its_sampler_limits_and_resource() {
    let _lock = PIPELINE.lock().unwrap_or_else(PoisonError::into_inner);
    let vars = [
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_SERVICE_NAME", "checkout"),
        ("OTEL_TRACES_SAMPLER", "always_off"),
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3"),
    ];
    let lookup = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let guard = Config::from_lookup(&lookup).install();
    let p = traced_runtime::pipeline::installed().expect("installed");
    assert_eq!(p.resource().service_name(), "checkout");
    assert_eq!(p.sampler().description(), "AlwaysOffSampler");
    assert_eq!(p.limits().max_attributes_per_span, 3);
    assert!(!traced_runtime::span("unsampled").start().is_recording());
    drop(guard);
    assert!(traced_runtime::pipeline::installed().is_none());
}

#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
#[test]
fn an_otlp_endpoint_installs_the_batch_processor() {
    let _lock = PIPELINE.lock().unwrap_or_else(PoisonError::into_inner);
    let guard = Config::from_lookup(&|n: &str| {
        (n == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "http://127.0.0.1:9".to_owned())
    })
    .with_batch_config(BatchConfig::default().with_export_timeout(Duration::from_millis(200)))
    .install();
    let p = traced_runtime::pipeline::installed().expect("installed");
    assert!(
        format!("{:?}", p.processor()).starts_with("BatchSpanProcessor"),
        "{:?}",
        p.processor()
    );
    drop(guard);
}

#[test]
fn otlp_certificate_files_with_signal_overrides_and_config_setters() {
    use std::path::PathBuf;
    use traced_runtime::export::otlp::OtlpTls;
    let (c, w) = parse(&[]);
    assert!(w.is_empty());
    assert_eq!(c.otlp.tls, OtlpTls::default());
    let (c, w) = parse(&[
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/otel/ca.pem"),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            "/etc/otel/client.pem",
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/otel/client-key.pem"),
    ]);
    assert!(w.is_empty());
    assert_eq!(
        c.otlp.tls,
        OtlpTls {
            certificate: Some(PathBuf::from("/etc/otel/ca.pem")),
            client_certificate: Some(PathBuf::from("/etc/otel/client.pem")),
            client_key: Some(PathBuf::from("/etc/otel/client-key.pem")),
        }
    );
    // The traces variables win over the general ones, each on its own; blank is unset.
    let (c, _) = parse(&[
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/general/ca.pem"),
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/traces/ca.pem"),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/general/key.pem"),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", " "),
        (
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
            "/traces/client.pem",
        ),
    ]);
    assert_eq!(
        c.otlp.tls,
        OtlpTls {
            certificate: Some(PathBuf::from("/traces/ca.pem")),
            client_certificate: Some(PathBuf::from("/traces/client.pem")),
            client_key: Some(PathBuf::from("/general/key.pem")),
        }
    );
    // Code over environment.
    let config = Config::from_lookup(&|name| {
        (name == "OTEL_EXPORTER_OTLP_CERTIFICATE").then(|| "/env/ca.pem".to_owned())
    })
    .with_otlp_certificate("/code/ca.pem")
    .with_otlp_client_certificate("/code/client.pem")
    .with_otlp_client_key("/code/key.pem");
    assert_eq!(
        config.settings().otlp.tls,
        OtlpTls {
            certificate: Some(PathBuf::from("/code/ca.pem")),
            client_certificate: Some(PathBuf::from("/code/client.pem")),
            client_key: Some(PathBuf::from("/code/key.pem")),
        }
    );
}

#[test]
fn otlp_max_request_size_is_ours_and_positive() {
    assert_eq!(parse(&[]).0.otlp.max_request_size, 4_000_000);
    let (c, w) = one("TRACED_OTLP_MAX_REQUEST_SIZE", "65536");
    assert!(w.is_empty());
    assert_eq!(c.otlp.max_request_size, 65_536);
    for bad in ["0", "-1", "4MiB"] {
        let (c, w) = one("TRACED_OTLP_MAX_REQUEST_SIZE", bad);
        assert_eq!(w, ["TRACED_OTLP_MAX_REQUEST_SIZE"], "{bad}");
        assert_eq!(c.otlp.max_request_size, 4_000_000);
    }
    let config = Config::new().with_otlp_max_request_size(1 << 20);
    assert_eq!(config.settings().otlp.max_request_size, 1 << 20);
}
