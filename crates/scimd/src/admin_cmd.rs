//! `scimd admin token issue|list|revoke`: the admin API's credentials, managed from a shell
//! on the server (the API cannot issue its own first token).

use anyhow::bail;
use clap::Subcommand;
use serde_json::json;

use crate::cli::{Settings, expiry, now, print_tokens};

#[derive(Debug, Subcommand)]
pub enum AdminCmd {
    /// Admin tokens: bearer tokens for `/admin/v1`, separate from tenants' SCIM tokens
    #[command(subcommand)]
    Token(AdminTokenCmd),
    /// The audit log: who changed which tenant, token, client or webhook, and when
    Audit(crate::audit_cmd::AuditArgs),
}

#[derive(Debug, Subcommand)]
pub enum AdminTokenCmd {
    /// Issue an admin token (shown once; only its hash is stored)
    Issue {
        /// Lifetime, e.g. 90d, 12h, 1y (default: no expiry)
        #[arg(long)]
        expires_in: Option<String>,
        /// Print one JSON object: {"token", "token_prefix", "expires"}
        #[arg(long)]
        json: bool,
    },
    /// List admin tokens (prefixes and dates, never secrets)
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke the admin tokens that start with PREFIX (see `admin token list`)
    Revoke { prefix: String },
}

pub async fn run(settings: Settings, cmd: AdminCmd) -> anyhow::Result<()> {
    let store = settings.open_store(Default::default()).await?;
    let cmd = match cmd {
        AdminCmd::Token(cmd) => cmd,
        AdminCmd::Audit(args) => return crate::audit_cmd::show(&store, &args).await,
    };
    match cmd {
        AdminTokenCmd::Issue { expires_in, json } => {
            let tok = store.issue_admin_token(expiry(expires_in.as_deref())?, now()).await?;
            let detail = expires_in.as_ref().map(|e| json!({"expires_in": e}));
            crate::audit_cmd::record(&store, "admin_token.issue", None, Some(&tok.prefix), detail).await;
            if json {
                crate::say!(
                    "{}",
                    json!({"token": tok.token, "token_prefix": tok.prefix, "expires": tok.expires})
                );
            } else {
                crate::say!("Admin token: {}", tok.token);
                if let Some(e) = tok.expires {
                    crate::say!("Expires:     {e}");
                }
                crate::say!("(Shown once. Send it as 'Authorization: Bearer …' to /admin/v1.)");
            }
        }
        AdminTokenCmd::List { json } => print_tokens(&store.admin_tokens().await?, json),
        AdminTokenCmd::Revoke { prefix } => {
            let n = store.revoke_admin_tokens(prefix.trim_end_matches('…'), now()).await?;
            if n == 0 {
                bail!("no active admin token starts with {prefix:?} (see `scimd admin token list`)");
            }
            crate::audit_cmd::record(&store, "admin_token.revoke", None, Some(&prefix), None).await;
            crate::say!("revoked {n} admin token(s)");
        }
    }
    Ok(())
}
