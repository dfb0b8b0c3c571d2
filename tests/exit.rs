//! Leaving a process: `traced::shutdown()` before `std::process::exit` keeps the spans still
//! queued, and `let _ = traced::init();` is not silent. Each case runs in a child process (this
//! test binary again, with `TRACED_EXIT_CASE` set), since it ends the process or installs the
//! process-wide pipeline.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]
#![allow(unreachable_pub)]

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use traced::export::{ExportError, SpanExporter};
use traced::pipeline::{BatchConfig, Pipeline};
use traced::{SpanData, traced};

/// Prints the name of every span it exports, one a line, on standard output.
#[derive(Debug)]
struct Stdout;
impl SpanExporter for Stdout {
    fn export(&mut self, batch: Vec<SpanData>) -> Result<(), ExportError> {
        for span in batch {
            println!("exported {}", span.name);
        }
        Ok(())
    }
}

#[traced]
fn work(i: u32) -> u32 {
    i
}

#[traced]
fn echo(payload: &str) -> usize {
    payload.len()
}

/// Runs `case` in a child process; its standard output and error.
fn child(case: &str) -> (String, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TRACED_EXIT_CASE", case)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The child side: does what `TRACED_EXIT_CASE` names, then exits.
#[test]
fn child_process() {
    let Ok(case) = std::env::var("TRACED_EXIT_CASE") else {
        return;
    };
    // A batch processor that would only export after an hour: what is queued at exit is
    // exported by a flush or lost.
    let config = BatchConfig::default().with_scheduled_delay(Duration::from_secs(3600));
    match case.as_str() {
        "exit-after-shutdown" | "exit-without-shutdown" => {
            let _guard = Pipeline::builder()
                .with_batch_exporter_config(Stdout, config)
                .install();
            for i in 0..3 {
                work(i);
            }
            if case == "exit-after-shutdown" {
                traced::shutdown().unwrap();
            }
            std::process::exit(0);
        }
        "let-underscore" => {
            let _ = Pipeline::builder()
                .with_batch_exporter_config(Stdout, config)
                .install();
            work(1);
        }
        "console-full-pipe" => {
            // Standard error is a pipe the parent never reads: it is full after 64 KiB.
            let guard = traced::init();
            let payload = "x".repeat(1024);
            let start = Instant::now();
            for _ in 0..20_000 {
                echo(&payload);
            }
            println!("ended in {} ms", start.elapsed().as_millis());
            let stats = guard.pipeline().processor().stats();
            println!("received {}", stats.received);
            let start = Instant::now();
            drop(guard);
            println!("guard dropped in {} ms", start.elapsed().as_millis());
        }
        _ => panic!("unknown case {case}"),
    }
}

#[test]
fn shutdown_before_process_exit_exports_what_is_queued() {
    let (out, _) = child("exit-after-shutdown");
    assert_eq!(out.matches("exported work").count(), 3, "{out}");
}

#[test]
fn process_exit_without_shutdown_loses_what_is_queued() {
    // What the docs warn about: `exit` runs no destructors, the guard never flushes.
    let (out, _) = child("exit-without-shutdown");
    assert_eq!(out.matches("exported work").count(), 0, "{out}");
}

#[test]
fn a_guard_dropped_at_once_is_not_silent() {
    let (out, err) = child("let-underscore");
    assert_eq!(out.matches("exported work").count(), 0, "{out}");
    assert!(
        err.contains("`let _ = traced::init();` drops it at once"),
        "{err}"
    );
}

#[test]
fn the_console_exporter_never_blocks_the_program_on_a_full_pipe() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TRACED_EXIT_CASE", "console-full-pipe")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env("OTEL_TRACES_EXPORTER", "console")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Held, never read: the child's standard error fills up.
    let stderr = child.stderr.take();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = start.elapsed();
    drop(stderr);
    let out = reader.join().unwrap();
    println!("console, full pipe: child exited after {took:?}; it said: {out}");
    assert!(
        status.is_some(),
        "the child blocked on its full stderr: {out}"
    );
    let ended: u64 = out
        .lines()
        .find_map(|l| {
            l.split("ended in ")
                .nth(1)?
                .strip_suffix(" ms")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("{out}"));
    assert!(ended < 5_000, "20 000 span ends took {ended} ms");
    assert!(out.contains("received 20000"), "{out}");
    assert!(took < Duration::from_secs(15), "{took:?}");
}
