//! The plain HTTP routes over real sockets: `/speedtest/*`, `/api/snapshot` and the server-rendered page.

mod common;

use std::{collections::HashSet, time::Duration};

use common::{fast_config, next_event, open_stream, start, Target};
use serde_json::Value;

async fn idle_server() -> common::TestServer {
    start(fast_config("[speed]\ninterval = 3600"), Target::Refusing).await
}

#[tokio::test]
async fn a_load_balancer_sees_the_server_alive_and_ready() {
    let server = idle_server().await;
    let alive = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(alive.status(), 200);
    assert_eq!(alive.json::<Value>().await.unwrap()["status"], "alive");
    let ready = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!((ready["ready"].as_bool(), ready["store"]["ok"].as_bool(), ready["database"].as_str()), (Some(true), Some(true), Some("sqlite")), "{ready}");
    assert!(ready.get("reason").is_none(), "{ready}");
    let post = reqwest::Client::new().post(server.url("/readyz")).send().await.unwrap();
    assert_eq!(post.status(), 405, "a JSON 405 like every route");
    server.shutdown().await;
}

#[tokio::test]
async fn garbage_streams_incompressible_megabytes_uncached() {
    let server = idle_server().await;
    let response = reqwest::get(server.url("/speedtest/garbage?ckSize=3&r=0.123")).await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert!(headers["cache-control"].to_str().unwrap().contains("no-store"));
    assert_eq!(headers["content-encoding"], "identity");
    assert_eq!(headers["content-length"], (3u64 << 20).to_string().as_str());
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), 3 << 20);
    let distinct: HashSet<&[u8]> = body.chunks(4096).take(64).collect();
    assert_eq!(distinct.len(), 64, "no repeated 4 KiB blocks within the first 256 KiB");

    let default = reqwest::get(server.url("/speedtest/garbage.php")).await.unwrap().bytes().await.unwrap();
    assert_eq!(default.len(), 4 << 20, "LibreSpeed's default is 4 chunks");
    server.shutdown().await;
}

#[tokio::test]
async fn oversize_or_malformed_sizes_get_a_json_400() {
    let server = idle_server().await;
    for path in ["/speedtest/garbage?ckSize=1025", "/speedtest/garbage?ckSize=many", "/speedtest/__down?bytes=-5", "/speedtest/__down?bytes=99999999999"] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("must"), "{path}: {body}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn down_returns_exactly_the_requested_bytes() {
    let server = idle_server().await;
    let body = reqwest::get(server.url("/speedtest/__down?bytes=12345")).await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len(), 12345);
    server.shutdown().await;
}

#[tokio::test]
async fn empty_swallows_large_uploads_and_answers_empty() {
    let server = idle_server().await;
    let client = reqwest::Client::new();
    for path in ["/speedtest/empty", "/speedtest/empty.php", "/speedtest/__up"] {
        let response = client.post(server.url(path)).body(vec![7u8; 8 << 20]).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let ping = client.get(server.url("/speedtest/empty?cors=true")).send().await.unwrap();
    assert_eq!(ping.status(), 200);
    assert_eq!(ping.headers()["access-control-allow-origin"], "*");
    server.shutdown().await;
}

#[tokio::test]
async fn get_ip_reports_the_caller_like_librespeed() {
    let server = idle_server().await;
    let body: Value = reqwest::get(server.url("/speedtest/getIP")).await.unwrap().json().await.unwrap();
    assert_eq!(body["processedString"], "127.0.0.1");
    server.shutdown().await;
}

#[tokio::test]
async fn page_is_server_rendered_with_the_latest_sample() {
    let server = start(fast_config("[speed]\ninterval = 3600"), Target::Itself).await;
    let mut stream = open_stream(&server.url("/api/events"), None).await;
    let event = next_event(&mut stream.events, "speed", Duration::from_secs(30)).await;
    let sample: Value = serde_json::from_str(&event.data).unwrap();

    let snapshot: Value = reqwest::get(server.url("/api/snapshot")).await.unwrap().json().await.unwrap();
    assert_eq!(snapshot["last_event_id"].as_u64().unwrap().to_string(), event.id);
    assert_eq!(snapshot["speed"].as_array().unwrap().last().unwrap(), &sample);

    let page = reqwest::get(server.url("/")).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let download = sample["download_mbps"].as_f64().unwrap();
    assert!(html.contains(&format!("data-value=\"{download}\"")), "download card rendered on the server");
    let script = html.find("/netpulse.js").expect("hydration scripts are linked");
    assert!(html[..script].rfind("/pkg/").is_some_and(|pkg| script - pkg == "/pkg/".len() + 16), "under /pkg/<16-digit hash>/: {html}");
    assert!(html.contains("test-node"));
    server.shutdown().await;
}

#[tokio::test]
async fn the_page_renders_the_asked_range_and_unknown_paths_get_a_404() {
    let server = idle_server().await;
    let page = reqwest::get(server.url("/?range=7d")).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"aria-current="page" data-range="7d""#), "the range from the query is the current one");
    assert_eq!(html.matches(r#"aria-current="page""#).count(), 1);
    assert!(html.contains(r#"rel="manifest" href="/manifest.webmanifest""#), "the head is written by the server");
    let missing = reqwest::get(server.url("/no-such-page")).await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("Page not found."));
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_under_the_api_answer_json() {
    let server = idle_server().await;
    let client = reqwest::Client::new();
    for (method, path, status) in [
        (reqwest::Method::GET, "/api/nope", 404),
        (reqwest::Method::GET, "/speedtest/nope", 404),
        (reqwest::Method::POST, "/api/status", 405),
        (reqwest::Method::DELETE, "/api/events", 405),
        (reqwest::Method::GET, "/api/publish/sales", 405),
        (reqwest::Method::PUT, "/speedtest/__down", 405),
    ] {
        let response = client.request(method.clone(), server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{method} {path}: {body}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn pages_and_api_answers_are_compressed_but_streams_and_measurements_never() {
    let server = start(fast_config("publish_token = \"t0ken-for-compression\"\ntopics = [\"sales\"]\n[speed]\ninterval = 3600"), Target::Refusing).await;
    let client = reqwest::Client::new();
    let encoding = |response: &reqwest::Response| response.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned());
    let page = client.get(server.url("/")).header("accept-encoding", "br, gzip").send().await.unwrap();
    assert_eq!(encoding(&page).as_deref(), Some("br"), "the page goes out with brotli");
    let snapshot = client.get(server.url("/api/snapshot")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(encoding(&snapshot).as_deref(), Some("gzip"));
    let plain = client.get(server.url("/api/snapshot")).send().await.unwrap();
    assert_eq!(encoding(&plain), None, "a client that asks for nothing gets identity");
    for n in 0..40 {
        client.post(server.url("/api/publish/sales")).bearer_auth("t0ken-for-compression").body(format!("{{\"sales\": {n}}}")).send().await.unwrap();
    }
    let csv = client.get(server.url("/api/history?series=topic:sales&format=csv")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(encoding(&csv).as_deref(), Some("gzip"), "history CSV is compressed");
    let stream = client.get(server.url("/api/events")).header("accept-encoding", "br, gzip").send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    assert_eq!(encoding(&stream), None, "an event stream is never buffered by a compressor");
    drop(stream);
    let down = client.get(server.url("/speedtest/__down?bytes=100000")).header("accept-encoding", "br, gzip").send().await.unwrap();
    assert_eq!(encoding(&down).as_deref(), Some("identity"));
    assert_eq!(down.bytes().await.unwrap().len(), 100_000, "measurements see exactly the bytes they asked for");
    server.shutdown().await;
}

#[tokio::test]
async fn the_bundle_is_served_precompressed_under_its_hash_for_good() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    let wasm = vec![0u8; 40_000];
    std::fs::write(pkg.join("netpulse.wasm"), &wasm).unwrap();
    std::fs::write(pkg.join("netpulse.wasm.br"), b"pretend-brotli").unwrap();
    std::fs::write(pkg.join("netpulse.js"), "export default function init() {}\n".repeat(100)).unwrap();
    std::fs::write(pkg.join("netpulse.css"), "body { color: red }\n").unwrap();
    let mut config = fast_config("[speed]\ninterval = 3600");
    config.site_root = site.path().to_owned();
    let server = start(config, Target::Refusing).await;
    let client = reqwest::Client::new();
    let html = client.get(server.url("/")).send().await.unwrap().text().await.unwrap();
    let start_of = html.find("/pkg/").expect("the page links the bundle");
    let base: String = html[start_of..].chars().take_while(|c| *c != '"').collect();
    let hashed_dir = base.rsplit_once('/').unwrap().0.to_owned();
    assert_ne!(hashed_dir, "/pkg", "the bundle is linked under its hash: {base}");
    assert!(html.contains(&format!("{hashed_dir}/netpulse.css")), "so is the stylesheet");

    let wasm_url = server.url(&format!("{hashed_dir}/netpulse.wasm"));
    let brotli = client.get(&wasm_url).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(brotli.headers()["content-encoding"], "br");
    assert_eq!(brotli.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(brotli.bytes().await.unwrap().as_ref(), b"pretend-brotli", "the build's own .br file is sent");
    let js = client.get(server.url(&format!("{hashed_dir}/netpulse.js"))).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(js.headers()["content-encoding"], "gzip", "without a precompressed file, compressed on the fly");
    let identity = client.get(&wasm_url).send().await.unwrap();
    assert_eq!(identity.bytes().await.unwrap().len(), wasm.len());
    let unhashed = client.get(server.url("/pkg/netpulse.css")).send().await.unwrap();
    assert_eq!(unhashed.headers()["cache-control"], "no-cache", "the unhashed path always revalidates");
    server.shutdown().await;
}
