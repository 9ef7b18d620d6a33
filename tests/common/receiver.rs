//! A real HTTP receiver on loopback for notifications: it records every
//! request, and can be told to refuse (503) or to hang, as a receiver that
//! is down or stuck would.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, http::Uri, routing::any, Router};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| panic!("not JSON ({err}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// Answers 503 Service Unavailable.
    Refuse,
    /// Records the request, then never answers.
    Hang,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    /// Requests answered 503 or left hanging, counted apart.
    refused: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
}

#[derive(Clone)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    refused: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
}

async fn record(State(shared): State<Shared>, uri: Uri, method: axum::http::Method, headers: HeaderMap, body: Bytes) -> StatusCode {
    let request = Received { method: method.to_string(), path: uri.path().to_owned(), headers, body };
    let mode = *shared.mode.lock().unwrap();
    match mode {
        Mode::Accept => {
            shared.received.lock().unwrap().push(request);
            StatusCode::OK
        }
        Mode::Refuse => {
            shared.refused.lock().unwrap().push(request);
            StatusCode::SERVICE_UNAVAILABLE
        }
        Mode::Hang => {
            shared.refused.lock().unwrap().push(request);
            std::future::pending::<()>().await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    pub async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Shared { received: Arc::default(), refused: Arc::default(), mode: Arc::new(Mutex::new(mode)) };
        let app = Router::new().fallback(any(record)).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, received: shared.received, refused: shared.refused, mode: shared.mode }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn refused(&self) -> Vec<Received> {
        self.refused.lock().unwrap().clone()
    }

    /// Waits (at most `within`) until `n` requests were accepted; what was.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= n || tokio::time::Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
