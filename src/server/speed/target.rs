//! Speed-test targets: the kinds of server netpulse can measure against and their endpoint URLs.

use reqwest::Url;
use serde::{Deserialize, Serialize};

/// The protocol a target speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// Another netpulse: `{base}/garbage`, `{base}/empty`.
    Netpulse,
    /// A LibreSpeed backend: `{base}/garbage.php`, `{base}/empty.php`.
    Librespeed,
    /// A Cloudflare-style server: `{base}/__down?bytes=N`, `{base}/__up`.
    Cloudflare,
}

/// How a config names another netpulse node as a target: `node:tokyo`.
pub const NODE_PREFIX: &str = "node:";

/// A validated target base URL and how to talk to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpeedTarget {
    base: Url,
    pub kind: TargetKind,
    /// A node target's name (`tokyo` for `node:tokyo`): its URL is the one that node reports,
    /// looked up before each test, and its label stays `node:tokyo` wherever the node is.
    node: Option<String>,
}

/// A URL as results, logs and errors show it: a `user:password@` is left out.
pub fn shown(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

impl SpeedTarget {
    pub fn parse(url: &str, kind: TargetKind) -> Result<Self, String> {
        if let Some(node) = url.strip_prefix(NODE_PREFIX) {
            if !crate::server::auth::access::is_node_name(node) {
                return Err(format!("{url:?} must name a node: 1 to 64 letters, digits, '.', '_' or '-' after \"node:\""));
            }
            if kind != TargetKind::Netpulse {
                return Err(format!("{url:?} is another netpulse node: its kind is netpulse"));
            }
            // Not measured as it stands: `at` gives the node's reported URL first.
            let base = Url::parse("http://unresolved.invalid/speedtest").expect("a fixed URL parses");
            return Ok(Self { base, kind, node: Some(node.to_owned()) });
        }
        let mut base = Url::parse(url).map_err(|err| format!("{url:?} is not a URL: {err}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!("{url:?} must use http or https"));
        }
        if base.host_str().is_none() {
            return Err(format!("{url:?} has no host"));
        }
        base.set_query(None);
        base.set_fragment(None);
        let trimmed = base.path().trim_end_matches('/').to_owned();
        base.set_path(&trimmed);
        Ok(Self { base, kind, node: None })
    }

    /// The base URL as the user wrote it, normalised, without credentials; results carry it.
    /// A node target's is `node:NAME`.
    pub fn label(&self) -> String {
        match &self.node {
            Some(node) => format!("{NODE_PREFIX}{node}"),
            None => shown(&self.base).trim_end_matches('/').to_owned(),
        }
    }

    /// The node a `node:NAME` target names.
    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    /// This node target measured at `url`, the `/speedtest` base its node reported; its label stays.
    pub fn at(&self, url: &str) -> Result<Self, String> {
        let resolved = Self::parse(url, TargetKind::Netpulse)?;
        Ok(Self { node: self.node.clone(), ..resolved })
    }

    fn endpoint(&self, name: &str) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}/{name}", self.base.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }

    /// A request for about `bytes` of download; sizes round up to whole MiB
    /// where the protocol counts in MiB.
    pub fn download_url(&self, bytes: u64) -> Url {
        match self.kind {
            TargetKind::Netpulse | TargetKind::Librespeed => {
                let name = if self.kind == TargetKind::Netpulse { "garbage" } else { "garbage.php" };
                let mut url = self.endpoint(name);
                let mib = bytes.div_ceil(1 << 20).max(1);
                url.query_pairs_mut().append_pair("ckSize", &mib.to_string());
                url
            }
            TargetKind::Cloudflare => {
                let mut url = self.endpoint("__down");
                url.query_pairs_mut().append_pair("bytes", &bytes.to_string());
                url
            }
        }
    }

    pub fn upload_url(&self) -> Url {
        match self.kind {
            TargetKind::Netpulse => self.endpoint("empty"),
            TargetKind::Librespeed => self.endpoint("empty.php"),
            TargetKind::Cloudflare => self.endpoint("__up"),
        }
    }

    /// A request whose response carries no body, for timing round trips.
    pub fn ping_url(&self) -> Url {
        match self.kind {
            TargetKind::Netpulse => self.endpoint("empty"),
            TargetKind::Librespeed => self.endpoint("empty.php"),
            TargetKind::Cloudflare => self.download_url(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netpulse_endpoints_hang_off_the_base_path() {
        let t = SpeedTarget::parse("http://127.0.0.1:3000/speedtest/", TargetKind::Netpulse).unwrap();
        assert_eq!(t.label(), "http://127.0.0.1:3000/speedtest");
        let private = SpeedTarget::parse("https://me:s3cret@speed.lan/speedtest", TargetKind::Netpulse).unwrap();
        assert_eq!(private.label(), "https://speed.lan/speedtest", "credentials never reach results");
        assert_eq!(t.download_url(3 << 20).as_str(), "http://127.0.0.1:3000/speedtest/garbage?ckSize=3");
        assert_eq!(t.download_url(1).as_str(), "http://127.0.0.1:3000/speedtest/garbage?ckSize=1");
        assert_eq!(t.upload_url().as_str(), "http://127.0.0.1:3000/speedtest/empty");
        assert_eq!(t.ping_url(), t.upload_url());
    }

    #[test]
    fn cloudflare_and_librespeed_paths() {
        let cf = SpeedTarget::parse("https://speed.cloudflare.com", TargetKind::Cloudflare).unwrap();
        assert_eq!(cf.download_url(1000).as_str(), "https://speed.cloudflare.com/__down?bytes=1000");
        assert_eq!(cf.upload_url().as_str(), "https://speed.cloudflare.com/__up");
        let ls = SpeedTarget::parse("http://h/backend", TargetKind::Librespeed).unwrap();
        assert_eq!(ls.download_url(100 << 20).as_str(), "http://h/backend/garbage.php?ckSize=100");
        assert_eq!(ls.upload_url().as_str(), "http://h/backend/empty.php");
    }

    #[test]
    fn rejects_what_cannot_be_measured() {
        assert!(SpeedTarget::parse("not a url", TargetKind::Netpulse).is_err());
        assert!(SpeedTarget::parse("ftp://h/x", TargetKind::Netpulse).is_err());
        assert!(SpeedTarget::parse("node:", TargetKind::Netpulse).is_err());
        assert!(SpeedTarget::parse("node:to kyo", TargetKind::Netpulse).is_err());
        assert!(SpeedTarget::parse("node:tokyo", TargetKind::Cloudflare).unwrap_err().contains("netpulse"));
    }

    #[test]
    fn a_node_target_keeps_its_name_wherever_its_node_is() {
        let tokyo = SpeedTarget::parse("node:tokyo", TargetKind::Netpulse).unwrap();
        assert_eq!((tokyo.label().as_str(), tokyo.node()), ("node:tokyo", Some("tokyo")));
        let there = tokyo.at("http://198.18.0.3:8091/speedtest/").unwrap();
        assert_eq!(there.label(), "node:tokyo", "charts keep one series when the node moves");
        assert_eq!(there.download_url(1 << 20).as_str(), "http://198.18.0.3:8091/speedtest/garbage?ckSize=1");
        assert!(tokyo.at("ftp://x").is_err());
    }
}
