//! One transfer phase: runs the streams, samples their byte counter every
//! tick, times round trips under the load, and stops at the duration cap, at
//! the byte budget, or once the rate is stable.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use reqwest::{Client, Url};
use tokio::{sync::watch, task::JoinSet, time::Instant};
use tokio_util::sync::CancellationToken;

use crate::server::{
    speed::measure::{rate::RateTrace, round_trip, MeasureOptions, Phase, Progress},
    speed::stats,
};

/// How often the byte counter is sampled.
const TICK: Duration = Duration::from_millis(100);
/// Pause between two round trips timed under load.
const LOADED_PING_GAP: Duration = Duration::from_millis(100);

/// What the streams share: bytes moved so far, and the budget requests are
/// sized from, so that the streams together never ask for more than it.
pub struct Meter {
    bytes: AtomicU64,
    reserved: AtomicU64,
    budget: u64,
    /// Upload sockets, whose acknowledged bytes are added at each sample.
    uploads: std::sync::Mutex<Vec<WatchedSocket>>,
    next_watch: AtomicU64,
}

/// An upload socket (a descriptor of its own), the bytes written to it, and how many are counted.
struct WatchedSocket {
    id: u64,
    socket: std::os::fd::OwnedFd,
    written: Arc<AtomicU64>,
    counted: u64,
}

impl Meter {
    pub fn new(budget: u64) -> Self {
        Self { bytes: AtomicU64::new(0), reserved: AtomicU64::new(0), budget, uploads: Default::default(), next_watch: AtomicU64::new(0) }
    }

    /// Claims up to `want` bytes of the budget for one request; 0 once it is all claimed.
    pub fn reserve(&self, want: u64) -> u64 {
        let mut claimed = 0;
        let _ = self.reserved.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |reserved| {
            claimed = want.min(self.budget.saturating_sub(reserved));
            Some(reserved + claimed)
        });
        claimed
    }

    /// Counts `n` bytes; false once the budget is spent, so the stream stops.
    pub fn add(&self, n: u64) -> bool {
        self.bytes.fetch_add(n, Ordering::Relaxed) + n < self.budget
    }

    /// Counts what the peers of the watched upload sockets have acknowledged since the last time.
    pub fn refresh(&self) {
        let mut uploads = self.uploads.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for socket in uploads.iter_mut() {
            self.count_acknowledged(socket);
        }
    }

    fn count_acknowledged(&self, socket: &mut WatchedSocket) {
        // `written` first: a write landing before the ioctl then reads as unacknowledged, never the reverse.
        let written = socket.written.load(Ordering::Acquire);
        let Some(queued) = super::upload::unacknowledged(std::os::fd::AsFd::as_fd(&socket.socket)) else { return };
        let acknowledged = written.saturating_sub(queued);
        if acknowledged > socket.counted {
            self.add(acknowledged - socket.counted);
            socket.counted = acknowledged;
        }
    }

    /// Watches an upload socket until [`Meter::unwatch`] with the id this returns.
    pub fn watch(&self, socket: std::os::fd::OwnedFd, written: Arc<AtomicU64>) -> u64 {
        let id = self.next_watch.fetch_add(1, Ordering::Relaxed);
        self.uploads.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(WatchedSocket { id, socket, written, counted: 0 });
        id
    }

    #[cfg(test)]
    pub fn uploads_watched(&self) -> usize {
        self.uploads.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    /// Counts a socket a last time and forgets it.
    pub fn unwatch(&self, id: u64) {
        let mut uploads = self.uploads.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(at) = uploads.iter().position(|socket| socket.id == id) {
            let mut socket = uploads.swap_remove(at);
            self.count_acknowledged(&mut socket);
        }
    }

    pub fn remaining(&self) -> u64 {
        self.budget.saturating_sub(self.bytes.load(Ordering::Relaxed))
    }

    fn total(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

pub struct PhaseResult {
    pub bytes: u64,
    pub mbps: Option<f64>,
    /// Median round trip while the transfer ran, past the grace period.
    pub loaded_latency_ms: Option<f64>,
    pub error: Option<String>,
}

pub struct PhaseRun<'a> {
    pub phase: Phase,
    pub options: &'a MeasureOptions,
    pub budget: u64,
    pub ping_client: &'a Client,
    pub ping_url: Url,
    pub progress: &'a watch::Sender<Progress>,
}

impl PhaseRun<'_> {
    /// Runs `streams` copies of one transfer until a stop condition holds.
    pub async fn run<F, Fut>(self, start_stream: F) -> PhaseResult
    where
        F: Fn(Arc<Meter>, CancellationToken) -> Fut,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let options = self.options;
        let meter = Arc::new(Meter::new(self.budget));
        let stop = CancellationToken::new();
        let started = Instant::now();
        let mut streams = JoinSet::new();
        for _ in 0..options.streams {
            streams.spawn(start_stream(meter.clone(), stop.clone()));
        }
        let pinger = tokio::spawn(loaded_round_trips(self.ping_client.clone(), self.ping_url, started + options.grace, options.timeout, stop.clone()));

        let mut trace = RateTrace::default();
        let mut first_error = None;
        let mut ticker = tokio::time::interval_at(started + TICK, TICK);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                Some(joined) = streams.join_next() => {
                    if let Ok(Err(error)) = joined {
                        first_error.get_or_insert(error);
                    }
                    if !streams.is_empty() {
                        continue;
                    }
                }
            }
            let elapsed = started.elapsed();
            meter.refresh();
            trace.push(elapsed, meter.total());
            self.progress.send_replace(Progress { phase: self.phase, mbps: trace.goodput(options.grace).map(stats::round3), bytes: trace.bytes() });
            let out_of_time = elapsed >= options.duration;
            let settled = options.early_stop && trace.is_stable(options.grace);
            if out_of_time || settled || meter.remaining() == 0 || streams.is_empty() {
                break;
            }
        }
        stop.cancel();
        streams.abort_all();
        let loaded = pinger.await.unwrap_or_default();

        let mbps = trace.goodput(options.grace);
        let error = match (mbps, first_error) {
            (None, Some(error)) => Some(error),
            (None, None) => Some("no data was transferred".to_owned()),
            // Some streams failed but data flowed: the figure stands, the error is noted.
            (Some(_), error) => error,
        };
        PhaseResult { bytes: meter.total(), mbps, loaded_latency_ms: stats::median(&loaded), error }
    }
}

/// Times round trips on their own connection until stopped; the first one
/// opens that connection and is dropped. Round trips after `counted_from`
/// are the figure; a phase cut short before then uses what it has.
/// Failures are skipped: a link too loaded to answer within the timeout
/// shows as missing samples.
async fn loaded_round_trips(client: Client, url: Url, counted_from: Instant, timeout: Duration, stop: CancellationToken) -> Vec<f64> {
    let mut early = Vec::new();
    let mut counted = Vec::new();
    let work = async {
        let _ = round_trip(&client, &url, timeout).await;
        loop {
            if let Ok(rtt) = round_trip(&client, &url, timeout).await {
                let sample = rtt.as_secs_f64() * 1000.0;
                if Instant::now() >= counted_from {
                    counted.push(sample)
                } else {
                    early.push(sample)
                }
            }
            tokio::time::sleep(LOADED_PING_GAP).await;
        }
    };
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = work => {}
    }
    if counted.is_empty() {
        early
    } else {
        counted
    }
}
