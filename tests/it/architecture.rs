//! The layering of docs/ARCHITECTURE.md, checked on the source text (issue 16): which layer may
//! name which, where SQL, rusqlite and rouille may appear, no module cycle, no file past 600
//! lines. A reading of `crate::` paths outside `#[cfg(test)]` modules, as a reviewer reads them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The source files under `src/` (a `vendor` folder left out), by module path (`["domain", "auth"]`).
fn sources() -> BTreeMap<Vec<String>, (PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "vendor") {
                    dirs.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&root).unwrap().with_extension("");
            let mut module: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            out.insert(module, (path, text));
        }
    }
    out
}

/// The text without its `#[cfg(test)] mod … { … }` blocks and without comment lines.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = &rest[at..];
        let Some(open) = after.find('{').filter(|&o| after[..o].contains("mod ")) else {
            out.push_str(&rest[..at + 12]);
            rest = &rest[at + 12..];
            continue;
        };
        out.push_str(&rest[..at]);
        let mut depth = 0;
        let mut end = after.len();
        for (i, ch) in after[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b::…` path the code names, with `crate::a::{b, c}` groups expanded one level.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + 7..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let mut segments = Vec::new();
        let mut tail = rest;
        loop {
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            if len > 0 {
                segments.push(tail[..len].to_owned());
            }
            tail = &tail[len..];
            if let Some(next) = tail.strip_prefix("::") {
                if let Some(group) = next.strip_prefix('{') {
                    let inner = &group[..group.find('}').unwrap_or(group.len())];
                    for item in inner.split(',') {
                        let item: String = item
                            .trim()
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if !item.is_empty() {
                            let mut path = segments.clone();
                            path.push(item);
                            paths.push(path);
                        }
                    }
                    segments.clear();
                    break;
                }
                tail = next;
                continue;
            }
            break;
        }
        if !segments.is_empty() {
            paths.push(segments);
        }
    }
    paths
}

/// The deepest module file a path names.
fn resolve(
    path: &[String],
    modules: &BTreeMap<Vec<String>, (PathBuf, String)>,
) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|m| modules.contains_key(m))
}

/// What each file names of the others.
fn edges(
    modules: &BTreeMap<Vec<String>, (PathBuf, String)>,
) -> BTreeSet<(Vec<String>, Vec<String>)> {
    let mut out = BTreeSet::new();
    for (module, (_, text)) in modules {
        for path in crate_paths(&code_of(text)) {
            if let Some(target) = resolve(&path, modules).filter(|t| t != module) {
                out.insert((module.clone(), target));
            }
        }
    }
    out
}

fn layer(module: &[String]) -> &str {
    module.first().map_or("", String::as_str)
}

fn name(module: &[String]) -> String {
    module.join("/")
}

#[test]
fn each_layer_names_only_the_layers_below_it() {
    let modules = sources();
    let below: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("http", &["http", "domain", "core", "store"][..]),
        (
            "commands",
            &["commands", "http", "domain", "core", "store"][..],
        ),
        ("domain", &["domain", "core", "store"][..]),
        ("core", &["core", "store"][..]),
        ("store", &["store"][..]),
    ]);
    let mut wrong = Vec::new();
    for (from, to) in edges(&modules) {
        let Some(allowed) = below.get(layer(&from)) else {
            continue;
        };
        // The clock is a leaf that every layer, the store included, reads time with.
        let leaf = to == ["core", "clock"];
        if !allowed.contains(&layer(&to)) && !leaf {
            wrong.push(format!("{} -> {}", name(&from), name(&to)));
        }
        // In the HTTP layer only the composition root opens the store; handlers ask the domain.
        if layer(&from) == "http" && layer(&to) == "store" && from != ["http", "server"] {
            wrong.push(format!(
                "{} -> {} (a handler reading the store)",
                name(&from),
                name(&to)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let modules = sources();
    let mut graph: BTreeMap<Vec<String>, Vec<Vec<String>>> = BTreeMap::new();
    for (from, to) in edges(&modules) {
        graph.entry(from).or_default().push(to);
    }
    // A depth-first search from each file: a path back to the start is a cycle.
    let mut cycles = Vec::new();
    for start in modules.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, trail)) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if next == start {
                    let ring: Vec<String> = trail.iter().map(|m| name(m)).collect();
                    cycles.push(format!("{} -> {}", ring.join(" -> "), name(start)));
                } else if seen.insert(next.clone()) {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn sql_and_rusqlite_stay_in_the_store_and_rouille_in_the_http_layer() {
    let mut wrong = Vec::new();
    for (module, (path, text)) in sources() {
        let code = code_of(&text);
        let shown = path.display();
        if layer(&module) != "store" {
            if code.contains("rusqlite") {
                wrong.push(format!("{shown}: names rusqlite"));
            }
            for sql in [
                "SELECT ",
                "INSERT INTO",
                "UPDATE ",
                "DELETE FROM",
                "PRAGMA ",
            ] {
                if code.contains(&format!("\"{sql}")) {
                    wrong.push(format!("{shown}: has SQL ({sql})"));
                }
            }
        }
        if layer(&module) != "http" && code.contains("rouille") {
            wrong.push(format!("{shown}: names rouille"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_source_file_passes_600_lines() {
    let long: Vec<String> = sources()
        .values()
        .filter(|(_, text)| text.lines().count() > 600)
        .map(|(path, text)| format!("{} ({} lines)", path.display(), text.lines().count()))
        .collect();
    assert!(long.is_empty(), "split these: {}", long.join(", "));
}

#[test]
fn the_reading_finds_the_imports_it_checks() {
    // The checks above pass vacuously if nothing is found: the domain does name the core and
    // the store, and the dispatcher the domain.
    let found = edges(&sources());
    for (from, to) in [
        ("domain/auth/session", "core"),
        ("domain/auth/session", "store/sessions"),
        ("http/dispatch", "domain/idempotency"),
    ] {
        let pair = (
            from.split('/').map(str::to_owned).collect::<Vec<_>>(),
            to.split('/').map(str::to_owned).collect::<Vec<_>>(),
        );
        assert!(found.contains(&pair), "{from} -> {to} not found");
    }
    assert_eq!(
        crate_paths("use crate::store::{Db, StoreError};\nlet x = crate::core::clock::now();"),
        vec![
            vec!["store".to_owned(), "Db".to_owned()],
            vec!["store".to_owned(), "StoreError".to_owned()],
            vec!["core".to_owned(), "clock".to_owned(), "now".to_owned()],
        ]
    );
}
