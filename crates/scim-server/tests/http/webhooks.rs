//! Webhooks end to end: endpoints managed through the admin API, the worker delivering the
//! feed to a real receiver on a loopback port, signatures checked with the official
//! Standard Webhooks implementation.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use reqwest::{Method, StatusCode};
use scim_events::retry::Schedule;
use scim_events::worker::WorkerConfig;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::harness::{Admin, PATCH_OP, TestServer, assert_admin_error, entra_user};

/// One request the receiver got.
struct Got {
    headers: HeaderMap,
    body: String,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A receiver on a loopback port: answers with the queued statuses (then 200), reports
/// every request on a channel, and counts requests in flight at once.
struct Receiver {
    url: String,
    rx: mpsc::UnboundedReceiver<Got>,
    statuses: Arc<Mutex<Vec<u16>>>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(fail_first: &[u16]) -> Receiver {
        let (tx, rx) = mpsc::unbounded_channel();
        let statuses = Arc::new(Mutex::new(fail_first.iter().rev().copied().collect::<Vec<_>>()));
        let (in_flight, max_in_flight) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let handler = {
            let statuses = statuses.clone();
            let max = max_in_flight.clone();
            move |headers: HeaderMap, body: String| {
                let (tx, statuses, in_flight, max) = (tx.clone(), statuses.clone(), in_flight.clone(), max.clone());
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    let status = statuses.lock().unwrap().pop().unwrap_or(200);
                    let _ = tx.send(Got { headers, body });
                    tokio::task::yield_now().await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }
        };
        let app = axum::Router::new().route("/hook", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url,
            rx,
            statuses,
            max_in_flight,
        }
    }

    async fn next(&mut self) -> Got {
        tokio::time::timeout(Duration::from_secs(60), self.rx.recv())
            .await
            .expect("a delivery within a minute")
            .expect("receiver running")
    }
}

/// Retries 50 ms apart, so tests need not wait for the real schedule (tested in `retry`).
fn fast(holder: &str) -> WorkerConfig {
    WorkerConfig {
        holder: holder.to_string(),
        lease: Duration::from_secs(2),
        tick: Duration::from_millis(50),
        timeout: Duration::from_secs(10),
        schedule: Schedule {
            delays: vec![Duration::from_millis(50)],
            give_up_after: Duration::from_secs(3600),
        },
    }
}

/// Runs a worker until the returned sender is dropped or fired.
fn worker(s: &TestServer, cfg: WorkerConfig) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let store = s.store.clone();
    let task = tokio::spawn(async move {
        scim_events::worker::run(store, cfg, scim_events::system_clock(), async {
            let _ = stopped.await;
        })
        .await
    });
    (stop, task)
}

async fn server() -> TestServer {
    TestServer::start_with(|c| c.webhook_allow_loopback_http = true).await
}

async fn add_hook(a: &Admin<'_>, url: &str, events: Option<Value>) -> (String, String) {
    let mut body = json!({ "url": url });
    if let Some(e) = events {
        body["events"] = e;
    }
    let r = a.req(Method::POST, "/tenants/acme/webhooks", Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (
        r.body["id"].as_str().unwrap().to_string(),
        r.body["secret"].as_str().unwrap().to_string(),
    )
}

fn verify(secret: &str, got: &Got) {
    let wh = standardwebhooks::Webhook::new(secret).unwrap();
    let mut headers = axum::http::HeaderMap::new();
    for (k, v) in &got.headers {
        headers.insert(k.clone(), v.clone());
    }
    wh.verify(got.body.as_bytes(), &headers)
        .expect("the signature verifies");
    let mut forged = headers.clone();
    forged.insert("webhook-id", "someone-else".parse().unwrap());
    assert!(
        wh.verify(got.body.as_bytes(), &forged).is_err(),
        "a changed id fails verification"
    );
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

#[tokio::test]
async fn deliveries_are_signed_in_order_and_filtered_by_type() {
    let s = server().await;
    let a = Admin::new(&s).await;
    let mut all = Receiver::start(&[]).await;
    let mut deletions = Receiver::start(&[]).await;
    let before = s.create_user(entra_user("before@contoso.com")).await;
    let (_, secret) = add_hook(&a, &all.url, None).await;
    let (_, del_secret) = add_hook(&a, &deletions.url, Some(json!(["user.deleted"]))).await;
    let (_stop, _task) = worker(&s, fast("only"));
    let user = s.create_user(entra_user("alice@contoso.com")).await;
    let off = patch(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    assert_eq!(s.patch(&format!("/Users/{user}"), &off).await.status, StatusCode::OK);
    assert_eq!(s.delete(&format!("/Users/{user}")).await.status, StatusCode::NO_CONTENT);
    let feed = a.req(Method::GET, "/tenants/acme/events?after=1", None).await.body;
    for (want, e) in ["user.created", "user.deactivated", "user.deleted"]
        .iter()
        .zip(feed["events"].as_array().unwrap())
    {
        let got = all.next().await;
        verify(&secret, &got);
        assert_eq!(got.json(), *e, "the body is the feed's event");
        assert_eq!(got.json()["type"], *want);
        assert_eq!(
            got.headers["webhook-id"],
            e["id"].as_str().unwrap(),
            "webhook-id is the event id"
        );
        assert_eq!(got.headers["content-type"], "application/json");
    }
    let got = deletions.next().await;
    verify(&del_secret, &got);
    assert_eq!(got.json()["type"], "user.deleted");
    assert_eq!(got.json()["resource"]["id"], user.as_str());
    assert_ne!(
        got.json()["resource"]["id"],
        before.as_str(),
        "events before the endpoint existed are not sent"
    );
}

#[tokio::test]
async fn a_failing_receiver_is_retried_until_it_recovers_in_order() {
    let s = server().await;
    let a = Admin::new(&s).await;
    let mut r = Receiver::start(&[500, 503]).await;
    let (id, _) = add_hook(&a, &r.url, None).await;
    let first = s.create_user(entra_user("one@contoso.com")).await;
    let second = s.create_user(entra_user("two@contoso.com")).await;
    let (_stop, _task) = worker(&s, fast("only"));
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(r.next().await.json()["resource"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        seen,
        [first.clone(), first.clone(), first, second],
        "n+1 waits for n's 2xx"
    );
    // Once caught up, the endpoint's state says so.
    let state = loop {
        let w = a.req(Method::GET, &format!("/tenants/acme/webhooks/{id}"), None).await;
        if w.body["delivery"]["behind"] == 0 {
            break w.body;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(state["delivery"]["state"], "ok");
    assert_eq!(state["delivery"]["attempts"], 0);
    assert!(state["delivery"]["last_success_at"].is_string());
    assert!(state.get("secret").is_none(), "listings never show the secret");
}

#[tokio::test]
async fn an_endpoint_failing_past_the_limit_is_marked_and_a_test_resumes_it() {
    let s = server().await;
    let a = Admin::new(&s).await;
    let mut r = Receiver::start(&[500]).await;
    let (id, secret) = add_hook(&a, &r.url, None).await;
    s.create_user(entra_user("one@contoso.com")).await;
    let mut cfg = fast("only");
    cfg.schedule.give_up_after = Duration::ZERO;
    let (stop, task) = worker(&s, cfg);
    assert_eq!(r.next().await.json()["type"], "user.created");
    let failing = loop {
        let w = a.req(Method::GET, &format!("/tenants/acme/webhooks/{id}"), None).await;
        if w.body["delivery"]["state"] == "failing" {
            break w.body;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(failing["delivery"]["attempts"], 1);
    assert!(
        failing["delivery"]["last_error"].as_str().unwrap().contains("500"),
        "{failing}"
    );
    assert_eq!(failing["delivery"]["behind"], 1, "the event is still owed");
    // The test message is signed too, and its success resumes delivery from the cursor.
    let t = a
        .req(Method::POST, &format!("/tenants/acme/webhooks/{id}/test"), None)
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    assert_eq!(
        (t.body["delivered"].clone(), t.body["resumed"].clone()),
        (json!(true), json!(true))
    );
    let ping = r.next().await;
    verify(&secret, &ping);
    assert_eq!(ping.json()["type"], "webhook.test");
    assert_eq!(
        r.next().await.json()["type"],
        "user.created",
        "the owed event comes after resuming"
    );
    let _ = stop.send(());
    task.await.unwrap();
}

/// Two replicas' workers: one holds the tenant and delivers; when it dies without a word,
/// the other takes over once the lease runs out, and nothing is lost or reordered.
#[tokio::test]
async fn two_workers_one_delivers_and_a_dead_one_hands_over() {
    let s = server().await;
    let a = Admin::new(&s).await;
    let mut r = Receiver::start(&[]).await;
    add_hook(&a, &r.url, None).await;
    let (_stop_a, task_a) = worker(&s, fast("replica-a"));
    let (_stop_b, _task_b) = worker(&s, fast("replica-b"));
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(s.create_user(entra_user(&format!("u{i}@contoso.com"))).await);
    }
    let mut seen: Vec<String> = Vec::new();
    while seen.len() < 5 {
        seen.push(r.next().await.json()["resource"]["id"].as_str().unwrap().to_string());
    }
    // Crash one worker: abort it, so it never releases its lease.
    task_a.abort();
    for i in 5..10 {
        created.push(s.create_user(entra_user(&format!("u{i}@contoso.com"))).await);
    }
    while seen.last() != created.last() {
        seen.push(r.next().await.json()["resource"]["id"].as_str().unwrap().to_string());
    }
    seen.dedup();
    assert_eq!(seen, created, "every event, in order (a handover may repeat one)");
    assert_eq!(
        r.max_in_flight.load(Ordering::SeqCst),
        1,
        "never two deliveries at once"
    );
    assert!(r.statuses.lock().unwrap().is_empty());
}

#[tokio::test]
async fn webhook_requests_are_validated() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    for body in [
        json!({}),
        json!({"url": 5}),
        json!({"url": "http://hooks.example.com/h"}),
        json!({"url": "http://127.0.0.1:9/h"}),
        json!({"url": "https://hooks.example.com/h", "events": ["user.exploded"]}),
        json!({"url": "https://hooks.example.com/h", "events": "user.created"}),
    ] {
        let r = a.req(Method::POST, "/tenants/acme/webhooks", Some(&body)).await;
        assert_admin_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let loopback = a
        .req(
            Method::POST,
            "/tenants/acme/webhooks",
            Some(&json!({"url": "http://127.0.0.1:9/h"})),
        )
        .await;
    assert!(
        loopback.body["detail"]
            .as_str()
            .unwrap()
            .contains("--webhook-allow-loopback-http")
    );
    let r = a
        .req(
            Method::POST,
            "/tenants/nobody/webhooks",
            Some(&json!({"url": "https://hooks.example.com/h"})),
        )
        .await;
    assert_admin_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = a
        .req(
            Method::POST,
            "/tenants/acme/webhooks",
            Some(&json!({"url": "https://hooks.example.com/h", "events": ["user.created"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.body["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(r.body["events"], json!(["user.created"]));
    let id = r.body["id"].as_str().unwrap().to_string();
    let list = a.req(Method::GET, "/tenants/acme/webhooks", None).await;
    assert_eq!(list.body["webhooks"][0]["id"], id.as_str());
    assert!(!list.text.contains("whsec_"), "listings never show secrets");
    s.other_tenant("globex").await;
    let r = a
        .req(Method::GET, &format!("/tenants/globex/webhooks/{id}"), None)
        .await;
    assert_admin_error(&r, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        a.req(Method::DELETE, &format!("/tenants/acme/webhooks/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = a.req(Method::GET, &format!("/tenants/acme/webhooks/{id}"), None).await;
    assert_admin_error(&r, StatusCode::NOT_FOUND, "not_found");
}
