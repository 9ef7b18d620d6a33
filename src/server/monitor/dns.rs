//! DNS checks: one query of a record type, to a given resolver or the
//! system's, timed, with the answer, and optionally a value it must include.

use std::{net::SocketAddr, str::FromStr, time::Duration};

use hickory_resolver::{
    config::{NameServerConfigGroup, ResolveHosts, ResolverConfig},
    name_server::TokioConnectionProvider,
    proto::rr::{Name, RecordType},
    Resolver, TokioResolver,
};
use tokio::time::Instant;

use crate::server::monitor::check::{ms_since, Timings};

/// The record types a check may ask for.
const TYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "CAA"];

#[derive(Clone, Debug)]
pub struct DnsCheck {
    pub name: String,
    pub record: RecordType,
    /// The resolver to ask; the system's (`/etc/resolv.conf`) when none.
    pub resolver: Option<SocketAddr>,
    /// A value the answer must include, such as an address.
    pub expect: Option<String>,
}

impl DnsCheck {
    /// From the `[[monitor]]` keys `dns`, `record`, `resolver` and `expect`; the key a mistake is in.
    pub fn parse(name: &str, record: Option<&str>, resolver: Option<&str>, expect: Option<&str>) -> Result<Self, (&'static str, String)> {
        let name = name.trim().trim_end_matches('.');
        let valid = !name.is_empty() && name.len() <= 253 && !name.contains([' ', '/', ':']) && Name::from_utf8(name).is_ok();
        if !valid {
            return Err(("monitor.dns", format!("must be a domain name, got {name:?}")));
        }
        let wanted = record.unwrap_or("A").trim().to_ascii_uppercase();
        if !TYPES.contains(&wanted.as_str()) {
            return Err(("monitor.record", format!("must be one of {}, got {wanted:?}", TYPES.join(", "))));
        }
        let record = RecordType::from_str(&wanted).map_err(|err| ("monitor.record", err.to_string()))?;
        let resolver = resolver
            .map(|text| {
                let text = text.trim();
                text.parse::<SocketAddr>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| ("monitor.resolver", format!("must be an IP address, with a port if not 53, got {text:?}")))
            })
            .transpose()?;
        Ok(Self { name: name.to_owned(), record, resolver, expect: expect.map(|e| e.trim().trim_end_matches('.').to_owned()).filter(|e| !e.is_empty()) })
    }

    /// What results show as the check's address.
    pub fn label(&self) -> String {
        let server = self.resolver.map_or_else(|| "system".to_owned(), |addr| addr.to_string());
        format!("dns://{server}/{} {}", self.name, self.record)
    }
}

/// Asks once, with no cache, no retry and not `/etc/hosts`, so the time is one
/// resolution's and the answer the resolver's.
pub async fn run(check: &DnsCheck, timeout: Duration, timings: &mut Timings) -> Result<(), String> {
    let mut builder = match check.resolver {
        Some(addr) => {
            let servers = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
            Resolver::builder_with_config(ResolverConfig::from_parts(None, vec![], servers), TokioConnectionProvider::default())
        }
        None => TokioResolver::builder_tokio().map_err(|err| format!("cannot read the system's resolver configuration: {err}"))?,
    };
    let options = builder.options_mut();
    // `attempts` counts retries after the first query.
    (options.cache_size, options.attempts, options.timeout, options.use_hosts_file) = (0, 0, timeout, ResolveHosts::Never);
    let resolver = builder.build();
    let started = Instant::now();
    let lookup = resolver.lookup(check.name.as_str(), check.record).await.map_err(|err| format!("DNS: {err}"))?;
    timings.dns_ms = Some(ms_since(started));
    let answers: Vec<String> = lookup.iter().map(|data| data.to_string().trim_end_matches('.').to_owned()).collect();
    timings.answer = Some(answers.join(", "));
    match &check.expect {
        Some(expected) if !answers.iter().any(|answer| answer_matches(check.record, answer, expected)) => {
            Err(format!("the answer ({}) does not include {expected}", answers.join(", ")))
        }
        _ => Ok(()),
    }
}

/// Whether one record of the answer is what `expected` names: the same address
/// however written, a name in any case, an MX's host or a CAA's value alone, or
/// the record as printed, quotes aside.
fn answer_matches(record: RecordType, answer: &str, expected: &str) -> bool {
    let unquoted = |text: &str| text.replace('"', "");
    match record {
        RecordType::A | RecordType::AAAA => answer.parse::<std::net::IpAddr>().ok().is_some_and(|ip| expected.parse().ok() == Some(ip)),
        RecordType::CNAME | RecordType::NS | RecordType::PTR => answer.eq_ignore_ascii_case(expected),
        RecordType::MX | RecordType::CAA => {
            let last = answer.rsplit(' ').next().unwrap_or(answer);
            unquoted(answer).eq_ignore_ascii_case(&unquoted(expected)) || unquoted(last).trim_end_matches('.').eq_ignore_ascii_case(&unquoted(expected))
        }
        _ => unquoted(answer) == unquoted(expected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_match_by_what_they_are() {
        assert!(answer_matches(RecordType::AAAA, "fd00::7", "fd00:0::7"), "one address, two spellings");
        assert!(!answer_matches(RecordType::A, "198.18.0.7", "198.18.0.8"));
        assert!(answer_matches(RecordType::CNAME, "NAS.lan", "nas.lan"));
        assert!(answer_matches(RecordType::MX, "10 mail.example.org", "mail.example.org"));
        assert!(answer_matches(RecordType::CAA, "0 issue \"letsencrypt.org\"", "letsencrypt.org"));
        assert!(answer_matches(RecordType::TXT, "backups ok", "\"backups ok\""));
    }

    #[test]
    fn keys_are_checked_and_name_themselves() {
        let check = DnsCheck::parse("nas.lan.", Some("aaaa"), Some("127.0.0.1:5353"), Some("fd00::7")).unwrap();
        assert_eq!((check.name.as_str(), check.record, check.label()), ("nas.lan", RecordType::AAAA, "dns://127.0.0.1:5353/nas.lan AAAA".to_owned()));
        assert_eq!(DnsCheck::parse("nas.lan", None, Some("9.9.9.9"), None).unwrap().resolver, Some("9.9.9.9:53".parse().unwrap()));
        assert_eq!(DnsCheck::parse("", None, None, None).unwrap_err().0, "monitor.dns");
        assert_eq!(DnsCheck::parse("http://x", None, None, None).unwrap_err().0, "monitor.dns");
        assert_eq!(DnsCheck::parse("a.lan", Some("BOGUS"), None, None).unwrap_err().0, "monitor.record");
        assert_eq!(DnsCheck::parse("a.lan", None, Some("dns.lan"), None).unwrap_err().0, "monitor.resolver");
    }
}
