//! AutoMod's cost per message: a community with 1000 banned words and phrases, 100 allowed and
//! 100 denied domains and 10 patterns, checked against a mix of ordinary chat, links, mentions,
//! obfuscated spam and a few long messages, as one channel's traffic would be.
//!
//! `messages` reports the time per message of the whole mix (criterion's throughput gives
//! messages per second on the one core it runs on) for the engine (`check_and_probes`) and, in
//! the same run, for the least any banned-word filter does (`baseline_exact`: lower-case the
//! text and look for the 1000 words with one Aho-Corasick automaton, no normalisation, no other
//! rule), so the figure can be given as a ratio on a noisy machine. `compile` is the cost of
//! building the engine, paid once per settings version.
//!
//! `messages_cpu` measures the same two in the benchmark thread's CPU time rather than wall
//! time: "messages per second per core" is a CPU figure, and on a machine shared with builds a
//! wall clock also counts the time other processes held the core.

use std::hint::black_box;

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gavel_shared::automod::{Engine, Message, RuleKind, Rules};
use gavel_shared::invocation::Platform;

fn community() -> Rules {
    let mut rules = Rules::default();
    let stems = [
        "scam", "idiot", "moron", "loser", "spam", "nitro", "crypto", "airdrop", "giveaway",
        "phish", "troll", "creep", "clown", "dumb", "stupid", "hater", "grifter", "fraud", "bozo",
        "muppet",
    ];
    let mut words: Vec<String> = vec![
        "free nitro".into(),
        "kys".into(),
        "steam gift card".into(),
        "double your money".into(),
    ];
    let mut i = 0;
    while words.len() < 1000 {
        let stem = stems[i % stems.len()];
        words.push(match i % 3 {
            0 => format!("{stem}{i}x"),
            1 => format!("{stem} {}", stems[(i / 3) % stems.len()]),
            _ => format!("{stem}ify{}", i % 97),
        });
        i += 1;
    }
    let allow = (0..100).map(|i| format!("site{i}.example.org")).collect();
    let deny = (0..100).map(|i| format!("bad{i}.example.net")).collect();
    let patterns = vec![
        r"buy\s+followers".into(),
        r"\bt\.me/[a-z0-9_]+".into(),
        r"(?:whats\s*app|telegram)\s*\+?\d{6,}".into(),
        r"\b\d{16}\b".into(),
        r"earn \$\d+ (?:a|per) (?:day|hour)".into(),
        r"click (?:here|this) to claim".into(),
        r"\bonlyfans\b".into(),
        r"(?:btc|eth|usdt) wallet".into(),
        r"dm me for (?:prices|the link)".into(),
        r"\bpromo code [a-z0-9]{6,}".into(),
    ];
    for rule in &mut rules.rules {
        match &mut rule.kind {
            RuleKind::Words { words: list } => *list = words.clone(),
            RuleKind::Links {
                allow: a, deny: d, ..
            } => {
                *a = allow;
                *d = deny;
                rule.enabled = true;
                break;
            }
            _ => {}
        }
    }
    for rule in &mut rules.rules {
        if let RuleKind::Regex { patterns: p } = &mut rule.kind {
            *p = patterns.clone();
        }
    }
    rules
}

fn messages() -> Vec<String> {
    let mut out: Vec<String> = [
        "hey everyone, how's it going?",
        "did anyone watch the match last night? that second half was wild",
        "lol",
        "I work at NASA and the FBI, so no comment :)",
        "check the docs at https://site3.example.org/guide before asking",
        "get fr33 n1tr0 here: https://dіscord.com/gift/abc",
        "join us discord.gg/abcdef",
        "<@U1> <@U2> can you review my PR?",
        "THIS IS SO ANNOYING WHY DOES IT NEVER WORK",
        "you're such an 1d10t honestly",
        "buy followers cheap, dm me for prices",
        "```rust\nfn main() { println!(\"hello\"); }\n```",
        "the meeting moved to 3pm, see you there",
        "Scunthorpe United won 2-1 at the weekend, classic",
        "s\u{200b}c\u{200b}a\u{200b}m alert!!",
        "ok",
        "anyone know a good café near the station? ideally with wifi",
        "https://bad7.example.net/win a prize",
    ]
    .iter()
    .map(|m| (*m).to_owned())
    .collect();
    let paragraph = "This is a longer message explaining at some length what happened during \
        the deployment yesterday, which services were affected and what we will change next. ";
    out.push(paragraph.repeat(8));
    out.push(paragraph.repeat(2));
    out
}

/// The calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`).
struct ThreadCpu;

fn thread_cpu_now() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; this clock exists on every Linux.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "the thread CPU clock is unavailable");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

impl Measurement for ThreadCpu {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_now()
    }
    fn end(&self, started: Duration) -> Duration {
        thread_cpu_now().saturating_sub(started)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Nanoseconds of CPU, shown as µs; throughput as elements per CPU-second.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        for value in values {
            *value /= 1000.0;
        }
        "µs (CPU)"
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per = match throughput {
            Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => *n as f64,
            _ => 1.0,
        };
        for value in values {
            *value = per * 1e9 / *value;
        }
        "elem/CPU-s"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// The engine and the baseline over the whole mix, per message.
fn message_mix<M: Measurement>(c: &mut Criterion<M>, name: &str, rules: &Rules) {
    let engine = Engine::compile(rules).unwrap();
    let texts = messages();
    let roles: Vec<String> = vec!["R1".into()];
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("check_and_probes", |b| {
        b.iter(|| {
            let mut hits = 0;
            for text in &texts {
                let message = Message {
                    text,
                    author: "U100",
                    author_roles: &roles,
                    channel: "C1",
                    platform: Platform::Slack,
                    at_secs: 1_767_225_600,
                };
                hits += engine.check(black_box(&message)).len();
                hits += engine.probes(black_box(&message)).len();
            }
            hits
        })
    });
    let words: Vec<String> = rules
        .rules
        .iter()
        .find_map(|rule| match &rule.kind {
            RuleKind::Words { words } => Some(words.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let exact = aho_corasick::AhoCorasick::new(&words).unwrap();
    group.bench_function("baseline_exact", |b| {
        b.iter(|| {
            let mut hits = 0;
            for text in &texts {
                hits += exact.find_iter(&black_box(text).to_lowercase()).count();
            }
            hits
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let rules = community();
    c.bench_function("compile", |b| {
        b.iter(|| Engine::compile(black_box(&rules)).unwrap())
    });
    message_mix(c, "messages", &rules);
}

fn bench_cpu(c: &mut Criterion<ThreadCpu>) {
    message_mix(c, "messages_cpu", &community());
}

criterion_group!(benches, bench);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = bench_cpu
}
criterion_main!(benches, cpu);
