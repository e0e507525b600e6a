//! Parties and tokens: issued once, stored as hashes, expiring and revocable.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use registry::{AuthError, Party, Registry, RegistryConfig, Role};

fn shop(id: &str) -> Party {
    Party {
        id: party(id),
        role: Role::Shop,
        name: "广州某某汽车维修有限公司".into(),
        region: Some("Guangdong".into()),
        created_at: t0(),
        revoked_at: None,
    }
}

#[test]
fn tokens_authenticate_their_party_until_expired_or_revoked() {
    let w = World::new();
    let r = &w.registry;
    r.add_party(shop("shop-1")).unwrap();
    assert!(r.add_party(shop("shop-1")).is_err(), "duplicate party");
    assert!(r.issue_token(&party("nobody"), None, t0()).is_err());

    let forever = r.issue_token(&party("shop-1"), None, t0()).unwrap();
    let brief = r.issue_token(&party("shop-1"), Some(day(5)), t0()).unwrap();
    let me = r.authenticate(forever.reveal(), day(1)).unwrap().unwrap();
    assert_eq!(me.id, party("shop-1"));
    assert!(r.authenticate(brief.reveal(), day(4)).unwrap().is_ok());
    assert_eq!(
        r.authenticate(brief.reveal(), day(5)).unwrap(),
        Err(AuthError::Expired)
    );
    // A wrong secret under a real id, and garbage.
    let forged = format!("{}x", &forever.reveal()[..forever.reveal().len() - 1]);
    assert_eq!(
        r.authenticate(&forged, day(1)).unwrap(),
        Err(AuthError::Unknown)
    );
    assert_eq!(
        r.authenticate("hello", day(1)).unwrap(),
        Err(AuthError::Malformed)
    );

    r.revoke_token(&forever.record.id, day(2)).unwrap();
    assert_eq!(
        r.authenticate(forever.reveal(), day(2)).unwrap(),
        Err(AuthError::Revoked)
    );
    let other = r.issue_token(&party("shop-1"), None, day(2)).unwrap();
    r.revoke_party(&party("shop-1"), day(3)).unwrap();
    assert_eq!(
        r.authenticate(other.reveal(), day(3)).unwrap(),
        Err(AuthError::PartyRevoked)
    );
    assert!(r.issue_token(&party("shop-1"), None, day(3)).is_err());

    // The store never holds a secret, and everything survives reopening.
    let dir = w.dir.path().join("data");
    let secret = other.reveal().rsplit('_').next().unwrap().to_owned();
    drop(w.registry);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|win| win == secret.as_bytes()),
                "{} holds a token secret",
                path.display()
            );
        }
    }
    let r = Registry::open(&dir, RegistryConfig::default()).unwrap();
    assert_eq!(r.tokens().unwrap().len(), 3);
    assert!(
        r.party(&party("shop-1"))
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
}
