//! Connections: the accept loop behind [`crate::serve`], a cap on open connections per client
//! address, and the timeouts that close connections a client abandoned or stalls on purpose.
//!
//! Without them a few hundred connections that never finish their headers (slowloris) hold
//! sockets and memory for as long as their clients like. Each connection here is watched:
//!
//! - from the opening of the connection, or the first byte of a later request, to the end of the
//!   request's headers: `header_read_timeout`;
//! - with no request being handled and no bytes moving (an idle keep-alive connection, or a client
//!   that stopped reading its answer): `idle_timeout`;
//! - a request body, piece by piece: `body_read_timeout`, in [`crate::server`]'s `body_deadline`,
//!   which answers 408 rather than closing, since a handler is waiting.
//!
//! The header and idle clocks are kept here rather than in hyper's `header_read_timeout`: in the
//! hyper 1.x releases since 1.4 its clock starts whenever hyper waits for a request, so it also
//! ends every keep-alive connection after the header timeout (before that release it did not
//! start until a first byte arrived). A proxy in front keeps upstream connections open for
//! reuse (nginx: 60 s) and a request it sends on one the service has just closed fails, so the
//! two clocks differ here, and `verifier/tests/slow_clients.rs` pins down what each does.
//!
//! One case gets the idle clock where the header clock would be right: a partial head that
//! arrived together with the request before it (pipelined) sits in hyper's buffer, unseen here,
//! so the connection is closed after `idle_timeout` rather than `header_read_timeout`. The
//! per-address cap bounds how many such connections one client holds.
//!
//! Beyond `max_connections_per_client` open connections from one address (the peer address:
//! `X-Forwarded-For` is not read before a connection is accepted; an IPv6 address counts as its
//! /64), a new one is answered 503 with `Retry-After` and closed. Trusted proxies carry many clients and get their own cap.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use ipnet::IpNet;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::Config;
use crate::state::AppState;

/// Refused connections being answered at once; beyond it one is closed without an answer, so a
/// flood of connections over the cap costs no more than the cap.
const MAX_REFUSALS_ANSWERING: usize = 256;
/// How long a refused connection is kept to read what its client already sent: closing a socket
/// with unread data resets it, and the client would lose the 503 it was sent.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// The connection settings of a [`Config`].
#[derive(Clone, Debug)]
struct Limits {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    per_client: usize,
    per_proxy: usize,
    trusted_proxies: Vec<IpNet>,
}

impl Limits {
    fn new(config: &Config) -> Self {
        Limits {
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            per_client: config.max_connections_per_client,
            per_proxy: config.max_connections_per_proxy,
            trusted_proxies: config.trusted_proxies.clone(),
        }
    }

    /// The cap for a peer; 0 is none.
    fn cap(&self, ip: &IpAddr) -> usize {
        if self.trusted_proxies.iter().any(|net| net.contains(ip)) {
            self.per_proxy
        } else {
            self.per_client
        }
    }
}

/// Accepts connections until `shutdown` resolves, then stops accepting (the listener is closed),
/// lets the requests in flight finish, closes idle connections, and returns once all are closed.
pub(crate) async fn serve_connections(
    listener: TcpListener,
    app: Router,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) {
    let limits = Arc::new(Limits::new(state.config()));
    let counts = Arc::new(ConnectionCounts::default());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.max_header_size(state.config().max_header_bytes)
        // Off: see the module documentation; the watchdog below keeps the clocks.
        .header_read_timeout(None);
    let http = Arc::new(http);
    // Connection tasks watch `stop` to begin a graceful shutdown, and each holds a `done`
    // receiver, so `done_tx.closed()` resolves when the last connection has ended.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let ip = peer.ip().to_canonical();
        let Some(slot) = counts.admit(counted_as(ip), limits.cap(&ip), &state) else {
            state.metrics().connections_refused.inc();
            tracing::debug!(%ip, "too many connections from one address; refused");
            refuse(stream, &counts);
            continue;
        };
        let task = Connection {
            app: app.clone(),
            http: http.clone(),
            limits: limits.clone(),
            state: state.clone(),
            stop: stop_rx.clone(),
            _slot: slot,
            _done: done_rx.clone(),
        };
        tokio::spawn(task.run(stream, peer));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_rx);
    done_tx.closed().await;
}

/// The address a connection is counted under: an IPv4 address, or an IPv6 address's /64, since
/// one host is commonly given a whole /64 and could otherwise use a fresh address per connection.
fn counted_as(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !(u128::from(u64::MAX))).into()),
        v4 => v4,
    }
}

/// Waits a moment after an accept error that is not about one connection (such as running out
/// of file descriptors), rather than spinning on it.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The answer to a connection over its address's cap: a problem in the service's format.
fn refusal() -> &'static [u8] {
    static TEXT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "code": "too_many_connections",
            "detail": "too many open connections from your address; close some and try again",
        })
        .to_string();
        format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
             retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    })
}

/// Answers a refused connection 503 and closes it, reading for a moment what its client had
/// sent already so that the close is not a reset that loses the answer.
fn refuse(mut stream: TcpStream, counts: &Arc<ConnectionCounts>) {
    if counts.refusing.fetch_add(1, Ordering::Relaxed) >= MAX_REFUSALS_ANSWERING {
        counts.refusing.fetch_sub(1, Ordering::Relaxed);
        return;
    }
    let counts = counts.clone();
    tokio::spawn(async move {
        let _ = tokio::time::timeout(REFUSAL_LINGER, async {
            stream.write_all(refusal()).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 4096];
            let mut read = 0;
            while read < 64 * 1024 {
                match stream.read(&mut sink).await? {
                    0 => break,
                    n => read += n,
                }
            }
            Ok::<_, io::Error>(())
        })
        .await;
        counts.refusing.fetch_sub(1, Ordering::Relaxed);
    });
}

/// Open connections per client address.
#[derive(Default)]
struct ConnectionCounts {
    open: Mutex<HashMap<IpAddr, usize>>,
    refusing: AtomicUsize,
}

impl ConnectionCounts {
    /// A slot for one more connection from `ip`, or `None` when it has `cap` open (0: no cap).
    fn admit(self: &Arc<Self>, ip: IpAddr, cap: usize, state: &AppState) -> Option<Slot> {
        if cap > 0 {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let n = open.entry(ip).or_insert(0);
            if *n >= cap {
                return None;
            }
            *n += 1;
        }
        state.metrics().connections_open.inc();
        Some(Slot {
            counts: self.clone(),
            state: state.clone(),
            ip: (cap > 0).then_some(ip),
        })
    }
}

/// One open connection, counted until it is dropped when the connection ends.
struct Slot {
    counts: Arc<ConnectionCounts>,
    state: AppState,
    /// The address counted against, if its cap counts.
    ip: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.state.metrics().connections_open.dec();
        let Some(ip) = self.ip else { return };
        let mut open = self
            .counts
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&ip);
            }
        }
    }
}

/// Everything one connection's task holds.
struct Connection {
    app: Router,
    http: Arc<hyper::server::conn::http1::Builder>,
    limits: Arc<Limits>,
    state: AppState,
    stop: watch::Receiver<bool>,
    _slot: Slot,
    _done: watch::Receiver<()>,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, peer: SocketAddr) {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            stream,
            activity: activity.clone(),
        });
        let app = self.app.clone();
        let watched = activity.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            let handling = Handling::begin(watched.clone());
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let response = app.oneshot(request.map(Body::new)).await;
                drop(handling);
                response
            }
        });
        let mut conn = std::pin::pin!(self.http.serve_connection(io, service));
        let mut stopping = false;
        loop {
            let deadline = activity.deadline(&self.limits);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    break;
                }
                _ = self.stop.wait_for(|stop| *stop), if !stopping => {
                    // Finishes the request in flight, if any, then closes.
                    conn.as_mut().graceful_shutdown();
                    stopping = true;
                }
                () = activity.changed.notified() => {}
                () = sleep_until(deadline) => {
                    let metrics = self.state.metrics();
                    match activity.expired(&self.limits) {
                        Some(Expired::Header) => metrics.header_timeouts.inc(),
                        Some(Expired::Idle) => metrics.idle_timeouts.inc(),
                        None => continue,
                    };
                    tracing::debug!(%peer, "closing a stalled connection");
                    break;
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        // A request is being handled: its own timeouts apply, and `changed` wakes the watchdog
        // when it ends.
        None => std::future::pending().await,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Expired {
    Header,
    Idle,
}

/// What a connection is doing, as its reads, writes and requests report it. Times are
/// milliseconds after `opened`.
struct Activity {
    opened: Instant,
    /// The last byte read or written, or the end of the last request's handling.
    last_io: AtomicU64,
    /// One more than when the first byte of a request's head arrived; 0 while none is arriving.
    head_since: AtomicU64,
    /// Requests being handled (HTTP/1.1 answers one at a time, so 0 or 1).
    handling: AtomicU32,
    /// Wakes the watchdog when its deadline moves earlier: a head begins, a request ends.
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            last_io: AtomicU64::new(0),
            // A new connection's first request is due at once: one that sends nothing holds as
            // much as one that sends half a head.
            head_since: AtomicU64::new(1),
            handling: AtomicU32::new(0),
            changed: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, millis: u64) -> Instant {
        self.opened + Duration::from_millis(millis)
    }

    fn read(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        let now = self.now();
        self.last_io.store(now, Ordering::Relaxed);
        // Bytes while no request is being handled begin the next request's head (bytes while one
        // is are its body).
        if self.handling.load(Ordering::Relaxed) == 0
            && self.head_since.load(Ordering::Relaxed) == 0
        {
            self.head_since.store(now + 1, Ordering::Relaxed);
            self.changed.notify_one();
        }
    }

    fn wrote(&self, bytes: usize) {
        if bytes > 0 {
            self.last_io.store(self.now(), Ordering::Relaxed);
        }
    }

    /// When the connection is to be closed if nothing happens first; `None` while a request is
    /// being handled.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        if self.handling.load(Ordering::Relaxed) > 0 {
            return None;
        }
        match self.head_since.load(Ordering::Relaxed) {
            0 => Some(self.at(self.last_io.load(Ordering::Relaxed)) + limits.idle_timeout),
            since => Some(self.at(since - 1) + limits.header_read_timeout),
        }
    }

    fn expired(&self, limits: &Limits) -> Option<Expired> {
        let deadline = self.deadline(limits)?;
        if Instant::now() < deadline {
            return None;
        }
        Some(match self.head_since.load(Ordering::Relaxed) {
            0 => Expired::Idle,
            _ => Expired::Header,
        })
    }
}

/// A request being handled on a connection, from its complete head to its handler's answer (or
/// to its being dropped with the connection).
struct Handling(Arc<Activity>);

impl Handling {
    fn begin(activity: Arc<Activity>) -> Self {
        activity.handling.fetch_add(1, Ordering::Relaxed);
        activity.head_since.store(0, Ordering::Relaxed);
        Handling(activity)
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.last_io.store(activity.now(), Ordering::Relaxed);
        activity.handling.fetch_sub(1, Ordering::Relaxed);
        activity.changed.notify_one();
    }
}

/// A TCP stream that reports its reads and writes to its connection's [`Activity`].
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            this.activity.read(buf.filled().len() - before);
        }
        result
    }
}

impl Watched {
    /// A write's result, its bytes counted as activity.
    fn wrote(&self, result: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = result {
            self.activity.wrote(n);
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.wrote(result)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.wrote(result)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            per_client: 2,
            per_proxy: 0,
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
        }
    }

    #[test]
    fn the_clock_that_applies_follows_what_the_connection_is_doing() {
        let limits = limits();
        let activity = Arc::new(Activity::new());
        // Waiting for a first request: the header clock, from the opening.
        let header = activity.deadline(&limits).unwrap();
        assert_eq!(header, activity.opened + limits.header_read_timeout);
        // Bytes of the head do not restart it.
        activity.read(100);
        assert_eq!(activity.deadline(&limits), Some(header));
        // While a request is handled, neither.
        let handling = Handling::begin(activity.clone());
        activity.read(10);
        assert_eq!(activity.deadline(&limits), None);
        assert_eq!(activity.expired(&limits), None);
        drop(handling);
        // Afterwards, the idle clock, from the end of the handling.
        let idle = activity.deadline(&limits).unwrap();
        assert!(idle > header && idle >= activity.opened + limits.idle_timeout);
        assert_eq!(activity.expired(&limits), None);
        // The next request's first byte: the header clock again, from that byte.
        activity.read(1);
        let next = activity.deadline(&limits).unwrap();
        assert!(next < idle && next >= header);
    }

    #[test]
    fn ipv6_addresses_are_counted_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(counted_as(a), counted_as(b));
        assert_eq!(counted_as(a), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_ne!(counted_as(a), counted_as(other));
        let v4: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(counted_as(v4), v4);
    }

    #[test]
    fn trusted_proxies_get_their_own_cap() {
        let limits = limits();
        assert_eq!(limits.cap(&"10.1.2.3".parse().unwrap()), 0);
        assert_eq!(limits.cap(&"203.0.113.9".parse().unwrap()), 2);
    }
}
