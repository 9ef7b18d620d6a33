//! A central server and three `netpulse agent` processes, each in a network
//! namespace of its own behind a veth link on 198.18.30.0/28. Two links are
//! cut for 25 s; one of those agents is killed with `kill -9` while its
//! batch is unanswered, and started again. Afterwards every result each agent
//! made is in history exactly once, the minute rollups equal a recomputation
//! from the raw samples, and the node list showed both nodes go offline and
//! come back while the third stayed online.
//!
//! Needs root and `ip`; skips without them unless `NETPULSE_REQUIRE_NETNS=1`,
//! which `cargo make test` sets.

mod common;

use std::{
    collections::{BTreeMap, HashMap},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{
    agents::{admin_cookie, config_with_monitor, join_token, raw_points},
    netns::{ip, Namespace},
    start_on, Target,
};
use netpulse::server::{
    agent::outbox::{Outbox, OutboxLimits},
    store::{
        history::HistoryRequest,
        maintenance::{Retention, MINUTE},
        Store,
    },
};
use reqwest::{header, Client};
use serde_json::Value;

/// The host's side of each link, and the agent's.
const LINKS: [(&str, &str); 3] = [("198.18.30.1", "198.18.30.2"), ("198.18.30.5", "198.18.30.6"), ("198.18.30.9", "198.18.30.10")];
const NAMES: [&str; 3] = ["oslo", "lima", "pune"];

struct Node {
    namespace: Namespace,
    dir: tempfile::TempDir,
    agent: Option<Child>,
}

impl Node {
    fn start(&mut self) {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.namespace.name, env!("CARGO_BIN_EXE_netpulse"), "agent", "run", "--data-dir"])
            .arg(self.dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.agent = Some(child);
    }

    fn signal(&mut self, signal: &str) {
        if let Some(mut agent) = self.agent.take() {
            Command::new("kill").arg(signal).arg(agent.id().to_string()).status().unwrap();
            agent.wait().unwrap();
        }
    }

    fn link(&self, up: bool) {
        assert!(ip(&["link", "set", &self.namespace.host_side, if up { "up" } else { "down" }]), "setting {} {up}", self.namespace.host_side);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.signal("-KILL");
    }
}

async fn node_list(client: &Client, base: &str, cookie: &str) -> Vec<Value> {
    let response = client.get(format!("{base}/api/agents")).header(header::COOKIE, cookie).send().await.unwrap();
    response.json::<Vec<Value>>().await.unwrap()
}

/// Waits (at most `limit`) until `done` holds for the node list.
async fn until(client: &Client, base: &str, cookie: &str, limit: Duration, what: &str, done: impl Fn(&[Value]) -> bool) {
    let started = Instant::now();
    while !done(&node_list(client, base, cookie).await) {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn by_name<'a>(nodes: &'a [Value], name: &str) -> Option<&'a Value> {
    nodes.iter().find(|node| node["name"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_agents_in_namespaces_lose_nothing_through_cut_links_and_a_kill_9() {
    let required = std::env::var_os("NETPULSE_REQUIRE_NETNS").is_some();
    let mut nodes = Vec::new();
    for (n, (host, peer)) in LINKS.iter().enumerate() {
        let Some(namespace) = Namespace::create(&format!("ag{n}"), host, peer, 30) else {
            assert!(!required, "cannot create a network namespace (this test needs root and iproute2)");
            eprintln!("skipped: cannot create a network namespace");
            return;
        };
        // Each agent reaches the server's address over its own link.
        if n > 0 {
            assert!(namespace.run(&["ip", "route", "add", "198.18.30.1/32", "via", host]), "a route to the server from {peer}");
        }
        nodes.push(Node { namespace, dir: tempfile::tempdir().unwrap(), agent: None });
    }
    let (server_host, _) = LINKS[0];
    // The monitored service, which an agent behind a cut link sees as down.
    let service = tokio::net::TcpListener::bind(format!("{server_host}:0")).await.unwrap();
    let service_addr = service.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((socket, _)) = service.accept().await {
            drop(socket);
        }
    });
    let server_dir = tempfile::tempdir().unwrap();
    let mut config = config_with_monitor(server_dir.path(), &service_addr, 1).await;
    config.agents.offline_after = 20;
    // A check behind a cut link fails within its interval, so each second still has its result.
    config.monitors[0].timeout = 0.8;
    let server = start_on(&format!("{server_host}:0"), config, Target::Refusing).await;
    let base = server.url("");
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let from_ms = chrono::Utc::now().timestamp_millis();
    for (node, name) in nodes.iter_mut().zip(NAMES) {
        let token = join_token(&client, &server, &cookie).await;
        let dir = node.dir.path().to_str().unwrap().to_owned();
        let joined = Command::new("ip")
            .args(["netns", "exec", &node.namespace.name, env!("CARGO_BIN_EXE_netpulse"), "agent", "join", &base, &token, "--name", name, "--data-dir", &dir])
            .output()
            .unwrap();
        assert!(joined.status.success(), "{name}: {}", String::from_utf8_lossy(&joined.stderr));
        node.start();
    }

    // Every state the node list showed, per node, in order, with repeats folded.
    let seen: Arc<Mutex<HashMap<String, Vec<bool>>>> = Arc::default();
    let watcher = {
        let (client, base, cookie, seen) = (client.clone(), base.clone(), cookie.clone(), seen.clone());
        tokio::spawn(async move {
            for _ in 0..2400 {
                for node in node_list(&client, &base, &cookie).await {
                    let mut seen = seen.lock().unwrap();
                    let states = seen.entry(node["name"].as_str().unwrap().to_owned()).or_default();
                    let online = node["online"].as_bool().unwrap();
                    if states.last() != Some(&online) {
                        states.push(online);
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let all_online =
        |nodes: &[Value]| NAMES.iter().all(|name| by_name(nodes, name).is_some_and(|n| n["online"] == true && n["acknowledged"].as_i64() >= Some(3)));
    until(&client, &base, &cookie, Duration::from_secs(30), "all three report", all_online).await;

    // Lima's and Pune's links go dark; they keep checking into their outboxes.
    nodes[1].link(false);
    nodes[2].link(false);
    let offline = |nodes: &[Value]| ["lima", "pune"].iter().all(|name| by_name(nodes, name).is_some_and(|n| n["online"] == false));
    until(&client, &base, &cookie, Duration::from_secs(40), "the cut nodes show offline", offline).await;
    // Pune dies with its batch unanswered, then comes back with its outbox.
    nodes[2].signal("-KILL");
    nodes[1].link(true);
    nodes[2].link(true);
    nodes[2].start();
    let caught_up = |nodes: &[Value]| all_online(nodes) && NAMES.iter().all(|name| by_name(nodes, name).is_some_and(|n| n["backlog"] == 0));
    until(&client, &base, &cookie, Duration::from_secs(90), "all three online with their outboxes sent", caught_up).await;
    // The watcher polls on its own beat: let it see them back before it stops (at most 5 s).
    for _ in 0..20 {
        let back = ["lima", "pune"].iter().all(|name| seen.lock().unwrap().get(*name).and_then(|states| states.last().copied()) == Some(true));
        if back {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    watcher.abort();

    // Stop the agents; whatever each made is stored or waits in its outbox.
    let store = Store::open(server_dir.path(), 0).await.unwrap();
    let listed = node_list(&client, &base, &cookie).await;
    for (node, name) in nodes.iter_mut().zip(NAMES) {
        node.signal("-TERM");
        let limits = OutboxLimits { max_age_ms: i64::MAX / 4, max_bytes: i64::MAX / 4 };
        let outbox = Outbox::open(node.dir.path(), limits).await.unwrap().state().await.unwrap();
        let acknowledged = by_name(&node_list(&client, &base, &cookie).await, name).unwrap()["acknowledged"].as_u64().unwrap();
        assert_eq!(outbox.dropped, 0);
        assert_eq!(acknowledged + outbox.backlog, outbox.made, "{name}: each result is stored or still waiting");
        let points = raw_points(&client, &server, &cookie, &format!("probe:web@{name}"), "up", from_ms - 60_000).await;
        assert_eq!(points.len() as u64, acknowledged, "{name}: every stored number is in history exactly once");
        let mut times: Vec<i64> = points.iter().map(|(t, _)| *t).collect();
        times.dedup();
        assert_eq!(times.len(), points.len(), "{name}: no result twice");
        let down = points.iter().filter(|(_, up)| *up == 0.0).count();
        if name == "oslo" {
            assert_eq!(down, 0, "oslo's link stayed up");
        } else {
            assert!(down >= 10, "{name} saw the service down from behind its cut link ({down} checks) and those results arrived later");
        }
        eprintln!("{name}: {acknowledged} stored, {} waiting, {down} down", outbox.backlog);
    }
    let states = seen.lock().unwrap().clone();
    assert_eq!(states["oslo"], [true], "oslo stayed online");
    for name in ["lima", "pune"] {
        assert!(states[name].windows(3).any(|w| w == [true, false, true]), "{name} went offline and came back: {:?}", states[name]);
    }
    assert_eq!(listed.len(), 3);

    // Minute rollups, built now over the late results, equal the raw samples' statistics.
    let now_ms = chrono::Utc::now().timestamp_millis();
    for _ in 0..100 {
        if store.roll_up(now_ms).await.unwrap() {
            break;
        }
    }
    let retention = Retention {
        raw: Duration::from_secs(86_400),
        minute: Duration::from_secs(86_400),
        hour: Duration::from_secs(86_400),
        event_log: Duration::from_secs(86_400),
    };
    let minute_ms = MINUTE * 1000;
    let whole_to = now_ms.div_euclid(minute_ms) * minute_ms;
    let whole_from = from_ms.div_euclid(minute_ms) * minute_ms;
    for name in NAMES {
        let series = format!("probe:web@{name}");
        let raw = raw_points(&client, &server, &cookie, &series, "up", whole_from).await;
        let mut expected: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for (t, up) in raw.iter().filter(|(t, _)| *t < whole_to) {
            expected.entry(t.div_euclid(minute_ms) * minute_ms).or_default().push(*up);
        }
        let request = HistoryRequest { series: series.clone(), from_ms: whole_from, to_ms: whole_to, step_s: Some(MINUTE) };
        let history = store.history(&request, retention, now_ms).await.unwrap();
        assert_eq!(history.source, "1m");
        let built: BTreeMap<i64, (i64, f64)> =
            history.points.iter().filter(|p| p.values.contains_key("up")).map(|p| (p.t, (p.values["up"].n, p.values["up"].mean))).collect();
        assert_eq!(built.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "{name}: the same minutes");
        for (t, ups) in &expected {
            let mean = ups.iter().sum::<f64>() / ups.len() as f64;
            let (n, built_mean) = built[t];
            assert_eq!(n as usize, ups.len(), "{name}: minute {t} counts every sample");
            assert!((built_mean - mean).abs() < 0.001, "{name}: minute {t}: {built_mean} vs {mean}");
        }
    }
    server.shutdown().await;
}
