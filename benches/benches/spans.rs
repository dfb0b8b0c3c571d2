//! ns per call of `work(a: u64, b: &str)` for traced and each rival, one criterion group per
//! scenario (`disabled`, `unsampled`, `child`, `child_burst`, `root`, `root_burst`,
//! `async_call`, `async_poll`, plus the `baseline` group: the plain function and the raw
//! floor). The `_burst` groups make the same calls in bursts of 1024, draining every
//! background pipeline between bursts, outside the timed region. More groups:
//! `child6`, `child3_attrs2`, `child8` (the child with six arguments, three plus two `attrs`,
//! six plus two, in bursts of 1024), `two_threads` (the child while a second thread ends spans
//! too) and, built with `--features bridge`, `bridge` (the `tracing` bridge).
//!
//! Each case runs in a process of its own: this binary starts itself once per case with
//! `TRACED_BENCH_CASE=scenario/lib`, passing its arguments on (so criterion's filter works:
//! `cargo bench -p traced-benches -- child/`). Set `TRACED_BENCH_SECONDS` to measure longer
//! than the default one second per case, and `TRACED_BENCH_SCENARIOS=bridge,child8` to start
//! only the cases of those groups (the report's second, `--features bridge`, pass).

use criterion::Criterion;
use std::process::Command;
use std::time::Duration;
use traced_benches::{Case, Timer};

const CASE_VAR: &str = "TRACED_BENCH_CASE";
const SCENARIOS_VAR: &str = "TRACED_BENCH_SCENARIOS";

fn main() {
    match std::env::var(CASE_VAR) {
        Ok(id) => run_case(&id),
        Err(_) => run_all(),
    }
}

/// Starts one process per case, with this process's arguments.
fn run_all() {
    let exe = std::env::current_exe().expect("the bench's own path");
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo test --benches` runs the bench once in test mode: one case is enough there.
    let test_mode = args.iter().any(|a| a == "--test");
    let only = std::env::var(SCENARIOS_VAR).ok();
    let wanted = |case: &Case| {
        only.as_deref()
            .is_none_or(|only| only.split(',').any(|s| s.trim() == case.scenario.id()))
    };
    for case in Case::all().into_iter().filter(wanted) {
        let status = Command::new(&exe)
            .args(&args)
            .env(CASE_VAR, case.id())
            .status()
            .expect("start a case");
        assert!(status.success(), "{} failed: {status}", case.id());
        if test_mode {
            break;
        }
    }
}

fn run_case(id: &str) {
    let case = Case::parse(id).unwrap_or_else(|| panic!("unknown case {id}"));
    let seconds: f64 = std::env::var("TRACED_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs_f64(seconds * 0.3))
        .measurement_time(Duration::from_secs_f64(seconds))
        .sample_size(40)
        .nresamples(10_000)
        .without_plots()
        .configure_from_args();
    let mut group = c.benchmark_group(case.scenario.id());
    group.bench_function(case.lib.id(), |b| {
        b.iter_custom(|iters| {
            let mut timer = Timer::default();
            traced_benches::run(case, iters, &mut timer);
            timer.total
        });
    });
    group.finish();
    c.final_summary();
    // The batch processor's counts, beside criterion's estimates: how much it dropped while
    // measured (the report shows it with the figure).
    if let Some(stats) = traced_benches::traced_stats_json() {
        let dir = criterion_home()
            .join(case.scenario.id())
            .join(case.lib.id());
        if std::fs::create_dir_all(&dir).is_ok() {
            let _ = std::fs::write(dir.join(STATS_FILE), stats);
        }
    }
}

/// The traced batch processor's counts of a case, in its criterion directory.
const STATS_FILE: &str = "traced-stats.json";

/// Where criterion writes: `CRITERION_HOME`, else `<target>/criterion` (this binary is
/// `<target>/release/deps/spans-<hash>`).
fn criterion_home() -> std::path::PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let exe = std::env::current_exe().expect("the bench's own path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("<target>/release/deps/spans-<hash>");
    target.join("criterion")
}
