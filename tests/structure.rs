//! The core's shape, checked so it stays true as features land: the top-level modules of
//! `shared/src` form layers whose arrows run one way (docs/architecture.md's layout section
//! draws them), no module reaches up, no circle ties modules together, and no file grows past
//! the size a newcomer can read.
//!
//! A dependency is any `crate::<module>` path (code, `use` trees and doc links alike) outside
//! `#[cfg(test)]` items; `super::` stays inside a module and is not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top to bottom. A module may use modules of its own layer or below, never above.
const LAYERS: &[(&str, &[&str])] = &[
    ("wiring", &["adapters", "config", "store_conformance"]),
    ("drivers", &["edge", "worker", "maintenance"]),
    (
        "codecs",
        &["discord", "slack", "telegram", "verify", "ratelimit"],
    ),
    ("commands", &["commands"]),
    (
        "domain",
        &["flows", "moderation", "economy", "reminders", "automod"],
    ),
    ("jobs", &["jobs"]),
    ("state", &["idempotency", "store"]),
    (
        "vocabulary",
        &[
            "invocation",
            "reply",
            "clock",
            "platform",
            "case_kind",
            "telemetry",
            "ttl_map",
        ],
    ),
];

/// Lines of production code (outside `#[cfg(test)]` items) one file may hold.
const MAX_FILE_LINES: usize = 900;
/// The edge is read first by everyone adding a route or a platform: each of its files stays short.
const MAX_EDGE_FILE_LINES: usize = 400;

fn core_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`edge/slack.rs` → `edge`), `None` for `lib.rs`.
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_owned())
}

/// The source with every `#[cfg(test)]` item removed (a module, a function, an impl, a `use`),
/// skipping braces inside strings, chars and comments when finding where the item ends.
fn production_code(source: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let item = &rest[at + MARK.len()..];
        rest = &item[item_len(item)..];
    }
    out.push_str(rest);
    out
}

/// How many bytes of `text` the next item takes: up to its `;` or its closing brace.
fn item_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'"' | b'#'))
                && !bytes
                    .get(i.wrapping_sub(1))
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') =>
            {
                // A raw string: r"…", r#"…"#.
                let mut j = i + 1;
                let mut hashes = 0;
                while bytes.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if bytes.get(j) == Some(&b'"') {
                    let close = format!("\"{}", "#".repeat(hashes));
                    let body = &text[j + 1..];
                    i = j + 1 + body.find(&close).unwrap_or(body.len()) + close.len() - 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'\'' => {
                // A char literal ('{', '\'', '\u{7b}'), not a lifetime ('a).
                let after = &text[i + 1..];
                if after.starts_with('\\') {
                    if let Some(k) = after[2..].find('\'') {
                        i += k + 3;
                    }
                } else if let Some(c) = after.chars().next()
                    && after[c.len_utf8()..].starts_with('\'')
                {
                    i += c.len_utf8() + 1;
                }
            }
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            b';' if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    text.len()
}

/// The top-level modules named after `crate::` in `code`, including each name in a
/// `crate::{a, b::c}` tree.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let preceded_by_ident = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        rest = &rest[at + "crate::".len()..];
        if preceded_by_ident {
            continue;
        }
        if let Some(tree) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start_of_item = true;
            for (k, c) in tree.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start_of_item = true,
                    c if start_of_item && (c.is_alphanumeric() || c == '_') => {
                        found.insert(identifier(&tree[k..]));
                        start_of_item = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(identifier(rest));
        }
    }
    found
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

struct Core {
    /// module → the modules it uses, each with one file that shows it.
    uses: BTreeMap<String, BTreeMap<String, String>>,
    /// file (relative) → lines of production code.
    lines: BTreeMap<String, usize>,
    modules: BTreeSet<String>,
}

fn read_core() -> Core {
    let root = core_src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_of(f.strip_prefix(&root).ok()?))
        .collect();
    let mut core = Core {
        uses: BTreeMap::new(),
        lines: BTreeMap::new(),
        modules,
    };
    for file in &files {
        let relative = file.strip_prefix(&root).expect("a file under the core");
        let source = std::fs::read_to_string(file).expect("a readable source file");
        let code = production_code(&source);
        let shown = relative.display().to_string();
        core.lines.insert(shown.clone(), code.lines().count());
        let Some(module) = module_of(relative) else {
            continue;
        };
        let uses = core.uses.entry(module.clone()).or_default();
        for used in crate_paths(&code) {
            if used != module && core.modules.contains(&used) {
                uses.entry(used).or_insert_with(|| shown.clone());
            }
        }
    }
    core
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

#[test]
fn every_core_module_has_a_layer() {
    let core = read_core();
    let unplaced: Vec<&String> = core
        .modules
        .iter()
        .filter(|m| layer_of(m).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "place these modules in LAYERS (and in docs/architecture.md's layout section): {unplaced:?}"
    );
}

#[test]
fn no_module_reaches_up_a_layer() {
    let core = read_core();
    let mut upward = Vec::new();
    for (module, uses) in &core.uses {
        let Some(own) = layer_of(module) else {
            continue;
        };
        for (used, file) in uses {
            if let Some(theirs) = layer_of(used)
                && theirs < own
            {
                upward.push(format!(
                    "{module} ({}) uses {used} ({}) in {file}",
                    LAYERS[own].0, LAYERS[theirs].0
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "arrows pointing up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_circle_ties_core_modules_together() {
    let core = read_core();
    // A module is in a circle when it can reach itself; the graph has a few dozen edges.
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = vec![from.to_owned()];
        while let Some(module) = todo.pop() {
            for used in core.uses.get(&module).into_iter().flat_map(|u| u.keys()) {
                if seen.insert(used.clone()) {
                    todo.push(used.clone());
                }
            }
        }
        seen
    };
    let circular: Vec<String> = core
        .modules
        .iter()
        .filter(|m| reach(m).contains(*m))
        .map(|m| {
            let back: Vec<&String> = core.uses[m]
                .keys()
                .filter(|used| reach(used).contains(m))
                .collect();
            format!("{m} → {back:?} → … → {m}")
        })
        .collect();
    assert!(
        circular.is_empty(),
        "modules in an import circle:\n{}",
        circular.join("\n")
    );
}

#[test]
fn no_core_file_outgrows_a_reading() {
    let core = read_core();
    let too_long: Vec<String> = core
        .lines
        .iter()
        .filter(|(file, lines)| {
            let limit = if file.starts_with("edge") {
                MAX_EDGE_FILE_LINES
            } else {
                MAX_FILE_LINES
            };
            **lines > limit
        })
        .map(|(file, lines)| format!("{file}: {lines} lines of production code"))
        .collect();
    assert!(
        too_long.is_empty(),
        "split these by what they hold:\n{}",
        too_long.join("\n")
    );
}

#[test]
fn the_reader_finds_what_it_is_meant_to() {
    // The checks above are only as good as this reader: it must see paths in use trees and doc
    // links, skip test modules whatever braces their strings hold, and count production lines.
    let source = r##"
//! Links [`crate::slack::web`].
use crate::{invocation::Platform, store::{Item, Store}};
use std::fmt;
fn a() { let _ = crate::clock::now(); let s = "}"; let c = '}'; }
#[cfg(test)]
mod tests {
    use crate::edge::Edge;
    const BRACE: &str = "}}}";
    const RAW: &str = r#"{"#;
    fn f<'a>(x: &'a str) -> char { '{' }
}
pub fn after() -> u32 { crate::reply::ONE }
"##;
    let code = production_code(source);
    assert!(!code.contains("crate::edge"), "{code}");
    assert!(code.contains("pub fn after"), "{code}");
    let found = crate_paths(&code);
    let expected: BTreeSet<String> = ["slack", "invocation", "store", "clock", "reply"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(found, expected);
    assert_eq!(
        module_of(Path::new("edge/slack.rs")).as_deref(),
        Some("edge")
    );
    assert_eq!(module_of(Path::new("clock.rs")).as_deref(), Some("clock"));
    assert_eq!(module_of(Path::new("lib.rs")), None);
}
