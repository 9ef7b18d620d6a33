//! Single sign-on's edges over a real netpulse, without a provider: the
//! button only when it is set up, a provider that cannot be reached, and the
//! answers a callback must refuse (a refusal, a forged or foreign answer).
//! The whole flow against a real OpenID provider is the browser test
//! `end2end/tests/single_sign_on.spec.ts`.

mod common;

use common::{closed_port, secured_config, start, Target};
use netpulse::server::{
    auth::{access::Role, secrets},
    store::Store,
};
use reqwest::{header, redirect::Policy, Client, StatusCode};

async fn page(client: &Client, url: String) -> (StatusCode, String) {
    let response = client.get(url).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn without_a_reachable_provider_every_sign_in_attempt_is_refused_with_a_reason() {
    let client = Client::builder().redirect(Policy::none()).build().unwrap();
    let mut plain = secured_config("");
    plain.speed.enabled = false;
    let server = start(plain, Target::Refusing).await;
    let (status, login) = page(&client, server.url("/login")).await;
    assert_eq!(status, 200);
    assert!(!login.contains("/login/oidc"), "no button when single sign-on is not set up");
    let (status, body) = page(&client, server.url("/login/oidc")).await;
    assert_eq!(status, 404);
    assert!(body.contains("single sign-on is not set up"), "{body}");
    server.shutdown().await;

    let down = closed_port().await;
    let issuer = format!("http://127.0.0.1:{down}");
    let mut config = secured_config(&format!(
        "[auth.oidc]\nissuer = \"{issuer}\"\nclient_id = \"netpulse\"\nredirect_url = \"http://127.0.0.1:1/login/oidc/callback\"\ndefault_role = \"viewer\"\n"
    ));
    config.speed.enabled = false;
    // An admin exists, so netpulse is past setup.
    let dir = tempfile::tempdir().unwrap();
    config.data_dir = dir.path().to_owned();
    Store::open(dir.path(), 0).await.unwrap().add_user("root", &secrets::hash_password("correct horse battery"), Role::Admin, 0).await.unwrap();
    let server = start(config, Target::Refusing).await;
    let (_, login) = page(&client, server.url("/login?next=/alerts%3Fx%3D1")).await;
    assert!(login.contains("Sign in with single sign-on"), "{login}");
    assert!(login.contains("href=\"/login/oidc?next=%2Falerts%3Fx%3D1\""), "the button keeps where to go next: {login}");

    let (status, body) = page(&client, server.url("/login/oidc")).await;
    assert_eq!(status, 503);
    assert!(body.contains("the sign-in provider cannot be reached right now"), "{body}");

    // A refusal: only a code OAuth defines, and the provider's own words only for a sign-in
    // netpulse issued to this browser, so a crafted link cannot put its text on the page.
    let refused = server.url("/login/oidc/callback?error=access_denied&error_description=call%20%2B1%20555%200100&state=x");
    let (status, body) = page(&client, refused.clone()).await;
    assert_eq!(status, 401);
    assert!(body.contains("the sign-in provider refused: access_denied<"), "{body}");
    assert!(!body.contains("555"), "the description of a link this browser did not start is not shown");
    let planted = client.get(refused).header(header::COOKIE, "netpulse_oidc=x").send().await.unwrap().text().await.unwrap();
    assert!(!planted.contains("555"), "nor with a planted cookie, for a state netpulse never issued");
    let (_, made_up) = page(&client, server.url("/login/oidc/callback?error=call_5550100_for_support")).await;
    assert!(made_up.contains("the sign-in provider refused: the sign-in was not completed") && !made_up.contains("5550100"), "{made_up}");
    // The provider's description for a sign-in it started is the browser test's: end2end/tests/single_sign_on.spec.ts.

    let (status, body) = page(&client, server.url("/login/oidc/callback?state=abc")).await;
    assert_eq!(status, 400);
    assert!(body.contains("has no code or state"), "{body}");

    // A code and state this browser did not start: no binding cookie, or another one.
    let (status, body) = page(&client, server.url("/login/oidc/callback?code=c&state=abc")).await;
    assert_eq!(status, 400);
    assert!(body.contains("expired or was started in another browser"), "{body}");
    let other = client.get(server.url("/login/oidc/callback?code=c&state=abc")).header(header::COOKIE, "netpulse_oidc=xyz").send().await.unwrap();
    assert_eq!(other.status(), 400);
    let planted = client.get(server.url("/login/oidc/callback?code=c&state=abc")).header(header::COOKIE, "netpulse_oidc=abc").send().await.unwrap();
    assert_eq!(planted.status(), 400, "a state netpulse never issued is refused even with a matching cookie");
    let cleared = planted.headers().get_all(header::SET_COOKIE).iter().any(|v| v.to_str().unwrap().starts_with("netpulse_oidc=; Max-Age=0"));
    assert!(cleared, "the binding cookie is cleared");

    let foreign = server.url("/login/oidc/callback?code=c&state=abc&iss=https%3A%2F%2Fevil.example");
    let foreign = client.get(foreign).header(header::COOKIE, "netpulse_oidc=abc").send().await.unwrap();
    assert_eq!(foreign.status(), 400);
    assert!(foreign.text().await.unwrap().contains("another sign-in provider"), "RFC 9207's iss is checked");
    server.shutdown().await;
}
