//! Runs every benchmark and prints one markdown report:
//!
//! ```sh
//! cargo run -p traced-benches --release --bin report
//! ```
//!
//! 1. `cargo bench -p traced-benches --bench spans` (criterion; arguments after `--` go to it),
//! 2. `cargo bench -p traced-benches --features bridge --bench spans` for the `bridge` group
//!    only (traced's `tracing` feature is compiled into that build alone, so every other row
//!    measures traced as a program without the feature gets it; `--no-bridge` skips it),
//! 3. the `alloc` binary (heap allocations per call on the calling thread), and the new
//!    cases it does not list itself (`alloc <case>`),
//! 4. the `throughput` binary (CPU per span with background work, memory under overload),
//!    `throughput paced traced-otlp` (2 M spans/s from one thread) unless it ran already, and
//!    the paced search: traced-otlp at 2, 3, 4, 6 and 8 M spans/s, once each, in processes
//!    of this binary's own (`report --paced-search <rate>`),
//! 5. the `http` binary (a server span per HTTP request, against plain, tower-http with
//!    tracing-opentelemetry, and fastrace-axum; about 80 s; `--no-http` skips it),
//! 6. the stack per frame of the benches' function, plain and `#[traced]`, in this process,
//!
//! then reads criterion's `criterion/<scenario>/<lib>/new/estimates.json` medians and prints
//! the tables, the issue-19 targets first (also written to `<target>/traced-bench-report.md`).
//! `--no-run` only prints the report from the last results.

use serde_json::Value;
use std::fmt::Write as _;
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use traced_benches::{BURST, Lib, Scenario};

/// Cases counted by `alloc <case>` when the `alloc` binary's own list lacks them.
const EXTRA_ALLOC: [&str; 2] = ["two_threads/traced", "two_threads/traced-batch"];

/// Rates of the paced search, in M spans/s: each tried once.
const PACED_RATES: [u64; 5] = [2, 3, 4, 6, 8];

/// Calls per paced run: as many as `throughput`'s (1 048 576).
const PACED_CALLS: u64 = 1 << 20;

#[allow(
    clippy::too_many_lines,
    reason = "the steps of the run, read top to bottom"
)]
fn main() {
    let exe = std::env::current_exe().expect("own path");
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, rate] = args.as_slice()
        && flag == "--paced-search"
    {
        let rate: u64 = rate.parse().expect("--paced-search <spans per second>");
        println!("{}", traced_benches::paced_otlp(rate, PACED_CALLS));
        return;
    }
    // <target>/release/report
    let bin_dir = exe.parent().expect("bin dir").to_path_buf();
    let target = bin_dir.parent().expect("target dir").to_path_buf();
    let criterion = target.join("criterion");
    let no_run = args.iter().any(|a| a == "--no-run");
    let no_bridge = args.iter().any(|a| a == "--no-bridge");
    let no_http = args.iter().any(|a| a == "--no-http");
    args.retain(|a| a != "--no-run" && a != "--no-bridge" && a != "--no-http");
    let http_path = target.join("traced-bench-http.md");

    let (alloc, throughput) = if no_run {
        (
            read_lines(&target.join("traced-bench-alloc.jsonl")),
            read_lines(&target.join("traced-bench-throughput.jsonl")),
        )
    } else {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let bench = |features: &[&str], scenarios: Option<&str>| {
            // Criterion's own output goes to stderr, so stdout holds only the report.
            let to_stderr = std::io::stderr()
                .as_fd()
                .try_clone_to_owned()
                .expect("stderr");
            let mut command = Command::new(&cargo);
            command
                .args(["bench", "-p", "traced-benches"])
                .args(features)
                .args(["--bench", "spans", "--"])
                .stdout(Stdio::from(to_stderr))
                .args(&args)
                .env("CARGO_TARGET_DIR", &target)
                .env("CRITERION_HOME", &criterion);
            if let Some(scenarios) = scenarios {
                command.env("TRACED_BENCH_SCENARIOS", scenarios);
            }
            command.status().expect("run cargo bench").success()
        };
        eprintln!("== criterion: cargo bench -p traced-benches --bench spans");
        assert!(bench(&[], None), "cargo bench failed");
        if !no_bridge {
            eprintln!(
                "== criterion, the bridge: cargo bench -p traced-benches --features bridge --bench spans (group `bridge`)"
            );
            // A full run starts the group afresh, so that a failed pass leaves no old figures.
            if args.is_empty() {
                let _ = std::fs::remove_dir_all(criterion.join(Scenario::Bridge.id()));
            }
            // The rest of the report does not need it: go on without the bridge rows.
            if !bench(&["--features", "bridge"], Some(Scenario::Bridge.id())) {
                eprintln!("== the bridge pass failed: the report goes on without its rows");
            }
        }
        let status = Command::new(&cargo)
            .args(["build", "--release", "-p", "traced-benches"])
            .args(["--bin", "alloc", "--bin", "throughput", "--bin", "http"])
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build failed");
        eprintln!("== allocations per call");
        let alloc_exe = bin_dir.join("alloc");
        let mut alloc = capture(&alloc_exe, &[]);
        for case in EXTRA_ALLOC {
            if !alloc.iter().any(|v| v["case"] == case) {
                alloc.extend(try_capture(&alloc_exe, &[case]).unwrap_or_default());
            }
        }
        std::fs::write(target.join("traced-bench-alloc.jsonl"), lines_text(&alloc)).ok();
        eprintln!("== throughput and overload");
        let throughput_exe = bin_dir.join("throughput");
        let mut throughput = capture(&throughput_exe, &[]);
        if !throughput
            .iter()
            .any(|v| v["mode"] == "paced" && v["lib"] == "traced-otlp")
        {
            eprintln!("== throughput paced traced-otlp");
            throughput.extend(
                try_capture(&throughput_exe, &["paced", "traced-otlp", "--pin"])
                    .unwrap_or_default(),
            );
        }
        eprintln!("== paced search: traced-otlp at {PACED_RATES:?} M spans/s");
        for rate in PACED_RATES {
            let rate = (rate * 1_000_000).to_string();
            throughput.extend(try_capture(&exe, &["--paced-search", &rate]).unwrap_or_default());
        }
        std::fs::write(
            target.join("traced-bench-throughput.jsonl"),
            lines_text(&throughput),
        )
        .ok();
        if no_http {
            let _ = std::fs::remove_file(&http_path);
        } else {
            eprintln!("== a server span per HTTP request (the http binary)");
            match Command::new(bin_dir.join("http"))
                .stderr(Stdio::inherit())
                .output()
            {
                Ok(out) if out.status.success() => {
                    std::fs::write(&http_path, &out.stdout).ok();
                }
                outcome => {
                    eprintln!(
                        "== the http run failed ({outcome:?}): the report goes on without it"
                    );
                    let _ = std::fs::remove_file(&http_path);
                }
            }
        }
        (alloc, throughput)
    };
    let http = std::fs::read_to_string(&http_path).ok();
    let stack = traced_benches::stack::bytes_per_frame();

    let report = render(&criterion, &alloc, &throughput, stack, http.as_deref());
    std::fs::write(target.join("traced-bench-report.md"), &report).ok();
    println!("{report}");
}

/// Runs `exe` with `args`: the JSON objects it printed, one a line.
fn capture(exe: &Path, args: &[&str]) -> Vec<Value> {
    try_capture(exe, args).unwrap_or_else(|| panic!("{} {args:?} failed", exe.display()))
}

/// [`capture`], `None` (and a note on stderr) when `exe` fails.
fn try_capture(exe: &Path, args: &[&str]) -> Option<Vec<Value>> {
    let out = Command::new(exe)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", exe.display()));
    if !out.status.success() {
        eprintln!("{} {args:?} failed: {}", exe.display(), out.status);
        return None;
    }
    Some(parse_lines(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l.trim()).ok())
        .collect()
}

fn read_lines(path: &Path) -> Vec<Value> {
    parse_lines(&std::fs::read_to_string(path).unwrap_or_default())
}

fn lines_text(values: &[Value]) -> String {
    values.iter().fold(String::new(), |mut out, v| {
        let _ = writeln!(out, "{v}");
        out
    })
}

/// The median, in ns per call, of one criterion benchmark.
fn median(criterion: &Path, scenario: Scenario, lib: Lib) -> Option<f64> {
    let path: PathBuf = [
        criterion,
        Path::new(scenario.id()),
        Path::new(lib.id()),
        Path::new("new/estimates.json"),
    ]
    .iter()
    .collect();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

/// The share of spans traced's batch processor dropped during one criterion benchmark (the
/// bench writes its counts beside the estimates), and the count received.
fn dropped(criterion: &Path, scenario: Scenario, lib: Lib) -> Option<(f64, u64)> {
    let path = criterion
        .join(scenario.id())
        .join(lib.id())
        .join("traced-stats.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let received = v["received"].as_u64()?;
    let dropped = v["dropped"].as_u64()?;
    (received > 0).then(|| (dropped as f64 / received as f64, received))
}

/// A dropped share as a percentage, `–` when unknown.
fn percent(share: Option<(f64, u64)>) -> String {
    share.map_or("–".to_owned(), |(share, _)| {
        format!("{:.1} %", share * 100.0)
    })
}

fn ns(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if v < 10.0 => format!("{v:.2}"),
        Some(v) if v < 100.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.0}"),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "–".into(),
    }
}

/// The ratio columns: each pipeline against its like (traced-batch and otel-sdk-batch both
/// hand spans to a background thread; fastrace always does).
const RATIOS: [(Lib, Lib); 6] = [
    (Lib::Traced, Lib::Fastrace),
    (Lib::TracedBatch, Lib::Fastrace),
    (Lib::Traced, Lib::Tracing),
    (Lib::Traced, Lib::TracingOtel),
    (Lib::Traced, Lib::Otel),
    (Lib::TracedBatch, Lib::OtelBatch),
];

#[allow(
    clippy::too_many_lines,
    reason = "one table after another, read top to bottom"
)]
fn render(
    criterion: &Path,
    alloc: &[Value],
    throughput: &[Value],
    stack: (usize, usize),
    http: Option<&str>,
) -> String {
    let mut out = String::new();
    let m = |s, l| median(criterion, s, l);
    // A library's median in a scenario, if the scenario measures it (the bridge group's
    // libraries are listed only in a build with the feature: look for them regardless).
    let cell = |s: Scenario, l: Lib| {
        (s.libs().contains(&l) || s == Scenario::Bridge)
            .then(|| m(s, l))
            .flatten()
    };
    // The columns after traced's own: every other library of the main scenarios.
    let others: Vec<Lib> = Scenario::Child
        .libs()
        .iter()
        .copied()
        .filter(|&l| l != Lib::Traced)
        .collect();
    let plain = m(Scenario::Baseline, Lib::Plain);
    let floor = m(Scenario::Baseline, Lib::Floor);
    out.push_str(&targets(&cell, criterion, alloc, throughput, stack));
    let _ = writeln!(
        out,
        "\n### ns per call (criterion median, same run)\n\nplain `work` {} ns · raw floor (2 TSC reads + 64-byte push) {} ns\n",
        ns(plain),
        ns(floor)
    );
    out.push_str("| scenario | plain | traced | traced − plain |");
    for lib in &others {
        let _ = write!(out, " {} |", lib.id());
    }
    for (a, b) in RATIOS {
        let _ = write!(out, " {}/{} |", a.id(), b.id());
    }
    out.push_str("\n|---|---:|---:|---:|");
    out.push_str(&"---:|".repeat(others.len() + RATIOS.len()));
    out.push('\n');
    let rows = [
        (Scenario::Disabled, "disabled (nothing installed)"),
        (Scenario::Unsampled, "unsampled (AlwaysOff)"),
        (Scenario::Child, "sampled child, kind + 2 args: sustained"),
        (Scenario::ChildBurst, "sampled child"),
        (Scenario::Root, "sampled root: sustained"),
        (Scenario::RootBurst, "sampled root"),
        (Scenario::AsyncCall, "async fn: create + poll to end"),
        (Scenario::AsyncPoll, "async fn: one poll of a live future"),
    ];
    for (scenario, label) in rows {
        let label = if scenario.is_burst() {
            format!("{label}: bursts of {BURST}, drained between")
        } else {
            label.to_owned()
        };
        let base = if scenario.libs().contains(&Lib::Plain) {
            m(scenario, Lib::Plain)
        } else {
            plain
        };
        let traced = m(scenario, Lib::Traced);
        let over = match (traced, base) {
            (Some(t), Some(p)) => format!("{:+.1}", t - p),
            _ => "–".into(),
        };
        let _ = write!(
            out,
            "| {label} | {} | **{}** | {over} |",
            ns(base),
            ns(traced)
        );
        for &lib in &others {
            let _ = write!(out, " {} |", ns(cell(scenario, lib)));
        }
        for (a, b) in RATIOS {
            let _ = write!(out, " {} |", ratio(cell(scenario, a), cell(scenario, b)));
        }
        out.push('\n');
    }

    // The same figures, side by side: the ratio to fastrace depends on whether its collector
    // keeps up, so both are given.
    let _ = writeln!(
        out,
        "\n### traced against fastrace: sustained and in bursts of {BURST}\n\n| scenario | traced | traced-batch (sustained / burst) | fastrace (sustained / burst) | tracing | traced/fastrace sustained | traced/fastrace burst | traced-batch/fastrace sustained | traced-batch/fastrace burst | traced/tracing |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (sustained, burst, label) in [
        (Scenario::Child, Scenario::ChildBurst, "sampled child"),
        (Scenario::Root, Scenario::RootBurst, "sampled root"),
    ] {
        let traced = cell(sustained, Lib::Traced);
        let batch = (
            cell(sustained, Lib::TracedBatch),
            cell(burst, Lib::TracedBatch),
        );
        let fastrace = (cell(sustained, Lib::Fastrace), cell(burst, Lib::Fastrace));
        let tracing = cell(sustained, Lib::Tracing);
        let _ = writeln!(
            out,
            "| {label} | {} | {} / {} | {} / {} | {} | {} | {} | {} | {} | {} |",
            ns(traced),
            ns(batch.0),
            ns(batch.1),
            ns(fastrace.0),
            ns(fastrace.1),
            ns(tracing),
            ratio(traced, fastrace.0),
            ratio(traced, fastrace.1),
            ratio(batch.0, fastrace.0),
            ratio(batch.1, fastrace.1),
            ratio(traced, tracing),
        );
    }

    out.push_str(&attributes(&cell));
    out.push_str(&batch_drops(criterion));
    out.push_str(&two_threads(&cell, criterion));
    out.push_str(&bridge(&cell));

    let _ = writeln!(
        out,
        "\n### Heap allocations per call on the calling thread\n\n| case | allocations | bytes |\n|---|---:|---:|"
    );
    for v in alloc {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            v["case"].as_str().unwrap_or("?"),
            fmt_num(&v["allocs_per_call"]),
            fmt_num(&v["bytes_per_call"]),
        );
    }

    let _ = writeln!(
        out,
        "\n### End to end through a background pipeline (1 M sampled children in roots of 256; per library, the run with the median CPU per exported span of {} interleaved runs)\n\n| library | spans | exported | dropped | calling thread ns/span | process CPU ns/span | process CPU ns/exported span | range over the runs | OTLP bytes/span |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        traced_benches::THROUGHPUT_ROUNDS
    );
    // Every run but the overload and the paced search: the flat-out runs (`cpu`), then the
    // paced ones and any other mode, labelled with it.
    let e2e_runs: Vec<&Value> = throughput
        .iter()
        .filter(|v| {
            v["mode"] != "overload" && v["mode"] != "paced-search" && v["mode"] != "roundtrip"
        })
        .collect();
    // Each (mode, library) once, the flat-out runs first, each in the order its first run
    // came in.
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for v in &e2e_runs {
        if let (Some(mode), Some(lib)) = (v["mode"].as_str(), v["lib"].as_str())
            && !keys.contains(&(mode, lib))
        {
            keys.push((mode, lib));
        }
    }
    keys.sort_by_key(|&(mode, _)| mode != "cpu");
    for (mode, lib) in keys {
        let runs = median_run(&e2e_runs, mode, lib);
        let v = runs.median;
        let label = match mode {
            "cpu" => lib.to_owned(),
            "paced" => format!("{lib}, paced at 2 M spans/s"),
            other => format!("{lib}, {other}"),
        };
        let range = runs.range;
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} | {} | {} | {range} | {} |",
            v["spans"],
            v["exported"],
            v["dropped"],
            fmt_num(&v["calling_cpu_ns_per_span"]),
            fmt_num(&v["cpu_ns_per_span"]),
            fmt_num(&v["cpu_ns_per_exported_span"]),
            match v["otlp_bytes_per_span"].as_f64() {
                Some(b) if b > 0.0 => format!("{b:.0}"),
                _ => "–".to_owned(),
            },
        );
    }
    out.push_str(&round_trips(throughput));
    out.push_str(&paced_search(throughput));
    for v in throughput.iter().filter(|v| v["mode"] == "overload") {
        let _ = writeln!(
            out,
            "\n### Sustained overload (traced, exporter sleeping 2 ms per batch, {} s)\n\n| spans | exported | dropped | ns/span | VmHWM before | VmHWM after 1 M calls | VmHWM at end |\n|---:|---:|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} KiB | {} KiB | {} KiB |",
            fmt_num(&v["seconds"]),
            v["spans"],
            v["exported_while_loaded"],
            v["dropped"],
            fmt_num(&v["ns_per_span"]),
            v["vm_hwm_kib_before"],
            v["vm_hwm_kib_first_mib_of_calls"],
            v["vm_hwm_kib"],
        );
    }
    if let Some(http) = http {
        let _ = write!(
            out,
            "\n### A server span per HTTP request (`--bin http`: 4 keep-alive connections, 3 s per stack, 5 interleaved rounds, medians; process CPU per request, client included)\n\n{http}"
        );
    }
    out
}

fn fmt_num(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 => format!("{f:.0}"),
        Some(f) => format!("{f:.2}"),
        None => "–".into(),
    }
}

/// A criterion median by scenario and library, `None` where it was not measured.
type Cell<'a> = dyn Fn(Scenario, Lib) -> Option<f64> + 'a;

/// The runs of one (mode, library) of the end-to-end runs: the one with the median CPU per
/// exported span, and the range over them.
struct MedianRun<'a> {
    median: &'a Value,
    range: String,
}

fn median_run<'a>(runs: &[&'a Value], mode: &str, lib: &str) -> MedianRun<'a> {
    let per_exported = |v: &&Value| v["cpu_ns_per_exported_span"].as_f64().unwrap_or(f64::NAN);
    let mut runs: Vec<&Value> = runs
        .iter()
        .copied()
        .filter(|v| v["mode"] == mode && v["lib"] == lib)
        .collect();
    runs.sort_by(|a, b| per_exported(a).total_cmp(&per_exported(b)));
    let range = match (runs.first(), runs.last()) {
        (Some(lo), Some(hi)) if runs.len() > 1 => {
            format!("{:.0}–{:.0}", per_exported(lo), per_exported(hi))
        }
        _ => "–".to_owned(),
    };
    MedianRun {
        median: runs[(runs.len() - 1) / 2],
        range,
    }
}

/// `a / b`, when both were measured.
fn div(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// One row of the targets table: what was measured (shown as `shown`), against `limit`
/// (`value` must be at most `limit`; `None`: no number to hold it to).
struct Target {
    name: &'static str,
    shown: String,
    value: Option<f64>,
    goal: String,
    limit: Option<f64>,
    /// Said with a met goal: what makes the figure flatter (spans shed rather than handed
    /// over).
    caveat: Option<String>,
}

impl Target {
    /// A ratio of two medians, at most `limit`.
    fn ratio(name: &'static str, a: Option<f64>, b: Option<f64>, limit: f64) -> Target {
        let value = div(a, b);
        Target {
            name,
            shown: match value {
                Some(r) => format!("{r:.2}x ({} / {} ns)", ns(a), ns(b)),
                None => "–".to_owned(),
            },
            value,
            goal: format!("≤ {limit}x"),
            limit: Some(limit),
            caveat: None,
        }
    }
    fn met(&self) -> String {
        match (self.value, self.limit) {
            (Some(v), Some(limit)) if v <= limit => match &self.caveat {
                Some(caveat) => format!("met, but {caveat}"),
                None => "met".to_owned(),
            },
            (Some(_), Some(_)) => "**not met**".to_owned(),
            _ => "–".to_owned(),
        }
    }
}

/// The issue-19 targets (and issue 14's bridge ratio), each with what this run measured.
#[allow(
    clippy::too_many_lines,
    reason = "one row per target, in the issue's order"
)]
fn targets(
    cell: &Cell<'_>,
    criterion: &Path,
    alloc: &[Value],
    throughput: &[Value],
    (plain_frame, traced_frame): (usize, usize),
) -> String {
    use Lib::{Floor, Plain, Traced, TracedBatch, TracedLazy, Tracing, TracingBridge, TracingOtel};
    use Scenario::{
        AsyncCall, Baseline, Bridge, Child, Child8, ChildBurst, Disabled, Root, TwoThreads,
        TwoThreadsBurst, Unsampled,
    };
    let plain = cell(Baseline, Plain);
    let over_plain = |name, scenario, limit: f64| {
        let value = match (cell(scenario, Traced), plain) {
            (Some(t), Some(p)) => Some(t - p),
            _ => None,
        };
        Target {
            name,
            shown: value.map_or("–".to_owned(), |v| {
                format!(
                    "{v:+.2} ns ({} − {} ns)",
                    ns(cell(scenario, Traced)),
                    ns(plain)
                )
            }),
            value,
            goal: format!("≤ +{limit} ns"),
            limit: Some(limit),
            caveat: None,
        }
    };
    let allocs = |case: &str| {
        alloc
            .iter()
            .find(|v| v["case"] == case)
            .and_then(|v| v["allocs_per_call"].as_f64())
    };
    // The largest allocation count per call among traced's cases.
    let traced_allocs = alloc
        .iter()
        .filter(|v| {
            v["case"]
                .as_str()
                .is_some_and(|c| c.ends_with("/traced") || c.ends_with("/traced-batch"))
        })
        .filter_map(|v| Some((v["case"].as_str()?, v["allocs_per_call"].as_f64()?)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let zero = |name, value: Option<f64>, shown: String| Target {
        name,
        shown,
        value,
        goal: "0".to_owned(),
        limit: Some(0.0),
        caveat: None,
    };
    let e2e: Vec<&Value> = throughput.iter().collect();
    let otlp = throughput
        .iter()
        .any(|v| v["mode"] == "cpu" && v["lib"] == "traced-otlp")
        .then(|| median_run(&e2e, "cpu", "traced-otlp").median);
    let otlp_ns = otlp.and_then(|v| v["cpu_ns_per_exported_span"].as_f64());
    // The 2 M spans/s run: `throughput paced`'s, else the paced search's.
    let paced = throughput
        .iter()
        .find(|v| v["mode"] == "paced" && v["lib"] == "traced-otlp")
        .or_else(|| {
            throughput
                .iter()
                .find(|v| v["mode"] == "paced-search" && v["rate"] == 2_000_000)
        });
    let paced_dropped = paced.and_then(|v| v["dropped"].as_f64());
    let best = best_paced_rate(throughput);

    // A batch-processor ratio, with the share of spans it dropped while measured.
    let with_drops = |mut target: Target, scenario: Scenario| {
        if let Some(share) = dropped(criterion, scenario, TracedBatch) {
            let _ = write!(target.shown, ", {} dropped", percent(Some(share)));
            if share.0 > 0.01 {
                target.caveat = Some(format!("{} of the spans dropped", percent(Some(share))));
            }
        }
        target
    };
    let rows = [
        over_plain("disabled: traced − plain", Disabled, 1.0),
        over_plain("unsampled: traced − plain", Unsampled, 3.0),
        Target::ratio(
            "sampled child / raw floor",
            cell(Child, Traced),
            cell(Baseline, Floor),
            1.6,
        ),
        Target::ratio(
            "sampled child / tracing",
            cell(Child, Traced),
            cell(Child, Tracing),
            0.25,
        ),
        with_drops(
            Target::ratio(
                "sampled child, traced-batch (BatchSpanProcessor) / counting processor, sustained",
                cell(Child, TracedBatch),
                cell(Child, Traced),
                1.2,
            ),
            Child,
        ),
        with_drops(
            Target::ratio(
                "sampled root, traced-batch / counting processor, sustained",
                cell(Root, TracedBatch),
                cell(Root, Traced),
                2.0,
            ),
            Root,
        ),
        Target::ratio(
            "sampled root / tracing",
            cell(Root, Traced),
            cell(Root, Tracing),
            0.7,
        ),
        Target::ratio(
            "async fn create + poll / tracing",
            cell(AsyncCall, Traced),
            cell(AsyncCall, Tracing),
            0.3,
        ),
        Target::ratio(
            "8 attributes / 2 attributes (child8 / child, bursts of 1024)",
            cell(Child8, Traced),
            cell(ChildBurst, Traced),
            1.5,
        ),
        zero(
            "allocations per call on the calling thread, 8 attributes (child8/traced)",
            allocs("child8/traced"),
            allocs("child8/traced").map_or("–".to_owned(), |a| format!("{a}")),
        ),
        zero(
            "allocations per call on the calling thread, every traced case (the largest)",
            traced_allocs.map(|(_, a)| a),
            traced_allocs.map_or("–".to_owned(), |(case, a)| format!("{a} ({case})")),
        ),
        Target::ratio(
            "two threads / one thread, per span (counting processor)",
            cell(TwoThreads, Traced),
            cell(Child, Traced),
            1.3,
        ),
        with_drops(
            Target::ratio(
                "two threads / one thread, per span (traced-batch, sustained)",
                cell(TwoThreads, TracedBatch),
                cell(Child, TracedBatch),
                1.3,
            ),
            TwoThreads,
        ),
        with_drops(
            Target::ratio(
                "two threads / one thread, per span (traced-batch, bursts of 1024 drained between)",
                cell(TwoThreadsBurst, TracedBatch),
                cell(ChildBurst, TracedBatch),
                1.3,
            ),
            TwoThreadsBurst,
        ),
        Target {
            name: "end to end into OTLP (traced-otlp): process CPU per exported span",
            shown: {
                // Flat out, the thread may outrun the worker: the share it dropped (and shed)
                // weighs on the CPU per exported span, so it is shown beside it, with the
                // same pipeline's figure at a steady 2 M spans/s.
                let mut shown = otlp_ns.map_or("–".to_owned(), |v| format!("{v:.1} ns flat out"));
                if let Some(v) = otlp
                    && let (Some(d), Some(n)) = (v["dropped"].as_f64(), v["spans"].as_f64())
                    && n > 0.0
                {
                    let _ = write!(shown, " ({:.1} % dropped)", 100.0 * d / n);
                }
                if let Some(ns) = paced.and_then(|v| v["cpu_ns_per_exported_span"].as_f64()) {
                    let _ = write!(shown, "; {ns:.1} ns paced at 2 M spans/s");
                }
                // The machine's spell: the figure moves with how fast a line crosses cores.
                if let Some(ns) = median_round_trip(throughput) {
                    let _ = write!(shown, "; a line's round trip between the CPUs {ns:.0} ns");
                }
                shown
            },
            value: otlp_ns,
            goal: "≤ 80 ns".to_owned(),
            limit: Some(80.0),
            caveat: None,
        },
        zero(
            "paced 2 M spans/s from one thread (traced-otlp): dropped",
            paced_dropped,
            paced.map_or("–".to_owned(), |v| {
                format!(
                    "{} of {} (caller's longest stall {:.1} ms, {} schedule restarts)",
                    v["dropped"],
                    v["spans"],
                    v["caller_behind_max_us"].as_f64().unwrap_or(0.0) / 1000.0,
                    v["caller_restarts"]
                )
            }),
        ),
        Target {
            name: "highest paced rate with 0 dropped there and below (of 2, 3, 4, 6, 8 M spans/s, once each)",
            shown: match best {
                Some(r) => format!("{} M spans/s", r / 1_000_000),
                None if throughput.iter().any(|v| v["mode"] == "paced-search") => {
                    "none (dropped at every rate)".to_owned()
                }
                None => "–".to_owned(),
            },
            value: None,
            goal: "report it".to_owned(),
            limit: None,
            caveat: None,
        },
        Target {
            name: "stack: a traced frame over the plain function's (recursing 1000 deep)",
            shown: format!(
                "+{} bytes ({traced_frame} against {plain_frame})",
                traced_frame.saturating_sub(plain_frame)
            ),
            value: Some(traced_frame.saturating_sub(plain_frame) as f64),
            goal: "≤ +64 bytes".to_owned(),
            limit: Some(64.0),
            caveat: None,
        },
        Target::ratio(
            "issue 14: `#[traced]` child with the lazy bridge / `tracing` span",
            cell(Bridge, TracedLazy),
            cell(Bridge, Tracing),
            0.6,
        ),
        Target {
            goal: "far below 1x".to_owned(),
            limit: None,
            ..Target::ratio(
                "issue 14: `tracing` span through traced's bridge / through tracing-opentelemetry",
                cell(Bridge, TracingBridge),
                cell(Bridge, TracingOtel),
                1.0,
            )
        },
    ];
    let mut out = String::from(
        "### Targets (issue 19): this run's figures against the goals\n\n| target | measured | goal | |\n|---|---:|---:|---|\n",
    );
    for row in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            row.name,
            row.shown,
            row.goal,
            row.met()
        );
    }
    out
}

/// The highest rate of the paced search up to which nothing was dropped, in spans per second:
/// a rate counts only when every lower rate tried dropped nothing too (one lucky run at a
/// high rate after a drop at a lower one says nothing about the rates between).
/// The round trips between the CPUs that `throughput` took before each round of its
/// end-to-end runs (`throughput roundtrip`), in ns, in order; none measured with one CPU.
fn round_trip_ns(throughput: &[Value]) -> Vec<f64> {
    throughput
        .iter()
        .filter(|v| v["mode"] == "roundtrip")
        .filter_map(|v| v["round_trip_ns"].as_f64())
        .collect()
}

/// Their median.
fn median_round_trip(throughput: &[Value]) -> Option<f64> {
    let mut trips = round_trip_ns(throughput);
    trips.sort_by(f64::total_cmp);
    trips.get(trips.len() / 2).copied()
}

/// The machine's state while the end-to-end runs ran: each round trip, in order.
fn round_trips(throughput: &[Value]) -> String {
    let trips: Vec<String> = round_trip_ns(throughput)
        .iter()
        .map(|ns| format!("{ns:.0}"))
        .collect();
    if trips.is_empty() {
        return String::new();
    }
    format!(
        "\nThe machine during these runs: a cache line's round trip between CPU 0 and CPU 1, taken before each round (`throughput roundtrip`): {} ns. Every hand-over between a calling thread and a background thread pays it; a shared VM has spells of several times its usual figure, in which the background pipelines lag and drop.\n",
        trips.join(", ")
    )
}

fn best_paced_rate(throughput: &[Value]) -> Option<u64> {
    let mut runs: Vec<(u64, bool)> = throughput
        .iter()
        .filter(|v| v["mode"] == "paced-search")
        .filter_map(|v| Some((v["rate"].as_u64()?, v["dropped"] == 0)))
        .collect();
    runs.sort_unstable();
    runs.iter()
        .take_while(|(_, clean)| *clean)
        .map(|(rate, _)| *rate)
        .last()
}

/// The sampled child as the attributes grow: 2, 6, 3 + 2 and 8.
fn attributes(cell: &Cell<'_>) -> String {
    const LIBS: [Lib; 4] = [Lib::Traced, Lib::Fastrace, Lib::Tracing, Lib::Otel];
    let mut out = format!(
        "\n### A sampled child as the attributes grow (bursts of {BURST}, drained between)\n\n| function | traced | fastrace | tracing | otel-sdk | traced/fastrace | traced/tracing | traced/otel-sdk | traced / traced with 2 |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    let rows = [
        (Scenario::ChildBurst, "kind + 2 args (`u64`, `&str`)"),
        (Scenario::Child6, "6 args (3 `u64`, 3 `&str`)"),
        (Scenario::Child3Attrs2, "3 args + 2 `attrs`"),
        (Scenario::Child8, "6 args + 2 `attrs`: 8"),
    ];
    for (scenario, label) in rows {
        let [traced, fastrace, tracing, otel] = LIBS.map(|l| cell(scenario, l));
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} |",
            ns(traced),
            ns(fastrace),
            ns(tracing),
            ns(otel),
            ratio(traced, fastrace),
            ratio(traced, tracing),
            ratio(traced, otel),
            ratio(traced, cell(Scenario::ChildBurst, Lib::Traced)),
        );
    }
    out.push_str("\n8 attributes / 2 attributes:");
    for lib in LIBS {
        let _ = write!(
            out,
            " {} {}",
            lib.id(),
            ratio(cell(Scenario::Child8, lib), cell(Scenario::ChildBurst, lib))
        );
        out.push_str(if lib == Lib::Otel { "\n" } else { " ·" });
    }
    out
}

/// Two threads ending spans at once against one.
fn two_threads(cell: &Cell<'_>, criterion: &Path) -> String {
    let mut out = format!(
        "\n### Two threads ending sampled children at once\n\nSustained: back to back for the whole measurement. Bursts: both threads make {} calls at once, the pipeline drained between bursts ({BURST} spans a burst, as `child_burst` from one thread).\n\n| pipeline | one thread, ns per span | two threads, ns per span on each | two / one | dropped: one thread / two |\n|---|---:|---:|---:|---:|\n",
        BURST / 2
    );
    for (one_thread, two_threads, label) in [
        (Scenario::Child, Scenario::TwoThreads, "sustained"),
        (Scenario::ChildBurst, Scenario::TwoThreadsBurst, "bursts"),
    ] {
        for (lib, pipeline) in [
            (Lib::Traced, "traced, counting processor"),
            (Lib::TracedBatch, "traced-batch (BatchSpanProcessor)"),
        ] {
            let one = cell(one_thread, lib);
            let two = cell(two_threads, lib);
            let drops = if lib == Lib::TracedBatch {
                format!(
                    "{} / {}",
                    percent(dropped(criterion, one_thread, lib)),
                    percent(dropped(criterion, two_threads, lib))
                )
            } else {
                "–".to_owned()
            };
            let _ = writeln!(
                out,
                "| {pipeline}, {label} | {} | {} | {} | {drops} |",
                ns(one),
                ns(two),
                ratio(two, one)
            );
        }
    }
    out
}

/// The `tracing` bridge rows (issue 14).
fn bridge(cell: &Cell<'_>) -> String {
    let b = Scenario::Bridge;
    let without = cell(Scenario::Child, Lib::Traced);
    let tracing = cell(b, Lib::Tracing);
    let mut out = String::from(
        "\n### The `tracing` bridge (criterion; group `bridge` built with `--features bridge`)\n\n| case | ns per call | over `#[traced]` without the feature | / `tracing` span (counting layer) |\n|---|---:|---:|---:|\n",
    );
    let rows = [
        (
            Scenario::Child,
            Lib::Traced,
            "`#[traced]` child, built without the feature (group `child`)",
        ),
        (
            b,
            Lib::Traced,
            "`#[traced]` child, feature compiled, no layer",
        ),
        (
            b,
            Lib::TracedLazy,
            "`#[traced]` child, lazy bridge: `traced::tracing::registry().with(layer())`",
        ),
        (
            b,
            Lib::TracedEager,
            "`#[traced]` child, eager bridge: `tracing_subscriber::registry().with(layer())`",
        ),
        (
            b,
            Lib::Tracing,
            "`tracing` span (`#[instrument]`: `otel.kind`, both arguments), registry + counting layer",
        ),
        (
            b,
            Lib::TracingBridge,
            "the same `tracing` span through traced's layer (lazy registry, traced counting processor)",
        ),
        (
            b,
            Lib::TracingOtel,
            "the same `tracing` span through tracing-opentelemetry (SDK, counting processor)",
        ),
    ];
    for (scenario, lib, label) in rows {
        let v = cell(scenario, lib);
        let over = match (v, without) {
            (Some(v), Some(w))
                if matches!(lib, Lib::Traced | Lib::TracedLazy | Lib::TracedEager) =>
            {
                format!("{:+.1}", v - w)
            }
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {label} | {} | {over} | {} |",
            ns(v),
            ratio(v, tracing)
        );
    }
    let _ = writeln!(
        out,
        "\n`tracing` span through traced's bridge / through tracing-opentelemetry: {}",
        ratio(cell(b, Lib::TracingBridge), cell(b, Lib::TracingOtel))
    );
    out
}

/// The paced search's runs, and the highest rate with nothing dropped.
fn paced_search(throughput: &[Value]) -> String {
    let runs: Vec<&Value> = throughput
        .iter()
        .filter(|v| v["mode"] == "paced-search")
        .collect();
    if runs.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n### Paced: traced-otlp from one thread at a steady rate (1 M sampled children in roots of 256, once per rate; a caller kept off its core for over a chunk's time restarts its schedule rather than burst the missed calls)\n\n| rate asked | rate reached | spans | exported | dropped | process CPU ns/span | process CPU ns/exported span | caller's longest stall | schedule restarts |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mega = |v: &Value| {
        v.as_f64()
            .map_or("–".to_owned(), |r| format!("{:.2} M/s", r / 1e6))
    };
    for v in runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            mega(&v["rate"]),
            mega(&v["reached_rate"]),
            v["spans"],
            v["exported"],
            v["dropped"],
            fmt_num(&v["cpu_ns_per_span"]),
            fmt_num(&v["cpu_ns_per_exported_span"]),
            v["caller_behind_max_us"]
                .as_f64()
                .map_or("–".to_owned(), |us| format!("{:.1} ms", us / 1000.0)),
            v["caller_restarts"],
        );
    }
    let _ = writeln!(
        out,
        "\nHighest rate with 0 dropped at it and at every lower rate tried: {}",
        best_paced_rate(throughput).map_or("none".to_owned(), |r| format!(
            "{} M spans/s",
            r / 1_000_000
        ))
    );
    out
}

/// What traced's batch processor dropped in each criterion benchmark of traced-batch.
fn batch_drops(criterion: &Path) -> String {
    let mut out = String::from(
        "\n### traced-batch while criterion measured it: spans dropped (queue full, or shed at their start while it stayed full)\n\n| scenario | spans received | dropped |\n|---|---:|---:|\n",
    );
    for scenario in Scenario::ALL {
        if !scenario.libs().contains(&Lib::TracedBatch) {
            continue;
        }
        let share = dropped(criterion, scenario, Lib::TracedBatch);
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            scenario.id(),
            share.map_or("–".to_owned(), |(_, n)| n.to_string()),
            percent(share)
        );
    }
    out
}
