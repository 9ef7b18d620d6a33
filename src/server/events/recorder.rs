//! The one way events are published: each is written to the store before it
//! reaches the hub, so an event a client has seen survives a crash. If the
//! store fails, the event still goes out live and the failure is reported.

use std::sync::{Arc, Mutex};

use tokio::sync::Mutex as AsyncMutex;

pub use crate::model::StoreHealth;
use crate::server::{
    events::hub::{Hub, HubEvent},
    store::{now_ms, Store},
};

pub struct Recorder {
    hub: Arc<Hub>,
    store: Option<Arc<Store>>,
    /// Held from taking an id to delivering the event, so the log and the live
    /// feed see ids in the same order.
    order: AsyncMutex<()>,
    health: Mutex<StoreHealth>,
}

impl Recorder {
    pub fn new(hub: Arc<Hub>, store: Option<Arc<Store>>) -> Self {
        Self { hub, store, order: AsyncMutex::new(()), health: Mutex::new(StoreHealth::default()) }
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    pub fn store(&self) -> Option<&Arc<Store>> {
        self.store.as_ref()
    }

    pub fn health(&self) -> StoreHealth {
        self.health.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub async fn publish(&self, topic: &str, data: String) -> Arc<HubEvent> {
        let _turn = self.order.lock().await;
        if let Some(store) = &self.store {
            let outcome = store.append(self.hub.next_id(), topic, now_ms(), &data).await;
            let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
            match outcome {
                Ok(()) => health.ok = true,
                Err(err) => {
                    if health.ok {
                        tracing::error!(%err, topic, "cannot write to the history database; events still stream live");
                    }
                    health.ok = false;
                    health.failed_writes += 1;
                    health.last_error = Some(err.to_string());
                }
            }
        }
        self.hub.publish(topic, data)
    }
}
