//! The Slack Web API over HTTPS: `response_url` posts and `views.open`.
//!
//! - `SLACK_BOT_TOKEN`: the bot token (`xoxb-…`), needed for `views.open` only. The Slack
//!   function holds it because a form must open within the trigger id's 3 seconds.
//! - `SLACK_API_BASE`: the Web API's base URL (default `https://slack.com/api`), for fakes.
//! - `SLACK_RESPONSE_URL_PREFIX`: an extra accepted `response_url` prefix, for fakes. Only
//!   Slack's own `https://hooks.slack.com/` is accepted otherwise, so a payload can never make
//!   Gavel post somewhere else.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::slack::web::{SlackWeb, SlackWebError};

pub const DEFAULT_API_BASE: &str = "https://slack.com/api";
const SLACK_HOOKS: &str = "https://hooks.slack.com/";
/// Well inside Slack's 3-second deadline, leaving time for verification and the store.
const CALL_TIMEOUT: Duration = Duration::from_millis(2000);

pub struct SlackHttp {
    client: reqwest::Client,
    api_base: String,
    token: Option<String>,
    response_url_prefixes: Vec<String>,
}

impl std::fmt::Debug for SlackHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackHttp")
            .field("api_base", &self.api_base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("response_url_prefixes", &self.response_url_prefixes)
            .finish()
    }
}

impl SlackHttp {
    pub fn new(
        api_base: impl Into<String>,
        token: Option<String>,
        extra_response_url_prefix: Option<String>,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        let mut response_url_prefixes = vec![SLACK_HOOKS.to_owned()];
        response_url_prefixes.extend(extra_response_url_prefix.filter(|p| !p.is_empty()));
        Ok(Self {
            client,
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            token,
            response_url_prefixes,
        })
    }

    pub fn from_env() -> Result<Self, String> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self::new(
            env("SLACK_API_BASE").unwrap_or_else(|| DEFAULT_API_BASE.to_owned()),
            env("SLACK_BOT_TOKEN"),
            env("SLACK_RESPONSE_URL_PREFIX"),
        )
    }
}

#[async_trait]
impl SlackWeb for SlackHttp {
    async fn respond(&self, response_url: &str, message: &Value) -> Result<(), SlackWebError> {
        if !self
            .response_url_prefixes
            .iter()
            .any(|p| response_url.starts_with(p.as_str()))
        {
            return Err(SlackWebError::NotConfigured(format!(
                "refusing to post to a response_url outside {}",
                self.response_url_prefixes.join(", ")
            )));
        }
        let answer = self
            .client
            .post(response_url)
            .json(message)
            .send()
            .await
            .map_err(|e| SlackWebError::Unreachable(e.without_url().to_string()))?;
        let status = answer.status();
        if status.is_success() {
            Ok(())
        } else {
            let body = answer.text().await.unwrap_or_default();
            Err(SlackWebError::Refused(format!("HTTP {status}: {body}")))
        }
    }

    async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), SlackWebError> {
        let Some(token) = &self.token else {
            return Err(SlackWebError::NotConfigured(
                "SLACK_BOT_TOKEN is not set, so forms cannot be opened".to_owned(),
            ));
        };
        let answer = self
            .client
            .post(format!("{}/views.open", self.api_base))
            .bearer_auth(token)
            .json(&serde_json::json!({ "trigger_id": trigger_id, "view": view }))
            .send()
            .await
            .map_err(|e| SlackWebError::Unreachable(e.without_url().to_string()))?;
        let status = answer.status();
        let body: Value = answer
            .json()
            .await
            .map_err(|e| SlackWebError::Refused(format!("HTTP {status}, unreadable body: {e}")))?;
        // The Web API answers 200 with `ok: false` for its errors (expired_trigger_id, …).
        if status.is_success() && body.get("ok") == Some(&Value::Bool(true)) {
            Ok(())
        } else {
            let error = body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown error");
            Err(SlackWebError::Refused(format!("HTTP {status}: {error}")))
        }
    }
}
