//! `--serve-speedtest`: this agent as a speed-test target for the other
//! nodes, with the server's `/speedtest` endpoints and its default byte
//! budget per client address.

use std::{net::SocketAddr, sync::Arc};

use axum::{middleware, Router};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::server::{
    http::client_address,
    speed::{budget::ServeBudget, config::SpeedConfig, payload, routes::SpeedtestState},
};

/// Serves `/speedtest` on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, shutdown: CancellationToken) -> std::io::Result<()> {
    let defaults = SpeedConfig::default();
    let exempt = defaults.serve_budget_exempt().expect("the default exempt networks parse");
    let state = SpeedtestState { payload: payload::random_block(), serve_budget: Arc::new(ServeBudget::new(defaults.serve_budget_mb, exempt)) };
    let (endpoints, _) = crate::server::speed::routes::routes::<SpeedtestState>().split_for_parts();
    let app = Router::new().nest("/speedtest", endpoints).layer(middleware::from_fn(client_address::peer_only_layer)).with_state(state);
    tracing::info!(address = %listener.local_addr()?, "serving /speedtest for the other nodes");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown.cancelled_owned()).await
}
