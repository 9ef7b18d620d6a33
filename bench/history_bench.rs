//! History store benchmark: fills a store with synthetic history at realistic
//! rates (a speed test a minute, N monitors every 30 s), running rollups and
//! retention as a server would, then reports the file size, the cost of
//! inserting, and the latency of `/api/history` for each dashboard range.
//!
//!   cargo run --release --features bench --bin history-bench -- --days 365
//!   cargo run --release --features bench --bin history-bench -- --days 365 --postgres
//!
//! `--postgres` runs the same on a PostgreSQL cluster of its own (initdb and
//! pg_ctl in a temporary directory, stopped at the end); `--database-url`
//! names an existing, empty PostgreSQL database instead.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use clap::Parser;
use hdrhistogram::Histogram;
use netpulse::server::{
    clock::now_ms,
    config::secret::Secret,
    config::Config,
    serve,
    store::{fields::to_milli, maintenance::HOUR, test_cluster::TestCluster, Store},
};

#[derive(Parser)]
struct Args {
    /// Days of history to generate, ending now.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Monitors checked every `--probe-interval` seconds.
    #[arg(long, default_value_t = 50)]
    monitors: usize,
    #[arg(long, default_value_t = 30)]
    probe_interval: i64,
    /// Where the database goes; emptied first.
    #[arg(long, default_value = "target/bench/history")]
    dir: PathBuf,
    /// Queries timed per range and series.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Only time the queries, on the store a previous run left in `--dir` (or `--database-url`).
    #[arg(long)]
    queries_only: bool,
    /// An empty PostgreSQL database to fill instead of the SQLite file in `--dir`.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Fill a fresh database in a throwaway PostgreSQL cluster instead.
    #[arg(long, conflicts_with = "database_url")]
    postgres: bool,
}

/// A cheap deterministic noise source, so runs are comparable.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % 10_000) as f64 / 10_000.0
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    let cluster = if args.postgres { Some(TestCluster::start().map_err(anyhow::Error::msg)?) } else { None };
    if let Some(cluster) = &cluster {
        args.database_url = Some(cluster.new_database().await?);
    }
    if args.queries_only {
        return time_queries(&args).await;
    }
    let _ = std::fs::remove_dir_all(&args.dir);
    let store = match &args.database_url {
        Some(url) => Store::open_postgres(url).await?,
        None => Store::open(&args.dir, 0).await?,
    };
    let retention = Config::default().history.retention();

    let mut speed_fields = Vec::new();
    for series in ["speed", "speed:http://198.18.0.1:3000/speedtest"] {
        for name in ["download_mbps", "upload_mbps", "latency_ms", "jitter_ms", "latency_down_ms", "latency_up_ms"] {
            speed_fields.push(store.field_id(series, name).await?);
        }
    }
    let mut probe_fields = Vec::new();
    for m in 0..args.monitors {
        probe_fields.push((store.field_id(&format!("probe:m{m}"), "up").await?, store.field_id(&format!("probe:m{m}"), "response_ms").await?));
    }

    let end = now_ms().div_euclid(HOUR * 1000) * HOUR * 1000;
    let start = end - args.days * 86_400_000;
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut event_id = 1i64;
    let (mut samples, mut insert_time, mut maintenance_time) = (0u64, Duration::ZERO, Duration::ZERO);
    let mut rows = Vec::new();
    let filling = Instant::now();
    for hour_start in (start..end).step_by((HOUR * 1000) as usize) {
        rows.clear();
        for minute in 0..60 {
            let at = hour_start + minute * 60_000;
            let values = [
                500.0 + 50.0 * noise.next(),
                40.0 + 5.0 * noise.next(),
                9.0 + noise.next(),
                0.5 * noise.next(),
                40.0 + 20.0 * noise.next(),
                90.0 + 30.0 * noise.next(),
            ];
            for (i, field) in speed_fields.iter().enumerate() {
                rows.push((*field, at, event_id, to_milli(values[i % 6])));
            }
            event_id += 1;
        }
        for offset in (0..HOUR).step_by(args.probe_interval as usize) {
            for (m, (up_field, response_field)) in probe_fields.iter().enumerate() {
                let at = hour_start + offset * 1000 + m as i64 * 7;
                let up = noise.next() > 0.002;
                rows.push((*up_field, at, event_id, if up { 1000 } else { 0 }));
                if up {
                    rows.push((*response_field, at, event_id, to_milli(20.0 + 80.0 * noise.next().powi(4))));
                }
                event_id += 1;
            }
        }
        samples += rows.len() as u64;
        let started = Instant::now();
        store.import_samples(&rows).await?;
        insert_time += started.elapsed();
        // Rollups and retention once a simulated day; the server does both every
        // minute, but the work per pass is per field, so a day at once is faster to simulate.
        let sim_now = hour_start + HOUR * 1000 + 10_000;
        if (sim_now - start) % 86_400_000 < HOUR * 1000 || hour_start + HOUR * 1000 >= end {
            let started = Instant::now();
            while !store.roll_up(sim_now).await? {}
            store.apply_retention(sim_now, retention).await?;
            maintenance_time += started.elapsed();
        }
        if (hour_start - start) % (30 * 86_400_000) == 0 {
            eprintln!("day {:>3}: {samples} samples, {:.0} s", (hour_start - start) / 86_400_000, filling.elapsed().as_secs_f64());
        }
    }
    store.checkpoint().await?;
    // A server's autovacuum would have run by now; the queries below should not pay for a bulk load's first reads.
    store.analyze().await?;
    let file_bytes = match &args.database_url {
        Some(_) => store.database_bytes().await?,
        None => std::fs::metadata(args.dir.join(netpulse::server::store::DATABASE_FILE))?.len(),
    };

    // The live path: one event, its samples and the event log, committed.
    let mut append = Histogram::<u64>::new(3)?;
    for n in 0..2000u64 {
        let data = format!(
            r#"{{"monitor":"m{}","url":"http://198.18.0.2/","at":"2026-11-21T00:00:00Z","up":true,"status_code":200,"response_ms":{}.5,"dns_ms":null,"connect_ms":0.2,"tls_ms":null,"ttfb_ms":1.1,"error":null}}"#,
            n % 50,
            10 + n % 40
        );
        let started = Instant::now();
        store.append(event_id as u64 + n, "probe", now_ms(), &data).await?;
        append.record(started.elapsed().as_micros() as u64)?;
    }

    println!("| measure | value |\n|---|---|");
    println!(
        "| history generated | {} days: {} samples ({} monitors every {} s, a speed test a minute) |",
        args.days, samples, args.monitors, args.probe_interval
    );
    println!("| database ({}) after a checkpoint | {:.1} MiB |", store.backend().name(), file_bytes as f64 / (1 << 20) as f64);
    println!("| bulk insert time | {:.1} s ({:.2} µs a sample) |", insert_time.as_secs_f64(), insert_time.as_secs_f64() * 1e6 / samples as f64);
    println!(
        "| rollups and retention, daily | {:.1} s in all ({:.1} ms a day of data) |",
        maintenance_time.as_secs_f64(),
        maintenance_time.as_secs_f64() * 1000.0 / args.days as f64
    );
    println!("| live append (event + samples, committed) | p50 {} µs, p99 {} µs |", append.value_at_quantile(0.5), append.value_at_quantile(0.99));
    println!();
    time_queries(&args).await
}

/// Starts a real server on the store and times `/api/history` for each dashboard range.
async fn time_queries(args: &Args) -> anyhow::Result<()> {
    let mut config = Config { data_dir: args.dir.clone(), database_url: args.database_url.clone().map(Secret::new), ..Config::default() };
    config.speed.enabled = false;
    // The monitors whose history is read, and visitors allowed to read it, as on a dashboard open to the LAN.
    let monitors: String = (0..args.monitors).map(|m| format!("[[monitor]]\nname = \"m{m}\"\ntcp = \"127.0.0.1:9\"\ninterval = 86400\n")).collect();
    let parsed = toml::from_str::<Config>(&format!("{monitors}[[access]]\nwho = \"anonymous\"\nseries = \"*\"\nallow = \"read\"\n"))?;
    (config.monitors, config.access) = (parsed.monitors, parsed.access);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, config, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    tokio::time::sleep(Duration::from_millis(500)).await;

    println!("| range | series | source | points | body | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|");
    for (label, span_ms) in [("Live (1 h)", HOUR * 1000), ("24 h", 86_400_000), ("7 d", 7 * 86_400_000), ("30 d", 30 * 86_400_000), ("1 y", 365 * 86_400_000)] {
        for series in ["speed", "probe:m0"] {
            let url = format!("{base}/api/history?series={series}&from={}&to={}", now_ms() - span_ms, now_ms());
            let mut latency = Histogram::<u64>::new(3)?;
            let mut body = bytes::Bytes::new();
            // Server-side latency: from the request to the last byte of the body.
            for _ in 0..args.queries {
                let started = Instant::now();
                let response = client.get(&url).send().await?;
                anyhow::ensure!(response.status() == 200, "{url}: {}", response.status());
                body = response.bytes().await?;
                latency.record(started.elapsed().as_micros() as u64)?;
            }
            let last: serde_json::Value = serde_json::from_slice(&body)?;
            println!(
                "| {label} | {series} | {} | {} | {} KiB | {:.1} | {:.1} |",
                last["source"].as_str().unwrap_or("?"),
                last["points"].as_array().map_or(0, Vec::len),
                body.len() / 1024,
                latency.value_at_quantile(0.5) as f64 / 1000.0,
                latency.value_at_quantile(0.99) as f64 / 1000.0
            );
        }
    }
    let _ = stop.send(());
    let _ = server.await;
    Ok(())
}
