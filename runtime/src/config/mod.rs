//! Configuration from the standard `OTEL_*` environment variables, overridable in code.
//!
//! [`init`] reads the environment and installs a pipeline; [`Config`] does the same with
//! some values decided in code first. Parsing follows the OpenTelemetry specification: an
//! empty variable is an unset one, names of choices are case-insensitive, and a value that
//! does not parse is reported once on standard error, with the variable's name, and ignored.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `OTEL_SDK_DISABLED` | `true`: install nothing; spans cost one atomic load | `false` |
//! | `OTEL_SERVICE_NAME` | `service.name`, over the one in `OTEL_RESOURCE_ATTRIBUTES` | `unknown_service:<exe>` |
//! | `OTEL_RESOURCE_ATTRIBUTES` | `key=value,key=value`, percent-decoded | |
//! | `OTEL_TRACES_SAMPLER` | `always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio` | `parentbased_always_on` |
//! | `OTEL_TRACES_SAMPLER_ARG` | the ratio of the `*traceidratio` samplers, in `[0, 1]` | `1.0` |
//! | `OTEL_TRACES_EXPORTER` | `otlp`, `console`, `none` | see below |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | base URL; `/v1/traces` is appended for HTTP | `http://localhost:4318` (HTTP), `http://localhost:4317` (gRPC) |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | full URL, used as is | |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL` | `grpc`, `http/protobuf`, `http/json` | `http/protobuf` |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS` | `key=value,...`, percent-decoded | |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT` | milliseconds per export (0: no limit) | 10000 |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION` | `gzip`, `none` | `none` |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE` | PEM file of the CA to trust for `https://` (replaces the system's and the bundled roots) | system + bundled roots |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_CERTIFICATE`, `..._CLIENT_KEY` | PEM files of the client certificate chain and key, for mutual TLS | |
//! | `TRACED_OTLP_MAX_REQUEST_SIZE` (traced's own) | the largest export request in bytes: larger batches are split, see [`OtlpConfig::max_request_size`] | 4000000 |
//! | `OTEL_BSP_SCHEDULE_DELAY` | milliseconds between exports | 5000 |
//! | `OTEL_BSP_EXPORT_TIMEOUT` | milliseconds per export (0: no limit); also how long dropping the guard waits ([`Config::with_shutdown_timeout`]) | 30000 |
//! | `OTEL_BSP_MAX_QUEUE_SIZE` | spans waiting for export | 8192 (the specification's: 2048) |
//! | `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` | spans per export, at most the queue size | 512 |
//! | `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT` (or `OTEL_ATTRIBUTE_COUNT_LIMIT`) | attributes per span | 128 |
//! | `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT` (or `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`) | bytes per string value | no limit |
//! | `TRACED_DEBUG_VALUE_LENGTH_LIMIT` | bytes per value formatted with `Debug` (0: no cap but the one above) | 4096 |
//! | `OTEL_SPAN_EVENT_COUNT_LIMIT`, `OTEL_SPAN_LINK_COUNT_LIMIT` | events, links per span | 128 |
//! | `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT` (or `OTEL_ATTRIBUTE_COUNT_LIMIT`) | attributes per event, link | 128 |
//!
//! A `TRACES_` variable replaces its general one, the headers list included (the
//! specification makes each option "overridable by a signal specific option"; the two lists
//! are not merged).
//!
//! Not read: `OTEL_PROPAGATORS` (traced always propagates W3C Trace Context and Baggage),
//! `OTEL_EXPORTER_OTLP_[TRACES_]INSECURE` (the endpoint's scheme decides; the specification
//! lets implementations leave it out), `OTEL_LOG_LEVEL`, `OTEL_EXPERIMENTAL_CONFIG_FILE`, and
//! the variables of metrics, logs, Zipkin and Prometheus, which traced does not export.
//!
//! Where traced departs from the specification, on purpose:
//!
//! - **The default exporter.** The specification's default is `otlp`. traced defaults to
//!   `console` while neither `OTEL_EXPORTER_OTLP_ENDPOINT` nor
//!   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, so a program run on a laptop shows its
//!   spans instead of sending them to a collector that is not there, and to `otlp` as soon as
//!   either is set. Set `OTEL_TRACES_EXPORTER` to choose explicitly.
//! - **One exporter.** `OTEL_TRACES_EXPORTER` may list several; traced uses the first it
//!   knows and reports the others.
//! - **Without the `otlp` feature** (nor `otlp-http` / `otlp-grpc`), `otlp` is reported and the
//!   console is used instead. If the OTLP exporter cannot be created (a bad header, or the
//!   protocol's feature missing), that is reported and spans are not exported.
//!
//! Both exporters run in a [`BatchSpanProcessor`](crate::pipeline::BatchSpanProcessor): a span end never
//! waits for a collector or for standard error. The console prints every [`CONSOLE_DELAY`]
//! and gives up on a write stuck for [`CONSOLE_TIMEOUT`] (a pipe nobody reads), counting the
//! spans as failed; the exit waits that long at most.

use crate::export::otlp::{OtlpCompression, OtlpConfig, OtlpProtocol, OtlpTls};
use crate::export::{ConsoleExporter, NoopExporter};
use crate::model::{Key, KeyValue, ToValue};
use crate::model::{Resource, SpanLimits};
use crate::pipeline::{BatchConfig, PipelineBuilder, PipelineGuard, Sampler};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Which exporter the pipeline uses (`OTEL_TRACES_EXPORTER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TracesExporter {
    /// OTLP to a collector (`otlp`), through a [`BatchSpanProcessor`](crate::pipeline::BatchSpanProcessor).
    /// Needs the `otlp` feature (or `otlp-http` / `otlp-grpc`).
    Otlp,
    /// Span trees on standard error (`console`), through a
    /// [`SimpleSpanProcessor`](crate::pipeline::SimpleSpanProcessor).
    Console,
    /// No exporter (`none`): spans are still created and propagated, then discarded.
    None,
}

/// A variable whose value was ignored, and why.
///
/// ```
/// use traced_runtime::config::EnvConfig;
/// let (_, warnings) = EnvConfig::parse(&|name| {
///     (name == "OTEL_BSP_MAX_QUEUE_SIZE").then(|| "lots".to_owned())
/// });
/// assert_eq!(warnings[0].variable, "OTEL_BSP_MAX_QUEUE_SIZE");
/// assert_eq!(
///     warnings[0].to_string(),
///     "traced: ignoring OTEL_BSP_MAX_QUEUE_SIZE=\"lots\": not a positive integer"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvWarning {
    /// The variable's name.
    pub variable: &'static str,
    /// The value, or the part of it, that was ignored; `None` for header lists, which often
    /// hold credentials.
    pub value: Option<String>,
    /// What was wrong, and what is used instead.
    pub message: String,
}

impl fmt::Display for EnvWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(
                f,
                "traced: ignoring {}={v:?}: {}",
                self.variable, self.message
            ),
            None => write!(f, "traced: ignoring {}: {}", self.variable, self.message),
        }
    }
}

/// Everything the `OTEL_*` variables say, typed, with OpenTelemetry's defaults for what they
/// leave out. [`EnvConfig::parse`] reads through a lookup function, so tests need not touch
/// the process environment.
///
/// ```
/// use traced_runtime::config::{EnvConfig, TracesExporter};
/// use traced_runtime::export::otlp::OtlpProtocol;
/// let vars = [
///     ("OTEL_SERVICE_NAME", "checkout"),
///     ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
///     ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
///     ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
///     ("OTEL_TRACES_EXPORTER", "console"),
/// ];
/// let lookup = |name: &str| {
///     vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
/// };
/// let (env, warnings) = EnvConfig::parse(&lookup);
/// assert!(warnings.is_empty());
/// assert_eq!(env.service_name.as_deref(), Some("checkout"));
/// assert!(env.sampler.description().starts_with("ParentBased{root:TraceIdRatioBased{0.25}"));
/// assert_eq!(env.otlp.endpoint, "http://collector:4318/v1/traces");
/// assert_eq!(env.otlp.protocol, OtlpProtocol::HttpProtobuf);
/// assert_eq!(env.exporter, TracesExporter::Console); // chosen over the endpoint's `otlp`
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EnvConfig {
    /// `OTEL_SDK_DISABLED`: install nothing.
    pub sdk_disabled: bool,
    /// `OTEL_SERVICE_NAME`.
    pub service_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`, decoded, in order.
    pub resource_attributes: Vec<(String, String)>,
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    pub sampler: Sampler,
    /// `OTEL_TRACES_EXPORTER`, or the default described in the [module docs](self).
    pub exporter: TracesExporter,
    /// The `OTEL_EXPORTER_OTLP_*` variables.
    pub otlp: OtlpConfig,
    /// The `OTEL_BSP_*` variables.
    pub batch: BatchConfig,
    /// The `OTEL_SPAN_*`, `OTEL_EVENT_*`, `OTEL_LINK_*` and `OTEL_ATTRIBUTE_*` limits.
    pub limits: SpanLimits,
}

impl Default for EnvConfig {
    /// What an empty environment gives.
    fn default() -> Self {
        EnvConfig {
            sdk_disabled: false,
            service_name: None,
            resource_attributes: Vec::new(),
            sampler: Sampler::default(),
            exporter: TracesExporter::Console,
            otlp: OtlpConfig::default(),
            batch: BatchConfig::default(),
            limits: SpanLimits::default(),
        }
    }
}

const SAMPLERS: &str = "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio";
const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// The spec's "indefinite" timeout: the largest number of milliseconds in a 32-bit integer.
const NO_TIMEOUT: Duration = Duration::from_millis(u32::MAX as u64);

impl EnvConfig {
    /// Reads the `OTEL_*` variables through `lookup` (`None`: unset). Returns the
    /// configuration and one warning per value that was ignored.
    pub fn parse(lookup: &dyn Fn(&str) -> Option<String>) -> (EnvConfig, Vec<EnvWarning>) {
        let mut r = Reader {
            lookup,
            warnings: Vec::new(),
        };
        let d = EnvConfig::default();
        let sdk_disabled = r.boolean("OTEL_SDK_DISABLED");
        let service_name = r.get("OTEL_SERVICE_NAME");
        let resource_attributes = r
            .pairs("OTEL_RESOURCE_ATTRIBUTES", false)
            .unwrap_or_default();
        let sampler = r.sampler();
        let otlp = r.otlp();
        let exporter = r.exporter();
        let batch = r.batch();
        let limits = r.limits(d.limits);
        let config = EnvConfig {
            sdk_disabled,
            service_name,
            resource_attributes,
            sampler,
            exporter,
            otlp,
            batch,
            limits,
        };
        (config, r.warnings)
    }

    /// Reads the process environment; each warning is printed on standard error, once per
    /// process.
    pub fn from_env() -> EnvConfig {
        let (config, warnings) = EnvConfig::parse(&|name| std::env::var(name).ok());
        for w in &warnings {
            report_once(&w.to_string());
        }
        config
    }
}

/// Prints a line on standard error unless the same line was printed before.
fn report_once(line: &str) {
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    if !seen.iter().any(|s| s == line) {
        seen.push(line.to_owned());
        eprintln!("{line}");
    }
}

struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    warnings: Vec<EnvWarning>,
}

impl Reader<'_> {
    /// The trimmed value; empty counts as unset.
    fn get(&self, name: &str) -> Option<String> {
        let v = (self.lookup)(name)?;
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    fn warn(&mut self, variable: &'static str, value: Option<&str>, why: impl fmt::Display) {
        self.warnings.push(EnvWarning {
            variable,
            value: value.map(str::to_owned),
            message: why.to_string(),
        });
    }

    /// True only for a case-insensitive `true`; anything but `false` is reported.
    fn boolean(&mut self, name: &'static str) -> bool {
        match self.get(name) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                self.warn(name, Some(&v), "expected true or false; using false");
                false
            }
        }
    }

    /// A non-negative integer that fits in `u32`.
    fn count(&mut self, name: &'static str) -> Option<u32> {
        let v = self.get(name)?;
        let n = v.parse::<u32>().ok();
        if n.is_none() {
            self.warn(name, Some(&v), "not a non-negative integer");
        }
        n
    }

    /// An integer of at least 1.
    fn positive(&mut self, name: &'static str) -> Option<usize> {
        let v = self.get(name)?;
        match v.parse::<u32>() {
            Ok(n) if n > 0 => Some(n as usize),
            _ => {
                self.warn(name, Some(&v), "not a positive integer");
                None
            }
        }
    }

    /// Milliseconds, non-negative.
    fn millis(&mut self, name: &'static str) -> Option<Duration> {
        let v = self.get(name)?;
        let ms = v.parse::<u64>().ok();
        if ms.is_none() {
            self.warn(name, Some(&v), "not a non-negative number of milliseconds");
        }
        ms.map(Duration::from_millis)
    }

    /// One of `choices`, case-insensitive.
    fn choice<T: Copy>(&mut self, name: &'static str, choices: &[(&str, T)]) -> Option<T> {
        let v = self.get(name)?;
        if let Some((_, t)) = choices.iter().find(|(k, _)| v.eq_ignore_ascii_case(k)) {
            return Some(*t);
        }
        let names: Vec<&str> = choices.iter().map(|(k, _)| *k).collect();
        self.warn(
            name,
            Some(&v),
            format_args!("expected one of {}", names.join(", ")),
        );
        None
    }

    /// A `key=value,key=value` list, percent-decoded; any malformed entry discards the whole
    /// value, as the specification asks for resource attributes. `secret`: do not repeat the
    /// value in the warning.
    fn pairs(&mut self, name: &'static str, secret: bool) -> Option<Vec<(String, String)>> {
        let v = self.get(name)?;
        match parse_pairs(&v) {
            Ok(pairs) => Some(pairs),
            Err(why) => {
                let shown = (!secret).then_some(v.as_str());
                self.warn(
                    name,
                    shown,
                    format_args!("{why}; the whole value is ignored"),
                );
                None
            }
        }
    }

    /// An `http://` or `https://` URL with a host.
    fn url(&mut self, name: &'static str) -> Option<String> {
        let v = self.get(name)?;
        let rest = strip_prefix_ignore_case(&v, "http://")
            .or_else(|| strip_prefix_ignore_case(&v, "https://"));
        match rest {
            Some(rest) if !rest.is_empty() && !rest.starts_with(['/', '?', '#']) => Some(v),
            _ => {
                self.warn(name, Some(&v), "not an http:// or https:// URL with a host");
                None
            }
        }
    }

    fn sampler(&mut self) -> Sampler {
        #[derive(Clone, Copy)]
        enum Kind {
            On,
            Off,
            Ratio,
            ParentOn,
            ParentOff,
            ParentRatio,
            Unsupported,
        }
        const NAME: &str = "OTEL_TRACES_SAMPLER";
        const ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
        let Some(v) = self.get(NAME) else {
            return Sampler::default();
        };
        let kind = [
            ("always_on", Kind::On),
            ("always_off", Kind::Off),
            ("traceidratio", Kind::Ratio),
            ("parentbased_always_on", Kind::ParentOn),
            ("parentbased_always_off", Kind::ParentOff),
            ("parentbased_traceidratio", Kind::ParentRatio),
            ("jaeger_remote", Kind::Unsupported),
            ("parentbased_jaeger_remote", Kind::Unsupported),
            ("xray", Kind::Unsupported),
        ]
        .into_iter()
        .find(|(k, _)| v.eq_ignore_ascii_case(k))
        .map(|(_, kind)| kind);
        let ratio = |r: &mut Self| {
            let arg = r.get(ARG)?;
            match arg.parse::<f64>() {
                Ok(x) if (0.0..=1.0).contains(&x) => Some(x),
                _ => {
                    r.warn(ARG, Some(&arg), "not a ratio in [0, 1]; using 1.0");
                    None
                }
            }
        };
        match kind {
            Some(Kind::On) => Sampler::AlwaysOn,
            Some(Kind::Off) => Sampler::AlwaysOff,
            Some(Kind::Ratio) => Sampler::TraceIdRatio(ratio(self).unwrap_or(1.0)),
            Some(Kind::ParentOn) => Sampler::parent_based(Sampler::AlwaysOn),
            Some(Kind::ParentOff) => Sampler::parent_based(Sampler::AlwaysOff),
            Some(Kind::ParentRatio) => {
                Sampler::parent_based(Sampler::TraceIdRatio(ratio(self).unwrap_or(1.0)))
            }
            Some(Kind::Unsupported) => {
                self.warn(
                    NAME,
                    Some(&v),
                    "not supported by traced; using parentbased_always_on",
                );
                Sampler::default()
            }
            None => {
                self.warn(
                    NAME,
                    Some(&v),
                    format_args!("expected one of {SAMPLERS}; using parentbased_always_on"),
                );
                Sampler::default()
            }
        }
    }

    fn exporter(&mut self) -> TracesExporter {
        const NAME: &str = "OTEL_TRACES_EXPORTER";
        let endpoint_set =
            self.get(OTLP_ENDPOINT).is_some() || self.get(OTLP_TRACES_ENDPOINT).is_some();
        let mut chosen = None;
        if let Some(v) = self.get(NAME) {
            let mut known = Vec::new();
            for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let e = match item.to_ascii_lowercase().as_str() {
                    "otlp" => TracesExporter::Otlp,
                    "console" => TracesExporter::Console,
                    "none" => TracesExporter::None,
                    _ => {
                        self.warn(
                            NAME,
                            Some(item),
                            "expected otlp, console or none; this entry is ignored",
                        );
                        continue;
                    }
                };
                if !known.contains(&e) {
                    known.push(e);
                }
            }
            if known.len() > 1 {
                self.warn(
                    NAME,
                    Some(&v),
                    format_args!(
                        "traced uses one trace exporter; using the first, {:?}",
                        known[0]
                    ),
                );
            }
            chosen = known.first().copied();
        }
        let explicit = chosen.is_some();
        let exporter = chosen.unwrap_or(if endpoint_set {
            TracesExporter::Otlp
        } else {
            TracesExporter::Console
        });
        if exporter == TracesExporter::Otlp
            && !cfg!(any(feature = "otlp-http", feature = "otlp-grpc"))
        {
            let variable = if explicit {
                NAME
            } else if self.get(OTLP_TRACES_ENDPOINT).is_some() {
                OTLP_TRACES_ENDPOINT
            } else {
                OTLP_ENDPOINT
            };
            let value = self.get(variable);
            self.warn(variable, value.as_deref(), WITHOUT_OTLP);
            return TracesExporter::Console;
        }
        exporter
    }

    fn otlp(&mut self) -> OtlpConfig {
        let protocols = [
            ("grpc", OtlpProtocol::Grpc),
            ("http/protobuf", OtlpProtocol::HttpProtobuf),
            ("http/json", OtlpProtocol::HttpJson),
        ];
        let compressions = [
            ("gzip", OtlpCompression::Gzip),
            ("none", OtlpCompression::None),
        ];
        let d = OtlpConfig::default();
        let protocol = self
            .choice("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", &protocols)
            .or_else(|| self.choice("OTEL_EXPORTER_OTLP_PROTOCOL", &protocols))
            .unwrap_or(d.protocol);
        let endpoint = if let Some(url) = self.url(OTLP_TRACES_ENDPOINT) {
            url
        } else if let Some(base) = self.url(OTLP_ENDPOINT) {
            match protocol {
                OtlpProtocol::Grpc => base,
                OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                    format!("{}/v1/traces", base.trim_end_matches('/'))
                }
            }
        } else {
            match protocol {
                OtlpProtocol::Grpc => "http://localhost:4317".to_owned(),
                OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                    "http://localhost:4318/v1/traces".to_owned()
                }
            }
        };
        let headers = self
            .pairs("OTEL_EXPORTER_OTLP_TRACES_HEADERS", true)
            .or_else(|| self.pairs("OTEL_EXPORTER_OTLP_HEADERS", true))
            .map(|pairs| pairs.into_iter().collect())
            .unwrap_or_default();
        let timeout = self
            .millis("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
            .or_else(|| self.millis("OTEL_EXPORTER_OTLP_TIMEOUT"))
            .map_or(d.timeout, |t| if t.is_zero() { NO_TIMEOUT } else { t });
        let compression = self
            .choice("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", &compressions)
            .or_else(|| self.choice("OTEL_EXPORTER_OTLP_COMPRESSION", &compressions))
            .unwrap_or(d.compression);
        let path = |r: &Self, traces: &str, general: &str| {
            r.get(traces).or_else(|| r.get(general)).map(PathBuf::from)
        };
        let tls = OtlpTls {
            certificate: path(
                self,
                "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
            ),
            client_certificate: path(
                self,
                "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            ),
            client_key: path(
                self,
                "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
                "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            ),
        };
        let max_request_size = self
            .positive("TRACED_OTLP_MAX_REQUEST_SIZE")
            .unwrap_or(d.max_request_size);
        OtlpConfig {
            endpoint,
            protocol,
            headers,
            timeout,
            compression,
            tls,
            max_request_size,
        }
    }

    fn batch(&mut self) -> BatchConfig {
        let d = BatchConfig::default();
        let delay = self.millis("OTEL_BSP_SCHEDULE_DELAY");
        let timeout = self.millis("OTEL_BSP_EXPORT_TIMEOUT");
        let queue = self.positive("OTEL_BSP_MAX_QUEUE_SIZE");
        let batch = self.positive("OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
        let queue_size = queue.unwrap_or(d.max_queue_size());
        if let Some(b) = batch
            && b > queue_size
        {
            self.warn(
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                Some(&b.to_string()),
                format_args!(
                    "greater than the queue size; using OTEL_BSP_MAX_QUEUE_SIZE ({queue_size})"
                ),
            );
        }
        d.with_scheduled_delay(delay.unwrap_or(d.scheduled_delay()))
            .with_export_timeout(timeout.unwrap_or(d.export_timeout()))
            .with_max_queue_size(queue_size)
            .with_max_export_batch_size(batch.unwrap_or(d.max_export_batch_size()).min(queue_size))
    }

    fn limits(&mut self, d: SpanLimits) -> SpanLimits {
        let attr_count = self.count("OTEL_ATTRIBUTE_COUNT_LIMIT");
        let value_length = self.count("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT");
        SpanLimits {
            max_attributes_per_span: self
                .count("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT")
                .or(attr_count)
                .unwrap_or(d.max_attributes_per_span),
            max_events_per_span: self
                .count("OTEL_SPAN_EVENT_COUNT_LIMIT")
                .unwrap_or(d.max_events_per_span),
            max_links_per_span: self
                .count("OTEL_SPAN_LINK_COUNT_LIMIT")
                .unwrap_or(d.max_links_per_span),
            max_attributes_per_event: self
                .count("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT")
                .or(attr_count)
                .unwrap_or(d.max_attributes_per_event),
            max_attributes_per_link: self
                .count("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT")
                .or(attr_count)
                .unwrap_or(d.max_attributes_per_link),
            max_attribute_value_length: self
                .count("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT")
                .or(value_length)
                .or(d.max_attribute_value_length),
            max_debug_value_length: match self.count("TRACED_DEBUG_VALUE_LENGTH_LIMIT") {
                Some(0) => None,
                Some(n) => Some(n),
                None => d.max_debug_value_length,
            },
        }
    }
}

const WITHOUT_OTLP: &str =
    "traced was built without the `otlp` feature; using the console exporter";

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `key=value,key=value`: entries trimmed, empty entries skipped, keys and values
/// percent-decoded, keys non-empty.
fn parse_pairs(s: &str) -> Result<Vec<(String, String)>, &'static str> {
    let mut out = Vec::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (k, v) = entry.split_once('=').ok_or("an entry has no `=`")?;
        let k = percent_decode(k.trim()).ok_or("a key is not valid percent-encoded UTF-8")?;
        let v = percent_decode(v.trim()).ok_or("a value is not valid percent-encoded UTF-8")?;
        if k.is_empty() {
            return Err("an entry has an empty key");
        }
        out.push((k, v));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The pipeline's configuration: the environment's, with values decided in code on top.
///
/// Every `with_*` method overrides what the environment says; the rest still comes from it.
///
/// ```
/// use traced_runtime::config::{Config, TracesExporter};
/// use traced_runtime::Sampler;
/// use traced_runtime::pipeline::BatchConfig;
/// let guard = Config::from_env()
///     .with_service_name("checkout")
///     .with_resource_attribute("deployment.environment.name", "staging")
///     .with_sampler(Sampler::parent_based(Sampler::TraceIdRatio(0.1)))
///     .with_exporter(TracesExporter::None)
///     .with_batch_config(BatchConfig::default().with_max_queue_size(8192))
///     .install();
/// traced_runtime::span("work").start().end();
/// drop(guard);
/// ```
#[derive(Debug, Clone)]
#[must_use = "call .install()"]
pub struct Config {
    env: EnvConfig,
    resource: Vec<KeyValue>,
    warnings: Vec<EnvWarning>,
    shutdown_timeout: Option<Duration>,
    #[cfg(feature = "tracing")]
    tracing: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl Config {
    /// OpenTelemetry's defaults, without reading the environment.
    pub fn new() -> Self {
        Config {
            env: EnvConfig::default(),
            resource: Vec::new(),
            warnings: Vec::new(),
            shutdown_timeout: None,
            #[cfg(feature = "tracing")]
            tracing: false,
        }
    }

    /// The process environment's configuration; problems are reported on standard error,
    /// once per process.
    pub fn from_env() -> Self {
        Config {
            env: EnvConfig::from_env(),
            resource: Vec::new(),
            warnings: Vec::new(),
            shutdown_timeout: None,
            #[cfg(feature = "tracing")]
            tracing: false,
        }
    }

    /// The configuration `lookup` describes (see [`EnvConfig::parse`]); problems are kept in
    /// [`Config::warnings`], not printed.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        let (env, warnings) = EnvConfig::parse(lookup);
        Config {
            env,
            resource: Vec::new(),
            warnings,
            shutdown_timeout: None,
            #[cfg(feature = "tracing")]
            tracing: false,
        }
    }

    /// The values ignored by [`Config::from_lookup`].
    pub fn warnings(&self) -> &[EnvWarning] {
        &self.warnings
    }

    /// The settings as they stand (resource attributes set in code aside).
    pub fn settings(&self) -> &EnvConfig {
        &self.env
    }

    /// Installs nothing when `true`, as `OTEL_SDK_DISABLED=true` does.
    pub fn with_sdk_disabled(mut self, disabled: bool) -> Self {
        self.env.sdk_disabled = disabled;
        self
    }
    /// The `service.name`, over `OTEL_SERVICE_NAME`.
    pub fn with_service_name(self, name: impl Into<String>) -> Self {
        self.with_resource_attribute("service.name", name.into())
    }
    /// A resource attribute, over the environment's; the last call for a key wins.
    pub fn with_resource_attribute(mut self, key: impl Into<Key>, value: impl ToValue) -> Self {
        self.resource.push(KeyValue::new(key, value));
        self
    }
    /// The sampler, over `OTEL_TRACES_SAMPLER`.
    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        self.env.sampler = sampler;
        self
    }
    /// The exporter, over `OTEL_TRACES_EXPORTER`.
    pub fn with_exporter(mut self, exporter: TracesExporter) -> Self {
        self.env.exporter = exporter;
        self
    }
    /// Where and how OTLP is sent, over the `OTEL_EXPORTER_OTLP_*` variables.
    pub fn with_otlp(mut self, otlp: OtlpConfig) -> Self {
        self.env.otlp = otlp;
        self
    }
    /// The PEM file of the CA to trust for an `https://` collector, instead of the system's
    /// and the bundled roots; over `OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE`. See
    /// [`OtlpTls`].
    pub fn with_otlp_certificate(mut self, ca_file: impl Into<PathBuf>) -> Self {
        self.env.otlp.tls.certificate = Some(ca_file.into());
        self
    }
    /// The PEM file of the client certificate chain for mutual TLS; over
    /// `OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_CERTIFICATE`. Needs [`Config::with_otlp_client_key`].
    pub fn with_otlp_client_certificate(mut self, cert_file: impl Into<PathBuf>) -> Self {
        self.env.otlp.tls.client_certificate = Some(cert_file.into());
        self
    }
    /// The PEM file of the client certificate's private key; over
    /// `OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_KEY`.
    pub fn with_otlp_client_key(mut self, key_file: impl Into<PathBuf>) -> Self {
        self.env.otlp.tls.client_key = Some(key_file.into());
        self
    }
    /// The largest OTLP export request in bytes, over `TRACED_OTLP_MAX_REQUEST_SIZE`; see
    /// [`OtlpConfig::max_request_size`].
    pub fn with_otlp_max_request_size(mut self, bytes: usize) -> Self {
        self.env.otlp.max_request_size = bytes.max(1);
        self
    }
    /// The batch processor's settings, over the `OTEL_BSP_*` variables.
    pub fn with_batch_config(mut self, batch: BatchConfig) -> Self {
        self.env.batch = batch;
        self
    }
    /// How long dropping the guard (or [`shutdown`](crate::pipeline::shutdown)) waits for what is
    /// queued to be exported, over `OTEL_BSP_EXPORT_TIMEOUT` (the default deadline). Zero
    /// means no limit. With the collector down a program exits sooner: see
    /// [`BatchSpanProcessor`](crate::pipeline::BatchSpanProcessor).
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }
    /// The span limits, over the `*_LIMIT` variables.
    pub fn with_limits(mut self, limits: SpanLimits) -> Self {
        self.env.limits = limits;
        self
    }

    /// The resource: the process defaults, then `OTEL_RESOURCE_ATTRIBUTES`, then
    /// `OTEL_SERVICE_NAME`, then the attributes set in code.
    pub fn resource(&self) -> Resource {
        let mut resource = Resource::default_for_process();
        for (k, v) in &self.env.resource_attributes {
            resource.set(k.clone(), v.as_str());
        }
        if let Some(name) = &self.env.service_name {
            resource.set("service.name", name.as_str());
        }
        for kv in &self.resource {
            resource.set(kv.key.clone(), kv.value.clone());
        }
        resource
    }

    /// A pipeline builder with these settings: sampler, limits, resource and the exporter's
    /// processor (a batch processor for the console and OTLP) and the guard's deadline
    /// (`OTEL_BSP_EXPORT_TIMEOUT`; [`CONSOLE_TIMEOUT`] for the console). Further `with_*`
    /// calls on the builder win.
    pub fn into_pipeline_builder(self) -> PipelineBuilder {
        let mut builder = PipelineBuilder::default()
            .with_sampler(self.env.sampler.clone())
            .with_limits(self.env.limits)
            .with_resource(self.resource())
            .with_shutdown_timeout(self.env.batch.export_timeout());
        if self.env.sdk_disabled {
            builder.disabled = true;
            return builder;
        }
        builder = match self.env.exporter {
            TracesExporter::Console => console_builder(builder),
            TracesExporter::None => builder.with_simple_exporter(NoopExporter),
            TracesExporter::Otlp => otlp_builder(builder, &self.env),
        };
        match self.shutdown_timeout {
            Some(timeout) => builder.with_shutdown_timeout(timeout),
            None => builder,
        }
    }

    /// With `true`, [`install`](Config::install) also makes the process's default `tracing`
    /// subscriber a registry with traced's layer and a fmt layer that writes lines with the
    /// ids to standard error, levels INFO and above (feature `tracing`): the common case in one
    /// line. A program that already sets a subscriber is left alone (a warning says so); add
    /// [`crate::tracing::layer()`] to it instead.
    ///
    /// ```
    /// let _guard = traced_runtime::Config::from_env().with_tracing(true).install();
    /// tracing::info!("this line carries the ids of the span it is written in");
    /// ```
    #[cfg(feature = "tracing")]
    pub fn with_tracing(mut self, on: bool) -> Self {
        self.tracing = on;
        self
    }

    /// Builds and installs the pipeline (nothing when disabled); keep the guard alive until
    /// the end of `main`.
    pub fn install(self) -> PipelineGuard {
        #[cfg(feature = "tracing")]
        let tracing = self.tracing;
        let guard = self.into_pipeline_builder().install();
        #[cfg(feature = "tracing")]
        if tracing && let Err(e) = crate::integrations::tracing::try_init() {
            report_once(&format!(
                "traced: the tracing subscriber was not installed ({e})"
            ));
        }
        guard
    }
}

#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
fn otlp_builder(builder: PipelineBuilder, env: &EnvConfig) -> PipelineBuilder {
    match crate::export::otlp::exporter(&env.otlp) {
        Ok(exporter) => builder.with_batch_exporter_config(exporter, env.batch),
        Err(e) => {
            report_once(&format!(
                "traced: the OTLP exporter for {} could not be created ({e}); spans are not exported",
                env.otlp.endpoint
            ));
            builder.with_simple_exporter(NoopExporter)
        }
    }
}

#[cfg(not(any(feature = "otlp-http", feature = "otlp-grpc")))]
fn otlp_builder(builder: PipelineBuilder, _env: &EnvConfig) -> PipelineBuilder {
    report_once(&format!("traced: OTLP export: {WITHOUT_OTLP}"));
    console_builder(builder)
}

/// How often the console exporter prints.
pub const CONSOLE_DELAY: Duration = Duration::from_millis(100);
/// How long the console exporter may take to write one batch, and the exit to wait for it.
pub const CONSOLE_TIMEOUT: Duration = Duration::from_secs(2);

/// The console exporter in a batch processor: it writes from the background thread every
/// [`CONSOLE_DELAY`], so a span end never waits for standard error (a pipe nobody reads
/// would block it); a write stuck for [`CONSOLE_TIMEOUT`] is abandoned and its spans counted
/// as failed, later spans dropped while the queue is full, and the exit waits that long at most.
fn console_builder(builder: PipelineBuilder) -> PipelineBuilder {
    let batch = BatchConfig::default()
        .with_scheduled_delay(CONSOLE_DELAY)
        .with_export_timeout(CONSOLE_TIMEOUT);
    builder
        .with_batch_exporter_config(ConsoleExporter::new(), batch)
        .with_shutdown_timeout(CONSOLE_TIMEOUT)
}

/// Installs a pipeline configured from the standard `OTEL_*` environment variables (see the
/// [`config`](crate::config) module for the list and defaults). Keep the guard alive until
/// the end of `main`: dropping it exports what is left.
///
/// ```
/// // At the top of `main`:
/// let _guard = traced_runtime::init();
/// traced_runtime::span("startup").start().end();
/// ```
pub fn init() -> PipelineGuard {
    Config::from_env().install()
}
