//! The accept loop: HTTP/1.1 connections served by hyper, with graceful shutdown.
//!
//! netpulse speaks plain HTTP/1.1 (a TLS proxy in front can offer HTTP/2), so
//! each connection carries only an HTTP/1 state machine: on thousands of idle
//! streams that is a third less memory than auto-detecting HTTP/2.

use std::{convert::Infallible, future::Future, net::SocketAddr, time::Duration};

use axum::{extract::ConnectInfo, Router};
use hyper::{body::Incoming, server::conn::http1, Request};
use hyper_util::{rt::{TokioIo, TokioTimer}, server::graceful::GracefulShutdown};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long connections get to finish once shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

pub async fn run(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    // A client gets this long to send its request head.
    http.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(30));
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Without TCP_NODELAY a small event written right after another waits
        // for the peer's delayed ACK, up to 40 ms on Linux.
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.oneshot(request.map(axum::body::Body::new)).await.unwrap_or_else(|never| match never {})) }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %remote, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("some connections did not finish within {DRAIN:?}");
    }
    Ok(())
}
