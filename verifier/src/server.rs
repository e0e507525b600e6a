//! The router and the server's life: limits, load shedding, timeouts, tracing, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::pages;
use crate::routes::{api, ops, public};
use crate::state::AppState;

/// Every (method, path) the router serves. `/openapi.json` must describe exactly these (its test
/// compares the two), and [`router`] refuses to build a route missing here, so an endpoint cannot
/// be added without its description.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/"),
    ("GET", "/01/{gtin}"),
    ("GET", "/01/{gtin}/21/{serial}"),
    ("GET", "/01/{gtin}/10/{lot}/21/{serial}"),
    ("GET", "/lookup"),
    ("POST", "/vehicle-check"),
    ("POST", "/reports"),
    ("POST", "/owner/report"),
    ("POST", "/owner/vehicle-check"),
    ("POST", "/signin"),
    ("POST", "/signout"),
    ("GET", "/shop"),
    ("POST", "/shop/scan"),
    ("POST", "/shop/mode"),
    ("GET", "/shop/vehicle"),
    ("GET", "/dashboard"),
    ("POST", "/dashboard/alerts"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/events"),
    ("POST", "/api/v1/events/batch"),
    ("POST", "/api/v1/lots/recall"),
    ("GET", "/api/v1/alerts"),
    ("GET", "/api/v1/reports"),
    ("GET", "/api/v1/codes/{gtin}/{serial}"),
    ("GET", "/api/v1/codes/{gtin}/{serial}/epcis"),
    ("GET", "/api/v1/vehicles/{vin}"),
    ("POST", "/api/v1/manifests"),
];

/// `path`, once checked to be listed in [`ROUTES`] with `method`. Panics otherwise: every test
/// builds the router, so a forgotten entry fails them all rather than shipping undocumented.
fn listed(method: &str, path: &'static str) -> &'static str {
    assert!(
        ROUTES.contains(&(method, path)),
        "{method} {path} is routed but not listed in server::ROUTES (nor, then, in /openapi.json)"
    );
    path
}

/// Every route of the service, with its middleware.
pub fn router(state: AppState) -> Router {
    let ops = Router::new()
        .route(listed("GET", "/healthz"), get(ops::healthz))
        .route(listed("GET", "/readyz"), get(ops::readyz))
        .route(listed("GET", "/metrics"), get(ops::metrics))
        .route(listed("GET", "/openapi.json"), get(crate::openapi::serve));

    // The QR code's own path is the public endpoint, with and without a lot.
    let public = Router::new()
        .route(listed("GET", "/"), get(pages::home::landing))
        // A Digital Link without a serial names a product, not a part.
        .route(listed("GET", "/01/{gtin}"), get(pages::home::product))
        .route(listed("GET", "/01/{gtin}/21/{serial}"), get(public::scan))
        .route(
            listed("GET", "/01/{gtin}/10/{lot}/21/{serial}"),
            get(public::scan),
        )
        .route(listed("GET", "/lookup"), get(public::lookup))
        .route(
            listed("POST", "/vehicle-check"),
            post(public::vehicle_check),
        )
        .route(listed("POST", "/reports"), post(public::report))
        // The owner page's plain HTML forms, answered with pages.
        .route(listed("POST", "/owner/report"), post(pages::owner::report))
        .route(
            listed("POST", "/owner/vehicle-check"),
            post(pages::owner::vehicle_check),
        )
        .layer(middleware::from_fn(pages::storage_fault_page))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::rate_limit::limit_public,
        ));

    // The signed-in pages: the shop's station and the maker's dashboard, over server-side
    // sessions. Not under the public rate limit: a station scans faster than any phone.
    let pages = Router::new()
        .route(listed("POST", "/signin"), post(pages::shop::sign_in))
        .route(listed("POST", "/signout"), post(pages::shop::sign_out))
        .route(listed("GET", "/shop"), get(pages::shop::station))
        .route(listed("POST", "/shop/scan"), post(pages::shop::scan))
        .route(listed("POST", "/shop/mode"), post(pages::shop::mode))
        .route(listed("GET", "/shop/vehicle"), get(pages::shop::vehicle))
        .route(
            listed("GET", "/dashboard"),
            get(pages::dashboard::dashboard),
        )
        .route(
            listed("POST", "/dashboard/alerts"),
            post(pages::dashboard::alert_action),
        )
        .layer(middleware::from_fn(pages::storage_fault_page))
        .layer(Extension(Arc::new(pages::Sessions::new(
            state.registry().clone(),
        ))));

    let api = Router::new()
        .route(listed("GET", "/api/v1/me"), get(api::me))
        .route(listed("POST", "/api/v1/events"), post(api::record_event))
        .route(
            listed("POST", "/api/v1/events/batch"),
            // A full batch of scans is larger than other requests.
            post(api::record_batch).layer(DefaultBodyLimit::max(api::MAX_BATCH_BYTES)),
        )
        .route(listed("POST", "/api/v1/lots/recall"), post(api::recall_lot))
        .route(listed("GET", "/api/v1/alerts"), get(api::alerts))
        .route(listed("GET", "/api/v1/reports"), get(api::reports))
        .route(
            listed("GET", "/api/v1/codes/{gtin}/{serial}"),
            get(api::code_history),
        )
        .route(
            listed("GET", "/api/v1/codes/{gtin}/{serial}/epcis"),
            get(api::code_epcis),
        )
        .route(listed("GET", "/api/v1/vehicles/{vin}"), get(api::vehicle));

    // Everything but manifest uploads answers within the request timeout; an upload of a million
    // lines streams for longer and is bounded by its own size limit instead.
    let timed = Router::new()
        .merge(ops)
        .merge(public)
        .merge(pages)
        .merge(api)
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(DefaultBodyLimit::max(state.config().body_limit_bytes));
    let streaming = Router::new().route(
        listed("POST", "/api/v1/manifests"),
        post(api::upload_manifest).layer(DefaultBodyLimit::disable()),
    );

    Router::new()
        .merge(timed)
        .merge(streaming)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Layers run outside-in from the last added: shed first, then measure, then trace.
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // The route pattern, not the path: codes and tokens stay out of span names.
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                tracing::info_span!("request", method = %request.method(), route)
            }),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), shed_load))
        // Outermost, so even load shedding's 503 reaches a browser as a page.
        .layer(middleware::from_fn(pages::errors::html_errors))
        .with_state(state)
}

/// Serves on an already-bound listener until `shutdown` resolves, then stops accepting, lets requests
/// in flight finish, flushes the store, and returns: an error if serving or that flush failed (so
/// the process can exit non-zero).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    let pruner = state.limiter().is_some().then(|| {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                if let Some(limiter) = state.limiter() {
                    limiter.prune();
                }
            }
        })
    });
    let draining = state.clone();
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        draining.start_draining();
        tracing::info!("shutting down: no new connections, finishing requests in flight");
    })
    .await;
    if let Some(task) = pruner {
        task.abort();
    }
    // Every acknowledged write is durable already; writing the counted scans and flushing once more
    // means a clean shutdown loses none of them either.
    let closing = state.clone();
    // A failed flush fails the whole run: the caller exits non-zero, so a supervisor (or the
    // operator) sees that the last scans counted, at least, were not written.
    let flushed = match tokio::task::spawn_blocking(move || {
        closing.scans().close();
        closing.registry().flush()
    })
    .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(why) = flushed {
        tracing::error!(error = %why, "flushing the store at shutdown failed: writes not yet written are lost");
        result?;
        return Err(std::io::Error::other(format!(
            "flushing the store at shutdown failed: {why}"
        )));
    }
    result
}

/// A future that resolves on SIGTERM or Ctrl-C, for [`serve`]'s `shutdown`.
///
/// The handlers are installed when this is called, not when the future is first polled, so a
/// signal that arrives as soon as the service says it is serving still shuts it down gracefully.
/// Call it inside the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let streams = signal(SignalKind::terminate())
            .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)));
        async move {
            match streams {
                Ok((mut term, mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = interrupt.recv() => {},
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM or SIGINT");
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Refuses work beyond `max_in_flight` at once with 503, rather than queueing until everything is slow.
async fn shed_load(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Ok(_permit) = state.in_flight().try_acquire() else {
        state.metrics().shed.inc();
        return ApiError::overloaded().into_response();
    };
    next.run(request).await
}

/// Ends a request that runs past the configured timeout with a problem response.
async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(state.config().request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            state.metrics().timeouts.inc();
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the request took too long; try again",
            )
            .retry_after(1)
            .into_response()
        }
    }
}

async fn not_found(uri: axum::http::Uri) -> Response {
    if let Some(redirect) = pages::errors::without_trailing_slash(&uri) {
        return redirect;
    }
    ApiError::not_found("no such endpoint").into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}
