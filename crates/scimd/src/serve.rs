//! `scimd serve`: bind, bootstrap an empty database, serve until SIGTERM/SIGINT.

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::cli::{ServeArgs, Settings, create_tenant};
use crate::config;

fn init_tracing(format: &str) {
    let filter = EnvFilter::try_from_env("SCIMD_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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
    init_tracing(&log_format);
    let listen = args
        .listen
        .clone()
        .or_else(|| settings.file.listen.clone())
        .unwrap_or_else(|| config::DEFAULT_LISTEN.to_string());
    let durability = config::durability(args.durability.as_deref().or(settings.file.durability.as_deref()))?;
    let opts = scim_store::StoreOptions {
        durability,
        migrate: !args.no_migrate,
    };
    let store = settings.open_store(opts).await?;

    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let local = listener.local_addr()?;
    let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{local}"));
    let mut server_config = scim_server::ServerConfig::new(&public_url);
    if let Some(n) = settings.file.max_body_bytes {
        server_config.limits.max_body_bytes = n;
    }

    if !args.no_bootstrap && store.tenants().await?.is_empty() {
        let out = create_tenant(&store, "default", &public_url).await?;
        println!("Created tenant \"default\" on an empty database.");
        println!("  SCIM base URL: {}", out["scim_url"].as_str().unwrap_or_default());
        println!("  Secret token:  {}", out["token"].as_str().unwrap_or_default());
        println!("  (shown once; issue more with `scimd token issue default`)");
    }
    println!(
        "scimd listening on {local} (public URL {public_url}, database {})",
        settings.database
    );
    tracing::info!(%local, %public_url, database = %settings.database, "scimd serving");

    let app = scim_server::router(store, server_config);
    scim_server::serve(listener, app, shutdown_signal())
        .await
        .context("server error")?;
    tracing::info!("scimd stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
