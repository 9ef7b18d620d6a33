//! Sending one notification on one channel, in each service's documented
//! request format, and telling a failure worth retrying from one that is not.

use serde_json::json;

use crate::server::alerts::{
    channel_config::{Channel, ChannelKind},
    email,
    template::{render_body, BodyContext},
};

/// The header (and the email Message-ID) that carries the delivery id.
pub const DELIVERY_HEADER: &str = "X-Netpulse-Delivery";

/// A notification ready to go out.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub delivery_id: String,
    pub rule: String,
    pub subject: String,
    pub kind: String,
    pub title: String,
    pub message: String,
    /// The structured facts a webhook receives, beside the text.
    pub facts: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth another try: the receiver is down, slow, or overloaded.
    #[error("{0}")]
    Retry(String),
    /// Will not succeed as configured: the receiver refused the request.
    #[error("{0}")]
    Permanent(String),
}

/// Sends `note` on `channel`; `http` is the client for every HTTP kind.
pub async fn send(channel: &Channel, note: &Outgoing, http: &reqwest::Client) -> Result<(), SendError> {
    let text = format!("{}\n{}", note.title, note.message);
    let request = match &channel.kind {
        ChannelKind::Email { .. } => return email::send(channel, note).await,
        ChannelKind::Webhook { url, headers, body, content_type } => {
            let mut request = match body {
                Some(template) => {
                    let context = BodyContext {
                        id: &note.delivery_id,
                        rule: &note.rule,
                        subject: &note.subject,
                        kind: &note.kind,
                        title: &note.title,
                        message: &note.message,
                    };
                    let text = render_body(template, &context).map_err(|err| SendError::Permanent(err.to_string()))?;
                    http.post(url.clone()).header(reqwest::header::CONTENT_TYPE, content_type.as_str()).body(text)
                }
                None => http.post(url.clone()).json(&json!({
                    "id": note.delivery_id,
                    "rule": note.rule,
                    "subject": note.subject,
                    "kind": note.kind,
                    "title": note.title,
                    "message": note.message,
                    "facts": note.facts,
                })),
            };
            for (name, value) in headers {
                request = request.header(name, value);
            }
            request
        }
        ChannelKind::Ntfy { url, token, priority } => {
            // ntfy's publish API: the body is the message, the rest are headers.
            let tags = if matches!(note.kind.as_str(), "resolved" | "settled") { "white_check_mark" } else { "warning" };
            let mut request = http.post(url.clone()).header("Title", &note.title).header("Tags", tags).body(note.message.clone());
            if let Some(priority) = priority {
                request = request.header("Priority", priority.to_string());
            }
            if let Some(token) = token {
                request = request.bearer_auth(token.expose());
            }
            request
        }
        ChannelKind::Slack { url } => http.post(url.clone()).json(&json!({ "text": text })),
        ChannelKind::Discord { url } => http.post(url.clone()).json(&json!({ "content": text })),
        ChannelKind::Telegram { api, token, chat_id } => {
            let url = with_segments(api, &[&format!("bot{}", token.expose()), "sendMessage"])?;
            http.post(url).json(&json!({ "chat_id": chat_id, "text": text }))
        }
        ChannelKind::Gotify { url, token, priority } => {
            let url = with_segments(url, &["message"])?;
            http.post(url)
                .header("X-Gotify-Key", token.expose())
                .json(&json!({ "title": note.title, "message": note.message, "priority": priority.unwrap_or(5) }))
        }
    };
    let response = request.header(DELIVERY_HEADER, &note.delivery_id).timeout(channel.timeout).send().await.map_err(|err| {
        // A request that cannot be built (a header with a newline) will not build later either.
        let permanent = err.is_builder();
        // The URL may hold a token (Telegram's does): never quote it.
        let text = describe(&err.without_url());
        if permanent {
            SendError::Permanent(text)
        } else {
            SendError::Retry(text)
        }
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body: String = response.text().await.unwrap_or_default().chars().take(200).collect();
    let error = format!("the receiver answered {status}{}", if body.trim().is_empty() { String::new() } else { format!(": {}", body.trim()) });
    // 408 and 429 say "later"; other 4xx answers will not change by retrying.
    if status.is_client_error() && !matches!(status.as_u16(), 408 | 429) {
        Err(SendError::Permanent(error))
    } else {
        Err(SendError::Retry(error))
    }
}

/// `base` with path segments added after its own (a trailing slash or not).
fn with_segments(base: &reqwest::Url, segments: &[&str]) -> Result<reqwest::Url, SendError> {
    let mut url = base.clone();
    url.path_segments_mut().map_err(|_| SendError::Permanent("the channel's url cannot take a path".into()))?.pop_if_empty().extend(segments);
    Ok(url)
}

/// An HTTP error with its causes, the way a person can act on it.
fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
