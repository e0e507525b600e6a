//! The baseline for the load benchmark: the smallest axum JSON endpoint, on the same runtime
//! settings and allocator as `partseal serve`. `scripts/bench-verify.sh` measures it beside the
//! real verifier. It answers every path, so the benchmark can also send it the verifier's requests.

use axum::Json;
use axum::routing::get;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".into());
    let hello = || async { Json(serde_json::json!({"hello": "world"})) };
    let app = axum::Router::new()
        .route("/hello", get(hello))
        .fallback(hello);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
