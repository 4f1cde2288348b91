//! Replays the checked-in corpus (`fuzz/corpus/<target>/`, seeds and every crash ever found)
//! through the fuzz targets, so `cargo test` catches a regression without the fuzzer.

use std::path::PathBuf;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

#[test]
fn every_corpus_input_passes_its_target() {
    let mut replayed = 0;
    for (name, target) in gavel_fuzz::TARGETS {
        let dir = corpus_dir().join(name);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a readable entry").path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{name} has no seeds");
        for input in inputs {
            let data = std::fs::read(&input).expect("a readable input");
            // A panic names the input, so the failure reads as which file broke.
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{} failed {name}", input.display());
            replayed += 1;
        }
    }
    assert!(replayed >= gavel_fuzz::TARGETS.len());
}

#[test]
fn every_corpus_folder_is_a_target() {
    for entry in std::fs::read_dir(corpus_dir()).expect("fuzz/corpus exists") {
        let name = entry.expect("a readable entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            gavel_fuzz::target(&name).is_some(),
            "fuzz/corpus/{name} names no target"
        );
    }
}
