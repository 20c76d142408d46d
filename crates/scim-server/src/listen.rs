//! The one serving loop: accepts TCP connections up to `max_connections`, serves HTTP/1.1
//! on each with hyper (header timeout and size limit), over TLS when a certificate is given,
//! tells handlers the peer's address (`ConnectInfo`), and on shutdown lets requests in flight
//! finish.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::Limits;
use crate::tls::Tls;

/// hyper's smallest read buffer: a request head larger than this is always refused.
const MIN_HEADER_BYTES: usize = 8192;

/// Serves `app` (the [`crate::router`], possibly with layers around it) on `listener`
/// under `limits`' connection limits until `shutdown` resolves; requests in flight then
/// finish. `scimd serve`, the demo and every test harness use it.
pub async fn serve<F>(listener: TcpListener, app: Router, limits: &Limits, shutdown: F) -> std::io::Result<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    run(listener, app, limits, None, shutdown).await
}

/// [`serve`] over TLS: each connection's handshake must finish within `header_timeout`.
pub async fn serve_tls<F>(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    tls: Arc<Tls>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    run(listener, app, limits, Some(tls.acceptor()?), shutdown).await
}

async fn run<F>(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    tls: Option<TlsAcceptor>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(MIN_HEADER_BYTES));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = limits.max_connections, "connection refused: too many open connections");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let (http, watcher, tls) = (http.clone(), graceful.watcher(), tls.clone());
        let handshake = limits.header_timeout;
        tokio::spawn(async move {
            let served = match tls {
                None => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Some(acceptor) => match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        watcher
                            .watch(http.serve_connection(TokioIo::new(stream), service))
                            .await
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        Ok(())
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        Ok(())
                    }
                },
            };
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
