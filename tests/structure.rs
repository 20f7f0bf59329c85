//! The house's structure, held: the core never reaches the web layer, the
//! collector never reaches it either, and no two modules of the crate depend
//! on each other, directly or around a circle.
//!
//! The graph is read from the sources: every `crate::` path in code (`use`
//! items, inline paths, `use crate::{a, b}` groups over several lines),
//! leaving out comments and the `#[cfg(test)] mod tests` that close a file,
//! between the crate's top-level modules (`src/chain.rs`, `src/verify/...`).
//! `lib.rs` and the binaries sit above every module and are not nodes.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module → module it uses → where (file:line).
type Graph = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// The dependency graph of the crate's top-level modules under `src`.
fn graph(src: &Path) -> Graph {
    let mut g = Graph::new();
    for file in rust_files(src) {
        let rel = file.strip_prefix(src).unwrap();
        let mut parts = rel.iter().map(|p| p.to_string_lossy().into_owned());
        let first = parts.next().unwrap();
        if first == "lib.rs" || first == "main.rs" || first == "bin" {
            continue;
        }
        let module = first.trim_end_matches(".rs").to_owned();
        let node = g.entry(module.clone()).or_default();
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, used) in crate_paths(&text) {
            if used != module {
                node.entry(used)
                    .or_default()
                    .push(format!("{}:{line}", rel.display()));
            }
        }
    }
    g
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The top-level module named by each `crate::` path in the code of
/// `text`, with its line: `crate::a::b` gives `a`, `crate::{a, b::c}`
/// gives `a` and `b`. Items of the crate root (`crate::Digest`) are not
/// modules and are left out.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    // The tests module that ends a file is not part of the structure.
    let code = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |end| &text[..end]);
    // Comments out, line numbers kept.
    let code: String = code
        .lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        // `sealtrail_crate::` or `$crate::` are not this crate's paths.
        if code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        item_start = false;
                        let name = identifier(&group[i..]);
                        if is_module(name) {
                            out.push((line_of(at + "crate::{".len() + i), name.to_owned()));
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = identifier(rest);
            if is_module(name) {
                out.push((line_of(at), name.to_owned()));
            }
        }
    }
    out
}

fn identifier(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Modules are snake_case; root items (`Digest`, `Timestamp`) are not.
fn is_module(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase()) && name != "self"
}

/// Every circle of `g`: its strongly connected components of more than one
/// module (Tarjan), each as its modules in order.
fn circles(g: &Graph) -> Vec<Vec<String>> {
    struct Tarjan<'g> {
        g: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.g.get(v).into_iter().flat_map(|d| d.keys()) {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                loop {
                    let w = self.stack.pop().unwrap();
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.found
}

/// The edges inside one circle, with where each comes from, for the report.
fn explain(g: &Graph, circle: &[String]) -> String {
    let mut out = String::new();
    for a in circle {
        for (b, places) in &g[a] {
            if circle.contains(b) {
                out.push_str(&format!("\n  {a} -> {b} ({})", places.join(", ")));
            }
        }
    }
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_core_never_imports_the_web_layer() {
    let g = graph(&root().join("src"));
    let offenders: Vec<String> = g
        .iter()
        .filter(|(m, _)| m.as_str() != "web")
        .filter_map(|(m, deps)| deps.get("web").map(|at| format!("{m}: {}", at.join(", "))))
        .collect();
    assert!(
        offenders.is_empty(),
        "core modules import `crate::web` (only src/web/ may touch the browser):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_collector_never_imports_the_web_layer() {
    let mut offenders = Vec::new();
    for file in rust_files(&root().join("collector")) {
        if file.components().any(|c| c.as_os_str() == "target") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("sealtrail::web") {
                offenders.push(format!("{}:{}", file.display(), n + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "the collector imports the web layer:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn no_import_circles_between_core_modules() {
    let g = graph(&root().join("src"));
    assert!(g.len() > 10, "too few modules read: {:?}", g.keys());
    let found = circles(&g);
    let report: Vec<String> = found
        .iter()
        .map(|c| format!("{}:{}", c.join(" <-> "), explain(&g, c)))
        .collect();
    assert!(
        found.is_empty(),
        "import circles between modules (move the shared part below both):\n{}",
        report.join("\n")
    );
}

#[test]
fn the_reader_finds_paths_groups_and_circles() {
    let text = "//! see crate::web::Thing\nuse crate::{\n    chain::ChainId,\n    event::{Event, VERSION},\n    Digest,\n};\nuse crate::canon::strict; // crate::seal\nfn f() { crate::verify::inspect(); $crate::x::y; sealtrail_crate::z; }\n#[cfg(test)]\nmod tests {\n    use crate::policy::Policy;\n}\n";
    let found: Vec<(usize, String)> = crate_paths(text);
    let names: Vec<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["chain", "event", "canon", "verify"]);
    assert_eq!(found[0].0, 3);
    assert_eq!(found[3].0, 8);
    let mut g = Graph::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")] {
        g.entry(a.into())
            .or_default()
            .insert(b.into(), vec![format!("{a}.rs:1")]);
    }
    assert_eq!(circles(&g), vec![vec!["a", "b", "c"]]);
    g.get_mut("d").unwrap().clear();
    g.entry("e".into())
        .or_default()
        .insert("d".into(), vec!["e.rs:1".into()]);
    assert_eq!(circles(&g).len(), 1, "e -> d alone is no circle");
    g.get_mut("d")
        .unwrap()
        .insert("e".into(), vec!["d.rs:1".into()]);
    assert_eq!(circles(&g).len(), 2);
}
