//! Links: found with `linkify` (with or without a scheme) and in Slack's `<https://x|label>`
//! form, then judged by their host against the community's lists (a listed domain covers its
//! subdomains), invite hosts, and look-alikes of well-known domains.
//!
//! Links inside code blocks count: a code block renders a link as text a member can still copy.

use std::ops::Range;

use linkify::{LinkFinder, LinkKind};
use unicode_script::{Script, UnicodeScript};

use super::normalise::Normalised;
use super::rules::RuleError;

/// Domains phishing links imitate. Each is also the real thing: a link to one of them is not a
/// look-alike.
const WELL_KNOWN: &[&str] = &[
    "discord.com",
    "discord.gg",
    "discordapp.com",
    "discordapp.net",
    "discord.gift",
    "discord.media",
    "discord.new",
    "discordstatus.com",
    "slack.com",
    "steamcommunity.com",
    "steampowered.com",
    "paypal.com",
    "google.com",
    "youtube.com",
    "github.com",
    "twitch.tv",
    "roblox.com",
    "epicgames.com",
    "microsoft.com",
    "apple.com",
    "amazon.com",
    "facebook.com",
    "instagram.com",
    "twitter.com",
    "netflix.com",
    "spotify.com",
    "reddit.com",
    "tiktok.com",
    "telegram.org",
    "whatsapp.com",
    "linkedin.com",
    "dropbox.com",
    "binance.com",
    "coinbase.com",
    "metamask.io",
    "opensea.io",
];

/// Hosts whose every path is an invite.
const INVITE_HOSTS: &[&str] = &[
    "discord.gg",
    "dsc.gg",
    "invite.gg",
    "discord.io",
    "discord.me",
    "discord.link",
];
/// Hosts whose `/invite/…` paths are invites.
const INVITE_PATH_HOSTS: &[&str] = &[
    "discord.com",
    "discordapp.com",
    "ptb.discord.com",
    "canary.discord.com",
];

/// A well-known label shorter than this is too common to call a copy of it a look-alike.
const MIN_LOOKALIKE_LABEL: usize = 5;
/// A near spelling (one letter different) needs a label at least this long.
const MIN_NEAR_LABEL: usize = 6;

/// One link in a message.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub span: Range<usize>,
    /// Lower-case, as written (Unicode kept).
    pub host: String,
    /// Lower-case ASCII (punycode for international names).
    pub ascii_host: String,
    /// What follows the host (path, query), lower-case.
    pub path: String,
}

/// A domain list entry as stored: `Example.com`, `https://example.com/x` and `*.example.com` are
/// all `example.com`.
pub fn domain_entry(text: &str) -> Result<String, RuleError> {
    let bad = || RuleError::BadDomain(text.to_owned());
    let lower = text.trim().to_lowercase();
    let rest = lower.split_once("://").map_or(lower.as_str(), |(_, r)| r);
    let rest = rest.trim_start_matches("*.").trim_start_matches('.');
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.trim_end_matches('.');
    let ascii = idna::domain_to_ascii(host).map_err(|_| bad())?;
    let labels_ok = ascii.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if !labels_ok || !ascii.contains('.') || ascii.len() > 253 || psl::domain_str(&ascii).is_none()
    {
        return Err(bad());
    }
    Ok(ascii)
}

/// Every link in `text`, in order.
pub fn find_links(text: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut masked: Option<String> = None;
    let mut from = 0;
    while let Some(at) = text[from..].find("<http").map(|k| k + from) {
        let Some(close) = text[at..].bytes().take(4096).position(|b| b == b'>') else {
            from = at + 1;
            continue;
        };
        let inner = &text[at + 1..at + close];
        let url = inner.split('|').next().unwrap_or_default();
        if let Some(link) = parse(url, at + 1..at + 1 + url.len(), true) {
            links.push(link);
        }
        let mask = masked.get_or_insert_with(|| text.to_owned());
        let url_end = at + 1 + url.len();
        // Blanked byte for byte, so linkify's offsets in the mask are offsets in `text`.
        mask.replace_range(at..url_end + 1, &" ".repeat(url_end + 1 - at));
        from = at + close + 1;
    }
    let haystack = masked.as_deref().unwrap_or(text);
    let mut finder = LinkFinder::new();
    finder.kinds(&[LinkKind::Url]).url_must_have_scheme(false);
    for found in finder.links(haystack) {
        let span = found.start()..found.end();
        let scheme = found.as_str().contains("://");
        if let Some(link) = parse(&text[span.clone()], span, scheme) {
            links.push(link);
        }
    }
    links.sort_by_key(|l| l.span.start);
    links
}

fn parse(url: &str, span: Range<usize>, has_scheme: bool) -> Option<Link> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.trim_end_matches('.').to_lowercase();
    if host.is_empty() || !host.contains('.') {
        return None;
    }
    let ascii_host = idna::domain_to_ascii(&host).unwrap_or_else(|_| host.clone());
    let known = psl::suffix(ascii_host.as_bytes()).is_some_and(|s| s.is_known());
    if !has_scheme && (!known || looks_like_a_file(&ascii_host, &rest[end..])) {
        return None;
    }
    Some(Link {
        span,
        host,
        ascii_host,
        path: rest[end..].to_lowercase(),
    })
}

/// File names that are also domain names (`main.rs`, `README.md`, `setup.py`): written without
/// a scheme or a path in chat they are nearly always files, while a spam link brings a path or a
/// `www.`.
fn looks_like_a_file(ascii_host: &str, path: &str) -> bool {
    const EXTENSIONS: &[&str] = &[
        "rs", "md", "py", "sh", "js", "ts", "pl", "rb", "cs", "cc", "go", "ps", "so", "zip", "mov",
        "sql", "php", "java", "kt", "swift", "txt", "json", "yaml", "yml", "toml", "lock", "log",
    ];
    let tld = ascii_host.rsplit('.').next().unwrap_or_default();
    path.is_empty() && !ascii_host.starts_with("www.") && EXTENSIONS.contains(&tld)
}

/// A host on a list entry: the domain itself or any subdomain of it.
pub fn covered_by<'l>(ascii_host: &str, list: &'l [String]) -> Option<&'l str> {
    list.iter()
        .find(|d| {
            ascii_host == d.as_str()
                || ascii_host
                    .strip_suffix(d.as_str())
                    .is_some_and(|head| head.ends_with('.'))
        })
        .map(String::as_str)
}

pub fn is_invite(link: &Link) -> bool {
    let host = link
        .ascii_host
        .strip_prefix("www.")
        .unwrap_or(&link.ascii_host);
    let path = link.path.trim_start_matches('/');
    if INVITE_HOSTS.contains(&host) {
        return !path.is_empty();
    }
    INVITE_PATH_HOSTS.contains(&host)
        && path
            .strip_prefix("invite/")
            .is_some_and(|code| !code.is_empty())
}

/// Why a link's host looks like a well-known domain it is not, if it does.
pub fn lookalike(link: &Link) -> Option<String> {
    let (unicode, _) = idna::domain_to_unicode(&link.ascii_host);
    let registered = psl::domain_str(&link.ascii_host).unwrap_or(&link.ascii_host);
    if WELL_KNOWN.contains(&registered) {
        return None;
    }
    let skeleton = domain_skeleton(&unicode);
    let imitated = imitated(&skeleton);
    let shown = if link.host.contains("xn--") {
        unicode.as_str()
    } else {
        link.host.as_str()
    };
    let mixed = unicode.split('.').find_map(mixed_scripts);
    let punycode = link.ascii_host.contains("xn--");
    match (mixed, imitated) {
        (Some(scripts), Some((real, near))) => Some(format!(
            "`{shown}` mixes {scripts} letters and looks like `{real}`{}",
            near_note(near)
        )),
        (Some(scripts), None) => Some(format!("`{shown}` mixes {scripts} letters")),
        (None, Some((real, near))) if punycode => Some(format!(
            "`{shown}` is an international name (`{}`) that looks like `{real}`{}",
            link.ascii_host,
            near_note(near)
        )),
        (None, Some((real, near))) => {
            Some(format!("`{shown}` looks like `{real}`{}", near_note(near)))
        }
        (None, None) => None,
    }
}

fn near_note(near: bool) -> &'static str {
    if near { " (1 letter different)" } else { "" }
}

/// The host as the word matcher sees it: look-alike letters, digits and case folded, `l` read as
/// `i`.
fn domain_skeleton(host: &str) -> String {
    Normalised::new(host)
        .text
        .chars()
        .map(|c| if c == 'l' { 'i' } else { c })
        .collect()
}

/// The well-known domain a skeleton imitates: the same registered name under another suffix,
/// the same name outright, or (for longer names) one letter different.
fn imitated(skeleton: &str) -> Option<(&'static str, bool)> {
    let ascii = idna::domain_to_ascii(skeleton).unwrap_or_else(|_| skeleton.to_owned());
    let registered = psl::domain_str(&ascii).unwrap_or(&ascii);
    let label = registered.split('.').next().unwrap_or(registered);
    let label_chars = label.chars().count();
    for real in WELL_KNOWN {
        let real_skeleton = domain_skeleton(real);
        if registered == real_skeleton {
            return Some((real, false));
        }
        let real_label = real_skeleton.split('.').next().unwrap_or_default();
        if real_label.len() < MIN_LOOKALIKE_LABEL {
            continue;
        }
        if label == real_label {
            return Some((real, false));
        }
        if label_chars >= MIN_NEAR_LABEL
            && label_chars.abs_diff(real_label.len()) <= 1
            && strsim::levenshtein(label, real_label) == 1
        {
            return Some((real, true));
        }
    }
    None
}

/// "Cyrillic and Latin" when a label's letters come from more than one script.
fn mixed_scripts(label: &str) -> Option<String> {
    let mut scripts: Vec<Script> = Vec::new();
    for c in label.chars() {
        let script = c.script();
        if matches!(script, Script::Common | Script::Inherited | Script::Unknown) {
            continue;
        }
        if !scripts.contains(&script) {
            scripts.push(script);
        }
    }
    if scripts.len() < 2 {
        return None;
    }
    let mut names: Vec<&str> = scripts.iter().map(|s| s.full_name()).collect();
    names.sort_unstable();
    let last = names.pop()?;
    Some(format!("{} and {last}", names.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(text: &str) -> Vec<String> {
        find_links(text).into_iter().map(|l| l.host).collect()
    }

    #[test]
    fn finds_links_with_and_without_schemes() {
        assert_eq!(
            hosts("see https://Example.com/x and discord.gg/abc"),
            ["example.com", "discord.gg"]
        );
        assert_eq!(
            hosts("<https://evil.example.net/a|docs>"),
            ["evil.example.net"]
        );
        assert_eq!(
            hosts("use `curl https://a.example.org` in code"),
            ["a.example.org"]
        );
        assert!(hosts("e.g. this, or file.txt and node.js").is_empty());
        assert!(hosts("edit main.rs and README.md, then run setup.py").is_empty());
        assert_eq!(
            hosts("www.example.rs and https://main.rs"),
            ["www.example.rs", "main.rs"]
        );
    }

    #[test]
    fn spans_point_at_the_link() {
        let text = "x <https://example.com/a|label> y";
        let link = &find_links(text)[0];
        assert_eq!(&text[link.span.clone()], "https://example.com/a");
    }

    #[test]
    fn entries_and_coverage() {
        assert_eq!(
            domain_entry("https://Example.com/path").unwrap(),
            "example.com"
        );
        assert_eq!(domain_entry("*.example.com").unwrap(), "example.com");
        assert!(domain_entry("x").is_err());
        assert!(domain_entry("com").is_err());
        assert!(domain_entry("bad_domain.com").is_err());
        let list = vec!["example.com".to_owned()];
        assert_eq!(covered_by("spam.example.com", &list), Some("example.com"));
        assert_eq!(covered_by("example.com", &list), Some("example.com"));
        assert_eq!(covered_by("notexample.com", &list), None);
    }

    #[test]
    fn invites() {
        let invite = |t: &str| is_invite(&find_links(t)[0]);
        assert!(invite("discord.gg/abc"));
        assert!(invite("https://discord.com/invite/abc"));
        assert!(invite("https://discordapp.com/invite/abc"));
        assert!(invite("dsc.gg/x"));
        assert!(!invite("https://discord.com/channels/1/2"));
        assert!(!invite("https://discord.gg"));
    }

    #[test]
    fn lookalikes() {
        let why = |t: &str| lookalike(&find_links(t)[0]);
        assert_eq!(
            why("https://dіscord.com/gift").as_deref(),
            Some("`dіscord.com` mixes Cyrillic and Latin letters and looks like `discord.com`")
        );
        assert!(why("https://disc0rd.com").is_some());
        assert!(why("https://steamcommunity.ru/id").is_some());
        assert!(why("https://dlscord.com").is_some());
        let punycode = idna::domain_to_ascii("dіscord.com").unwrap();
        assert!(punycode.starts_with("xn--"), "{punycode}");
        let why_punycode = why(&format!("https://{punycode}/x")).unwrap();
        assert!(
            why_punycode.contains("looks like `discord.com`"),
            "{why_punycode}"
        );
        assert_eq!(why("https://discord.com/channels/1"), None);
        assert_eq!(why("https://docs.rs/regex"), None);
        assert_eq!(why("https://wikipedia.org"), None);
        assert_eq!(why("https://githubusercontent.com"), None);
    }
}
