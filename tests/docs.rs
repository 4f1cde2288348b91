//! The reference in docs/ held against the code (issue 31):
//!
//! - `docs/commands.md` is exactly what `gavel docs commands` prints from the command registry
//!   and the CLI's clap tree;
//! - `docs/configuration.md` names every environment variable the code reads, and no other;
//! - every `gavel` subcommand is in docs/, has help text, and `gavel --help` names the three
//!   platforms;
//! - README.md stays within 250 lines, links every docs/ file, and no relative link in it or in
//!   docs/ points at a missing file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use gavel_cli::cli::Cli;
use gavel_cli::docs;
use regex::Regex;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn docs_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.expect("docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files
}

// ---------------------------------------------------------------------------------------------
// docs/commands.md

#[test]
fn commands_md_is_what_gavel_docs_commands_prints() {
    let generated = docs::commands_md().expect("the reference generates");
    let committed = read(docs::COMMANDS_MD);
    if committed == generated {
        return;
    }
    let first_difference = committed
        .lines()
        .zip(generated.lines())
        .enumerate()
        .find(|(_, (have, want))| have != want)
        .map(|(i, (have, want))| {
            format!("line {}:\n  committed: {have}\n  generated: {want}", i + 1)
        })
        .unwrap_or_else(|| {
            format!(
                "the committed file has {} lines, the generated text {}",
                committed.lines().count(),
                generated.lines().count()
            )
        });
    panic!(
        "{} differs from the command specs and the CLI ({first_difference}).\n\
         Regenerate it and commit the result:\n    {}",
        docs::COMMANDS_MD,
        docs::REGENERATE
    );
}

// ---------------------------------------------------------------------------------------------
// docs/configuration.md

/// Where production code lives: what a function or the `gavel` command can read at run time.
/// Test code inside it (`#[cfg(test)]` items, `tests.rs` files) is left out: it configures
/// nothing a deployment sees.
const PRODUCTION_SOURCES: &[&str] = &["shared/src", "cli/src", "functions"];

/// Where test code lives: its knobs go in configuration.md's "Tests" section.
const TEST_SOURCES: &[&str] = &["tests"];

/// One place the code reads a variable.
#[derive(Clone, Debug)]
struct Read {
    name: String,
    at: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("source entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `text` with every `#[cfg(test)]` item blanked out (kept as spaces and newlines, so offsets
/// and line numbers still match the file).
fn without_test_items(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let mut from = 0;
    while let Some(found) = text[from..].find("#[cfg(test)]") {
        let start = from + found;
        // The item runs to the end of its first balanced `{ … }`, or to its `;`.
        let mut depth = 0usize;
        let mut end = text.len();
        let mut in_string = false;
        let mut previous = 0u8;
        for (i, &b) in text.as_bytes()[start..].iter().enumerate() {
            let i = start + i;
            if in_string {
                if b == b'"' && previous != b'\\' {
                    in_string = false;
                }
            } else if b == b'"' {
                in_string = true;
            } else if b == b'{' {
                depth += 1;
            } else if b == b'}' {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    end = i + 1;
                    break;
                }
            } else if b == b';' && depth == 0 {
                end = i + 1;
                break;
            }
            previous = if previous == b'\\' && b == b'\\' {
                0
            } else {
                b
            };
        }
        for byte in &mut bytes[start..end] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
        from = end;
    }
    String::from_utf8(bytes).expect("blanking keeps UTF-8")
}

/// The function (or `let name = |…|` closure) around `offset`: its name, and whether other
/// files may call it (a `pub` function; a closure is its function's own).
fn enclosing(text: &str, offset: usize) -> Option<(String, bool)> {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let closure = Regex::new(r"let\s+(\w+)\s*=\s*\|").unwrap();
    if let Some(c) = closure.captures(&text[line_start..offset]) {
        return Some((c[1].to_owned(), false));
    }
    let function = Regex::new(r"(\bpub(?:\([^)]*\))?\s+)?(?:async\s+)?\bfn\s+(\w+)").unwrap();
    function
        .captures_iter(before)
        .last()
        .map(|c| (c[2].to_owned(), c.get(1).is_some()))
}

struct Source {
    path: String,
    text: String,
}

fn sources(dirs: &[&str], production: bool) -> Vec<Source> {
    let mut files = Vec::new();
    for dir in dirs {
        rust_files(&root().join(dir), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .filter(|path| !production || path.file_name().is_none_or(|n| n != "tests.rs"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("source reads");
            // Comments name variables without reading them.
            let text: String = text
                .lines()
                .map(|line| {
                    if line.trim_start().starts_with("//") {
                        ""
                    } else {
                        line
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            let text = if production {
                without_test_items(&text)
            } else {
                text
            };
            let path = path
                .strip_prefix(root())
                .expect("under the root")
                .display()
                .to_string();
            Source { path, text }
        })
        .collect()
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// Every variable read in `sources`, by these rules:
///
/// 1. A literal name handed to a read: `std::env::var("X")`, `env::var_os("X")`, the
///    project's `env::var("X")` and `env::required("X")` (shared/src/adapters/env.rs), and
///    clap's `env = "X"`.
/// 2. A read whose name is computed (`env::var(name)`) makes the function or closure around it
///    a reader: its callers' literal first arguments (`non_empty_env("X")`, `set("X")`) are
///    reads. A computed read the test cannot trace this way fails the test, naming the place,
///    unless it is one of the [`INDIRECT`] reads, each of which must still be in the code.
/// 3. `EnvFilter::…from_default_env` reads `RUST_LOG` (tracing-subscriber's variable).
///
/// `env!`/`option_env!` are left out: cargo sets those at compile time.
fn reads(sources: &[Source]) -> (Vec<Read>, Vec<String>) {
    let literal = Regex::new(
        r#"\benv::(?:var|var_os|required)\(\s*"([A-Za-z_][A-Za-z0-9_]*)"|#\[arg\([^\]]*\benv\s*=\s*"([A-Z][A-Z0-9_]*)""#,
    )
    .unwrap();
    let computed = Regex::new(r"\benv::(?:var|var_os|required)\b").unwrap();
    let default_env = Regex::new(r"from_default_env\b").unwrap();
    let mut found = Vec::new();
    let mut untraced = Vec::new();
    // (file, name, callable from other files)
    let mut readers: BTreeSet<(String, String, bool)> = BTreeSet::new();
    let mut indirect_seen = vec![false; INDIRECT.len()];
    for source in sources {
        for c in literal.captures_iter(&source.text) {
            let name = c.get(1).or(c.get(2)).unwrap();
            found.push(Read {
                name: name.as_str().to_owned(),
                at: format!("{}:{}", source.path, line_of(&source.text, name.start())),
            });
        }
        for m in default_env.find_iter(&source.text) {
            found.push(Read {
                name: "RUST_LOG".to_owned(),
                at: format!("{}:{}", source.path, line_of(&source.text, m.start())),
            });
        }
        for m in computed.find_iter(&source.text) {
            let after = source.text[m.end()..].trim_start();
            let called = after.starts_with('(');
            // `env::var("X")` is rule 1.
            if called && after[1..].trim_start().starts_with('"') {
                continue;
            }
            let at = format!("{}:{}", source.path, line_of(&source.text, m.start()));
            if let Some(i) = INDIRECT
                .iter()
                .position(|i| i.matches(&source.path, m.start(), &source.text))
            {
                indirect_seen[i] = true;
                continue;
            }
            match enclosing(&source.text, m.start()) {
                Some((reader, public)) if called => {
                    readers.insert((source.path.clone(), reader, public));
                }
                // `env::var` handed on as a value, or in no function: nothing to trace.
                _ => untraced.push(at),
            }
        }
    }
    for (indirect, seen) in INDIRECT.iter().zip(indirect_seen) {
        if !seen {
            untraced.push(format!(
                "INDIRECT names a read in {} (`{}`) that is no longer there: remove it",
                indirect.file, indirect.marker
            ));
        }
    }
    // The helpers of shared/src/adapters/env.rs themselves: their callers' `env::var("X")`
    // and `env::required("X")` are rule 1.
    readers.retain(|(file, _, _)| file != "shared/src/adapters/env.rs");
    for (file, reader, public) in &readers {
        let call = Regex::new(&format!(
            r#"\b{}\(\s*(?:&?\w+\s*,\s*)?"([A-Z][A-Z0-9_]*)""#,
            regex::escape(reader)
        ))
        .unwrap();
        let mut called = false;
        for source in sources.iter().filter(|s| *public || s.path == *file) {
            for c in call.captures_iter(&source.text) {
                called = true;
                let name = c.get(1).unwrap();
                found.push(Read {
                    name: name.as_str().to_owned(),
                    at: format!("{}:{}", source.path, line_of(&source.text, name.start())),
                });
            }
        }
        if !called {
            untraced.push(format!(
                "`{reader}` ({file}) reads a variable whose name it is given, and no caller \
                 names one"
            ));
        }
    }
    for indirect in INDIRECT {
        let Some(source) = sources.iter().find(|s| s.path == indirect.file) else {
            continue;
        };
        found.extend((indirect.names)(source));
    }
    (found, untraced)
}

/// A computed read whose names come from somewhere the call-site rule cannot see.
struct Indirect {
    file: &'static str,
    /// Text on the read's line that identifies it.
    marker: &'static str,
    /// The variables it reads.
    names: fn(&Source) -> Vec<Read>,
}

impl Indirect {
    fn matches(&self, path: &str, offset: usize, text: &str) -> bool {
        if path != self.file {
            return false;
        }
        let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        text[start..end].contains(self.marker)
    }
}

const INDIRECT: &[Indirect] = &[
    // The store's tuning takes a lookup function; its names are `positive_number(&lookup, "X")`.
    Indirect {
        file: "shared/src/adapters/dynamodb/tuning.rs",
        marker: "from_lookup(",
        names: |source| {
            let call = Regex::new(r#"positive_number\(\s*&\w+\s*,\s*"([A-Z][A-Z0-9_]*)""#).unwrap();
            call.captures_iter(&source.text)
                .map(|c| Read {
                    name: c[1].to_owned(),
                    at: format!(
                        "{}:{}",
                        source.path,
                        line_of(&source.text, c.get(1).unwrap().start())
                    ),
                })
                .collect()
        },
    },
    // Cold start reads `{NAME}_ID` for every secret of the registry.
    Indirect {
        file: "shared/src/adapters/secrets.rs",
        marker: "load(env::var)",
        names: |source| {
            gavel_shared::adapters::secret_registry::SECRETS
                .iter()
                .map(|secret| Read {
                    name: format!("{}_ID", secret.name),
                    at: format!("{} (the secret registry's {{NAME}}_ID)", source.path),
                })
                .collect()
        },
    },
    // `gavel deploy secrets --from-env NAME=VARIABLE`: a variable the operator names.
    Indirect {
        file: "cli/src/deploy/mod.rs",
        marker: "std::env::var(v)",
        names: |_| Vec::new(),
    },
];

/// Variables the tests set themselves for a child process (`.env("X", …)`): plumbing between
/// a test and the process it starts, not a knob for whoever runs the tests.
fn set_for_children(sources: &[Source]) -> BTreeSet<String> {
    let set = Regex::new(r#"\.env\(\s*"([A-Z][A-Z0-9_]*)""#).unwrap();
    sources
        .iter()
        .flat_map(|s| {
            set.captures_iter(&s.text)
                .map(|c| c[1].to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The variables configuration.md names in the first column of its tables, split into the
/// production ones and those of a section whose heading starts with "Tests".
fn documented() -> (BTreeSet<String>, BTreeSet<String>) {
    let text = read("docs/configuration.md");
    let name = Regex::new(r"`([A-Z][A-Z0-9_]{2,})`").unwrap();
    let mut production = BTreeSet::new();
    let mut tests = BTreeSet::new();
    let mut in_tests = false;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            in_tests = heading.trim_start().starts_with("Tests");
            continue;
        }
        let Some(row) = line.strip_prefix('|') else {
            continue;
        };
        let first = row.split('|').next().unwrap_or_default();
        for c in name.captures_iter(first) {
            let set = if in_tests {
                &mut tests
            } else {
                &mut production
            };
            set.insert(c[1].to_owned());
        }
    }
    (production, tests)
}

/// The variables template.yaml sets in a function's `Environment: Variables:`.
fn template_variables() -> BTreeSet<String> {
    let template = read("template.yaml");
    let mut names = BTreeSet::new();
    let mut indent: Option<usize> = None;
    for line in template.lines() {
        let depth = line.len() - line.trim_start().len();
        if line.trim() == "Variables:" {
            indent = Some(depth);
            continue;
        }
        let Some(parent) = indent else { continue };
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if depth <= parent {
            indent = None;
            continue;
        }
        if let Some((key, _)) = line.trim().split_once(':')
            && key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            names.insert(key.to_owned());
        }
    }
    names
}

fn by_name(reads: &[Read]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for read in reads {
        map.entry(read.name.clone())
            .or_default()
            .push(read.at.clone());
    }
    map
}

/// AWS_* variables are the standard AWS environment: aws-config and Lambda's runtime read them,
/// so configuration.md may name them without Gavel's code reading them by name (a read of one
/// by name must still be documented).
fn aws_standard(name: &str) -> bool {
    name.starts_with("AWS_")
}

#[test]
fn configuration_md_names_every_variable_the_code_reads_and_no_other() {
    let production = sources(PRODUCTION_SOURCES, true);
    let (reads, untraced) = reads(&production);
    assert!(
        untraced.is_empty(),
        "environment reads tests/docs.rs cannot trace to a variable's name (give it a literal \
         name, or teach `INDIRECT` where its names come from):\n  {}",
        untraced.join("\n  ")
    );
    let read = by_name(&reads);
    let (documented, _) = documented();
    let undocumented: Vec<String> = read
        .iter()
        .filter(|(name, _)| !documented.contains(*name))
        .map(|(name, at)| format!("{name} (read at {})", at.join(", ")))
        .collect();
    let unread: Vec<&String> = documented
        .iter()
        .filter(|name| !read.contains_key(*name) && !aws_standard(name))
        .collect();
    assert!(
        undocumented.is_empty() && unread.is_empty(),
        "docs/configuration.md and the code disagree.\n\
         Read by the code, not in the doc (add a row: default, who reads it):\n  {}\n\
         In the doc, read by no code (remove the row, or the code lost a read):\n  {:?}",
        undocumented.join("\n  "),
        unread
    );
}

#[test]
fn every_variable_the_template_sets_is_read_by_the_code() {
    let (reads, _) = reads(&sources(PRODUCTION_SOURCES, true));
    let read = by_name(&reads);
    let stale: Vec<String> = template_variables()
        .into_iter()
        .filter(|name| !read.contains_key(name) && !aws_standard(name))
        .collect();
    assert!(
        stale.is_empty(),
        "template.yaml sets variables no code reads (drop them, as GAVEL_STAGE was): {stale:?}"
    );
}

#[test]
fn configuration_md_tests_section_names_the_tests_knobs() {
    let tests = sources(TEST_SOURCES, false);
    let plumbing = set_for_children(&tests);
    let literal = Regex::new(r#"\benv::(?:var|var_os)\(\s*"([A-Z][A-Z0-9_]*)""#).unwrap();
    let mut read: BTreeMap<String, String> = BTreeMap::new();
    for source in &tests {
        for c in literal.captures_iter(&source.text) {
            let name = c.get(1).unwrap();
            if plumbing.contains(name.as_str()) {
                continue;
            }
            read.entry(name.as_str().to_owned()).or_insert_with(|| {
                format!("{}:{}", source.path, line_of(&source.text, name.start()))
            });
        }
    }
    let production: BTreeSet<String> = by_name(&reads(&sources(PRODUCTION_SOURCES, true)).0)
        .into_keys()
        .collect();
    let (_, documented) = documented();
    let undocumented: Vec<String> = read
        .iter()
        .filter(|(name, _)| !documented.contains(*name) && !production.contains(*name))
        .map(|(name, at)| format!("{name} ({at})"))
        .collect();
    let unread: Vec<&String> = documented
        .iter()
        .filter(|n| !read.contains_key(*n))
        .collect();
    assert!(
        undocumented.is_empty() && unread.is_empty(),
        "docs/configuration.md's Tests section and the tests disagree.\n\
         Read by a test, not documented:\n  {}\nDocumented, read by no test: {unread:?}",
        undocumented.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// The `gavel` command against docs/

/// Whether `text` holds `phrase` as a whole (not the start of a longer word or name).
fn mentions(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).any(|(i, _)| {
        text[i + phrase.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'))
    })
}

#[test]
fn every_gavel_subcommand_is_in_docs() {
    let docs: Vec<(PathBuf, String)> = docs_files()
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect();
    let missing: Vec<String> = docs::subcommand_paths()
        .into_iter()
        .filter(|path| !docs.iter().any(|(_, text)| mentions(text, path)))
        .collect();
    assert!(
        missing.is_empty(),
        "subcommands no docs/*.md file names (regenerate docs/commands.md with `{}`, or \
         document them): {missing:?}",
        docs::REGENERATE
    );
}

#[test]
fn every_gavel_subcommand_and_argument_has_help() {
    let missing = docs::arguments_without_help();
    assert!(
        missing.is_empty(),
        "subcommands or arguments without help text (a `///` comment): {missing:?}"
    );
}

#[test]
fn gavel_help_names_discord_slack_and_telegram() {
    let mut root = Cli::command();
    let help = root.render_long_help().to_string();
    for platform in ["Discord", "Slack", "Telegram"] {
        assert!(
            help.contains(platform),
            "`gavel --help` does not name {platform}:\n{help}"
        );
    }
    // A subcommand for every platform that names one platform names all three; a platform's
    // own subcommands (`gavel slack …`) are that platform's.
    let mut one_sided = Vec::new();
    let mut queue: Vec<(String, clap::Command)> = root
        .get_subcommands()
        .map(|c| (format!("gavel {}", c.get_name()), c.clone()))
        .collect();
    while let Some((path, mut command)) = queue.pop() {
        for sub in command.get_subcommands() {
            queue.push((format!("{path} {}", sub.get_name()), sub.clone()));
        }
        let own = ["discord", "slack", "telegram"]
            .iter()
            .any(|p| path.split(' ').any(|word| word == *p));
        if own || path.ends_with(" help") {
            continue;
        }
        let help = command.render_long_help().to_string();
        let named: Vec<&str> = ["Discord", "Slack", "Telegram"]
            .into_iter()
            .filter(|p| help.contains(p))
            .collect();
        if !named.is_empty() && named.len() < 3 {
            one_sided.push(format!("`{path} --help` names only {named:?}"));
        }
    }
    one_sided.sort();
    assert!(one_sided.is_empty(), "{}", one_sided.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// README.md and links

const README_MAX_LINES: usize = 250;

#[test]
fn readme_is_short_and_links_every_docs_file() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, more than {README_MAX_LINES}: move detail into docs/"
    );
    let missing: Vec<String> = docs_files()
        .iter()
        .map(|p| format!("docs/{}", p.file_name().unwrap().to_string_lossy()))
        .filter(|relative| !readme.contains(&format!("({relative}")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md links no docs file of these, so they are more than two clicks away: {missing:?}"
    );
}

#[test]
fn every_relative_link_points_at_a_file_that_exists() {
    let link = Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut files = vec![root().join("README.md")];
    files.extend(docs_files());
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut in_code = false;
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
            }
            if in_code {
                continue;
            }
            for c in link.captures_iter(line) {
                let target = &c[1];
                if target.contains("://")
                    || target.starts_with("mailto:")
                    || target.starts_with('#')
                {
                    continue;
                }
                let path = target.split('#').next().unwrap_or_default();
                let resolved = file.parent().unwrap().join(path);
                if !resolved.exists() {
                    broken.push(format!(
                        "{}:{}: {target}",
                        file.strip_prefix(root()).unwrap().display(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to files that do not exist:\n  {}",
        broken.join("\n  ")
    );
}
