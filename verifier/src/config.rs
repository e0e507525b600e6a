//! Service configuration: built-in defaults, then a TOML file, then `PARTSEAL_*` environment variables,
//! then command-line flags, each overriding the one before.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! data = "./partseal-data"
//! database_url = "postgres://partseal@db1,db2/partseal?target_session_attrs=read-write"
//!                                  # the registry on PostgreSQL instead of sled in `data`
//! base_url = "https://verify.example.cn"
//! rate_limit = 60                  # public requests per minute per client; 0 switches it off
//! report_rate_limit = 10           # public reports per hour per client; 0 switches it off
//! scan_threshold_installed = 8     # networks in 72 h that make a code's scans an anomaly,
//! scan_threshold_held = 8          # by where the part is (docs/custody-rules.md)
//! scan_threshold_at_manufacturer = 5
//! trusted_proxies = ["10.0.0.0/8"] # only these may set X-Forwarded-For
//! log_format = "text"              # or "json"
//! request_timeout_secs = 10
//! body_limit_bytes = 65536
//! max_in_flight = 1024
//! header_read_timeout_secs = 10    # from a request's first byte to the end of its headers
//! idle_timeout_secs = 60           # a connection with no request running and no bytes moving
//! body_read_timeout_secs = 10      # longest wait for the next piece of a request body (408 after)
//! max_header_bytes = 16384         # a request's line and headers; beyond it 431
//! max_connections_per_client = 256 # open connections per client address; 0 switches it off
//! max_connections_per_proxy = 0    # the same for trusted proxies (they carry many clients)
//! store_cache_mb = 1024            # the store's page cache
//! record_cache_mb = 256            # code records kept in front of it (about 190 bytes a code)
//! time_zone = "Asia/Shanghai"      # IANA name: times on pages (JSON stays UTC)
//!
//! [[log.witnesses]]                # witnesses the log's checkpoints are sent to (tlog-witness)
//! name = "witness-1"               # in logs and metrics
//! url = "http://witness-1.example.org:7380"
//! key = "witness.example.org+1c2d3e4f+BL..."  # its cosignature verifier key (`partseal witness key`)
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use signer::BaseUrl;

use crate::local_time::Zone;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{name}={value:?}: {message}")]
    Env {
        name: String,
        value: String,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The service's settings, validated.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data: PathBuf,
    /// The registry's PostgreSQL database; `None`: the embedded sled store in `data`.
    pub database_url: Option<DatabaseUrl>,
    /// Where labels point; public pages link relative to it.
    pub base_url: BaseUrl,
    /// Public requests per minute per client; 0 switches rate limiting off (for benchmarks).
    pub rate_limit: u32,
    /// Public reports per hour per client; 0 switches it off.
    pub report_rate_limit: u32,
    /// Distinct networks scanning one code within the scan window that raise a scan anomaly, by
    /// where the part is (see `docs/custody-rules.md`).
    pub scan_threshold_installed: u32,
    pub scan_threshold_held: u32,
    pub scan_threshold_at_manufacturer: u32,
    /// Proxies whose `X-Forwarded-For` is believed; from anyone else the header is ignored, or a client
    /// could pick its own rate-limit key.
    pub trusted_proxies: Vec<IpNet>,
    pub log_format: LogFormat,
    pub request_timeout: Duration,
    /// Largest JSON request body; manifest uploads stream and are limited per line instead.
    pub body_limit_bytes: usize,
    /// Requests handled at once; beyond it the service sheds load with 503 instead of queueing forever.
    /// Requests with a body may take half of them.
    pub max_in_flight: usize,
    /// How long a client has from the first byte of a request to the end of its headers; a
    /// connection that takes longer is closed (the slowloris defence).
    pub header_read_timeout: Duration,
    /// How long a connection may sit with no request being handled and no bytes moving, waiting
    /// for a next request or for the client to read its answer, before it is closed. Longer than
    /// a proxy's upstream keep-alive (nginx: 60 s) so the proxy, not the service, closes first.
    pub idle_timeout: Duration,
    /// The longest wait for the next piece of a request body; then the request is answered 408
    /// and its in-flight slot freed. Between pieces, not in total: a large upload streams on.
    pub body_read_timeout: Duration,
    /// The request line and headers together; beyond it the request is refused with 431.
    pub max_header_bytes: usize,
    /// Open connections per client address (the peer's; an IPv6 /64 counts as one); beyond it a
    /// connection is answered 503 and closed. 0 switches the cap off.
    pub max_connections_per_client: usize,
    /// The same cap for peers in `trusted_proxies`, which carry many clients' connections.
    pub max_connections_per_proxy: usize,
    /// Memory for the store's page cache, and for the code records kept in front of it.
    pub store_cache_mb: u64,
    pub record_cache_mb: u64,
    /// Where times on pages are read; an unknown name is refused at start.
    pub time_zone: Zone,
    /// The witnesses the transparency log's checkpoints are sent to.
    pub log_witnesses: Vec<LogWitness>,
}

/// A witness of the transparency log (`[[log.witnesses]]`), checked at start.
#[derive(Clone, Debug)]
pub struct LogWitness {
    pub name: String,
    /// Where its `add-checkpoint` is: `<url>/add-checkpoint`.
    pub url: String,
    pub key: tlog::witness::CosignatureVerifier,
}

/// The `[log]` table of the configuration file.
#[derive(Default, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    #[serde(default)]
    pub witnesses: Vec<WitnessSettings>,
}

/// One `[[log.witnesses]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSettings {
    pub name: String,
    pub url: String,
    pub key: String,
}

impl WitnessSettings {
    fn check(self) -> Result<LogWitness, ConfigError> {
        let invalid =
            |why: String| ConfigError::Invalid(format!("log.witnesses `{}`: {why}", self.name));
        if self.name.trim().is_empty() {
            return Err(ConfigError::Invalid(
                "log.witnesses: a witness needs a name".into(),
            ));
        }
        // This build speaks plain HTTP to witnesses: what they answer is checked by its
        // signature, not by the channel (put TLS in front with a local proxy).
        if !self.url.starts_with("http://") {
            return Err(invalid(format!(
                "url {:?}: use an http:// URL (a local TLS proxy for https)",
                self.url
            )));
        }
        let key = tlog::witness::CosignatureVerifier::parse(self.key.trim())
            .map_err(|e| invalid(format!("key: {e} (a cosignature/v1 key, type 0x04)")))?;
        Ok(LogWitness {
            url: self.url.trim_end_matches('/').to_owned(),
            name: self.name,
            key,
        })
    }
}

/// A database URL, which may hold a password: shown without it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Hosts and database only: credentials sit before `@` or in the query (`password=`).
        let url = self.0.split('?').next().unwrap_or_default();
        let shown = match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}://…@{}", &url[..scheme], &url[at + 1..])
            }
            _ => url.to_owned(),
        };
        f.write_str(&shown)
    }
}

/// The optional layer every source provides; `None` means "not set here".
#[derive(Default, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data: Option<PathBuf>,
    pub database_url: Option<DatabaseUrl>,
    pub base_url: Option<String>,
    pub rate_limit: Option<u32>,
    pub report_rate_limit: Option<u32>,
    pub scan_threshold_installed: Option<u32>,
    pub scan_threshold_held: Option<u32>,
    pub scan_threshold_at_manufacturer: Option<u32>,
    pub trusted_proxies: Option<Vec<IpNet>>,
    pub log_format: Option<LogFormat>,
    pub request_timeout_secs: Option<u64>,
    pub body_limit_bytes: Option<usize>,
    pub max_in_flight: Option<usize>,
    pub header_read_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub body_read_timeout_secs: Option<u64>,
    pub max_header_bytes: Option<usize>,
    pub max_connections_per_client: Option<usize>,
    pub max_connections_per_proxy: Option<usize>,
    pub store_cache_mb: Option<u64>,
    pub record_cache_mb: Option<u64>,
    pub time_zone: Option<String>,
    /// The transparency log's settings (file only): its witnesses.
    pub log: Option<LogSettings>,
}

impl Overrides {
    /// Reads a TOML file; unknown keys are errors (a misspelt key silently ignored is a bad default).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.into(),
            message: e.to_string(),
        })
    }

    /// Reads `PARTSEAL_LISTEN`, `PARTSEAL_DATA`, `PARTSEAL_BASE_URL`, `PARTSEAL_RATE_LIMIT`,
    /// `PARTSEAL_TRUSTED_PROXIES` (comma-separated), `PARTSEAL_LOG_FORMAT`,
    /// `PARTSEAL_REQUEST_TIMEOUT_SECS`, `PARTSEAL_BODY_LIMIT_BYTES`, `PARTSEAL_MAX_IN_FLIGHT`,
    /// `PARTSEAL_HEADER_READ_TIMEOUT_SECS`, `PARTSEAL_IDLE_TIMEOUT_SECS`,
    /// `PARTSEAL_BODY_READ_TIMEOUT_SECS`, `PARTSEAL_MAX_HEADER_BYTES`,
    /// `PARTSEAL_MAX_CONNECTIONS_PER_CLIENT`, `PARTSEAL_MAX_CONNECTIONS_PER_PROXY`,
    /// `PARTSEAL_STORE_CACHE_MB`, `PARTSEAL_RECORD_CACHE_MB`, `PARTSEAL_TIME_ZONE` through `get`, so
    /// tests need not touch
    /// the process environment.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        fn parse<T: std::str::FromStr>(
            get: &impl Fn(&str) -> Option<String>,
            name: &str,
        ) -> Result<Option<T>, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            match get(name) {
                None => Ok(None),
                Some(value) => {
                    value
                        .trim()
                        .parse()
                        .map(Some)
                        .map_err(|e: T::Err| ConfigError::Env {
                            name: name.into(),
                            value: value.clone(),
                            message: e.to_string(),
                        })
                }
            }
        }
        let trusted_proxies = match get("PARTSEAL_TRUSTED_PROXIES") {
            None => None,
            Some(list) => Some(
                list.split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| parse_net(s.trim()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|message| ConfigError::Env {
                        name: "PARTSEAL_TRUSTED_PROXIES".into(),
                        value: list.clone(),
                        message,
                    })?,
            ),
        };
        let log_format = match get("PARTSEAL_LOG_FORMAT").as_deref() {
            None => None,
            Some("text") => Some(LogFormat::Text),
            Some("json") => Some(LogFormat::Json),
            Some(other) => {
                return Err(ConfigError::Env {
                    name: "PARTSEAL_LOG_FORMAT".into(),
                    value: other.into(),
                    message: "use text or json".into(),
                });
            }
        };
        Ok(Overrides {
            listen: parse(&get, "PARTSEAL_LISTEN")?,
            data: get("PARTSEAL_DATA").map(PathBuf::from),
            database_url: get("PARTSEAL_DATABASE_URL")
                .filter(|url| !url.is_empty())
                .map(DatabaseUrl),
            base_url: get("PARTSEAL_BASE_URL"),
            rate_limit: parse(&get, "PARTSEAL_RATE_LIMIT")?,
            report_rate_limit: parse(&get, "PARTSEAL_REPORT_RATE_LIMIT")?,
            scan_threshold_installed: parse(&get, "PARTSEAL_SCAN_THRESHOLD_INSTALLED")?,
            scan_threshold_held: parse(&get, "PARTSEAL_SCAN_THRESHOLD_HELD")?,
            scan_threshold_at_manufacturer: parse(&get, "PARTSEAL_SCAN_THRESHOLD_AT_MANUFACTURER")?,
            trusted_proxies,
            log_format,
            request_timeout_secs: parse(&get, "PARTSEAL_REQUEST_TIMEOUT_SECS")?,
            body_limit_bytes: parse(&get, "PARTSEAL_BODY_LIMIT_BYTES")?,
            max_in_flight: parse(&get, "PARTSEAL_MAX_IN_FLIGHT")?,
            header_read_timeout_secs: parse(&get, "PARTSEAL_HEADER_READ_TIMEOUT_SECS")?,
            idle_timeout_secs: parse(&get, "PARTSEAL_IDLE_TIMEOUT_SECS")?,
            body_read_timeout_secs: parse(&get, "PARTSEAL_BODY_READ_TIMEOUT_SECS")?,
            max_header_bytes: parse(&get, "PARTSEAL_MAX_HEADER_BYTES")?,
            max_connections_per_client: parse(&get, "PARTSEAL_MAX_CONNECTIONS_PER_CLIENT")?,
            max_connections_per_proxy: parse(&get, "PARTSEAL_MAX_CONNECTIONS_PER_PROXY")?,
            store_cache_mb: parse(&get, "PARTSEAL_STORE_CACHE_MB")?,
            record_cache_mb: parse(&get, "PARTSEAL_RECORD_CACHE_MB")?,
            time_zone: get("PARTSEAL_TIME_ZONE"),
            log: None,
        })
    }
}

/// A single address (`10.0.0.7`) or a network (`10.0.0.0/8`).
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is not an IP address or network"))
}

impl Config {
    /// Defaults, then each layer in order (later wins), validated.
    pub fn resolve(layers: impl IntoIterator<Item = Overrides>) -> Result<Self, ConfigError> {
        let mut listen = SocketAddr::from(([127, 0, 0, 1], 8080));
        let mut data = PathBuf::from("partseal-data");
        let mut database_url = None;
        let mut base_url = None;
        let mut rate_limit = 60;
        let mut report_rate_limit = 10;
        let scan_defaults = registry::ScanPolicy::default();
        let mut scan_threshold_installed = scan_defaults.threshold;
        let mut scan_threshold_held = scan_defaults.threshold_held;
        let mut scan_threshold_at_manufacturer = scan_defaults.threshold_at_manufacturer;
        let mut trusted_proxies = Vec::new();
        let mut log_format = LogFormat::Text;
        let mut request_timeout_secs = 10;
        let mut body_limit_bytes = 64 * 1024;
        let mut max_in_flight = 1024;
        let mut header_read_timeout_secs = 10;
        let mut idle_timeout_secs = 60;
        let mut body_read_timeout_secs = 10;
        let mut max_header_bytes = 16 * 1024;
        // Phones behind one carrier NAT share an address: generous, but far below what a single
        // machine holding connections open would take.
        let mut max_connections_per_client = 256;
        let mut max_connections_per_proxy = 0;
        let defaults = registry::RegistryConfig::default();
        let mut store_cache_mb = defaults.cache_bytes >> 20;
        let mut record_cache_mb = defaults.record_cache_bytes >> 20;
        let mut time_zone = None;
        let mut log = None;
        // Each layer's settings, where it has them, replace those below.
        macro_rules! later_wins {
            ($layer:ident: $($setting:ident),* $(,)?) => {
                $(if let Some(value) = $layer.$setting {
                    $setting = value;
                })*
            };
        }
        for layer in layers {
            later_wins!(layer:
                listen, data, rate_limit, report_rate_limit, scan_threshold_installed,
                scan_threshold_held, scan_threshold_at_manufacturer, trusted_proxies, log_format,
                request_timeout_secs, body_limit_bytes, max_in_flight, header_read_timeout_secs,
                idle_timeout_secs, body_read_timeout_secs, max_header_bytes,
                max_connections_per_client, max_connections_per_proxy, store_cache_mb,
                record_cache_mb,
            );
            // Settings that may stay unset.
            database_url = layer.database_url.or(database_url);
            base_url = layer.base_url.or(base_url);
            time_zone = layer.time_zone.or(time_zone);
            log = layer.log.or(log);
        }
        // Labels must point somewhere a phone can reach; by default, this very server.
        let base_url = base_url.unwrap_or_else(|| format!("http://{listen}"));
        let base_url = BaseUrl::parse(&base_url)
            .map_err(|e| ConfigError::Invalid(format!("base_url: {e}")))?;
        for (name, secs) in [
            ("request_timeout_secs", request_timeout_secs),
            ("header_read_timeout_secs", header_read_timeout_secs),
            ("idle_timeout_secs", idle_timeout_secs),
            ("body_read_timeout_secs", body_read_timeout_secs),
        ] {
            if secs == 0 {
                return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
            }
        }
        if max_header_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "max_header_bytes must be at least 1024".into(),
            ));
        }
        if max_in_flight == 0 || body_limit_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "max_in_flight must be at least 1 and body_limit_bytes at least 1024".into(),
            ));
        }
        let max = registry::scans::MAX_RECENT_NETWORKS as u32;
        for (name, n) in [
            ("scan_threshold_installed", scan_threshold_installed),
            ("scan_threshold_held", scan_threshold_held),
            (
                "scan_threshold_at_manufacturer",
                scan_threshold_at_manufacturer,
            ),
        ] {
            if !(2..=max).contains(&n) {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be 2 to {max} networks (the networks a code remembers), not {n}"
                )));
            }
        }
        let time_zone = match time_zone {
            None => Zone::default(),
            Some(name) => Zone::named(name.trim()).map_err(ConfigError::Invalid)?,
        };
        let log_witnesses = log
            .unwrap_or_default()
            .witnesses
            .into_iter()
            .map(WitnessSettings::check)
            .collect::<Result<Vec<_>, _>>()?;
        let mut names = std::collections::HashSet::new();
        if let Some(twice) = log_witnesses.iter().find(|w| !names.insert(&w.name)) {
            return Err(ConfigError::Invalid(format!(
                "log.witnesses: the name `{}` is given twice",
                twice.name
            )));
        }
        Ok(Config {
            listen,
            data,
            database_url,
            base_url,
            rate_limit,
            report_rate_limit,
            scan_threshold_installed,
            scan_threshold_held,
            scan_threshold_at_manufacturer,
            trusted_proxies,
            log_format,
            request_timeout: Duration::from_secs(request_timeout_secs),
            body_limit_bytes,
            max_in_flight,
            header_read_timeout: Duration::from_secs(header_read_timeout_secs),
            idle_timeout: Duration::from_secs(idle_timeout_secs),
            body_read_timeout: Duration::from_secs(body_read_timeout_secs),
            max_header_bytes,
            max_connections_per_client,
            max_connections_per_proxy,
            store_cache_mb,
            record_cache_mb,
            time_zone,
            log_witnesses,
        })
    }

    /// The registry's settings this configuration chooses.
    pub fn registry(&self) -> registry::RegistryConfig {
        let defaults = registry::RegistryConfig::default();
        registry::RegistryConfig {
            cache_bytes: self.store_cache_mb << 20,
            record_cache_bytes: self.record_cache_mb << 20,
            scans: registry::ScanPolicy {
                threshold: self.scan_threshold_installed,
                threshold_held: self.scan_threshold_held,
                threshold_at_manufacturer: self.scan_threshold_at_manufacturer,
                ..defaults.scans
            },
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_win_and_unset_fields_fall_through() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("partseal.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\nrate_limit = 10\ntrusted_proxies = [\"10.0.0.0/8\"]\nlog_format = \"json\"\n",
        )
        .unwrap();
        let env = |name: &str| match name {
            "PARTSEAL_RATE_LIMIT" => Some("0".to_owned()),
            "PARTSEAL_RECORD_CACHE_MB" => Some("2048".to_owned()),
            "PARTSEAL_HEADER_READ_TIMEOUT_SECS" => Some("3".to_owned()),
            "PARTSEAL_BASE_URL" => Some("https://verify.example.cn".to_owned()),
            _ => None,
        };
        let flags = Overrides {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Overrides::default()
        };
        let c = Config::resolve([
            Overrides::from_file(&file).unwrap(),
            Overrides::from_env(env).unwrap(),
            flags,
        ])
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:0".parse().unwrap());
        assert_eq!(c.rate_limit, 0);
        assert_eq!(c.base_url.as_str(), "https://verify.example.cn");
        assert_eq!(
            c.trusted_proxies,
            vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]
        );
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.data, PathBuf::from("partseal-data"));
        assert_eq!(c.registry().record_cache_bytes, 2048 << 20);
        assert_eq!(c.header_read_timeout, Duration::from_secs(3));
        assert_eq!(c.max_connections_per_client, 256);
    }

    #[test]
    fn mistakes_are_reported_with_where_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("partseal.toml");
        std::fs::write(&file, "rate_limt = 10\n").unwrap();
        let err = Overrides::from_file(&file).unwrap_err().to_string();
        assert!(
            err.contains("partseal.toml") && err.contains("rate_limt"),
            "{err}"
        );
        let err = Overrides::from_env(|n| (n == "PARTSEAL_RATE_LIMIT").then(|| "lots".to_owned()))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("PARTSEAL_RATE_LIMIT=\"lots\""), "{err}");
        let bad_base = Overrides {
            base_url: Some("verify.example.cn".into()),
            ..Overrides::default()
        };
        assert!(
            Config::resolve([bad_base])
                .unwrap_err()
                .to_string()
                .starts_with("base_url:")
        );
    }

    #[test]
    fn the_default_base_url_is_the_listen_address() {
        let c = Config::resolve([]).unwrap();
        assert_eq!(c.base_url.as_str(), "http://127.0.0.1:8080");
        assert_eq!(c.rate_limit, 60);
        assert_eq!(c.registry(), registry::RegistryConfig::default());
        assert_eq!(c.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.idle_timeout, Duration::from_secs(60));
        assert_eq!(c.max_header_bytes, 16 * 1024);
        assert_eq!(c.time_zone.name(), "Asia/Shanghai");
    }

    #[test]
    fn witnesses_are_read_from_the_file_and_their_keys_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("partseal.toml");
        let key = tlog::witness::Witness::new("w.example.org", signer::keys::generate())
            .unwrap()
            .verifier_key();
        std::fs::write(
            &file,
            format!(
                "[[log.witnesses]]\nname = \"w1\"\nurl = \"http://127.0.0.1:7380/\"\nkey = \"{key}\"\n"
            ),
        )
        .unwrap();
        let c = Config::resolve([Overrides::from_file(&file).unwrap()]).unwrap();
        assert_eq!(c.log_witnesses.len(), 1);
        assert_eq!(c.log_witnesses[0].url, "http://127.0.0.1:7380");
        assert_eq!(c.log_witnesses[0].key.name(), "w.example.org");
        assert!(Config::resolve([]).unwrap().log_witnesses.is_empty());
        // A log key (type 0x01) is no witness key; a misspelt field is an error.
        let log_key = tlog::LogKey::new("v.example.cn/log", signer::keys::generate())
            .unwrap()
            .verifier_key();
        for bad in [
            format!("[[log.witnesses]]\nname = \"w1\"\nurl = \"http://x\"\nkey = \"{log_key}\"\n"),
            format!(
                "[[log.witnesses]]\nname = \"w1\"\nurl = \"http://x\"\nkey = \"{key}\"\nkye = 1\n"
            ),
            format!("[[log.witnesses]]\nname = \"w1\"\nurl = \"https://x\"\nkey = \"{key}\"\n"),
        ] {
            std::fs::write(&file, bad).unwrap();
            let refused = Overrides::from_file(&file)
                .map(|o| Config::resolve([o]).map(|_| ()))
                .and_then(|r| r);
            assert!(refused.is_err());
        }
    }

    #[test]
    fn the_time_zone_is_an_iana_name_checked_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("partseal.toml");
        std::fs::write(&file, "time_zone = \"Europe/Berlin\"\n").unwrap();
        let c = Config::resolve([Overrides::from_file(&file).unwrap()]).unwrap();
        assert_eq!(c.time_zone.name(), "Europe/Berlin");
        let env = Overrides::from_env(|n| (n == "PARTSEAL_TIME_ZONE").then(|| "UTC".to_owned()));
        let c = Config::resolve([env.unwrap()]).unwrap();
        assert_eq!(c.time_zone.name(), "UTC");
        let typo = Overrides {
            time_zone: Some("Asia/Shangai".into()),
            ..Overrides::default()
        };
        let err = Config::resolve([typo]).unwrap_err().to_string();
        assert!(
            err.contains("\"Asia/Shangai\"") && err.contains("IANA"),
            "{err}"
        );
    }
}
