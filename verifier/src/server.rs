//! The router and the server's life: limits, load shedding, timeouts, tracing, graceful shutdown.
//!
//! Clients that are slow or gone are bounded at each stage, so they cannot hold what others need:
//!
//! | stage | setting (default) | what happens |
//! |---|---|---|
//! | open connections per address (an IPv6 /64 counts as one) | `max_connections_per_client` (256), `max_connections_per_proxy` (none) | 503 `too_many_connections` with `Retry-After`, closed |
//! | first byte of a request to the end of its headers | `header_read_timeout_secs` (10) | connection closed |
//! | request line and headers | `max_header_bytes` (16 KiB) | 431, closed |
//! | no request being handled, nothing moving | `idle_timeout_secs` (60) | connection closed |
//! | wait for the next piece of a request body | `body_read_timeout_secs` (10) | 408 `request_timeout`, in-flight slot freed |
//! | a whole request, body included (not manifest uploads) | `request_timeout_secs` (10) | 408 `request_timeout` if the body was still arriving, else 503 `timeout` |
//! | requests in flight | `max_in_flight` (1024), half of it for requests with a body | 503 `overloaded` |
//!
//! The connection stages live in `connection.rs`, the request stages here.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, options, post};
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::client_ip::client_ip;
use crate::error::ApiError;
use crate::metrics;
use crate::pages;
use crate::route_list::ROUTES;
use crate::routes::{api, assets, epcis, log, ops, public};
use crate::state::AppState;

/// `path`, once checked to be listed in [`ROUTES`] with `method`. Panics otherwise: every test
/// builds the router, so a forgotten entry fails them all rather than shipping undocumented.
fn listed(method: &str, path: &'static str) -> &'static str {
    assert!(
        ROUTES.contains(&(method, path)),
        "{method} {path} is routed but not listed in route_list::ROUTES (nor, then, in /openapi.json)"
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
        .layer(middleware::from_fn_with_state(state.clone(), limit_public));

    // One set of sessions for the signed-in pages and the dashboard's streamed upload.
    let sessions = Arc::new(pages::Sessions::new(state.registry().clone()));
    // The signed-in pages: the shop's station and the maker's dashboard, over server-side
    // sessions. Not under the public rate limit: a station scans faster than any phone.
    let pages = Router::new()
        .route(listed("POST", "/signin"), post(pages::shop::sign_in))
        .route(listed("POST", "/signout"), post(pages::shop::sign_out))
        .route(listed("GET", "/shop"), get(pages::shop::station))
        .route(listed("POST", "/shop/scan"), post(pages::shop::scan))
        .route(listed("POST", "/shop/mode"), post(pages::shop::mode))
        .route(listed("GET", "/shop/vehicle"), get(pages::shop::vehicle))
        .route(listed("POST", "/shop/decide"), post(pages::shop::decide))
        .route(listed("POST", "/shop/undo"), post(pages::shop::undo))
        .route(
            listed("GET", "/dashboard"),
            get(pages::dashboard::dashboard),
        )
        .route(
            listed("POST", "/dashboard/alerts"),
            post(pages::dashboard::alert_action),
        )
        .route(
            listed("GET", "/dashboard/codes/{gtin}/{serial}"),
            get(pages::case::case),
        )
        .route(listed("GET", "/dashboard/find"), get(pages::case::find))
        .route(
            listed("POST", "/dashboard/recall"),
            post(pages::case::recall),
        )
        .route(listed("GET", "/dashboard/lots"), get(pages::lots::lots))
        // The maker's packing records: the lookup, one record, its label.
        .route(
            listed("GET", "/dashboard/cartons"),
            get(pages::cartons::lookup),
        )
        .route(
            listed("GET", "/dashboard/cartons/{sscc}"),
            get(pages::cartons::record),
        )
        .route(
            listed("GET", "/dashboard/cartons/{sscc}/label.pdf"),
            get(pages::cartons::label_pdf),
        )
        .route(
            listed("GET", "/dashboard/cartons/{sscc}/label.png"),
            get(pages::cartons::label_png),
        )
        .route(
            listed("GET", "/dashboard/cartons/{sscc}/label.svg"),
            get(pages::cartons::label_svg),
        )
        .layer(middleware::from_fn(pages::storage_fault_page))
        .layer(Extension(sessions.clone()));

    let api = Router::new()
        .route(listed("GET", "/api/v1/me"), get(api::me))
        .route(
            listed("POST", "/api/v1/events"),
            // A full carton packed by its labels' links is as large as a full batch.
            post(api::record_event).layer(DefaultBodyLimit::max(api::MAX_BATCH_BYTES)),
        )
        .route(
            listed("POST", "/api/v1/events/batch"),
            // A full batch of scans is larger than other requests.
            post(api::record_batch).layer(DefaultBodyLimit::max(api::MAX_BATCH_BYTES)),
        )
        .route(listed("POST", "/api/v1/lots/recall"), post(api::recall_lot))
        .route(listed("GET", "/api/v1/alerts"), get(api::alerts))
        .route(listed("GET", "/api/v1/reports"), get(api::reports))
        .route(listed("GET", "/api/v1/notices"), get(api::notices))
        .route(
            listed("GET", "/api/v1/codes/{gtin}/{serial}"),
            get(api::code_history),
        )
        .route(
            listed("GET", "/api/v1/codes/{gtin}/{serial}/epcis"),
            get(api::code_epcis),
        )
        .route(listed("GET", "/api/v1/vehicles/{vin}"), get(api::vehicle));

    // EPCIS 2.0 capture: a document up to its own size limit, answered as GS1's binding says
    // (413 `CaptureLimitExceededException`) rather than by the general body limit.
    epcis::compile_schema();
    let epcis_routes = Router::new()
        .route(
            listed("POST", "/epcis/capture"),
            post(epcis::capture).layer(DefaultBodyLimit::disable()),
        )
        .route(
            listed("OPTIONS", "/epcis/capture"),
            options(epcis::capture_options),
        )
        .route(
            listed("GET", "/epcis/capture/{id}"),
            get(epcis::capture_job),
        );

    // The transparency log, for monitors, witnesses and receipts' checkers: read-only and cheap,
    // so not under the public rate limit (a monitor fetches many tiles).
    let log_routes = Router::new()
        .route(listed("GET", "/log/checkpoint"), get(log::checkpoint))
        .route(listed("GET", "/log/key"), get(log::key))
        .route(listed("GET", "/log/tile/{*path}"), get(log::tile));

    // The pages' static files: compiled in, cacheable for a year, not rate-limited (a station
    // fetches each once).
    let asset_routes = Router::new().route(listed("GET", "/assets/{name}"), get(assets::serve));

    // Everything but manifest uploads answers within the request timeout; an upload of a million
    // lines streams for longer and is bounded by its own size limit instead.
    let timed = Router::new()
        .merge(ops)
        .merge(log_routes)
        .merge(public)
        .merge(pages)
        .merge(api)
        .merge(epcis_routes)
        .merge(asset_routes)
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(DefaultBodyLimit::max(state.config().body_limit_bytes));
    let streaming = Router::new()
        .route(
            listed("POST", "/api/v1/manifests"),
            post(api::upload_manifest).layer(DefaultBodyLimit::disable()),
        )
        .route(
            listed("POST", "/dashboard/manifests"),
            post(pages::upload::upload).layer(DefaultBodyLimit::disable()),
        )
        .layer(Extension(sessions));

    Router::new()
        .merge(timed)
        .merge(streaming)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Layers run outside-in from the last added: shed first, then measure, then trace, then
        // watch the body arrive.
        .layer(middleware::from_fn_with_state(state.clone(), body_deadline))
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
        .layer(middleware::from_fn_with_state(state.clone(), track))
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
    if let Err(e) = state.start_log_sequencer().await {
        tracing::error!(error = %e.detail(), "cannot start the transparency log's sequencer");
    }
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
    crate::connection::serve_connections(listener, app, state.clone(), async move {
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
        closing.close_log_sequencer();
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
        return Err(std::io::Error::other(format!(
            "flushing the store at shutdown failed: {why}"
        )));
    }
    Ok(())
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

/// Refuses a client past its public rate limit with 429 and `Retry-After`.
async fn limit_public(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(limiter) = state.limiter() {
        let client = client_ip(peer, request.headers(), &state.config().trusted_proxies);
        if let Err(wait) = limiter.check(client) {
            state.metrics().rate_limited.inc();
            return ApiError::too_many_requests(wait).into_response();
        }
    }
    next.run(request).await
}

/// Counts and times every request under its route pattern.
async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let labels =
        metrics::request_labels(request.extensions().get::<MatchedPath>(), request.method());
    let response = next.run(request).await;
    state
        .metrics()
        .observe(labels, response.status().as_u16(), started.elapsed());
    response
}

/// Refuses work beyond `max_in_flight` at once with 503, rather than queueing until everything is
/// slow. Requests with a body may hold only half of the slots: a body arrives at its client's
/// pace, and slow ones must not leave verifications without a slot.
async fn shed_load(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let body_permit = if request.body().is_end_stream() {
        None
    } else {
        let Ok(permit) = state.with_body().try_acquire() else {
            state.metrics().shed.inc();
            return ApiError::overloaded().into_response();
        };
        Some(permit)
    };
    let Ok(_permit) = state.in_flight().try_acquire() else {
        state.metrics().shed.inc();
        return ApiError::overloaded().into_response();
    };
    let response = next.run(request).await;
    drop(body_permit);
    response
}

/// Ends a request that runs past the configured timeout with a problem response: 408 if the
/// client was still sending its body, 503 if the time went on the service's side.
async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let body = request.extensions().get::<Arc<BodyProgress>>().cloned();
    match tokio::time::timeout(state.config().request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) if body.is_some_and(|b| !b.finished.load(Ordering::Relaxed)) => {
            state.metrics().body_timeouts.inc();
            request_timeout()
        }
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

/// How a request's body is arriving, shared by [`body_deadline`], [`time_limit`] and the body.
#[derive(Default)]
struct BodyProgress {
    finished: AtomicBool,
    timed_out: AtomicBool,
}

/// Gives a request body `body_read_timeout` for each of its pieces. A client that stops sending
/// is answered 408 `request_timeout` as soon as the handler gives up on the body, which frees the
/// request's in-flight slot, instead of holding it until the request timeout. Between pieces, not
/// in total, so a large manifest upload streams for as long as it keeps moving. Requests without
/// a body (every verification) pass untouched.
async fn body_deadline(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let progress = Arc::new(BodyProgress::default());
    request.extensions_mut().insert(progress.clone());
    let request = request.map(|body| {
        Body::new(DeadlineBody {
            timeout: state.config().body_read_timeout,
            next_piece: Box::pin(tokio::time::sleep(state.config().body_read_timeout)),
            progress: progress.clone(),
            body,
        })
    });
    let response = next.run(request).await;
    if progress.timed_out.load(Ordering::Relaxed) {
        // Whatever the handler made of the failed body (a bad manifest, bad JSON), the cause is
        // the client's silence.
        state.metrics().body_timeouts.inc();
        return request_timeout();
    }
    response
}

/// 408 with `Connection: close`: the rest of the body will not be read, so the connection cannot
/// carry another request.
fn request_timeout() -> Response {
    let mut response = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the request body stopped arriving; send the request again",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request body that fails when its next piece is more than `timeout` in coming.
struct DeadlineBody {
    body: Body,
    timeout: Duration,
    next_piece: Pin<Box<tokio::time::Sleep>>,
    progress: Arc<BodyProgress>,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(frame)) => {
                let deadline = tokio::time::Instant::now() + this.timeout;
                this.next_piece.as_mut().reset(deadline);
                if this.body.is_end_stream() {
                    this.progress.finished.store(true, Ordering::Relaxed);
                }
                Poll::Ready(Some(frame))
            }
            Poll::Ready(None) => {
                this.progress.finished.store(true, Ordering::Relaxed);
                Poll::Ready(None)
            }
            Poll::Pending => {
                if this.next_piece.as_mut().poll(cx).is_ready() {
                    this.progress.timed_out.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(axum::Error::new(
                        "the request body stopped arriving",
                    ))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
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
