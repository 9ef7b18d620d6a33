//! The stream's connection state as the dashboard shows it.

/// Failed reconnects after which a down stream is shown as offline rather than reconnecting.
pub const OFFLINE_AFTER_ATTEMPTS: u32 = 3;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConnectionState {
    #[default]
    Connecting,
    Live,
    Reconnecting,
    Offline,
    /// Every room is switched off, so there is nothing to stream.
    Paused,
    /// The session or token stopped working; reconnecting would only be refused.
    SignedOut,
}

impl ConnectionState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Reconnecting => "reconnecting",
            Self::Offline => "offline",
            Self::Paused => "paused",
            Self::SignedOut => "signed out",
        }
    }

    /// The state after the stream reported an error: the browser offline, or
    /// several attempts failing in a row, means offline; anything else is a
    /// drop that is being retried.
    pub fn after_error(browser_online: bool, failed_attempts: u32) -> Self {
        if !browser_online || failed_attempts >= OFFLINE_AFTER_ATTEMPTS {
            Self::Offline
        } else {
            Self::Reconnecting
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_reconnecting_then_offline() {
        assert_eq!(ConnectionState::after_error(true, 0), ConnectionState::Reconnecting);
        assert_eq!(ConnectionState::after_error(true, OFFLINE_AFTER_ATTEMPTS), ConnectionState::Offline);
        assert_eq!(ConnectionState::after_error(false, 0), ConnectionState::Offline);
        assert_eq!(ConnectionState::Live.label(), "live");
    }
}
