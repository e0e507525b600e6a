//! Parties and tokens: issued once, stored as hashes, expiring and revocable.

#![allow(clippy::unwrap_used)]

use registry::{AuthError, Party, Role};
use testkit::world::*;

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
    // What the store holds: sled's files, or the whole database as pg_dump writes it out.
    let stored: Vec<(String, Vec<u8>)> = match &w.database {
        None => std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .map(|path| (path.display().to_string(), std::fs::read(&path).unwrap()))
            .collect(),
        Some(database) => {
            let dump = std::process::Command::new("pg_dump")
                .args(["--data-only", "--format=plain", &database.url])
                .output()
                .unwrap();
            assert!(
                dump.status.success(),
                "{}",
                String::from_utf8_lossy(&dump.stderr)
            );
            // bytea is dumped as hex.
            let text = String::from_utf8(dump.stdout).unwrap();
            vec![("the database".into(), text.into_bytes())]
        }
    };
    assert!(stored.iter().map(|(_, b)| b.len()).sum::<usize>() > 0);
    for (what, bytes) in stored {
        for needle in [
            secret.as_bytes().to_vec(),
            hex::encode(&secret).into_bytes(),
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|win| win == needle),
                "{what} holds a token secret"
            );
        }
    }
    let r = testkit::engine::reopen(&dir, w.database.as_ref());
    assert_eq!(r.tokens().unwrap().len(), 3);
    assert!(
        r.party(&party("shop-1"))
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
}
