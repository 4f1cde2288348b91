//! A Slack command's text read against a shipped command's options. The input is
//! `name\ntext`: the command named, or one chosen from the first line's bytes when no command
//! has that name, so seeds stay readable and still hit their command when commands are added.
//! Slack's form decoding always yields text, so invalid UTF-8 is replaced rather than
//! discarded, keeping every input useful.

use gavel_shared::commands::OptionKind;
use gavel_shared::invocation::OptionValue;
use gavel_shared::moderation::duration;
use gavel_shared::slack::options_from_text;

use crate::parsers::REGISTRY;

pub fn options(data: &[u8]) {
    let (head, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let specs: Vec<_> = REGISTRY.specs().filter(|s| !s.options.is_empty()).collect();
    let spec = specs
        .iter()
        .find(|s| s.name.as_bytes() == head)
        .copied()
        .unwrap_or_else(|| {
            let pick = head.iter().map(|b| usize::from(*b)).sum::<usize>();
            specs[pick % specs.len()]
        });
    let text = String::from_utf8_lossy(rest);

    let options = match options_from_text(spec, &text) {
        Ok(options) => options,
        Err(error) => {
            // The invoker is always shown how to type the command.
            assert_eq!(error.usage, spec.usage());
            assert!(
                error
                    .to_string()
                    .ends_with(&format!("Usage: `{}`", spec.usage()))
            );
            return;
        }
    };
    // Options come out in declared order, each at most once, every required one present, each
    // of its declared kind.
    let mut next = 0;
    for (name, value) in &options {
        let index = spec.options[next..]
            .iter()
            .position(|o| o.name == name)
            .map(|i| i + next)
            .unwrap_or_else(|| panic!("{name} out of order or undeclared in /{}", spec.name));
        let opt = &spec.options[index];
        let is_last = index + 1 == spec.options.len();
        next = index + 1;
        match (opt.kind, value) {
            (OptionKind::String, OptionValue::String(word)) => {
                assert!(!word.is_empty(), "{name} empty");
                assert!(
                    is_last || !word.contains(char::is_whitespace),
                    "{name}, not the last option, took more than a word: {word:?}"
                );
            }
            (OptionKind::Integer, OptionValue::Integer(_)) => {}
            (OptionKind::User, OptionValue::User(id))
            | (OptionKind::Channel, OptionValue::Channel(id)) => {
                assert!(
                    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()),
                    "{name} = {id:?}"
                );
            }
            (OptionKind::Duration, OptionValue::String(text)) => {
                assert!(duration::parse(text).is_ok(), "{name} = {text:?}");
            }
            (OptionKind::Choice(choices), OptionValue::String(choice)) => {
                assert!(choices.contains(&choice.as_str()), "{name} = {choice:?}");
            }
            (kind, value) => panic!("{name} is {kind:?} but got {value:?}"),
        }
    }
    for opt in spec.options.iter().filter(|o| o.required) {
        assert!(
            options.iter().any(|(name, _)| name == opt.name),
            "required {} missing",
            opt.name
        );
    }
}
