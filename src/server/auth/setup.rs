//! Setup mode: while netpulse has no admin, a one-time key is made at start
//! and logged as an address; only that address can create the first admin.

use crate::server::{auth::secrets, config::secret::Secret, store::StoreError, AppState};

/// Enters setup mode when there is no account, logging where to go.
pub async fn enter_if_needed(state: &AppState) -> Result<(), StoreError> {
    if state.store.admin_count().await? > 0 {
        return Ok(());
    }
    let key = secrets::random_secret();
    let address = format!("http://{}/setup?key={key}", state.config.listen);
    state.auth.set_setup_key(Some(Secret::new(key)));
    // The one place the key is shown: the operator reads it here, once.
    tracing::warn!("netpulse has no admin yet: open {address} to create one (or run `netpulse user add NAME --role admin`)");
    Ok(())
}

/// Whether setup mode still holds: it ends once an admin exists, also one made
/// with `netpulse user add` while the server runs.
pub async fn still_needed(state: &AppState) -> bool {
    if !state.auth.in_setup() {
        return false;
    }
    if state.store.admin_count().await.is_ok_and(|count| count > 0) {
        state.auth.set_setup_key(None);
        return false;
    }
    true
}
