//! The downloads one stream runs back to back, counted as chunks arrive from the
//! socket. Uploads are in `upload.rs`.

use std::{sync::Arc, time::Duration};

use reqwest::Client;
use tokio_util::sync::CancellationToken;

use crate::server::{
    speed::measure::{bounded, describe_request_error, phase::Meter},
    speed::target::SpeedTarget,
};

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
                return Err(format!("unexpected status {} from {}", response.status().as_u16(), crate::server::speed::target::shown(&url)));
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
