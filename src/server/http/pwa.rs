//! The installable-app pieces served by the server: the bundle under a hashed
//! path, and the service worker, stamped with a version that changes whenever
//! the built site does.

use std::{
    hash::{DefaultHasher, Hasher},
    path::Path,
    sync::OnceLock,
};

use tower_http::services::ServeDir;

use axum::{extract::State, http::header, response::IntoResponse};

use crate::server::AppState;

const SERVICE_WORKER: &str = include_str!("service_worker.js");

/// Cached besides the bundle: the page itself, the manifest and the icons.
const STATIC_SHELL: &[&str] = &["/", "/manifest.webmanifest", "/favicon.svg", "/icons/icon-192.png", "/icons/icon-512.png", "/icons/maskable-512.png"];

/// What the worker caches, and under which version.
#[derive(Clone, Debug, PartialEq)]
pub struct Shell {
    /// A hash of the built bundle (`pkg/`): the bundle is served under
    /// `/pkg/<hash>/`, so its URLs change with every build and can be cached for good.
    pub hash: String,
    /// The crate version plus the hash, so a rebuild with the same version
    /// still replaces the browser's cached shell.
    pub version: String,
    pub urls: Vec<String>,
}

/// Reads the built bundle: its files' names and contents. The bundle's names
/// differ between builds (`netpulse.wasm` or `netpulse_bg.wasm`), so they are listed, not assumed.
pub fn shell(site_root: &Path) -> Shell {
    let mut hasher = DefaultHasher::new();
    let mut files: Vec<_> = std::fs::read_dir(site_root.join("pkg")).into_iter().flatten().flatten().map(|entry| entry.path()).collect();
    // The precompressed copies are served under the same hash, so they are part of it.
    let bundle = |file: &std::path::Path| {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let plain = name.strip_suffix(".br").or_else(|| name.strip_suffix(".gz")).unwrap_or(name);
        [".wasm", ".js", ".css"].iter().any(|extension| plain.ends_with(extension))
    };
    files.retain(|file| bundle(file));
    files.sort();
    let mut names = Vec::new();
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        hasher.write(name.as_bytes());
        hasher.write(&std::fs::read(&file).unwrap_or_default());
        // The worker caches what pages ask for; the browser picks the encoding.
        if !name.ends_with(".br") && !name.ends_with(".gz") {
            names.push(name);
        }
    }
    let hash = format!("{:016x}", hasher.finish());
    let mut urls: Vec<String> = STATIC_SHELL.iter().map(|url| (*url).to_owned()).collect();
    urls.extend(names.iter().map(|name| format!("/pkg/{hash}/{name}")));
    Shell { version: format!("{}-{hash}", env!("CARGO_PKG_VERSION")), hash, urls }
}

/// The built bundle's files, precompressed ones preferred. Under its hash the
/// bundle never changes, so browsers keep it for a year without asking;
/// under plain `/pkg/` (pages cached by an older worker) they always revalidate.
pub fn bundle_files(site_root: &Path) -> ServeDir {
    ServeDir::new(site_root.join("pkg")).precompressed_br().precompressed_gzip()
}

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn worker_script(shell: &Shell) -> String {
    let urls = serde_json::to_string(&shell.urls).unwrap_or_else(|_| "[]".to_owned());
    SERVICE_WORKER.replace("__VERSION__", &shell.version).replace("__SHELL_URLS__", &urls)
}

pub async fn service_worker(State(state): State<AppState>) -> impl IntoResponse {
    // Written once: the bundle does not change under a running server.
    static SCRIPT: OnceLock<String> = OnceLock::new();
    let script = SCRIPT.get_or_init(|| worker_script(&state.shell));
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // Browsers check for a new worker on every visit; never a stale one.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        script.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_lists_the_bundle_and_its_version_follows_it() {
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir(site.path().join("pkg")).unwrap();
        for (name, body) in [("netpulse.wasm", "one"), ("netpulse.js", "js"), ("netpulse.css", "css"), ("netpulse.d.ts", "types")] {
            std::fs::write(site.path().join("pkg").join(name), body).unwrap();
        }
        let first = shell(site.path());
        assert_eq!(first, shell(site.path()), "stable for the same files");
        assert!(first.version.starts_with(env!("CARGO_PKG_VERSION")));
        let bundle: Vec<_> = first.urls.iter().filter(|u| u.starts_with("/pkg/")).cloned().collect();
        let hashed = |name: &str| format!("/pkg/{}/{name}", first.hash);
        assert_eq!(bundle, [hashed("netpulse.css"), hashed("netpulse.js"), hashed("netpulse.wasm")], "type declarations are not cached");
        assert!(first.urls.contains(&"/icons/maskable-512.png".to_owned()));
        std::fs::write(site.path().join("pkg/netpulse.wasm"), b"two").unwrap();
        let second = shell(site.path());
        assert_ne!(first.version, second.version, "a rebuild changes it");
        std::fs::write(site.path().join("pkg/netpulse.wasm.br"), b"compressed two").unwrap();
        let third = shell(site.path());
        assert_ne!(second.hash, third.hash, "so does a precompressed copy, which is served under the same hash");
        assert_eq!(second.urls.len(), third.urls.len(), "but the worker caches only what pages ask for");
    }

    #[test]
    fn the_worker_script_is_filled_in_and_never_caches_streams() {
        let script = worker_script(&Shell { hash: "abc".into(), version: "1.0-abc".into(), urls: vec!["/".into(), "/pkg/netpulse.wasm".into()] });
        assert!(script.contains(r#"const VERSION = "1.0-abc";"#));
        assert!(script.contains(r#"const SHELL_URLS = ["/","/pkg/netpulse.wasm"];"#));
        assert!(!script.contains("__"), "no placeholder left");
        assert!(script.contains(r#"url.pathname === "/api/events""#));
    }
}
