//! The engine end to end: the labelled corpus (recall and precision), exemptions, probes,
//! and properties over arbitrary text.

use proptest::prelude::*;

use super::normalise::is_invisible;
use super::*;
use crate::invocation::Platform;

/// A community that has configured every rule: the corpus and the properties run against it.
fn community() -> Rules {
    let mut rules = Rules::default();
    let words = [
        "free nitro",
        "kys",
        "kill yourself",
        "scam",
        "scammer",
        "idiot",
        "cunt",
        "ass",
        "asshole",
        "moron",
        "bitch",
        "shit",
        "fuck",
        "retard",
        "steam gift card",
        "crypto giveaway",
        "dick",
        "cock",
        "rape",
        "rapist",
    ];
    let owned = |list: &[&str]| list.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
    rules.rule_mut("words").unwrap().kind = RuleKind::Words {
        words: owned(&words),
    };
    let links = rules.rule_mut("links").unwrap();
    links.enabled = true;
    links.kind = RuleKind::Links {
        allow: owned(&[
            "github.com",
            "wikipedia.org",
            "youtube.com",
            "rust-lang.org",
            "docs.rs",
            "google.com",
            "discord.com",
            "stackoverflow.com",
            "example.org",
        ]),
        deny: owned(&["example.com", "grabify.link", "iplogger.org"]),
        invites: true,
        lookalikes: true,
    };
    rules.rule_mut("regex").unwrap().kind = RuleKind::Regex {
        patterns: owned(&[
            r"buy\s+(cheap\s+)?followers",
            r"\bt\.me/[a-z0-9_]+",
            r"earn \$\d+ (a|per) (day|hour)",
            r"\bonlyfans\b",
            r"dm me for (the )?(link|prices)",
        ]),
    };
    rules
}

fn message<'a>(text: &'a str, platform: Platform, roles: &'a [String]) -> Message<'a> {
    Message {
        text,
        author: "U100",
        author_roles: roles,
        channel: "C1",
        platform,
        at_secs: 1_767_225_600,
    }
}

fn check(engine: &Engine, text: &str) -> Vec<Hit> {
    engine.check(&message(text, Platform::Slack, &[]))
}

/// `\u{200b}`, `\n`, `\t` and `\\` as written in the corpus file.
fn unescape(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('u') if chars.peek() == Some(&'{') => {
                chars.next();
                let hex: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let code = u32::from_str_radix(&hex, 16).expect("a hex escape");
                out.push(char::from_u32(code).expect("a scalar value"));
            }
            other => panic!("unknown escape \\{other:?} in {line}"),
        }
    }
    out
}

#[test]
fn the_labelled_corpus_is_found_with_high_recall_and_precision() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/automod_corpus.tsv"
    );
    let corpus = std::fs::read_to_string(path).expect("the corpus file");
    let engine = Engine::compile(&community()).unwrap();
    let (mut positives, mut found, mut flagged, mut false_alarms) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    let mut wrong = Vec::new();
    let mut lines = 0;
    for line in corpus
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        lines += 1;
        let (label, raw) = line.split_once('\t').expect("label TAB message");
        let text = unescape(raw);
        let (platform, text) = match text.strip_prefix("[discord] ") {
            Some(rest) => (Platform::Discord, rest.to_owned()),
            None => (Platform::Slack, text),
        };
        let hits = engine.check(&message(&text, platform, &[]));
        for hit in &hits {
            assert!(text.is_char_boundary(hit.span.start) && text.is_char_boundary(hit.span.end));
            assert_eq!(hit.matched, text[hit.span.clone()]);
        }
        if !hits.is_empty() {
            flagged += 1;
        }
        match label.strip_prefix("hit:") {
            Some(rule) => {
                positives += 1;
                if hits.iter().any(|h| h.rule == rule) {
                    found += 1;
                } else {
                    if !hits.is_empty() {
                        false_alarms += 1;
                    }
                    misses.push(format!("{rule}: {text:?} (got {hits:?})"));
                }
            }
            None => {
                assert_eq!(label, "clean", "unknown label in {line}");
                if !hits.is_empty() {
                    false_alarms += 1;
                    let why: Vec<&str> = hits.iter().map(|h| h.why.as_str()).collect();
                    wrong.push(format!("{text:?}: {why:?}"));
                }
            }
        }
    }
    let recall = f64::from(found) / f64::from(positives);
    let precision = f64::from(found) / f64::from(found + false_alarms);
    println!(
        "automod corpus: {lines} messages, {positives} positives, {found} found, {flagged} flagged, \
         {false_alarms} false alarms; recall {recall:.3}, precision {precision:.3}"
    );
    for miss in &misses {
        println!("missed {miss}");
    }
    for w in &wrong {
        println!("false alarm {w}");
    }
    assert!(lines >= 300, "the corpus needs at least 300 messages");
    assert!(recall >= 0.95, "recall {recall:.3}");
    assert!(precision >= 0.95, "precision {precision:.3}");
}

#[test]
fn explanations_name_the_transformations_applied() {
    let engine = Engine::compile(&community()).unwrap();
    let hits = check(&engine, "get fr33 n1tr0 now");
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].why,
        "`fr33 n1tr0` matched the banned phrase `free nitro` after digit and symbol substitution"
    );
    assert_eq!(hits[0].matched, "fr33 n1tr0");
    assert_eq!(hits[0].normalised, "free nitro");
    let hits = check(&engine, "FREE STUFF NOW EVERYONE");
    assert_eq!(
        hits[0].why,
        "`FREE STUFF NOW EVERYONE` is 100% capitals (the limit is 70%)"
    );
    let hits = check(&engine, "https://dіscord.com/gift");
    assert_eq!(
        hits[0].why,
        "`dіscord.com` mixes Cyrillic and Latin letters and looks like `discord.com`"
    );
    let hits = check(&engine, "https://spam.example.com/x");
    assert_eq!(
        hits[0].why,
        "`spam.example.com` is on the denied domains (`example.com`)"
    );
    let hits = check(&engine, "discord.gg/abc");
    assert_eq!(hits[0].why, "`discord.gg/abc` is an invite link");
    let hits = check(&engine, "<@U1> <@U2> <@U3> <@U4> <@U5> <@U6> <@U7>");
    assert_eq!(hits[0].why, "7 people or roles mentioned (the limit is 5)");
    let hits = check(
        &engine,
        "you s\u{200b}c\u{200b}a\u{200b}m\u{200b}m\u{200b}er",
    );
    assert_eq!(
        hits[0].why,
        "`scammer` matched the banned word `scammer` after invisible characters"
    );
    let hits = check(&engine, "total ЅСАМ");
    assert_eq!(
        hits[0].why,
        "`ЅСАМ` matched the banned word `scam` after case folding and look-alike letters"
    );
    let hits = check(&engine, "a scamer");
    assert!(
        hits[0]
            .why
            .ends_with("a near spelling (1 letter different)"),
        "{}",
        hits[0].why
    );
}

#[test]
fn exemptions_and_disabled_rules() {
    let mut rules = community();
    rules.rule_mut("words").unwrap().exempt.roles = vec!["MOD".into()];
    rules.rule_mut("caps").unwrap().exempt.channels = vec!["C1".into()];
    rules.rule_mut("regex").unwrap().exempt.members = vec!["U100".into()];
    let engine = Engine::compile(&rules).unwrap();
    let mods = vec!["MOD".to_owned()];
    assert!(
        engine
            .check(&message("you idiot", Platform::Slack, &mods))
            .is_empty()
    );
    assert_eq!(check(&engine, "you idiot").len(), 1);
    assert!(check(&engine, "WHY IS NOBODY ANSWERING ME").is_empty());
    assert!(check(&engine, "buy followers").is_empty());

    let mut rules = community();
    rules.rule_mut("words").unwrap().enabled = false;
    let engine = Engine::compile(&rules).unwrap();
    assert!(check(&engine, "you idiot").is_empty());
    assert!(!engine.rule_ids().any(|id| id == "words"));
}

#[test]
fn a_flood_trips_once_per_window_and_repeats_share_a_stable_key() {
    let engine = Engine::compile(&Rules::default()).unwrap();
    let probes = engine.probes(&message("hello there", Platform::Slack, &[]));
    let flood = probes.iter().find(|p| p.rule == "flood").unwrap();
    assert_eq!(flood.key, "flood#C1#U100");
    assert_eq!((flood.limit, flood.window_secs), (5, 10));
    assert_eq!(engine.counted_hit(flood, 5), None);
    let hit = engine.counted_hit(flood, 6).unwrap();
    assert_eq!(
        hit.why,
        "6 messages in 10 s in this channel (the limit is 5)"
    );
    assert_eq!(hit.action, RuleAction::Mute { secs: 600 });
    assert_eq!(engine.counted_hit(flood, 7), None);

    let repeat = |text: &str| {
        engine
            .probes(&message(text, Platform::Slack, &[]))
            .into_iter()
            .find(|p| p.rule == "repeats")
            .unwrap()
            .key
    };
    let key = repeat("Hello there!");
    assert_eq!(key, repeat("hello    THERE"));
    assert_eq!(key, repeat("hel\u{200b}lo there"));
    assert_ne!(key, repeat("hello their"));
    let hash = key.strip_prefix("repeats#U100#").unwrap();
    assert_eq!(hash.len(), 16);
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    let probe = engine
        .probes(&message("hi", Platform::Slack, &[]))
        .into_iter()
        .find(|p| p.rule == "repeats")
        .unwrap();
    assert_eq!(
        engine.counted_hit(&probe, 4).unwrap().why,
        "the same message 4 times in 60 s (the limit is 3)"
    );
}

#[test]
fn compile_refuses_invalid_rules() {
    let mut rules = community();
    rules.rule_mut("regex").unwrap().kind = RuleKind::Regex {
        patterns: vec!["(a".into()],
    };
    assert!(matches!(
        Engine::compile(&rules),
        Err(RuleError::BadPattern { .. })
    ));
}

/// What a 40,000-character message costs is the benchmark's business (`benches/automod.rs`);
/// here: it is checked, every hit's span is the text it names, and degenerate texts pass.
#[test]
fn a_40000_character_message_is_checked() {
    let engine = Engine::compile(&community()).unwrap();
    let chunk = "ordinary words fr33 n1tr0 s c a m <@U1> https://github.com/x ЅСАМ ";
    let text: String = chunk.repeat(40_000 / chunk.len() + 1);
    let hits = check(&engine, &text);
    assert!(hits.iter().any(|hit| hit.rule == "words"), "{hits:?}");
    for hit in &hits {
        assert_eq!(hit.matched, text[hit.span.clone()]);
    }
    let letters: String = "a ".repeat(20_000);
    let _ = check(&engine, &letters);
    let one_word: String = "x".repeat(40_000);
    let _ = check(&engine, &one_word);
}

/// Where a zero-width character may be inserted in `text`: every char boundary.
fn with_invisibles(text: &str, at: &[usize], invisible: char) -> String {
    let boundaries: Vec<usize> = (0..=text.len())
        .filter(|i| text.is_char_boundary(*i))
        .collect();
    let mut cuts: Vec<usize> = at
        .iter()
        .map(|i| boundaries[i % boundaries.len()])
        .collect();
    cuts.sort_unstable();
    let mut out = String::new();
    let mut last = 0;
    for cut in cuts {
        out.push_str(&text[last..cut]);
        out.push(invisible);
        last = cut;
    }
    out.push_str(&text[last..]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn check_never_panics_and_spans_are_exact(text in "\\PC{0,2000}") {
        let engine = Engine::compile(&community()).unwrap();
        for platform in [Platform::Slack, Platform::Discord] {
            for hit in engine.check(&message(&text, platform, &[])) {
                prop_assert!(hit.span.start <= hit.span.end && hit.span.end <= text.len());
                prop_assert!(text.is_char_boundary(hit.span.start));
                prop_assert!(text.is_char_boundary(hit.span.end));
                prop_assert_eq!(&hit.matched, &text[hit.span.clone()]);
            }
            let _ = engine.probes(&message(&text, platform, &[]));
        }
    }

    #[test]
    fn markup_heavy_text_never_panics(
        text in "([<>@!#&|:`*._ -]|[a-zA-Z0-9]|https://|discord\\.gg/|\u{200b}|і|ο){0,400}"
    ) {
        let engine = Engine::compile(&community()).unwrap();
        for hit in engine.check(&message(&text, Platform::Discord, &[])) {
            prop_assert!(text.is_char_boundary(hit.span.start));
            prop_assert!(text.is_char_boundary(hit.span.end));
        }
    }

    #[test]
    fn zero_width_characters_never_hide_a_banned_word(
        word in prop::sample::select(vec!["idiot", "scammer", "free nitro", "kys", "moron", "asshole"]),
        before in prop::sample::select(vec!["", "you ", "hey, ", "well... "]),
        after in prop::sample::select(vec!["", " lol", "!", " ok?"]),
        at in prop::collection::vec(0usize..64, 1..8),
        invisible in prop::sample::select(vec!['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{00ad}', '\u{202e}', '\u{fe0f}', '\u{e0041}']),
    ) {
        let engine = Engine::compile(&community()).unwrap();
        let text = with_invisibles(&format!("{before}{word}{after}"), &at, invisible);
        let hits = check(&engine, &text);
        prop_assert!(hits.iter().any(|h| h.rule == "words"), "{:?}: {:?}", text, hits);
        for hit in hits {
            prop_assert!(text.is_char_boundary(hit.span.start));
            prop_assert!(text.is_char_boundary(hit.span.end));
            let visible: String = hit.matched.chars().filter(|c| !is_invisible(*c)).collect();
            prop_assert!(!visible.is_empty());
        }
    }
}

/// Scripts without case (Chinese, Japanese, Arabic, Hindi) are banned and matched like any
/// other word, and never look like shouting.
#[test]
fn words_in_scripts_without_case_are_matched_and_never_capitals() {
    let mut rules = Rules::default();
    rules.rule_mut("words").unwrap().kind = RuleKind::Words {
        words: vec![
            "詐欺".into(),
            "احتيال".into(),
            "धोखा".into(),
            "無料ニトロ".into(),
        ],
    };
    let engine = Engine::compile(&rules).unwrap();
    for (text, banned) in [
        ("これは詐欺です", "詐欺"),
        ("هذا احتيال واضح", "احتيال"),
        ("यह धोखा है", "धोखा"),
        ("無料ニトロをどうぞ", "無料ニトロ"),
    ] {
        let hits = check(&engine, text);
        let hit = hits
            .iter()
            .find(|hit| hit.rule == "words")
            .unwrap_or_else(|| panic!("`{text}`: no words hit in {hits:?}"));
        assert!(hit.why.contains(banned), "{}", hit.why);
        assert_eq!(hit.matched, text[hit.span.clone()]);
    }
    let long = "这是一条很长的中文消息，用来确认没有大小写的文字不会被当作大写字母。".repeat(3);
    assert!(
        check(&engine, &long).iter().all(|hit| hit.rule != "caps"),
        "uncased letters are neither capital nor small"
    );
    assert!(check(&engine, "普通的聊天消息").is_empty());
}
