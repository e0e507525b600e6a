//! Prometheus metrics, served at `/metrics`: requests by route, method and status, latency histograms
//! by route, and the service's own counters. The registry lives in [`crate::AppState`], not in a global.

use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};

use crate::route_list::ROUTES;

// Label values are static strings, so counting a request allocates nothing.

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route pattern (`/01/{gtin}/21/{serial}`), never the raw path, so label values stay few.
    pub route: &'static str,
    pub method: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    pub verdict: &'static str,
}

/// A witness of the transparency log (its configured name) and what became of a checkpoint sent
/// to it (`cosigned`, `failed`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WitnessLabels {
    pub witness: String,
    pub outcome: &'static str,
}

impl WitnessLabels {
    pub fn new(witness: String, outcome: &'static str) -> Self {
        WitnessLabels { witness, outcome }
    }
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: HistogramFamily,
    pub rate_limited: Counter,
    pub shed: Counter,
    pub timeouts: Counter,
    /// Requests answered 408 because their body stopped arriving.
    pub body_timeouts: Counter,
    /// Connections open now, refused for their address's cap, and closed because their client
    /// took too long over a request's headers or let the connection sit idle.
    pub connections_open: Gauge,
    pub connections_refused: Counter,
    pub header_timeouts: Counter,
    pub idle_timeouts: Counter,
    /// Public verdicts by code (`genuine`, `forged`, ...).
    pub verdicts: Family<VerdictLabels, Counter>,
    pub store_codes: Gauge,
    pub store_events: Gauge,
    pub store_flagged: Gauge,
    pub store_bytes: Gauge,
    /// The code records kept in memory in front of the store: how many, their bytes, and lookups
    /// answered from them or not since the service started.
    pub record_cache_records: Gauge,
    pub record_cache_bytes: Gauge,
    pub record_cache_hits: Gauge,
    pub record_cache_misses: Gauge,
    /// Checkpoints sent to the log's witnesses, by witness and outcome.
    pub log_witness_requests: Family<WitnessLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 50 µs to about 1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// A new metric, registered under `name` with its `help`.
fn registered<M: Metric + Clone + Default>(registry: &mut Registry, name: &str, help: &str) -> M {
    let metric = M::default();
    registry.register(name, help, metric.clone());
    metric
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("partseal");
        let r = &mut registry;
        let requests = registered(
            r,
            "http_requests",
            "HTTP requests by route, method and status",
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        r.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        // In the order /metrics lists them.
        Metrics {
            requests,
            latency,
            rate_limited: registered(
                r,
                "rate_limited",
                "Public requests refused by the rate limit",
            ),
            shed: registered(
                r,
                "load_shed",
                "Requests refused because too many were in flight",
            ),
            timeouts: registered(r, "timeouts", "Requests that ran out of time"),
            body_timeouts: registered(
                r,
                "body_timeouts",
                "Requests answered 408 because their body stopped arriving",
            ),
            connections_refused: registered(
                r,
                "connections_refused",
                "Connections refused because their address had too many open",
            ),
            header_timeouts: registered(
                r,
                "header_timeouts",
                "Connections closed because a request's headers took too long",
            ),
            idle_timeouts: registered(r, "idle_timeouts", "Connections closed after sitting idle"),
            connections_open: registered(r, "connections_open", "Client connections open now"),
            verdicts: registered(r, "verdicts", "Public verification answers by verdict"),
            store_codes: registered(r, "store_codes", "Registered codes"),
            store_events: registered(r, "store_events", "Custody events after registration"),
            store_flagged: registered(r, "store_flagged_codes", "Codes with an alert"),
            store_bytes: registered(r, "store_bytes", "Bytes the store uses on disk"),
            record_cache_records: registered(
                r,
                "record_cache_records",
                "Code records kept in memory in front of the store",
            ),
            record_cache_bytes: registered(r, "record_cache_bytes", "Memory those records take"),
            record_cache_hits: registered(
                r,
                "record_cache_hits",
                "Code lookups answered from memory since the service started",
            ),
            record_cache_misses: registered(
                r,
                "record_cache_misses",
                "Code lookups that read the store since the service started",
            ),
            log_witness_requests: registered(
                r,
                "log_witness_requests",
                "Checkpoints sent to the log's witnesses, by witness and outcome",
            ),
            registry,
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Counts and times one request under `labels` ([`request_labels`]).
    pub fn observe(&self, labels: (&'static str, &'static str), status: u16, took: Duration) {
        let (route, method) = labels;
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(took.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
    }
}

/// The route and method a request is counted under, taken before the request is handled.
pub fn request_labels(
    matched: Option<&MatchedPath>,
    method: &Method,
) -> (&'static str, &'static str) {
    let route = matched.map_or("unmatched", |m| route_label(m.as_str()));
    (route, method_label(method))
}

/// The route pattern as listed in [`ROUTES`] (every routed path is listed there).
fn route_label(matched: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|(_, path)| *path == matched)
        .map_or("unlisted", |(_, path)| path)
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
