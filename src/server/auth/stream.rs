//! What an event stream needs from access: the filter its every event passes,
//! and the moment it must end because its credentials stopped working.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::server::{
    auth::{
        access::{series_of, Caller},
        Auth, Revoked,
    },
    clock::now_ms,
    events::{hub::HubEvent, resume::EventFilter},
    store::{Store, StoreError},
};

/// The events `caller` may be sent, under the rules as they are when each
/// event goes out, so a rule an admin adds or removes applies to open streams
/// at once. Admins read everything and are asked nothing per event.
pub fn event_filter(auth: &Arc<Auth>, caller: &Caller) -> EventFilter {
    if caller.is_admin() {
        return Arc::new(|_: &HubEvent| true);
    }
    let (auth, caller) = (auth.clone(), caller.clone());
    Arc::new(move |event: &HubEvent| {
        let access = auth.access();
        access.reads_everything(&caller) || access.may_read(&caller, &series_of(&event.topic, &event.key))
    })
}

/// Whether the caller's session or token still works, asked once the stream
/// listens for revocations: one that came between the request's check and
/// then would otherwise go unheard.
pub async fn still_valid(store: &Store, caller: &Caller) -> Result<bool, StoreError> {
    let now = now_ms();
    Ok(match caller {
        Caller::Anonymous => true,
        // A proxy's user: the account may have changed since the request was checked.
        Caller::User { name, session: None, role, .. } => store.user_password(name).await?.is_none_or(|(_, stored)| stored == *role),
        Caller::User { name, session: Some(id), role, .. } => store.session_role(*id, name, now).await? == Some(*role),
        Caller::Token { id: 0, .. } => true,
        Caller::Token { id, .. } => store.token_exists(*id, now).await?,
    })
}

/// Resolves when the stream of `caller` must end: its session ended, its
/// token was revoked, its user changed, or it expired; for a visitor, when
/// visitors may read nothing any more.
/// `revocations` must be subscribed before [`still_valid`] is asked.
pub async fn credentials_end(mut revocations: broadcast::Receiver<Revoked>, caller: Caller) {
    let expires_ms = match &caller {
        Caller::Anonymous => None,
        Caller::User { expires_ms, .. } | Caller::Token { expires_ms, .. } => *expires_ms,
    };
    let expiry = async {
        match expires_ms {
            Some(at) => tokio::time::sleep(std::time::Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0))).await,
            None => std::future::pending().await,
        }
    };
    let revoked = async {
        loop {
            match revocations.recv().await {
                Ok(revoked) if revoked.ends(&caller) => return,
                Ok(_) => {}
                // Missed some: end to be safe; the client reconnects and is checked afresh.
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            }
        }
    };
    tokio::select! {
        () = expiry => {}
        () = revoked => {}
    }
}
