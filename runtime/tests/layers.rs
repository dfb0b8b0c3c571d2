//! The runtime is a house in layers (drawn in `src/lib.rs`): each layer imports only the ones
//! below it. This test reads every file under `src/` and fails when a file names a module of a
//! higher layer through a `crate::` path, so the property holds as code is added.
//!
//! A file's layer is its folder (or, at the top of `src/`, its name); a few files sit apart from
//! their folder (see [`layer_of_file`]). `super::` paths stay inside a folder and are not
//! checked; `mod.rs` re-exporting its own children is structure, not an import.

use std::fs;
use std::path::{Path, PathBuf};

/// The layers, lowest first. A file may import its own layer and any layer listed before it.
const LAYERS: &[&str] = &[
    "model",
    // W3C formats and carriers: the model only.
    "propagation",
    // Exporters: the model only.
    "export",
    // Each thread's stack of active spans, `Context`, the last panic's message.
    "context",
    // Sampler, processors, the installed pipeline and each thread's buffer of ended spans.
    "pipeline",
    // The hot path: model, context, pipeline; never an exporter (checked apart below).
    "span",
    // `propagation/context.rs`: inject and extract through a `Context` and a `Parent`.
    "propagation::context",
    "integrations",
    "config",
    "testing",
    "private",
    "lib",
];

/// The items `propagation/mod.rs` re-exports from `propagation/context.rs`.
const PROPAGATION_GLUE: &[&str] = &["extract", "extract_context", "inject", "inject_context"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `model/record.rs` -> "model"; `testing.rs` -> "testing"; `propagation/context.rs` -> its own.
fn layer_of_file(rel: &str) -> String {
    if rel == "propagation/context.rs" {
        return "propagation::context".to_owned();
    }
    let first = rel.split('/').next().unwrap_or(rel);
    first.trim_end_matches(".rs").to_owned()
}

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

/// The layer a `crate::` path reaches, from its first segments.
fn layer_of_path(segments: &[&str]) -> String {
    match segments {
        ["propagation", "context", ..] => "propagation::context".to_owned(),
        ["propagation", item, ..] if PROPAGATION_GLUE.contains(item) => {
            "propagation::context".to_owned()
        }
        [first, ..] => (*first).to_owned(),
        [] => "lib".to_owned(),
    }
}

/// Every `crate::...` path in `code` (comments removed), as its leading segments; a group
/// `crate::{a::X, b::Y}` gives one path per member.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `traced_crate::` and the like
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = closing_brace(group);
            for member in split_top_level(&group[..end]) {
                out.push(segments(member));
            }
        } else {
            out.push(segments(rest));
        }
    }
    out
}

fn closing_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    s.len()
}

fn split_top_level(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out.retain(|m| !m.is_empty());
    out
}

fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path.trim_start();
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        out.push(rest[..end].to_owned());
        match rest[end..].strip_prefix("::") {
            Some(next) if !next.starts_with('{') => rest = next,
            _ => break,
        }
    }
    out
}

/// The file without `//` comments (doc links may name any layer).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_import_goes_down() {
    let root = src();
    let mut all = Vec::new();
    files(&root, &mut all);
    assert!(all.len() > 20, "the runtime's sources were found");
    let mut wrong = Vec::new();
    for path in &all {
        let rel = path
            .strip_prefix(&root)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        let layer = layer_of_file(&rel);
        let Some(own) = rank(&layer) else {
            wrong.push(format!(
                "{rel}: folder `{layer}` is not a layer: add it to LAYERS in tests/layers.rs"
            ));
            continue;
        };
        let code = code_of(&fs::read_to_string(path).expect("a readable source file"));
        for path in crate_paths(&code) {
            let segs: Vec<&str> = path.iter().map(String::as_str).collect();
            let target = layer_of_path(&segs);
            // `crate::Foo` at the root: only `lib.rs` and the top layers may lean on it.
            let target_rank = rank(&target).unwrap_or_else(|| rank("lib").expect("lib"));
            if target_rank > own {
                wrong.push(format!(
                    "{rel} (layer `{layer}`) imports `crate::{}` (layer `{target}`)",
                    segs.join("::")
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that go up a layer:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn the_hot_path_imports_no_exporter() {
    let root = src();
    let mut all = Vec::new();
    files(&root.join("span"), &mut all);
    assert!(!all.is_empty());
    for path in &all {
        let code = code_of(&fs::read_to_string(path).expect("readable"));
        for p in crate_paths(&code) {
            assert_ne!(
                p.first().map(String::as_str),
                Some("export"),
                "{} imports crate::{}",
                path.display(),
                p.join("::")
            );
        }
    }
}

#[test]
fn the_reader_reads_paths() {
    let code = "use crate::model::{A, B};\nuse crate::{pipeline::X, export::{Y, Z}};\nlet x = crate::span::f(); // crate::config::no";
    let paths = crate_paths(&code_of(code));
    let firsts: Vec<&str> = paths.iter().map(|p| p[0].as_str()).collect();
    assert_eq!(firsts, ["model", "pipeline", "export", "span"]);
    assert_eq!(
        layer_of_path(&["propagation", "extract"]),
        "propagation::context"
    );
    assert_eq!(layer_of_path(&["propagation", "Baggage"]), "propagation");
}
