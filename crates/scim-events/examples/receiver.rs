//! A complete webhook receiver for scimd, as a vendor's application would run it
//! (see docs/events.md). It verifies every delivery's Standard Webhooks signature, ignores
//! messages it has already applied (deliveries are at least once), applies events in `seq`
//! order, and answers 2xx only after the change is applied, so scimd retries anything
//! that was not.
//!
//! ```sh
//! WEBHOOK_SECRET=whsec_… cargo run -p scim-events --example receiver -- 127.0.0.1:9000
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // an example program: it stops on the first error

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

/// What the application keeps: the last `seq` applied per tenant (in its own database, in
/// the same transaction as the change, in a real application) and who may sign in.
#[derive(Default)]
struct App {
    last_seq: HashMap<String, i64>,
    active_users: HashMap<String, bool>,
}

struct Ctx {
    verifier: standardwebhooks::Webhook,
    app: Mutex<App>,
}

async fn receive(State(ctx): State<Arc<Ctx>>, headers: HeaderMap, body: String) -> StatusCode {
    // 1. Only scimd, holding the secret, can have signed this (the timestamp must be recent).
    if ctx.verifier.verify(body.as_bytes(), &headers).is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(event) = serde_json::from_str::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    if event["type"] == "webhook.test" {
        return StatusCode::NO_CONTENT;
    }
    let (Some(tenant), Some(seq)) = (event["tenant"].as_str(), event["seq"].as_i64()) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut app = ctx.app.lock().unwrap();
    let last = app.last_seq.get(tenant).copied().unwrap_or(0);
    // 2. At least once: a repeat of an applied event is acknowledged and skipped.
    if seq <= last {
        return StatusCode::NO_CONTENT;
    }
    // 3. scimd sends a tenant's events in order, so a gap means this receiver lost state;
    //    read the missing events from GET /admin/v1/tenants/{t}/events?after={last}.
    if seq != last + 1 && last != 0 {
        eprintln!("{tenant}: expected seq {}, got {seq}; catch up from the feed", last + 1);
    }
    apply(&mut app, &event);
    app.last_seq.insert(tenant.to_string(), seq);
    // 4. Answer 2xx only now: anything else (or no answer in 10 s) is retried.
    StatusCode::NO_CONTENT
}

fn apply(app: &mut App, event: &Value) {
    let id = event["resource"]["id"].as_str().unwrap_or_default().to_string();
    match event["type"].as_str().unwrap_or_default() {
        "user.created" | "user.updated" | "user.reactivated" => {
            let active = event["data"]["active"].as_bool().unwrap_or(true);
            app.active_users.insert(id, active);
        }
        // Sign the user out everywhere, now.
        "user.deactivated" => {
            app.active_users.insert(id, false);
        }
        "user.deleted" => {
            app.active_users.remove(&id);
        }
        // Groups: data is the group (without members); the members events carry ids.
        other => println!("{other} {id}: {}", event["data"]),
    }
}

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9000".into());
    let secret = std::env::var("WEBHOOK_SECRET").expect("set WEBHOOK_SECRET to the endpoint's whsec_… secret");
    let verifier = standardwebhooks::Webhook::new(&secret).expect("a whsec_… secret");
    let ctx = Arc::new(Ctx {
        verifier,
        app: Mutex::default(),
    });
    let app = axum::Router::new()
        .route("/scimd", axum::routing::post(receive))
        .with_state(ctx);
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("receiving scimd webhooks at http://{addr}/scimd");
    axum::serve(listener, app).await.expect("serve");
}
