//! `scimd serve`: bind, bootstrap an empty database, serve until SIGTERM/SIGINT.

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::cli::{ServeArgs, Settings, create_tenant};
use crate::config;

/// Logs to stderr, filtered by `SCIMD_LOG` (or `RUST_LOG`), else at `default`.
pub(crate) fn init_tracing(format: &str, default: &str) {
    let filter = EnvFilter::try_from_env("SCIMD_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if format.eq_ignore_ascii_case("json") {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
}

pub async fn serve(settings: Settings, args: ServeArgs) -> anyhow::Result<()> {
    let log_format = args
        .log_format
        .clone()
        .or_else(|| settings.file.log_format.clone())
        .unwrap_or_else(|| "text".into());
    init_tracing(&log_format, "info");
    let listen = args
        .listen
        .clone()
        .or_else(|| settings.file.listen.clone())
        .unwrap_or_else(|| config::DEFAULT_LISTEN.to_string());
    let durability = config::durability(args.durability.as_deref().or(settings.file.durability.as_deref()))?;
    let opts = scim_store::StoreOptions {
        durability,
        migrate: !args.no_migrate,
        lean: false,
    };
    let tls = tls(&settings, &args)?;
    let store = settings.open_store(opts).await?;

    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{local}"));
    let mut server_config = scim_server::ServerConfig::new(&public_url);
    if let Some(n) = settings.file.max_body_bytes {
        server_config.limits.max_body_bytes = n;
    }
    config::limits(&mut server_config.limits, &settings.file.limits, &args)?;
    if let Some(r) = &args.event_retention {
        server_config.event_retention = config::retention(r)?;
    }
    server_config.webhook_allow_loopback_http = args.webhook_allow_loopback_http;
    config::request_log(&mut server_config.request_log, &args)?;

    let signals = StopSignals::install()?;
    // Only with TLS is there something to reload; without, SIGHUP keeps its default.
    let hangup = if tls.is_some() { Some(hangup()?) } else { None };
    if !args.no_bootstrap && store.tenants().await?.is_empty() {
        let out = create_tenant(&store, "default", &public_url).await?;
        crate::say!("Created tenant \"default\" on an empty database.");
        crate::say!("  SCIM base URL: {}", out["scim_url"].as_str().unwrap_or_default());
        crate::say!("  Secret token:  {}", out["token"].as_str().unwrap_or_default());
        crate::say!("  (shown once; issue more with `scimd token issue default`)");
    }
    crate::say!(
        "scimd listening on {local} (public URL {public_url}, database {})",
        settings.database
    );
    tracing::info!(%local, %public_url, database = %settings.database, "scimd serving");

    let (stop, stopping) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stopping.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let mut worker = scim_events::worker::WorkerConfig::default();
    if let Some(l) = &args.webhook_lease {
        worker.lease = config::lease(l)?;
    }
    let background = spawn_background(&store, &server_config, worker, &stopped);
    let limits = server_config.limits.clone();
    let app = scim_server::router(store, server_config);
    let serving = async {
        match tls {
            Some(tls) => {
                if let Some(hangup) = hangup {
                    tokio::spawn(reload_on_hangup(tls.clone(), hangup));
                }
                scim_server::serve_tls(listener, app, &limits, tls, stopped()).await
            }
            None => scim_server::serve(listener, app, &limits, stopped()).await,
        }
    };
    tokio::spawn(async move {
        signals.wait().await;
        let _ = stop.send(true);
    });
    serving.await.context("server error")?;
    for task in background {
        let _ = task.await;
    }
    tracing::info!("scimd stopped");
    Ok(())
}

/// The certificate and key from the flags (or `SCIMD_TLS_*`), else from the config file.
fn tls(settings: &Settings, args: &ServeArgs) -> anyhow::Result<Option<std::sync::Arc<scim_server::tls::Tls>>> {
    let cert = args.tls_cert.as_ref().or(settings.file.tls_cert.as_ref());
    let key = args.tls_key.as_ref().or(settings.file.tls_key.as_ref());
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some(
            scim_server::tls::Tls::load(cert, key).context("loading the TLS certificate")?,
        )),
        _ => anyhow::bail!("give both tls_cert and tls_key (or neither, for plain HTTP)"),
    }
}

/// SIGHUP reloads the certificate and key: new connections get the renewed certificate; a
/// reload that fails is logged and the certificate in use stays.
/// `hangup` is listened for from before "listening" is printed (an early SIGHUP would
/// otherwise end the process).
async fn reload_on_hangup(tls: std::sync::Arc<scim_server::tls::Tls>, hangup: Hangup) {
    #[cfg(unix)]
    {
        let mut hup = hangup;
        while hup.recv().await.is_some() {
            match tls.reload() {
                Ok(()) => tracing::info!("reloaded the TLS certificate"),
                Err(e) => tracing::error!(error = %e, "reloading the TLS certificate failed; keeping the one in use"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (tls, hangup);
}

#[cfg(unix)]
type Hangup = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangup = ();

#[cfg(unix)]
fn hangup() -> anyhow::Result<Hangup> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).context("listening for SIGHUP")
}

#[cfg(not(unix))]
fn hangup() -> anyhow::Result<Hangup> {
    Ok(())
}

/// The webhook worker and the feed's retention, both stopping with the server (the worker
/// then hands its tenants' leases back).
fn spawn_background<F, Fut>(
    store: &std::sync::Arc<dyn scim_core::ports::Store>,
    config: &scim_server::ServerConfig,
    worker: scim_events::worker::WorkerConfig,
    stopped: &F,
) -> Vec<tokio::task::JoinHandle<()>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let clock = scim_events::system_clock();
    let worker = scim_events::worker::run(store.clone(), worker, clock.clone(), stopped());
    let feed: std::sync::Arc<dyn scim_core::ports::FeedStore> = store.clone();
    let retention = scim_events::retention::run(feed, config.event_retention, clock, stopped());
    vec![tokio::spawn(worker), tokio::spawn(retention)]
}

/// SIGTERM and SIGINT, listened for from the moment this is made: it is made before
/// "listening" is printed, so a signal sent by whoever waited for that line is never missed
/// (the handlers used to be installed by a task that, on a loaded machine, could start after
/// the first request had already been served).
struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> anyhow::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                term: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
                int: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {},
            _ = self.int.recv() => {},
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
