//! The baseline for the load benchmark: the smallest axum JSON endpoint, on the same runtime
//! settings as `partseal serve`. `scripts/bench-verify.sh` measures it beside the real verifier.

use axum::Json;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".into());
    let app = axum::Router::new().route(
        "/hello",
        get(|| async { Json(serde_json::json!({"hello": "world"})) }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
