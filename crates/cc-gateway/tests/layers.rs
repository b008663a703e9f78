//! The gateway's module graph, read from its sources: no module cycle, the composition root
//! imported by no one, and nothing under `runner/` importing the daemon's HTTP modules or axum
//! (ARCHITECTURE.md, "cc-gateway"). An edge is any `crate::<module>` path (or, under
//! `runner/`, `super::<module>`; in a `mod.rs`, `<child>::`) outside comments, literals and
//! `#[cfg(test)]` items.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The daemon's HTTP layer: axum types live here and nowhere below.
const HTTP_MODULES: &[&str] = &["api_error", "auth", "claude_sessions", "daemon", "kata_status", "link", "projects", "state"];
/// The composition root: it imports the rest; nothing imports it.
const ROOT: &str = "daemon";

type Graph = BTreeMap<String, BTreeSet<String>>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `src/x.rs` is `x`, `src/runner/mod.rs` is `runner`, `src/runner/y.rs` is `runner::y`.
/// `lib.rs`, `main.rs` and test modules (`tests.rs`) are not nodes.
fn modules(dir: &Path, prefix: &str, out: &mut BTreeMap<String, PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable").flatten() {
        let path = entry.path();
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        if path.is_dir() {
            let nested = if prefix.is_empty() { name.clone() } else { format!("{prefix}::{name}") };
            modules(&path, &nested, out);
        } else if path.extension().is_some_and(|e| e == "rs") && !["lib", "main", "tests"].contains(&name.as_str()) {
            let module = match (prefix, name.as_str()) {
                ("", _) => name,
                (p, "mod") => p.to_string(),
                (p, n) => format!("{p}::{n}"),
            };
            out.insert(module, path);
        }
    }
}

/// The file's code: comments and the contents of string and character literals removed, and
/// the items under `#[cfg(test)]` (a `mod tests;` or a block, to its matching brace) left out.
fn code(path: &Path) -> String {
    let text = plain(&std::fs::read_to_string(path).expect("a source file"));
    let mut code = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        code.push_str(&rest[..at]);
        rest = &rest[at..];
        let item_end = match (rest.find(';'), rest.find('{')) {
            (Some(semi), Some(brace)) if semi < brace => semi + 1,
            (_, Some(brace)) => brace + matching_brace(&rest[brace..]),
            (Some(semi), None) => semi + 1,
            (None, None) => rest.len(),
        };
        rest = &rest[item_end..];
    }
    code.push_str(rest);
    code
}

/// Rust source without comments, and with every string and character literal emptied (`""`,
/// `' '`), so that neither a `crate::` nor a brace in them counts.
fn plain(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && matches!(next, Some('"' | '#')) && !(i > 0 && ident(chars[i - 1])) {
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            i += 2 + hashes;
            while i < chars.len() && !chars[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next == Some('\\') {
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The length of the block `text` opens, its closing brace included.
fn matching_brace(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 1 => return i + 1,
            '}' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

/// Whether `code` names its child module `child` by a relative path (`child::x`, `use child`).
fn names_child(code: &str, child: &str) -> bool {
    let starts_path = |at: usize| !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
    code.match_indices(&format!("{child}::")).any(|(at, _)| starts_path(at))
        || code.match_indices(&format!("use {child}")).any(|(at, _)| starts_path(at))
}

/// The identifier paths that follow `marker` (`crate::a::b`, `crate::{a, b::c}`), as word lists.
fn paths_after(code: &str, marker: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices(marker) {
        if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue; // `foo_crate::`, not `crate::`
        }
        let rest = &code[at + marker.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            out.extend(group[..end].split(',').map(words));
        } else {
            out.push(words(rest));
        }
    }
    out
}

fn words(path: &str) -> Vec<String> {
    path.trim_start()
        .split("::")
        .map(|w| w.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
        .take_while(|w| !w.is_empty())
        .collect()
}

/// The node a path names: the deepest known module it starts with.
fn target(nodes: &BTreeMap<String, PathBuf>, words: &[String]) -> Option<String> {
    (1..=words.len()).rev().map(|n| words[..n].join("::")).find(|m| nodes.contains_key(m))
}

fn graph() -> (Graph, BTreeMap<String, PathBuf>) {
    let mut nodes = BTreeMap::new();
    modules(&src(), "", &mut nodes);
    let mut graph = Graph::new();
    for (module, path) in &nodes {
        let code = code(path);
        let mut edges: Vec<Vec<String>> = paths_after(&code, "crate::");
        // `super::` in a child module is its parent's path.
        let parent = match module.rsplit_once("::") {
            Some((parent, _)) if !path.ends_with("mod.rs") => Some(parent.to_string()),
            _ => None,
        };
        if let Some(parent) = parent {
            let parent_words: Vec<String> = parent.split("::").map(str::to_string).collect();
            edges.extend(paths_after(&code, "super::").into_iter().map(|w| [parent_words.clone(), w].concat()));
        }
        let mut targets: BTreeSet<String> = edges.iter().filter_map(|w| target(&nodes, w)).filter(|t| t != module).collect();
        if path.ends_with("mod.rs") {
            let children = nodes.keys().filter_map(|n| n.strip_prefix(&format!("{module}::")).map(|c| (n, c)));
            targets.extend(children.filter(|(_, c)| !c.contains("::") && names_child(&code, c)).map(|(n, _)| n.clone()));
        }
        graph.insert(module.clone(), targets);
    }
    (graph, nodes)
}

/// A cycle, as the modules on it, if there is one.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(node: &str, graph: &Graph, stack: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn shown(graph: &Graph) -> String {
    graph.iter().map(|(m, deps)| format!("{m} -> {}", deps.iter().cloned().collect::<Vec<_>>().join(", "))).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_gateway_modules_form_no_cycle() {
    let (graph, _) = graph();
    assert!(graph.len() > 15, "the scan found the modules: {graph:?}");
    assert!(graph["daemon"].contains("state") && graph["runner::shell"].contains("runner::session"), "the scan finds edges:\n{}", shown(&graph));
    if let Some(cycle) = cycle(&graph) {
        panic!("module cycle: {}\n\nthe graph:\n{}", cycle.join(" -> "), shown(&graph));
    }
}

#[test]
fn nothing_imports_the_composition_root() {
    let (graph, _) = graph();
    let importers: Vec<&String> = graph.iter().filter(|(_, deps)| deps.contains(ROOT)).map(|(m, _)| m).collect();
    assert!(importers.is_empty(), "{importers:?} import {ROOT}; move what they need below it");
}

#[test]
fn the_runner_reaches_no_http_module_and_no_axum() {
    let (graph, nodes) = graph();
    for (module, deps) in graph.iter().filter(|(m, _)| m.starts_with("runner")) {
        let http: Vec<&String> = deps.iter().filter(|d| HTTP_MODULES.contains(&d.as_str())).collect();
        assert!(http.is_empty(), "{module} imports the daemon's HTTP modules {http:?}");
        assert!(!code(&nodes[module]).contains("axum"), "{module} uses axum");
    }
    // Below the HTTP layer too: what the runner builds on knows nothing of HTTP.
    for module in ["checkout", "claims", "confine", "gate", "git", "kata", "outbox", "session_files", "translate", "config"] {
        let http: Vec<&String> = graph[module].iter().filter(|d| HTTP_MODULES.contains(&d.as_str())).collect();
        assert!(http.is_empty(), "{module} imports the HTTP modules {http:?}");
        assert!(!code(&nodes[module]).contains("axum"), "{module} uses axum");
    }
}
