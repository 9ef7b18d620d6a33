//! What the server-rendered alerts page shows. The server gathers it and
//! hands it to the page's components as context.

use super::alert::{AlertState, Delivery, Incident, Silence};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertsPageData {
    pub node: String,
    pub states: Vec<AlertState>,
    /// Newest first.
    pub incidents: Vec<Incident>,
    /// Where the next, older page of incidents starts (`to` and `before`),
    /// when there may be one.
    pub older: Option<(i64, i64)>,
    /// Newest first.
    pub deliveries: Vec<Delivery>,
    pub silences: Vec<Silence>,
    pub rules: Vec<String>,
    pub channels: Vec<ChannelSummary>,
    /// The reader may not act as signed in, so the forms ask for a token with `operate`.
    pub needs_token: bool,
    /// What the last action did.
    pub notice: Option<Notice>,
}

/// A `[[notify]]` channel as the page names it, without its address or secrets.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelSummary {
    pub name: String,
    pub kind: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub ok: bool,
    pub text: String,
}
