//! Which rate limits a request falls under: its route, the top-level resource Discord counts
//! each bucket per, and whether it goes with the bot token.

use std::hash::{DefaultHasher, Hash, Hasher};

use http::Method;

/// Whether a request is sent with the bot token or authenticated by the token in its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Auth {
    Bot,
    None,
}

/// Which rate limits a request falls under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Route {
    /// Method and path with every id replaced by a placeholder: the requests that share one
    /// `X-RateLimit-Bucket`.
    pub(super) template: String,
    /// The top-level resource that Discord counts each bucket per (`channels/123`); a token
    /// in it is hashed, so the state and the logs never hold one.
    pub(super) major: String,
    pub(super) auth: Auth,
}

impl Route {
    pub(super) fn new(method: &Method, path: &str) -> Self {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut parts: Vec<String> = Vec::with_capacity(segments.len());
        let mut major = String::new();
        let mut auth = Auth::Bot;
        let mut rest = 0;
        match segments.as_slice() {
            [kind @ ("webhooks" | "interactions"), id, token, ..] => {
                major = format!("{kind}/{id}/{:016x}", hash(token));
                auth = Auth::None;
                parts.extend([kind.to_string(), ":major".to_owned()]);
                rest = 3;
            }
            [kind @ ("channels" | "guilds" | "webhooks"), id, ..] => {
                major = format!("{kind}/{id}");
                parts.extend([kind.to_string(), ":major".to_owned()]);
                rest = 2;
            }
            _ => {}
        }
        let mut previous = "";
        for segment in &segments[rest..] {
            parts.push(if previous == "reactions" {
                ":emoji".to_owned()
            } else if is_snowflake(segment) {
                ":id".to_owned()
            } else {
                (*segment).to_owned()
            });
            previous = segment;
        }
        Self {
            template: format!("{method} /{}", parts.join("/")),
            major,
            auth,
        }
    }
}

fn hash(value: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

pub(super) fn is_snowflake(value: &str) -> bool {
    (1..=20).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_keep_the_top_level_resource_and_hide_other_ids() {
        let r = Route::new(&Method::POST, "/channels/123/messages");
        assert_eq!(r.template, "POST /channels/:major/messages");
        assert_eq!(r.major, "channels/123");
        assert_eq!(r.auth, Auth::Bot);

        let r = Route::new(&Method::DELETE, "/channels/123/messages/456?x=1");
        assert_eq!(r.template, "DELETE /channels/:major/messages/:id");

        let r = Route::new(&Method::PUT, "/guilds/9/bans/77");
        assert_eq!(
            (r.template.as_str(), r.major.as_str()),
            ("PUT /guilds/:major/bans/:id", "guilds/9")
        );

        let r = Route::new(
            &Method::PUT,
            "/channels/1/messages/2/reactions/%F0%9F%91%8D/@me",
        );
        assert_eq!(
            r.template,
            "PUT /channels/:major/messages/:id/reactions/:emoji/@me"
        );

        let r = Route::new(&Method::GET, "/users/@me");
        assert_eq!(
            (r.template.as_str(), r.major.as_str()),
            ("GET /users/@me", "")
        );
    }

    #[test]
    fn moderation_routes_share_a_bucket_per_guild() {
        let a = Route::new(&Method::PATCH, "/guilds/9/members/77");
        let b = Route::new(&Method::PATCH, "/guilds/9/members/78");
        let c = Route::new(&Method::PATCH, "/guilds/10/members/77");
        assert_eq!(a.template, "PATCH /guilds/:major/members/:id");
        assert_eq!((a.template == b.template, a.major == b.major), (true, true));
        assert_eq!(
            (a.template == c.template, a.major == c.major),
            (true, false)
        );
        assert_eq!(
            Route::new(&Method::DELETE, "/guilds/9/bans/77").template,
            "DELETE /guilds/:major/bans/:id"
        );
        assert_eq!(
            Route::new(&Method::GET, "/guilds/9").template,
            "GET /guilds/:major"
        );
        let dm = Route::new(&Method::POST, "/users/@me/channels");
        assert_eq!(
            (dm.template.as_str(), dm.major.as_str(), dm.auth),
            ("POST /users/@me/channels", "", Auth::Bot)
        );
    }
    #[test]
    fn token_routes_go_without_the_bot_token_and_never_keep_the_token() {
        let r = Route::new(
            &Method::PATCH,
            "/webhooks/42/secret-token/messages/@original",
        );
        assert_eq!(r.template, "PATCH /webhooks/:major/messages/@original");
        assert_eq!(r.auth, Auth::None);
        assert!(r.major.starts_with("webhooks/42/"));
        assert!(!r.major.contains("secret-token"));
        // Another interaction's token is another bucket.
        let other = Route::new(&Method::PATCH, "/webhooks/42/other/messages/@original");
        assert_ne!(r.major, other.major);

        let r = Route::new(&Method::POST, "/interactions/5/tok/callback");
        assert_eq!(
            (r.template.as_str(), r.auth),
            ("POST /interactions/:major/callback", Auth::None)
        );

        // A webhook read by id alone is a bot call.
        assert_eq!(Route::new(&Method::GET, "/webhooks/42").auth, Auth::Bot);
    }
}
