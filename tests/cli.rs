//! The binary's command line: bad flags and config exit 2 with one line naming the problem.

use std::process::Command;

fn netpulse(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_netpulse")).args(args).env_remove("NETPULSE_LISTEN").env_remove("NETPULSE_CONFIG").output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn assert_usage_error(args: &[&str], expected: &str) {
    let (code, stderr) = netpulse(args);
    assert_eq!(code, 2, "{args:?} exits 2; stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.contains(expected), "{args:?}: {stderr:?} should mention {expected:?}");
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    assert_usage_error(&["--interval", "0"], "--interval");
    assert_usage_error(&["serve", "--listen", "not-an-address"], "--listen");
    assert_usage_error(&["--target", "ftp://example.invalid/x"], "--target");
    assert_usage_error(&["--frobnicate"], "--frobnicate");
}

#[test]
fn bad_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = dir.path().join("unknown.toml");
    std::fs::write(&unknown, "[speed]\nintervall = 5\n").unwrap();
    assert_usage_error(&["--config", unknown.to_str().unwrap()], "intervall");

    let out_of_range = dir.path().join("range.toml");
    std::fs::write(&out_of_range, "[speed]\nstreams = 0\n").unwrap();
    assert_usage_error(&["--config", out_of_range.to_str().unwrap()], "speed.streams");

    let huge_cap = dir.path().join("cap.toml");
    std::fs::write(&huge_cap, "[history]\nmax_size_mb = 200000000000\n").unwrap();
    assert_usage_error(&["--config", huge_cap.to_str().unwrap()], "history.max_size_mb");

    let wrong_type = dir.path().join("type.toml");
    std::fs::write(&wrong_type, "listen = 3000\n").unwrap();
    assert_usage_error(&["--config", wrong_type.to_str().unwrap()], "listen");

    assert_usage_error(&["--config", "/nonexistent/netpulse.toml"], "/nonexistent/netpulse.toml");

    // A site root without the built bundle would serve a page that never comes alive.
    let unbuilt = dir.path().join("unbuilt.toml");
    std::fs::write(&unbuilt, format!("site_root = {:?}\n", dir.path())).unwrap();
    assert_usage_error(&["--config", unbuilt.to_str().unwrap()], "site_root");
}

#[test]
fn help_lists_every_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_netpulse")).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in ["--listen", "--config", "--target", "--interval"] {
        assert!(help.contains(flag), "{flag} in --help");
    }
}
