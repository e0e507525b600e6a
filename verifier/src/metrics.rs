//! Prometheus metrics, served at `/metrics`: requests by route, method and status, latency histograms
//! by route, and the service's own counters. The registry lives in [`crate::AppState`], not in a global.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route pattern (`/01/{gtin}/21/{serial}`), never the raw path, so label values stay few.
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    pub verdict: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: HistogramFamily,
    pub rate_limited: Counter,
    pub shed: Counter,
    pub timeouts: Counter,
    /// Public verdicts by code (`genuine`, `forged`, ...).
    pub verdicts: Family<VerdictLabels, Counter>,
    /// Scans dropped because the scan queue was full.
    pub scans_dropped: Counter,
    pub store_codes: Gauge,
    pub store_events: Gauge,
    pub store_flagged: Gauge,
    pub store_bytes: Gauge,
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
        let verdicts = Family::<VerdictLabels, Counter>::default();
        registry.register(
            "verdicts",
            "Public verification answers by verdict",
            verdicts.clone(),
        );
        let scans_dropped = Counter::default();
        registry.register(
            "scans_dropped",
            "Public scans not recorded because the scan queue was full",
            scans_dropped.clone(),
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
        Metrics {
            registry,
            requests,
            latency,
            rate_limited,
            shed,
            timeouts,
            verdicts,
            scans_dropped,
            store_codes,
            store_events,
            store_flagged,
            store_bytes,
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

/// Middleware: counts and times every request under its route pattern.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let metrics = state.metrics();
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: response.status().as_u16(),
        })
        .inc();
    response
}
