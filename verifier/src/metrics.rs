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
use prometheus_client::registry::Registry;

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
}

fn latency_histogram() -> Histogram {
    // 50 µs to about 1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("partseal");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let rate_limited = Counter::default();
        let shed = Counter::default();
        let timeouts = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "rate_limited",
            "Public requests refused by the rate limit",
            rate_limited.clone(),
        );
        registry.register(
            "load_shed",
            "Requests refused because too many were in flight",
            shed.clone(),
        );
        registry.register(
            "timeouts",
            "Requests that ran out of time",
            timeouts.clone(),
        );
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let body_timeouts = counter(
            &mut registry,
            "body_timeouts",
            "Requests answered 408 because their body stopped arriving",
        );
        let connections_refused = counter(
            &mut registry,
            "connections_refused",
            "Connections refused because their address had too many open",
        );
        let header_timeouts = counter(
            &mut registry,
            "header_timeouts",
            "Connections closed because a request's headers took too long",
        );
        let idle_timeouts = counter(
            &mut registry,
            "idle_timeouts",
            "Connections closed after sitting idle",
        );
        let connections_open = Gauge::default();
        registry.register(
            "connections_open",
            "Client connections open now",
            connections_open.clone(),
        );
        let verdicts = Family::<VerdictLabels, Counter>::default();
        registry.register(
            "verdicts",
            "Public verification answers by verdict",
            verdicts.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let store_codes = gauge(&mut registry, "store_codes", "Registered codes");
        let store_events = gauge(
            &mut registry,
            "store_events",
            "Custody events after registration",
        );
        let store_flagged = gauge(&mut registry, "store_flagged_codes", "Codes with an alert");
        let store_bytes = gauge(&mut registry, "store_bytes", "Bytes the store uses on disk");
        let record_cache_records = gauge(
            &mut registry,
            "record_cache_records",
            "Code records kept in memory in front of the store",
        );
        let record_cache_bytes = gauge(
            &mut registry,
            "record_cache_bytes",
            "Memory those records take",
        );
        let record_cache_hits = gauge(
            &mut registry,
            "record_cache_hits",
            "Code lookups answered from memory since the service started",
        );
        let record_cache_misses = gauge(
            &mut registry,
            "record_cache_misses",
            "Code lookups that read the store since the service started",
        );
        Metrics {
            registry,
            requests,
            latency,
            rate_limited,
            shed,
            timeouts,
            body_timeouts,
            connections_open,
            connections_refused,
            header_timeouts,
            idle_timeouts,
            verdicts,
            store_codes,
            store_events,
            store_flagged,
            store_bytes,
            record_cache_records,
            record_cache_bytes,
            record_cache_hits,
            record_cache_misses,
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
