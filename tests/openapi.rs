//! `/api/openapi.json` from a real netpulse, and schemathesis (from PyPI) run
//! against that netpulse from it: generated requests to every operation but the
//! endless event stream find no 5xx, no undocumented status or content type,
//! and no response that breaks the schema.

mod common;

use std::{process::Command, time::Duration};

use common::{closed_port, fast_config, start, Target};
use netpulse::server::{
    auth::{access::Scopes, secrets},
    store::Store,
};

const TOKEN: &str = "openapi-test-token";

/// An admin's token, so that the admin routes are exercised too.
const ADMIN_TOKEN: &str = "np_openapi-admin-token";

/// schemathesis's `st`: `NETPULSE_SCHEMATHESIS`, the virtualenv `cargo make setup-test` makes, or the PATH.
fn schemathesis() -> Option<String> {
    let made = concat!(env!("CARGO_MANIFEST_DIR"), "/target/tools/schemathesis/bin/st");
    let candidates = [std::env::var("NETPULSE_SCHEMATHESIS").ok(), Some(made.to_owned()), Some("st".to_owned())];
    candidates.into_iter().flatten().find(|st| Command::new(st).arg("--version").output().is_ok_and(|o| o.status.success()))
}

#[tokio::test]
async fn the_document_describes_the_live_api_and_schemathesis_finds_no_fault() {
    let refused = closed_port().await;
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(data.path(), 0).await.unwrap();
    store.add_token("schemathesis", &secrets::digest(ADMIN_TOKEN), &Scopes::parse("admin").unwrap(), "test", 0, None).await.unwrap();
    drop(store);
    let mut config = fast_config(&format!(
        "publish_token = \"{TOKEN}\"\ntopics = [\"sales\"]\n[speed]\ninterval = 3600\n\
             [[monitor]]\nname = \"gone\"\ntcp = \"127.0.0.1:{refused}\"\ninterval = 1\n\
             [[monitor]]\nname = \"backup\"\npush = \"backup-0123456789abcdef\"\ninterval = 3600\n\
             [[notify]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{refused}/hook\"\n\
             [[alert]]\nname = \"gone is down\"\nseries = \"probe:gone\"\nfield = \"up\"\ncondition = \"< 1\"\nnotify = [\"hook\"]\n"
    ));
    config.data_dir = data.path().to_owned();
    let server = start(config, Target::Itself).await;
    let response = reqwest::get(server.url("/api/openapi.json")).await.unwrap();
    assert_eq!((response.status().as_u16(), response.headers()["content-type"].to_str().unwrap()), (200, "application/json"));
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(doc["paths"]["/api/history"]["get"]["parameters"].as_array().is_some_and(|p| p.iter().any(|p| p["name"] == "series")));
    // Let a speed test and a check land, so responses carry real samples and results.
    for _ in 0..100 {
        let snapshot: serde_json::Value = reqwest::get(server.url("/api/snapshot")).await.unwrap().json().await.unwrap();
        if snapshot["speed"].as_array().is_some_and(|s| !s.is_empty()) && snapshot["probes"].as_array().is_some_and(|p| !p.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let Some(st) = schemathesis() else {
        assert!(std::env::var_os("NETPULSE_REQUIRE_SCHEMATHESIS").is_none(), "schemathesis is not installed (cargo make setup-test)");
        eprintln!("skipping the schemathesis run: schemathesis is not installed");
        return;
    };
    let base = server.url("");
    let schema = server.url("/api/openapi.json");
    let checks = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";
    let report = tempfile::tempdir().unwrap();
    let run = tokio::process::Command::new(st)
        .args(["run", &schema, "--url", &base, "--checks", checks, "--max-examples", "25", "--seed", "1", "--mode", "all"])
        .args([
            "--exclude-path",
            "/api/events",
            "--exclude-path",
            "/status/{name}/events",
            "--request-timeout",
            "10",
            "--no-color",
            "--header",
            &format!("Authorization: Bearer {ADMIN_TOKEN}"),
        ])
        // Big speed-test downloads are valid but slow; the schema allows them.
        .args(["--generation-codec", "utf-8", "--workers", "2"])
        .current_dir(report.path())
        .output();
    let output = tokio::time::timeout(Duration::from_secs(600), run).await.expect("schemathesis finishes within 10 minutes").unwrap();
    let said = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "schemathesis found faults:\n{said}");
    assert!(said.contains("passed"), "schemathesis ran operations:\n{said}");
    server.shutdown().await;
}
