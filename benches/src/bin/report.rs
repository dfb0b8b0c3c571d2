//! Runs every benchmark and prints one markdown report:
//!
//! ```sh
//! cargo run -p traced-benches --release --bin report
//! ```
//!
//! 1. `cargo bench -p traced-benches --bench spans` (criterion; arguments after `--` go to it),
//! 2. the `alloc` binary (heap allocations per call on the calling thread),
//! 3. the `throughput` binary (CPU per span with background work, memory under overload),
//!
//! then reads criterion's `criterion/<scenario>/<lib>/new/estimates.json` medians and prints
//! the tables (also written to `<target>/traced-bench-report.md`). `--no-run` only prints the
//! report from the last results.

use serde_json::Value;
use std::fmt::Write as _;
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use traced_benches::{BURST, Lib, Scenario};

fn main() {
    let exe = std::env::current_exe().expect("own path");
    // <target>/release/report
    let bin_dir = exe.parent().expect("bin dir").to_path_buf();
    let target = bin_dir.parent().expect("target dir").to_path_buf();
    let criterion = target.join("criterion");
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let no_run = args.iter().any(|a| a == "--no-run");
    args.retain(|a| a != "--no-run");

    let (alloc, throughput) = if no_run {
        (
            read_lines(&target.join("traced-bench-alloc.jsonl")),
            read_lines(&target.join("traced-bench-throughput.jsonl")),
        )
    } else {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        eprintln!("== criterion: cargo bench -p traced-benches --bench spans");
        // Criterion's own output goes to stderr, so stdout holds only the report.
        let to_stderr = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .expect("stderr");
        let status = Command::new(&cargo)
            .args(["bench", "-p", "traced-benches", "--bench", "spans", "--"])
            .stdout(Stdio::from(to_stderr))
            .args(&args)
            .env("CARGO_TARGET_DIR", &target)
            .env("CRITERION_HOME", &criterion)
            .status()
            .expect("run cargo bench");
        assert!(status.success(), "cargo bench failed");
        let status = Command::new(&cargo)
            .args(["build", "--release", "-p", "traced-benches"])
            .args(["--bin", "alloc", "--bin", "throughput"])
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build failed");
        eprintln!("== allocations per call");
        let alloc = capture(&bin_dir.join("alloc"));
        std::fs::write(target.join("traced-bench-alloc.jsonl"), lines_text(&alloc)).ok();
        eprintln!("== throughput and overload");
        let throughput = capture(&bin_dir.join("throughput"));
        std::fs::write(
            target.join("traced-bench-throughput.jsonl"),
            lines_text(&throughput),
        )
        .ok();
        (alloc, throughput)
    };

    let report = render(&criterion, &alloc, &throughput);
    std::fs::write(target.join("traced-bench-report.md"), &report).ok();
    println!("{report}");
}

fn capture(exe: &Path) -> Vec<Value> {
    let out = Command::new(exe)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", exe.display()));
    assert!(out.status.success(), "{} failed", exe.display());
    parse_lines(&String::from_utf8_lossy(&out.stdout))
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
fn render(criterion: &Path, alloc: &[Value], throughput: &[Value]) -> String {
    let mut out = String::new();
    let m = |s, l| median(criterion, s, l);
    // A library's median in a scenario, if the scenario measures it.
    let cell = |s: Scenario, l: Lib| s.libs().contains(&l).then(|| m(s, l)).flatten();
    // The columns after traced's own: every other library, in `Lib::ALL` order.
    let others: Vec<Lib> = Lib::ALL
        .into_iter()
        .filter(|l| !matches!(l, Lib::Plain | Lib::Floor | Lib::Traced))
        .collect();
    let plain = m(Scenario::Baseline, Lib::Plain);
    let floor = m(Scenario::Baseline, Lib::Floor);
    let _ = writeln!(
        out,
        "### ns per call (criterion median, same run)\n\nplain `work` {} ns · raw floor (2 TSC reads + 64-byte push) {} ns\n",
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
    let cpu_runs: Vec<&Value> = throughput.iter().filter(|v| v["mode"] == "cpu").collect();
    // Each library once, in the order its first run came in.
    let mut libs: Vec<&str> = Vec::new();
    for lib in cpu_runs.iter().filter_map(|v| v["lib"].as_str()) {
        if !libs.contains(&lib) {
            libs.push(lib);
        }
    }
    for lib in libs {
        let per_exported = |v: &&Value| v["cpu_ns_per_exported_span"].as_f64().unwrap_or(f64::NAN);
        let mut runs: Vec<&Value> = cpu_runs
            .iter()
            .copied()
            .filter(|v| v["lib"] == lib)
            .collect();
        runs.sort_by(|a, b| per_exported(a).total_cmp(&per_exported(b)));
        let v = runs[(runs.len() - 1) / 2];
        let range = match (runs.first(), runs.last()) {
            (Some(lo), Some(hi)) if runs.len() > 1 => {
                format!("{:.0}–{:.0}", per_exported(lo), per_exported(hi))
            }
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {lib} | {} | {} | {} | {} | {} | {} | {range} | {} |",
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
    out
}

fn fmt_num(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 => format!("{f:.0}"),
        Some(f) => format!("{f:.2}"),
        None => "–".into(),
    }
}
