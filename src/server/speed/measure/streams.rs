//! The transfers one stream runs back to back: downloads counted as chunks
//! arrive from the socket, uploads counted as the HTTP client takes each piece.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::{Client, Url};
use tokio_util::sync::CancellationToken;

use crate::server::{
    speed::measure::{bounded, describe_request_error, phase::Meter},
    speed::payload,
    speed::target::SpeedTarget,
};

/// Upload bodies are handed to the client in pieces of this size.
const UPLOAD_PIECE: usize = 64 * 1024;

pub async fn download(
    client: Client,
    target: SpeedTarget,
    request_bytes: u64,
    meter: Arc<Meter>,
    stop: CancellationToken,
    timeout: Duration,
) -> Result<(), String> {
    let work = async {
        loop {
            let size = meter.reserve(request_bytes);
            if size == 0 {
                return Ok(());
            }
            let url = target.download_url(size);
            let mut response = bounded(timeout, client.get(url.clone()).send()).await?;
            if !response.status().is_success() {
                return Err(format!("unexpected status {} from {url}", response.status().as_u16()));
            }
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        if !meter.add(chunk.len() as u64) {
                            return Ok(());
                        }
                    }
                    Ok(None) => break,
                    Err(err) => return Err(describe_request_error(&err, timeout)),
                }
            }
        }
    };
    tokio::select! {
        _ = stop.cancelled() => Ok(()),
        outcome = work => outcome,
    }
}

pub async fn upload(
    client: Client,
    url: Url,
    block: Bytes,
    request_bytes: u64,
    meter: Arc<Meter>,
    stop: CancellationToken,
    timeout: Duration,
) -> Result<(), String> {
    let work = async {
        loop {
            let size = meter.reserve(request_bytes);
            if size == 0 {
                return Ok(());
            }
            let counting = meter.clone();
            let pieces = futures_util::stream::iter(payload::slices(&block, size, UPLOAD_PIECE)).map(move |piece| {
                counting.add(piece.len() as u64);
                Ok::<_, std::io::Error>(piece)
            });
            let response = client
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .header(reqwest::header::CONTENT_LENGTH, size)
                .body(reqwest::Body::wrap_stream(pieces))
                .send()
                .await
                .map_err(|err| describe_request_error(&err, timeout))?;
            if !response.status().is_success() {
                return Err(format!("unexpected status {} from {url}", response.status().as_u16()));
            }
        }
    };
    tokio::select! {
        _ = stop.cancelled() => Ok(()),
        outcome = work => outcome,
    }
}
