//! Tenants and tokens: one tenant per token, expiry, revocation seen by every handle at once;
//! admin tokens; deleting a tenant.

use scim_core::CoreError;

use super::{Ctx, at, now};

cases![
    tenants_are_unique_and_listed,
    tokens_authenticate_one_tenant_until_revoked_or_expired,
    a_token_revoked_through_one_handle_is_refused_by_another,
    admin_tokens_are_apart_from_tenant_tokens,
    token_use_is_recorded_at_most_once_a_minute,
    deleting_a_tenant_removes_its_data_and_nothing_else,
    oauth_clients_exchange_live_secrets_for_expiring_tenant_tokens,
    a_tenants_own_rate_is_kept_and_comes_with_authentication,
];

async fn a_tenants_own_rate_is_kept_and_comes_with_authentication(c: Ctx) {
    use scim_core::ports::TenantRate;
    let name = c.name("rated");
    let t = c.db.create_tenant(&name, now()).await.unwrap();
    assert_eq!(t.rate, None, "a new tenant has the server's default rate");
    let tok = c.db.issue_token(t.id, None, now()).await.unwrap();
    let rate = TenantRate {
        per_second: 7,
        burst: 30,
    };
    assert!(c.db.set_tenant_rate(t.id, Some(rate)).await.unwrap());
    let replica = c.reopen().await;
    assert_eq!(replica.tenant(&name).await.unwrap().unwrap().rate, Some(rate));
    let authed = replica.authenticate(&name, &tok.token, now()).await.unwrap().unwrap();
    assert_eq!(
        authed.tenant.rate,
        Some(rate),
        "the request path needs no second lookup"
    );
    assert!(
        c.db.tenants()
            .await
            .unwrap()
            .iter()
            .any(|x| x.name == name && x.rate == Some(rate))
    );
    assert!(c.db.set_tenant_rate(t.id, None).await.unwrap());
    assert_eq!(c.db.tenant(&name).await.unwrap().unwrap().rate, None);
    assert!(
        !c.db.set_tenant_rate(t.id + 1_000_000, Some(rate)).await.unwrap(),
        "no such tenant"
    );
}

async fn tenants_are_unique_and_listed(c: Ctx) {
    let name = c.name("acme");
    let t = c.db.create_tenant(&name, now()).await.unwrap();
    assert_eq!((t.name.as_str(), t.created), (name.as_str(), now()));
    let err = c.db.create_tenant(&name, now()).await.unwrap_err();
    assert!(matches!(err, CoreError::Uniqueness(_)), "{err:?}");
    let err = c.db.create_tenant("Bad Name!", now()).await.unwrap_err();
    assert!(matches!(err, CoreError::InvalidValue(_)), "{err:?}");
    assert_eq!(c.db.tenant(&name).await.unwrap(), Some(t.clone()));
    assert_eq!(c.db.tenant(&c.name("none")).await.unwrap(), None);
    assert!(c.db.tenants().await.unwrap().contains(&t));
    // Each tenant has its own 256-bit secret, the same through every handle.
    assert_eq!(t.secret.0.len(), 32);
    let other = c.db.create_tenant(&c.name("other"), now()).await.unwrap();
    assert_ne!(other.secret, t.secret);
    let replica = c.reopen().await;
    assert_eq!(replica.tenant(&name).await.unwrap().unwrap().secret, t.secret);
}

async fn tokens_authenticate_one_tenant_until_revoked_or_expired(c: Ctx) {
    let a = c.tenant("a").await;
    let (an, bn) = (c.name("a"), c.name("b"));
    let b = c.tenant("b").await;
    let tok = c.db.issue_token(a, None, now()).await.unwrap();
    let expiring =
        c.db.issue_token(a, Some(at("2026-06-01T00:00:00Z")), now())
            .await
            .unwrap();
    assert_eq!(expiring.expires, Some(at("2026-06-01T00:00:00Z")));
    let b_tok = c.db.issue_token(b, None, now()).await.unwrap();
    let authed = c.db.authenticate(&an, &tok.token, now()).await.unwrap().unwrap();
    assert_eq!(authed.client_id, None, "a tenant token belongs to no client");
    let authed = authed.tenant;
    assert_eq!(
        authed,
        c.db.tenant(&an).await.unwrap().unwrap(),
        "the whole tenant, secret included"
    );
    assert_eq!(authed.id, a);
    assert!(
        c.db.authenticate(&bn, &tok.token, now()).await.unwrap().is_none(),
        "other tenant"
    );
    assert!(
        c.db.authenticate(&an, &b_tok.token, now()).await.unwrap().is_none(),
        "other tenant's token"
    );
    assert!(c.db.authenticate(&an, "scimd_wrong", now()).await.unwrap().is_none());
    assert!(c.db.authenticate(&an, &expiring.token, now()).await.unwrap().is_some());
    // Expiry compares instants, not text: 01:30+02:00 is before midnight UTC of June 1st.
    let before = at("2026-06-01T01:30:00+02:00");
    assert!(c.db.authenticate(&an, &expiring.token, before).await.unwrap().is_some());
    let after = at("2026-06-01T00:00:01Z");
    assert!(
        c.db.authenticate(&an, &expiring.token, after).await.unwrap().is_none(),
        "expired"
    );
    let listed = c.db.tokens(a).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|k| !k.prefix.is_empty() && tok.token.len() > k.prefix.len())
    );
    assert_eq!(listed[0].created, now());
    assert_eq!(listed[1].expires, Some(at("2026-06-01T00:00:00Z")));
    let later = at("2026-03-01T00:00:00Z");
    assert_eq!(c.db.revoke_tokens(a, &tok.prefix, later).await.unwrap(), 1);
    assert!(
        c.db.authenticate(&an, &tok.token, now()).await.unwrap().is_none(),
        "revoked"
    );
    assert_eq!(c.db.tokens(a).await.unwrap()[0].revoked, Some(later));
    assert_eq!(
        c.db.revoke_tokens(b, &tok.prefix, later).await.unwrap(),
        0,
        "only its own tenant's"
    );
    assert!(matches!(
        c.db.revoke_tokens(a, "scim", now()).await,
        Err(CoreError::InvalidValue(_))
    ));
}

async fn a_token_revoked_through_one_handle_is_refused_by_another(c: Ctx) {
    let a = c.tenant("a").await;
    let an = c.name("a");
    let replica = c.reopen().await;
    let tok = c.db.issue_token(a, None, now()).await.unwrap();
    assert!(
        replica.authenticate(&an, &tok.token, now()).await.unwrap().is_some(),
        "issued on one, seen by both"
    );
    assert_eq!(c.db.revoke_tokens(a, &tok.prefix, now()).await.unwrap(), 1);
    assert!(
        replica.authenticate(&an, &tok.token, now()).await.unwrap().is_none(),
        "refused at once"
    );
}

async fn admin_tokens_are_apart_from_tenant_tokens(c: Ctx) {
    let t = c.db.create_tenant(&c.name("a"), now()).await.unwrap();
    let scim = c.db.issue_token(t.id, None, now()).await.unwrap();
    let admin =
        c.db.issue_admin_token(Some(at("2026-01-02T00:00:00Z")), now())
            .await
            .unwrap();
    assert!(
        admin.token.starts_with("scimdadm_") && admin.prefix.len() == 17,
        "{admin:?}"
    );
    assert!(c.db.authenticate_admin(&admin.token, now()).await.unwrap());
    assert!(
        !c.db.authenticate_admin(&scim.token, now()).await.unwrap(),
        "a SCIM token is no admin token"
    );
    assert!(
        c.db.authenticate(&t.name, &admin.token, now()).await.unwrap().is_none(),
        "nor the reverse"
    );
    assert!(
        !c.db
            .authenticate_admin(&admin.token, at("2026-01-02T00:00:00Z"))
            .await
            .unwrap(),
        "expired at its expiry"
    );
    let other = c.reopen().await;
    let listed = other.admin_tokens().await.unwrap();
    let mine = listed.iter().find(|i| i.prefix == admin.prefix).expect("listed");
    assert_eq!(mine.expires, Some(at("2026-01-02T00:00:00Z")));
    assert!(
        other.revoke_admin_tokens("short", now()).await.is_err(),
        "8 characters at least"
    );
    assert_eq!(other.revoke_admin_tokens(&admin.prefix, now()).await.unwrap(), 1);
    assert!(
        !c.db.authenticate_admin(&admin.token, now()).await.unwrap(),
        "revoked on every handle"
    );
    assert!(c.db.authenticate(&t.name, &scim.token, now()).await.unwrap().is_some());
}

async fn deleting_a_tenant_removes_its_data_and_nothing_else(c: Ctx) {
    use scim_core::ResourceKind::{Group, User};
    let gone = c.db.create_tenant(&c.name("gone"), now()).await.unwrap();
    let kept = c.db.create_tenant(&c.name("kept"), now()).await.unwrap();
    let mut ids = Vec::new();
    for t in [&gone, &kept] {
        let u = c
            .create(t.id, User, serde_json::json!({"userName": "same@x.io"}))
            .await
            .unwrap();
        c.create(
            t.id,
            Group,
            serde_json::json!({"displayName": "G", "members": [{"value": u}]}),
        )
        .await
        .unwrap();
        ids.push(u);
    }
    let token = c.db.issue_token(gone.id, None, now()).await.unwrap();
    assert!(c.db.delete_tenant(gone.id).await.unwrap());
    assert!(!c.db.delete_tenant(gone.id).await.unwrap(), "already gone");
    assert!(c.db.tenant(&gone.name).await.unwrap().is_none());
    assert!(
        c.db.authenticate(&gone.name, &token.token, now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(c.db.get(gone.id, User, &ids[0]).await.unwrap().is_none());
    assert!(c.db.events(gone.id, 0, 10).await.unwrap().is_empty());
    assert_eq!(
        c.ids(kept.id, User, "userName eq \"same@x.io\"").await,
        vec![ids[1].clone()]
    );
    assert_eq!(c.ids(kept.id, Group, "members.value pr").await.len(), 1);
    // The name can be taken again, and starts empty.
    let again = c.db.create_tenant(&gone.name, now()).await.unwrap();
    assert!(c.ids(again.id, User, "userName pr").await.is_empty());
}

async fn oauth_clients_exchange_live_secrets_for_expiring_tenant_tokens(c: Ctx) {
    let t = c.db.create_tenant(&c.name("o"), now()).await.unwrap();
    let other = c.db.create_tenant(&c.name("p"), now()).await.unwrap();
    let client = c.db.create_client(t.id, None, now()).await.unwrap();
    assert!(client.client_id.starts_with(&format!("{}.", t.name)), "{client:?}");
    assert!(client.client_secret.starts_with("scimdcs_"));
    let hour = at("2026-01-01T01:00:00Z");
    let tok =
        c.db.client_credentials(&client.client_id, &client.client_secret, hour, now())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(tok.expires, Some(hour));
    assert_eq!(
        c.db.authenticate(&t.name, &tok.token, now())
            .await
            .unwrap()
            .map(|x| (x.tenant.id, x.client_id)),
        Some((t.id, Some(client.client_id.clone()))),
        "an access token names its client"
    );
    assert!(
        c.db.authenticate(&other.name, &tok.token, now())
            .await
            .unwrap()
            .is_none(),
        "its tenant only"
    );
    assert!(
        c.db.authenticate(&t.name, &tok.token, hour).await.unwrap().is_none(),
        "expires"
    );
    for (id, secret) in [
        (client.client_id.as_str(), "scimdcs_wrong"),
        ("nodot", client.client_secret.as_str()),
        (&format!("{}.x", other.name), client.client_secret.as_str()),
    ] {
        assert!(
            c.db.client_credentials(id, secret, hour, now())
                .await
                .unwrap()
                .is_none(),
            "{id}"
        );
    }

    // Rotation: a second secret, then the first revoked.
    let second =
        c.db.add_client_secret(t.id, &client.client_id, None, now())
            .await
            .unwrap()
            .unwrap();
    assert!(
        c.db.add_client_secret(other.id, &client.client_id, None, now())
            .await
            .unwrap()
            .is_none()
    );
    let listed = c.db.clients(t.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].secrets.len(), 2);
    assert!(c.db.clients(other.id).await.unwrap().is_empty());
    let n =
        c.db.revoke_client_secret(t.id, &client.client_id, &client.secret_prefix, now())
            .await
            .unwrap();
    assert_eq!(n, 1);
    assert!(
        c.db.client_credentials(&client.client_id, &client.client_secret, hour, now())
            .await
            .unwrap()
            .is_none()
    );
    let tok2 =
        c.db.client_credentials(&client.client_id, &second.client_secret, hour, now())
            .await
            .unwrap()
            .unwrap();

    // An expiring secret stops working at its expiry.
    let brief =
        c.db.create_client(t.id, Some(at("2026-01-01T00:30:00Z")), now())
            .await
            .unwrap();
    let late = at("2026-01-01T00:30:00Z");
    assert!(
        c.db.client_credentials(&brief.client_id, &brief.client_secret, hour, late)
            .await
            .unwrap()
            .is_none()
    );

    // Deleting the client refuses its access tokens at once, on every handle.
    let handle = c.reopen().await;
    assert!(handle.delete_client(t.id, &client.client_id, now()).await.unwrap());
    assert!(!handle.delete_client(t.id, &client.client_id, now()).await.unwrap());
    assert!(c.db.authenticate(&t.name, &tok.token, now()).await.unwrap().is_none());
    assert!(c.db.authenticate(&t.name, &tok2.token, now()).await.unwrap().is_none());
    assert!(
        c.db.client_credentials(&client.client_id, &second.client_secret, hour, now())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(c.db.clients(t.id).await.unwrap().len(), 1, "the other client stays");
}

async fn token_use_is_recorded_at_most_once_a_minute(c: Ctx) {
    let t = c.db.create_tenant(&c.name("u"), now()).await.unwrap();
    let other = c.db.create_tenant(&c.name("v"), now()).await.unwrap();
    let tok = c.db.issue_token(t.id, None, now()).await.unwrap();
    let used = |db: std::sync::Arc<dyn crate::Backend>, id| async move { db.tokens(id).await.unwrap()[0].last_used };
    assert_eq!(used(c.db.clone(), t.id).await, None, "never used");
    c.db.touch_token(t.id, &tok.token, at("2026-01-01T00:00:10Z"))
        .await
        .unwrap();
    assert_eq!(used(c.db.clone(), t.id).await, Some(at("2026-01-01T00:00:10Z")));
    c.db.touch_token(t.id, &tok.token, at("2026-01-01T00:00:50Z"))
        .await
        .unwrap();
    assert_eq!(
        used(c.db.clone(), t.id).await,
        Some(at("2026-01-01T00:00:10Z")),
        "within the minute"
    );
    c.db.touch_token(t.id, &tok.token, at("2026-01-01T00:01:20Z"))
        .await
        .unwrap();
    assert_eq!(used(c.db.clone(), t.id).await, Some(at("2026-01-01T00:01:20Z")));
    // Another tenant's id does not reach the token.
    c.db.touch_token(other.id, &tok.token, at("2026-01-01T00:05:00Z"))
        .await
        .unwrap();
    assert_eq!(used(c.db.clone(), t.id).await, Some(at("2026-01-01T00:01:20Z")));
}
