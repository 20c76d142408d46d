//! Which receiver URLs an endpoint may have: https anywhere; plain http only to a loopback
//! address, and only when the server allows it (tests, local development).

use std::net::IpAddr;

/// Checks a receiver URL; the error says what to change.
pub fn check_url(raw: &str, allow_loopback_http: bool) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("{raw:?} has no host"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not carry credentials; receivers verify the signature instead".into());
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(host) && allow_loopback_http => Ok(()),
        "http" if is_loopback(host) => Err(format!(
            "{raw:?}: plain http is refused; use https, or run the server with \
             --webhook-allow-loopback-http (SCIMD_WEBHOOK_ALLOW_LOOPBACK_HTTP=true) for local receivers"
        )),
        "http" => Err(format!(
            "{raw:?}: use https (plain http is allowed only to a loopback address)"
        )),
        other => Err(format!("{raw:?}: the scheme {other:?} is not supported; use https")),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback_when_allowed() {
        assert!(check_url("https://hooks.example.com/scim", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/h", true).is_ok());
        assert!(check_url("http://[::1]:8080/h", true).is_ok());
        assert!(check_url("http://localhost/h", true).is_ok());
        assert!(
            check_url("http://127.0.0.1:8080/h", false)
                .unwrap_err()
                .contains("--webhook-allow-loopback-http")
        );
        assert!(
            check_url("http://hooks.example.com/h", true)
                .unwrap_err()
                .contains("use https")
        );
        assert!(check_url("http://10.0.0.1/h", true).is_err());
        assert!(check_url("ftp://example.com/h", true).is_err());
        assert!(check_url("not a url", true).is_err());
        assert!(check_url("https://user:pw@example.com/h", true).is_err());
    }
}
