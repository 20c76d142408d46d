//! OAuth 2.0 client credentials against a real scimd: the token is fetched on first use,
//! renewed after the server refuses it, and a deleted client fails with the server's 401.

use scim_client::{ClientOptions, Credentials, Endpoint, ScimClient};

use crate::harness::*;

fn now() -> scim_core::Timestamp {
    NOW.parse().unwrap()
}

#[tokio::test]
async fn client_credentials_fetch_and_renew_access_tokens() {
    let s = Server::start().await;
    let client = s.store.create_client(s.tenant, None, now()).await.unwrap();
    let creds = Credentials::ClientCredentials {
        token_url: format!("{}/oauth/token", s.root),
        client_id: client.client_id.clone(),
        client_secret: client.client_secret.clone(),
    };
    let c = ScimClient::with_credentials(&s.base, creds, ClientOptions::default()).unwrap();
    c.create(Endpoint::Users, &user("o@contoso.com")).await.unwrap();
    let tokens = s.store.tokens(s.tenant).await.unwrap();
    assert_eq!(tokens.len(), 2, "the harness's token and one access token: {tokens:?}");

    // Revoke the access token: the client gets a 401, fetches a new one with its
    // credentials, and the call succeeds.
    let access = tokens
        .iter()
        .find(|t| t.expires.is_some())
        .expect("the access token expires");
    assert_eq!(s.store.revoke_tokens(s.tenant, &access.prefix, now()).await.unwrap(), 1);
    let list = c.search(Endpoint::Users, None, None, 1, 10).await.unwrap();
    assert_eq!(list.total_results, 1);
    assert_eq!(
        s.store.tokens(s.tenant).await.unwrap().len(),
        3,
        "one more access token"
    );

    // A deleted client: its token is refused and no new one is issued.
    assert!(s.store.delete_client(s.tenant, &client.client_id, now()).await.unwrap());
    let err = c.search(Endpoint::Users, None, None, 1, 10).await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert!(err.to_string().contains("token endpoint"), "{err}");
}

#[test]
fn bad_client_credentials_are_configuration_errors() {
    for (url, id, secret) in [
        ("ftp://x/token", "a.b", "s"),
        ("http://x/token", "", "s"),
        ("http://x/token", "a.b", " "),
    ] {
        let creds = Credentials::ClientCredentials {
            token_url: url.into(),
            client_id: id.into(),
            client_secret: secret.into(),
        };
        let err = ScimClient::with_credentials("http://h/scim/v2/a", creds, ClientOptions::default()).unwrap_err();
        assert!(matches!(err, scim_client::ClientError::Config(_)), "{err}");
    }
}
