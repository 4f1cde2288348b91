//! The fuzzer's binary: `gavel-fuzz TARGET`, run by AFL++ (`scripts/fuzz.sh`). One binary for
//! every target, so the instrumented build links once.

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = gavel_fuzz::target(&name) else {
        let names: Vec<_> = gavel_fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!("usage: gavel-fuzz TARGET, one of {}", names.join(", "));
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| target(data));
}
