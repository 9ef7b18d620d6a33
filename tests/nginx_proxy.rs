//! The README's nginx config, run by a real nginx in front of a real netpulse:
//! the page, the live stream and the speed-test transfers must pass through it.

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{closed_port, fast_config, next_event, open_stream, secured_config, start, Target};

const TOKEN: &str = "nginx-test-token";

/// Stops nginx however the test ends.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"].iter().map(PathBuf::from).find(|path| path.exists())
}

/// The one ```nginx block of README.md, as a user would copy it.
fn readme_server_block() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("```nginx\n").expect("README.md has an nginx block") + "```nginx\n".len();
    let end = start + readme[start..].find("\n```").expect("the nginx block ends");
    readme[start..end].to_owned()
}

/// Runs the README's server block as a single foreground nginx process whose
/// files all live in `dir`; returns once it accepts connections.
async fn run_nginx(binary: &Path, dir: &Path, port: u16, upstream: &str) -> Nginx {
    let block = readme_server_block();
    assert!(block.contains("listen 80;") && block.contains("127.0.0.1:3000"), "the README's block changed shape:\n{block}");
    let server = block.replace("listen 80;", &format!("listen 127.0.0.1:{port};")).replace("127.0.0.1:3000", upstream);
    run_nginx_with(binary, dir, port, &server).await
}

/// Runs `server` (an nginx `server { … }` block) as above.
async fn run_nginx_with(binary: &Path, dir: &Path, port: u16, server: &str) -> Nginx {
    let d = dir.display();
    let config = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
         uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{server}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), config).unwrap();
    let child = Command::new(binary)
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    let mut nginx = Nginx(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    // Ready once it answers HTTP: a bare connect can be accepted and then reset while nginx starts.
    while reqwest::get(format!("http://127.0.0.1:{port}/api/status")).await.is_err() {
        if let Ok(Some(status)) = nginx.0.try_wait() {
            panic!("nginx exited with {status}: {}", std::fs::read_to_string(dir.join("error.log")).unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "nginx did not listen within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nginx
}

#[tokio::test]
async fn the_readme_nginx_config_passes_the_page_the_stream_and_speed_tests() {
    let Some(binary) = nginx_binary() else {
        // `cargo make test` installs nginx and sets this, so the full run never skips.
        assert!(std::env::var_os("NETPULSE_REQUIRE_NGINX").is_none(), "nginx is not installed");
        eprintln!("skipped: nginx is not installed");
        return;
    };
    let config =
        fast_config(&format!("publish_token = \"{TOKEN}\"\ntopics = [\"sales\"]\n[speed]\nenabled = false\nserve_budget_mb = 20\nserve_budget_exempt = []\n"));
    let server = start(config, Target::Itself).await;
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port().await;
    let _nginx = run_nginx(&binary, dir.path(), port, &server.addr.to_string()).await;
    let proxied = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let client = reqwest::Client::new();

    let page = client.get(proxied("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<title>netpulse</title>"));
    // netpulse's own compression passes through nginx untouched.
    let compressed = client.get(proxied("/api/snapshot")).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(compressed.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("br"), "the proxy keeps brotli");

    // The stream: unbuffered, uncompressed, and an event arrives as soon as it is published.
    let mut stream = open_stream(&proxied("/api/events?topics=sales"), None).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    assert!(stream.headers.get("content-encoding").is_none());
    let published_at = Instant::now();
    let response =
        client.post(proxied("/api/publish/sales")).bearer_auth(TOKEN).header("content-type", "application/json").body(r#"{"orders": 3}"#).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let event = next_event(&mut stream.events, "sales", Duration::from_secs(5)).await;
    let delay = published_at.elapsed();
    assert_eq!(event.data, r#"{"orders": 3}"#);
    assert!(delay < Duration::from_secs(1), "the event took {delay:?} through nginx");

    // Uploads larger than nginx's default 1 MiB body limit, and downloads, pass whole.
    let upload = client.post(proxied("/speedtest/empty")).body(vec![0u8; 8 << 20]).send().await.unwrap();
    assert_eq!(upload.status(), 200, "an 8 MiB upload is accepted");
    let download = client.get(proxied("/speedtest/garbage?ckSize=4")).send().await.unwrap();
    assert_eq!(download.status(), 200);
    // netpulse says `identity`, as LibreSpeed does, so that proxies leave the data alone.
    assert_eq!(download.headers()["content-encoding"], "identity", "nginx compressed the test data");
    assert_eq!(download.bytes().await.unwrap().len(), 4 << 20);

    // The byte budget counts the client nginx names, not nginx: 12.6 MB moved, so 8.4 MB more
    // is cut off where the 20 MB run out, and the next request is refused.
    let mut over = client.get(proxied("/speedtest/garbage?ckSize=8")).send().await.unwrap();
    let mut got = 0;
    while let Ok(Some(chunk)) = over.chunk().await {
        got += chunk.len();
    }
    assert!(got < 8 << 20, "cut off past the budget after {got} bytes");
    let refused = client.get(proxied("/speedtest/garbage?ckSize=1")).send().await.unwrap();
    assert_eq!(refused.status(), 429, "past the budget");
    assert!(refused.headers().contains_key("retry-after"), "Retry-After passes through nginx");
    let other = reqwest::Client::builder().local_address("127.0.0.5".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    assert_eq!(other.get(proxied("/speedtest/garbage?ckSize=8")).send().await.unwrap().status(), 200, "another client has its own budget");
    let ip: serde_json::Value = other.get(proxied("/speedtest/getIP")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ip["processedString"], "127.0.0.5", "getIP reports the client, not the proxy");

    // The README's limit_req: a burst of 50 passes at once, then about 5 a second.
    let flooder = reqwest::Client::builder().local_address("127.0.0.6".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let mut statuses = Vec::new();
    for _ in 0..80 {
        statuses.push(flooder.get(proxied("/speedtest/empty")).send().await.unwrap().status().as_u16());
    }
    let limited = statuses.iter().filter(|&&status| status == 429).count();
    assert!(statuses[..50].iter().all(|&status| status == 200), "the burst passes: {statuses:?}");
    assert!(limited >= 10, "nginx limits a flood of requests: {statuses:?}");

    server.shutdown().await;
}

#[tokio::test]
async fn a_trusted_proxy_signs_users_in_and_its_header_from_anyone_else_is_ignored() {
    let Some(binary) = nginx_binary() else {
        assert!(std::env::var_os("NETPULSE_REQUIRE_NGINX").is_none(), "nginx is not installed");
        eprintln!("skipping: nginx is not installed");
        return;
    };
    let mut config = secured_config("[auth]\nproxy_header = \"X-Remote-User\"\ntrusted_proxies = [\"127.0.0.1\"]\nproxy_role = \"viewer\"\n");
    config.speed.enabled = false;
    let server = start(config, Target::Refusing).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("htpasswd"), "carol:{PLAIN}carols-password\n").unwrap();
    let port = closed_port().await;
    // As the README shows it: nginx checks the password, names the user, and drops the Basic credentials.
    let block = format!(
        "server {{\n  listen 127.0.0.1:{port};\n  location / {{\n    auth_basic \"netpulse\";\n    auth_basic_user_file {}/htpasswd;\n    \
         proxy_pass http://{};\n    proxy_set_header X-Remote-User $remote_user;\n    proxy_set_header Authorization \"\";\n    proxy_buffering off;\n  }}\n}}",
        dir.path().display(),
        server.addr
    );
    let _nginx = run_nginx_with(&binary, dir.path(), port, &block).await;
    let proxied = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let refused = client.get(format!("{proxied}/api/auth/session")).send().await.unwrap();
    assert_eq!(refused.status(), 401, "nginx asks for the password first");
    let me: serde_json::Value =
        client.get(format!("{proxied}/api/auth/session")).basic_auth("carol", Some("carols-password")).send().await.unwrap().json().await.unwrap();
    assert_eq!((me["caller"].as_str(), me["role"].as_str()), (Some("user:carol"), Some("viewer")));
    let history = client.get(format!("{proxied}/api/history?series=speed&last=60")).basic_auth("carol", Some("carols-password")).send().await.unwrap();
    assert_eq!(history.status(), 200, "a viewer reads through the proxy");

    // Sent straight to netpulse from an address that is not the proxy's, the header means nothing.
    let elsewhere = reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let spoofed: serde_json::Value =
        elsewhere.get(server.url("/api/auth/session")).header("X-Remote-User", "admin").send().await.unwrap().json().await.unwrap();
    assert_eq!(spoofed["caller"], "anonymous");
    let denied = elsewhere.get(server.url("/api/history?series=speed&last=60")).header("X-Remote-User", "carol").send().await.unwrap();
    assert_eq!(denied.status(), 401);
    server.shutdown().await;
}
