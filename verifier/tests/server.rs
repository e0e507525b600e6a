//! The service frame over real HTTP on a port-0 listener: health, readiness, problem responses,
//! metrics and graceful shutdown.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use testkit::service::start;
use verifier::config::Overrides;

#[tokio::test]
async fn health_and_readiness_answer() {
    let server = start(Overrides::default()).await;
    let health: serde_json::Value = reqwest::get(server.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_get_problem_json() {
    let server = start(Overrides::default()).await;
    let response = reqwest::get(server.url("/no/such/thing")).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["status"], 404);
    assert_eq!(body["type"], "about:blank");

    let response = reqwest::Client::new()
        .post(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
    server.shutdown().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern() {
    let server = start(Overrides::default()).await;
    for _ in 0..3 {
        reqwest::get(server.url("/healthz")).await.unwrap();
    }
    reqwest::get(server.url("/nothing-here-1")).await.unwrap();
    reqwest::get(server.url("/nothing-here-2")).await.unwrap();
    let text = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"partseal_http_requests_total{route="/healthz",method="GET",status="200"} 3"#
        ),
        "{text}"
    );
    // Unmatched paths share one label value, so scanners of random URLs cannot blow up the series.
    assert!(
        text.contains(
            r#"partseal_http_requests_total{route="unmatched",method="GET",status="404"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains("partseal_http_request_duration_seconds_bucket"),
        "{text}"
    );
    // The store's figures, and the record cache's (empty: nothing was looked up).
    assert!(text.contains("partseal_store_codes 0"), "{text}");
    assert!(text.contains("partseal_record_cache_records 0"), "{text}");
    assert!(text.contains("partseal_record_cache_misses 0"), "{text}");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_the_server_and_frees_the_port() {
    let server = start(Overrides::default()).await;
    let addr = server.addr;
    reqwest::get(server.url("/healthz")).await.unwrap();
    server.shutdown().await;
    assert!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .is_err()
    );
}
