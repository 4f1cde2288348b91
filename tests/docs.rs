//! The reference in docs/ held against the code (issue 31):
//!
//! - `docs/commands.md` is exactly what `gavel docs commands` prints from the command registry
//!   and the CLI's clap tree;

use std::path::{Path, PathBuf};

use gavel_cli::docs;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
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
