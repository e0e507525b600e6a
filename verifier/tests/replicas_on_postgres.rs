//! Two services on one PostgreSQL database, as replicas behind a proxy run: a browser session
//! opened through one is good in the other, the station's mode goes with it, and signing out
//! through either ends it in both.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use registry::{Registry, RegistryConfig, Role};
use reqwest::Client;
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;

async fn station(client: &Client, server: &Server, cookie: &str) -> String {
    let page = client
        .get(server.url("/shop?lang=en"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    page.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_opened_through_one_replica_lives_and_ends_in_both() {
    let a = start(Overrides::default()).await;
    let url = a.database.expect("a PostgreSQL server").url.clone();
    let registry = tokio::task::spawn_blocking(move || {
        Arc::new(Registry::connect(&url, RegistryConfig::default()).unwrap())
    })
    .await
    .unwrap();
    let b = start_on(Overrides::default(), registry, tempfile::tempdir().unwrap()).await;
    add_party(&a.registry, "shop-a", Role::Shop, "Guangdong");
    let token = token(&a.registry, "shop-a");
    let client = no_redirects();

    // Sign in through A.
    let form = client.get(a.url("/shop")).send().await.unwrap();
    let signin_cookie = cookie_of(&form);
    let csrf = csrf_of(&form.text().await.unwrap());
    let signed_in = client
        .post(a.url("/signin"))
        .header("cookie", &signin_cookie)
        .form(&[("csrf", &csrf[..]), ("token", &token[..]), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 303);
    let session = cookie_of(&signed_in);

    // B knows the session: the station, with the same CSRF token.
    let on_a = station(&client, &a, &session).await;
    let on_b = station(&client, &b, &session).await;
    let csrf = csrf_of(&on_a);
    assert_eq!(csrf_of(&on_b), csrf);

    // Install mode chosen through B holds on A.
    let vin = "LSVAU218XN2183294";
    let mode = client
        .post(b.url("/shop/mode"))
        .header("cookie", &session)
        .form(&[("csrf", &csrf[..]), ("mode", "install"), ("vin", vin)])
        .send()
        .await
        .unwrap();
    assert_eq!(mode.status().as_u16(), 303);
    assert!(station(&client, &a, &session).await.contains(vin));

    // Signing out through A ends it in B too.
    let out = client
        .post(a.url("/signout"))
        .header("cookie", &session)
        .form(&[("csrf", &csrf[..])])
        .send()
        .await
        .unwrap();
    assert!(out.status().is_redirection(), "{}", out.status());
    let after = station(&client, &b, &session).await;
    assert!(after.contains("action=\"/signin\""), "signed out in B");
    // No session row is left behind.
    let left = tokio::task::spawn_blocking({
        let registry = b.registry.clone();
        let id = session.split_once('=').unwrap().1.to_owned();
        move || registry.session(&id).unwrap()
    })
    .await
    .unwrap();
    assert!(left.is_none());
}
