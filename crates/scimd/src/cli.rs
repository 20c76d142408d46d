//! The command line. Names and output shapes are a contract: other tools script against
//! `scimd tenant create NAME --json` and friends.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use scim_core::Timestamp;
use scim_core::ports::{Store, Tenant};
use serde_json::json;

use crate::config::{self, FileConfig};

#[derive(Debug, Parser)]
#[command(
    name = "scimd",
    version,
    about = "Multi-tenant SCIM 2.0 server for Entra ID, Okta and other identity providers"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// A `scimd sync …` command (the provisioning engine).
    pub fn is_sync(&self) -> bool {
        matches!(self.command, Command::Sync(_))
    }
}

#[derive(Debug, Args)]
pub struct Global {
    /// Database URL: sqlite://scimd.db or postgres://user@host:5432/scimd
    #[arg(long, global = true, env = "SCIMD_DATABASE")]
    pub database: Option<String>,
    /// TOML config file (keys: listen, database, public_url, durability, max_body_bytes, log_format)
    #[arg(long, global = true, env = "SCIMD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Public base URL clients use, e.g. https://scim.example.com (default: http://LISTEN)
    #[arg(long, global = true, env = "SCIMD_PUBLIC_URL")]
    pub public_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the SCIM server
    Serve(Box<ServeArgs>),
    /// Manage tenants (customer organisations)
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Manage a tenant's secret tokens
    #[command(subcommand)]
    Token(TokenCmd),
    /// Credentials for the admin API (`/admin/v1`)
    #[command(subcommand)]
    Admin(crate::admin_cmd::AdminCmd),
    /// A tenant's change feed (what the vendor's application consumes)
    #[command(subcommand)]
    Events(crate::events_cmd::EventsCmd),
    /// The provisioning engine: sync a directory into any SCIM app
    #[command(subcommand)]
    Sync(crate::sync_cmd::SyncCmd),
    /// A one-command tour: an in-process server and a sample directory synced into it
    Demo(crate::demo::DemoArgs),
    /// Bring the database schema up to date (SQLite or PostgreSQL); `serve` does this on start
    Migrate,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "SCIMD_LISTEN")]
    pub listen: Option<String>,
    /// Do not create a `default` tenant on an empty database
    #[arg(long, env = "SCIMD_NO_BOOTSTRAP")]
    pub no_bootstrap: bool,
    /// Commit durability: full (survives power loss) or normal (survives a process kill)
    #[arg(long, env = "SCIMD_DURABILITY")]
    pub durability: Option<String>,
    /// Log format: text or json
    #[arg(long, env = "SCIMD_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Do not migrate the schema on start; refuse to start unless it is current (`scimd migrate`)
    #[arg(long, env = "SCIMD_NO_MIGRATE")]
    pub no_migrate: bool,
    /// How long the change feed keeps events, e.g. 30d (the default) or 7d
    #[arg(long, env = "SCIMD_EVENT_RETENTION")]
    pub event_retention: Option<String>,
    /// Allow webhook receivers on plain http at a loopback address (tests, local development)
    #[arg(long, env = "SCIMD_WEBHOOK_ALLOW_LOOPBACK_HTTP")]
    pub webhook_allow_loopback_http: bool,
    /// How long a replica's hold on a tenant's webhook delivery lasts unless renewed (default
    /// 30s): a replica that dies hands its tenants over after this
    #[arg(long, env = "SCIMD_WEBHOOK_LEASE")]
    pub webhook_lease: Option<String>,
    /// Request log entries kept per tenant (default 10000; 0 turns the log off)
    #[arg(long, env = "SCIMD_REQUEST_LOG_KEEP")]
    pub request_log_keep: Option<usize>,
    /// Request log entries older than this are removed (default 7d)
    #[arg(long, env = "SCIMD_REQUEST_LOG_MAX_AGE")]
    pub request_log_max_age: Option<String>,
    /// Attributes whose values the request log masks, comma-separated (password always is),
    /// e.g. emails,phoneNumbers,name,addresses
    #[arg(long, env = "SCIMD_REQUEST_LOG_MASK", value_delimiter = ',')]
    pub request_log_mask: Vec<String>,
    /// Which requests the log keeps a body excerpt of: failed (status 400 and up, the
    /// default), all, or off. A successful write's result is in the change feed
    #[arg(long, env = "SCIMD_REQUEST_LOG_BODIES")]
    pub request_log_bodies: Option<String>,
    /// Requests per second and burst a tenant may send unless it has its own rate (`scimd
    /// tenant rate`), e.g. 100/200 (the default); 429 with Retry-After beyond
    #[arg(long, env = "SCIMD_TENANT_RATE")]
    pub tenant_rate: Option<String>,
    /// Most requests handled at once (default 512); 503 with Retry-After beyond
    #[arg(long, env = "SCIMD_MAX_IN_FLIGHT")]
    pub max_in_flight: Option<usize>,
    /// Most open connections (default 4096); further ones are closed at once
    #[arg(long, env = "SCIMD_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); SIGHUP reloads it
    #[arg(long, env = "SCIMD_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM)
    #[arg(long, env = "SCIMD_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create a tenant and print its SCIM base URL and a fresh secret token
    Create {
        name: String,
        /// Print one JSON object: {"tenant", "scim_url", "token", "token_prefix"}
        #[arg(long)]
        json: bool,
    },
    /// List tenants
    List {
        #[arg(long)]
        json: bool,
    },
    /// What a tenant's identity provider sent, newest first (the request log)
    Requests(crate::requests_cmd::RequestsArgs),
    /// Delete a tenant and all its data (users, groups, tokens, OAuth clients, journal)
    Delete {
        name: String,
        /// Required: deleting cannot be undone
        #[arg(long)]
        yes: bool,
    },
    /// Show or set a tenant's own request rate: `100/200` (per second / burst), or
    /// `default` for the server's
    Rate { name: String, rate: Option<String> },
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Issue another secret token for a tenant
    Issue {
        tenant: String,
        /// Lifetime, e.g. 90d, 12h, 1y (default: no expiry)
        #[arg(long)]
        expires_in: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's tokens (prefixes and dates, never secrets)
    List {
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke the tenant's tokens that start with PREFIX (see `token list`)
    Revoke { tenant: String, prefix: String },
}

/// Resolved settings shared by every command.
pub struct Settings {
    pub database: String,
    pub public_url: Option<String>,
    pub file: FileConfig,
}

impl Settings {
    fn new(g: &Global) -> anyhow::Result<Settings> {
        let file = FileConfig::load(g.config.as_deref())?;
        Ok(Settings {
            database: g
                .database
                .clone()
                .or_else(|| file.database.clone())
                .unwrap_or_else(|| config::DEFAULT_DATABASE.to_string()),
            public_url: g.public_url.clone().or_else(|| file.public_url.clone()),
            file,
        })
    }

    pub async fn open_store(&self, opts: scim_store::StoreOptions) -> anyhow::Result<Arc<dyn Store>> {
        let db = scim_store::open(&self.database, &opts)
            .await
            .with_context(|| format!("opening database {}", self.database))?;
        Ok(db)
    }

    /// The public URL for printing tenant URLs outside `serve`.
    fn public_url_or_default(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| {
            let listen = self
                .file
                .listen
                .clone()
                .unwrap_or_else(|| config::DEFAULT_LISTEN.to_string());
            format!("http://{listen}")
        })
    }
}

pub fn now() -> Timestamp {
    Timestamp::new(time::OffsetDateTime::now_utc())
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::new(&cli.global)?;
    match cli.command {
        Command::Serve(args) => crate::serve::serve(settings, *args).await,
        Command::Tenant(cmd) => tenant(settings, cmd).await,
        Command::Token(cmd) => token(settings, cmd).await,
        Command::Admin(cmd) => crate::admin_cmd::run(settings, cmd).await,
        Command::Events(cmd) => crate::events_cmd::run(settings, cmd).await,
        Command::Sync(cmd) => {
            // Warnings (a target without Bulk limits, a retry given up) reach stderr; the
            // service also logs what it starts and stops.
            let serving = matches!(cmd, crate::sync_cmd::SyncCmd::Serve(_));
            crate::serve::init_tracing("text", if serving { "info" } else { "warn" });
            crate::sync_cmd::run(cmd, cli.global.database.as_deref()).await
        }
        Command::Demo(args) => crate::demo::demo(args).await,
        Command::Migrate => {
            let m = scim_store::migrate(&settings.database)
                .await
                .with_context(|| format!("migrating database {}", settings.database))?;
            if m.from == m.to {
                crate::say!("schema is current (version {})", m.to);
            } else {
                crate::say!("migrated schema from version {} to {}", m.from, m.to);
            }
            Ok(())
        }
    }
}

async fn find_tenant(store: &Arc<dyn Store>, name: &str) -> anyhow::Result<Tenant> {
    match store.tenant(name).await? {
        Some(t) => Ok(t),
        None => bail!("no tenant named {name:?} (see `scimd tenant list`)"),
    }
}

fn tenant_url(public_url: &str, tenant: &str) -> String {
    scim_server::ServerConfig::new(public_url).tenant_url(tenant)
}

/// Creates a tenant with its first token; shared by `tenant create` and serve's bootstrap.
pub async fn create_tenant(store: &Arc<dyn Store>, name: &str, public_url: &str) -> anyhow::Result<serde_json::Value> {
    let t = store.create_tenant(name, now()).await?;
    let tok = store.issue_token(t.id, None, now()).await?;
    crate::audit_cmd::record(store, "tenant.create", Some(&t.name), Some(&tok.prefix), None).await;
    Ok(json!({
        "tenant": t.name,
        "scim_url": tenant_url(public_url, &t.name),
        "token": tok.token,
        "token_prefix": tok.prefix,
    }))
}

async fn tenant(settings: Settings, cmd: TenantCmd) -> anyhow::Result<()> {
    let store = settings.open_store(Default::default()).await?;
    match cmd {
        TenantCmd::Create { name, json } => {
            let out = create_tenant(&store, &name, &settings.public_url_or_default()).await?;
            if json {
                crate::say!("{out}");
            } else {
                crate::say!("Tenant:       {}", out["tenant"].as_str().unwrap_or_default());
                crate::say!("Tenant URL:   {}", out["scim_url"].as_str().unwrap_or_default());
                crate::say!("Secret Token: {}", out["token"].as_str().unwrap_or_default());
                crate::say!("(The token is shown once; only its hash is stored.)");
            }
        }
        TenantCmd::List { json } => {
            let list = store.tenants().await?;
            let public = settings.public_url_or_default();
            if json {
                let items: Vec<_> = list
                    .iter()
                    .map(|t| json!({"tenant": t.name, "scim_url": tenant_url(&public, &t.name), "created": t.created}))
                    .collect();
                crate::say!("{}", serde_json::Value::Array(items));
            } else {
                for t in list {
                    crate::say!("{}\t{}\t{}", t.name, tenant_url(&public, &t.name), t.created);
                }
            }
        }
        TenantCmd::Requests(args) => {
            let t = find_tenant(&store, &args.tenant).await?;
            crate::requests_cmd::run(&store, t.id, &args).await?;
        }
        TenantCmd::Delete { name, yes } => {
            let t = find_tenant(&store, &name).await?;
            if !yes {
                bail!("deleting tenant {name:?} removes all its users, groups and credentials; add --yes to confirm");
            }
            store.delete_tenant(t.id).await?;
            crate::audit_cmd::record(&store, "tenant.delete", Some(&name), None, None).await;
            crate::say!("deleted tenant {name:?} and all its data");
        }
        TenantCmd::Rate { name, rate } => {
            let t = find_tenant(&store, &name).await?;
            let rate = match rate.as_deref() {
                None => {
                    match t.rate {
                        Some(r) => crate::say!("{name}: {}/{} (its own)", r.per_second, r.burst),
                        None => crate::say!("{name}: the server's default (--tenant-rate)"),
                    }
                    return Ok(());
                }
                Some("default") => None,
                Some(text) => Some(
                    text.parse::<scim_core::ports::TenantRate>()
                        .map_err(anyhow::Error::msg)?,
                ),
            };
            store.set_tenant_rate(t.id, rate).await?;
            let detail = match rate {
                Some(r) => json!({"rate_limit": {"per_second": r.per_second, "burst": r.burst}}),
                None => json!({"rate_limit": null}),
            };
            crate::audit_cmd::record(&store, "tenant.update", Some(&name), None, Some(detail)).await;
            match rate {
                Some(r) => crate::say!(
                    "{name}: {}/{} from now on (running servers within a request)",
                    r.per_second,
                    r.burst
                ),
                None => crate::say!("{name}: the server's default from now on"),
            }
        }
    }
    Ok(())
}

/// A token listing: prefixes and dates, never secrets.
pub(crate) fn print_tokens(list: &[scim_core::ports::TokenInfo], json: bool) {
    if json {
        let items: Vec<_> = list
            .iter()
            .map(|k| json!({"prefix": k.prefix, "created": k.created, "expires": k.expires, "revoked": k.revoked, "last_used": k.last_used}))
            .collect();
        crate::say!("{}", serde_json::Value::Array(items));
        return;
    }
    for k in list {
        let state = match (&k.revoked, &k.expires) {
            (Some(r), _) => format!("revoked {r}"),
            (None, Some(e)) => format!("expires {e}"),
            (None, None) => "no expiry".to_string(),
        };
        let used = k.last_used.map(|u| format!("\tlast used {u}")).unwrap_or_default();
        crate::say!("{}…\tcreated {}\t{state}{used}", k.prefix, k.created);
    }
}

pub(crate) fn expiry(expires_in: Option<&str>) -> anyhow::Result<Option<Timestamp>> {
    let Some(text) = expires_in else { return Ok(None) };
    let d = humantime::parse_duration(text).with_context(|| format!("--expires-in {text:?}: use e.g. 90d, 12h, 1y"))?;
    let d = time::Duration::try_from(d).context("--expires-in is too long")?;
    Ok(Some(now() + d))
}

async fn token(settings: Settings, cmd: TokenCmd) -> anyhow::Result<()> {
    let store = settings.open_store(Default::default()).await?;
    match cmd {
        TokenCmd::Issue {
            tenant,
            expires_in,
            json,
        } => {
            let t = find_tenant(&store, &tenant).await?;
            let tok = store.issue_token(t.id, expiry(expires_in.as_deref())?, now()).await?;
            let detail = expires_in.as_ref().map(|e| json!({"expires_in": e}));
            crate::audit_cmd::record(&store, "token.issue", Some(&t.name), Some(&tok.prefix), detail).await;
            let url = tenant_url(&settings.public_url_or_default(), &t.name);
            if json {
                crate::say!(
                    "{}",
                    json!({"tenant": t.name, "scim_url": url, "token": tok.token, "token_prefix": tok.prefix, "expires": tok.expires})
                );
            } else {
                crate::say!("Tenant URL:   {url}");
                crate::say!("Secret Token: {}", tok.token);
                if let Some(e) = tok.expires {
                    crate::say!("Expires:      {e}");
                }
            }
        }
        TokenCmd::List { tenant, json } => {
            let t = find_tenant(&store, &tenant).await?;
            print_tokens(&store.tokens(t.id).await?, json);
        }
        TokenCmd::Revoke { tenant, prefix } => {
            let t = find_tenant(&store, &tenant).await?;
            let n = store.revoke_tokens(t.id, prefix.trim_end_matches('…'), now()).await?;
            if n == 0 {
                bail!("no active token of {tenant:?} starts with {prefix:?}");
            }
            crate::audit_cmd::record(&store, "token.revoke", Some(&t.name), Some(&prefix), None).await;
            crate::say!("revoked {n} token(s)");
        }
    }
    Ok(())
}
