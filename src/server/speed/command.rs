//! `netpulse measure`: one speed test from the command line, with a progress
//! line on a terminal and a summary or one JSON object at the end.

use std::{io::IsTerminal, time::Duration};

use tokio::sync::watch;

use crate::{
    model::SpeedSample,
    server::{
        config::cli::MeasureArgs,
        config::{default_node_name, SpeedConfig},
        speed::measure::{MeasureOptions, Measurer, Phase, Progress},
        speed::payload,
        speed::sampler::speed_sample,
        speed::target::SpeedTarget,
    },
};

/// How `netpulse measure` ended, as its exit code says.
#[derive(Debug, PartialEq, Eq)]
pub enum MeasureExit {
    /// Every figure was measured.
    Measured,
    /// The test ran but could not measure (the reason was printed).
    Failed,
    /// The flags were wrong (the reason was printed).
    Usage,
}

impl MeasureExit {
    pub fn code(&self) -> u8 {
        match self {
            Self::Measured => 0,
            Self::Failed => 1,
            Self::Usage => 2,
        }
    }
}

/// The measurement options: `[speed]` defaults with the flags on top.
pub fn options(args: &MeasureArgs) -> MeasureOptions {
    let mut speed = SpeedConfig::default();
    if let Some(streams) = args.streams {
        speed.streams = streams as usize;
    }
    if let Some(duration) = args.duration {
        speed.duration = duration;
    }
    if let Some(budget) = args.budget_mb {
        speed.budget_mb = budget;
    }
    speed.early_stop = !args.no_early_stop;
    MeasureOptions::from(&speed)
}

pub async fn run(args: MeasureArgs) -> MeasureExit {
    let target = match SpeedTarget::parse(&args.target, args.kind) {
        Ok(target) => target,
        Err(reason) => {
            eprintln!("netpulse: invalid --target: {reason}");
            return MeasureExit::Usage;
        }
    };
    let options = options(&args);
    let measurer = match Measurer::new(options.timeout, payload::random_block()) {
        Ok(measurer) => measurer,
        Err(err) => {
            eprintln!("netpulse: cannot build the HTTP client: {err}");
            return MeasureExit::Failed;
        }
    };
    let (progress, watcher) = watch::channel(Progress::default());
    let show_progress = std::io::stderr().is_terminal();
    let display = tokio::spawn(async move {
        if show_progress {
            print_progress(watcher).await;
        }
    });
    let measurement = measurer.measure(&target, &options, &progress).await;
    drop(progress);
    let _ = display.await;
    let sample = speed_sample(&default_node_name(), &target, measurement);
    if args.json {
        println!("{}", serde_json::to_string(&sample).expect("a speed sample always serialises"));
    } else {
        print!("{}", summary(&sample));
    }
    match &sample.error {
        None => MeasureExit::Measured,
        Some(error) => {
            eprintln!("netpulse: {error}");
            MeasureExit::Failed
        }
    }
}

/// Rewrites one stderr line with the phase and its rate until the test ends.
async fn print_progress(mut watcher: watch::Receiver<Progress>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(200));
    loop {
        ticker.tick().await;
        let current = *watcher.borrow_and_update();
        let label = match current.phase {
            Phase::Latency => "latency ",
            Phase::Download => "download",
            Phase::Upload => "upload  ",
        };
        let rate = current.mbps.map(|mbps| format!("{mbps:9.1} Mbit/s")).unwrap_or_else(|| "      … Mbit/s".to_owned());
        eprint!("\r\x1b[2K{label} {rate}  {:8.1} MB", current.bytes as f64 / 1e6);
        if watcher.has_changed().is_err() {
            eprint!("\r\x1b[2K");
            return;
        }
    }
}

/// The readable form: one figure a line, `-` for what was not measured.
pub fn summary(sample: &SpeedSample) -> String {
    let figure = |value: Option<f64>, unit: &str| value.map(|v| format!("{v:.1} {unit}")).unwrap_or_else(|| "-".to_owned());
    format!(
        "target    {}\ndownload  {}  (loaded latency {})\nupload    {}  (loaded latency {})\nlatency   {}  (jitter {})\ndata      {:.1} MB down, {:.1} MB up\n",
        sample.target,
        figure(sample.download_mbps, "Mbit/s"),
        figure(sample.latency_down_ms, "ms"),
        figure(sample.upload_mbps, "Mbit/s"),
        figure(sample.latency_up_ms, "ms"),
        figure(sample.latency_ms, "ms"),
        figure(sample.jitter_ms, "ms"),
        sample.bytes_down as f64 / 1e6,
        sample.bytes_up as f64 / 1e6,
    )
}
