//! The witness cosigns only a tree that extends the one it knows: a log that forks or shrinks is
//! refused, with tlog-witness's statuses, and its cosignatures verify on the checkpoint note.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use ed25519_dalek::SigningKey;
use tlog::witness::{AddCheckpoint, CosignatureVerifier, Refusal, Witness, WitnessedTree};
use tlog::{LogKey, MemoryTree, tree};

const ORIGIN: &str = "verify.example.cn/log";

fn log_of(entries: &[&str]) -> MemoryTree {
    let mut t = MemoryTree::new();
    for e in entries {
        t.push(e.as_bytes()).unwrap();
    }
    t
}

fn request(key: &LogKey, t: &MemoryTree, old: u64) -> AddCheckpoint {
    AddCheckpoint {
        old_size: old,
        proof: tree::consistency_proof(t.size(), old, t).unwrap(),
        checkpoint: key.sign_checkpoint(t.size(), t.root().unwrap()).unwrap(),
    }
}

#[test]
fn a_witness_cosigns_a_growing_log_and_refuses_a_fork_or_a_shrink() {
    let log = LogKey::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).unwrap();
    let witness = Witness::new("witness.example.org", SigningKey::from_bytes(&[2; 32])).unwrap();
    let verifier = CosignatureVerifier::parse(&witness.verifier_key()).unwrap();
    assert_eq!(verifier, witness.verifier());
    // A key names its signature type: a witness's key is no log key, and a log's no witness's.
    assert!(tlog::LogVerifier::parse(&witness.verifier_key()).is_err());
    assert!(CosignatureVerifier::parse(&log.verifier_key()).is_err());

    // The first checkpoint it sees, then one that extends it.
    let three = log_of(&["a", "b", "c"]);
    let first = request(&log, &three, 0);
    let (known, line) = witness
        .add_checkpoint(&log.verifier(), None, &first, 1_700_000_000)
        .unwrap();
    assert_eq!(
        known,
        WitnessedTree {
            size: 3,
            root: three.root().unwrap()
        }
    );
    let cosigned = format!("{}{line}", first.checkpoint);
    verifier.cosigned(&cosigned).unwrap();
    // Still the log's checkpoint: the log's signature holds beside the cosignature.
    log.verifier().open_checkpoint(&cosigned).unwrap();

    let five = log_of(&["a", "b", "c", "d", "e"]);
    let grown = request(&log, &five, 3);
    let parsed = AddCheckpoint::parse(&grown.to_body()).unwrap();
    assert_eq!(parsed, grown);
    let (known, _) = witness
        .add_checkpoint(&log.verifier(), Some(known), &parsed, 1_700_000_001)
        .unwrap();
    assert_eq!(known.size, 5);

    // A fork: another history of the first three entries, grown to six.
    let fork = log_of(&["a", "B", "c", "d", "e", "f"]);
    let forked = request(&log, &fork, 5);
    assert_eq!(
        witness.add_checkpoint(&log.verifier(), Some(known), &forked, 1_700_000_002),
        Err(Refusal::NotConsistent)
    );
    // The same size with another root is a fork too.
    let same_size = log_of(&["a", "b", "c", "d", "E"]);
    assert_eq!(
        witness
            .add_checkpoint(
                &log.verifier(),
                Some(known),
                &request(&log, &same_size, 5),
                0
            )
            .map(|_| ()),
        Err(Refusal::NotConsistent)
    );
    // A shrunk log, claiming the known size as its old one.
    let mut shrunk = request(&log, &three, 3);
    shrunk.old_size = 5;
    shrunk.proof.clear();
    assert!(matches!(
        witness.add_checkpoint(&log.verifier(), Some(known), &shrunk, 0),
        Err(Refusal::Malformed(_))
    ));
    // An old size the witness does not know: 409 with the size it knows.
    let stale = request(&log, &five, 3);
    let refused = witness
        .add_checkpoint(&log.verifier(), Some(known), &stale, 0)
        .unwrap_err();
    assert_eq!(
        (refused.status(), &refused),
        (409, &Refusal::Conflict { known: 5 })
    );
    // Another log's key.
    let other = LogKey::new(ORIGIN, SigningKey::from_bytes(&[3; 32])).unwrap();
    let refused = witness
        .add_checkpoint(&log.verifier(), Some(known), &request(&other, &fork, 5), 0)
        .unwrap_err();
    assert_eq!(refused.status(), 403);
    // Another origin: not a log this witness witnesses, whatever its signature.
    let elsewhere = LogKey::new("elsewhere.example/log", SigningKey::from_bytes(&[1; 32])).unwrap();
    let refused = witness
        .add_checkpoint(
            &log.verifier(),
            Some(known),
            &request(&elsewhere, &five, 5),
            0,
        )
        .unwrap_err();
    assert_eq!(
        (refused.status(), &refused),
        (404, &Refusal::UnknownOrigin("elsewhere.example/log".into()))
    );
    // The old size beyond the checkpoint's is a bad request before it is a conflict.
    let mut beyond = request(&log, &three, 0);
    beyond.old_size = 4;
    assert_eq!(
        witness
            .add_checkpoint(&log.verifier(), Some(known), &beyond, 0)
            .unwrap_err()
            .status(),
        400
    );
}

#[test]
fn an_empty_tree_must_have_the_empty_root_and_a_first_proof_is_empty() {
    let log = LogKey::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).unwrap();
    let witness = Witness::new("witness.example.org", SigningKey::from_bytes(&[2; 32])).unwrap();
    let empty = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: log.sign_checkpoint(0, tree::empty_root()).unwrap(),
    };
    let (known, _) = witness
        .add_checkpoint(&log.verifier(), None, &empty, 1)
        .unwrap();
    assert_eq!(known.size, 0);
    let not_empty = AddCheckpoint {
        checkpoint: log
            .sign_checkpoint(0, log_of(&["a"]).root().unwrap())
            .unwrap(),
        ..empty.clone()
    };
    assert_eq!(
        witness.add_checkpoint(&log.verifier(), None, &not_empty, 1),
        Err(Refusal::NotConsistent)
    );
    let mut with_proof = request(&log, &log_of(&["a", "b"]), 0);
    with_proof.proof = vec![tree::empty_root()];
    assert_eq!(
        witness.add_checkpoint(&log.verifier(), None, &with_proof, 1),
        Err(Refusal::NotConsistent)
    );
}

#[test]
fn a_log_keeps_only_the_valid_lines_of_a_witness_answer() {
    let log = LogKey::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).unwrap();
    let witness = Witness::new("witness.example.org", SigningKey::from_bytes(&[2; 32])).unwrap();
    let other = Witness::new("witness.example.org", SigningKey::from_bytes(&[3; 32])).unwrap();
    let t = log_of(&["a"]);
    let note = log.sign_checkpoint(1, t.root().unwrap()).unwrap();
    let text = log.verifier().open_checkpoint(&note).unwrap().text;
    let good = witness.cosign(&text, 7);
    let answer = format!(
        "{}{good}not a line\n{}",
        other.cosign(&text, 7),
        witness.cosign("x\n", 7)
    );
    assert_eq!(witness.verifier().valid_lines(&note, &answer), vec![good]);
}

#[test]
fn cosignatures_are_bound_to_their_time_key_and_checkpoint() {
    let log = LogKey::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).unwrap();
    let witness = Witness::new("witness.example.org", SigningKey::from_bytes(&[2; 32])).unwrap();
    let t = log_of(&["a"]);
    let note = log.sign_checkpoint(1, t.root().unwrap()).unwrap();
    let text = log.verifier().open_checkpoint(&note).unwrap().text;
    let line = witness.cosign(&text, 42);
    witness
        .verifier()
        .cosigned(&format!("{note}{line}"))
        .unwrap();
    // The key id is the cosignature/v1 one (type 0x04), not the Ed25519 note key's.
    let vkey = witness.verifier_key();
    let id = vkey.split('+').nth(1).unwrap();
    assert!(line.contains(' '));
    let blob = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        line.trim_end().rsplit(' ').next().unwrap(),
    )
    .unwrap();
    assert_eq!(hex::encode(&blob[..4]), id);
    assert_eq!(u64::from_be_bytes(blob[4..12].try_into().unwrap()), 42);
    assert_eq!(blob.len(), 4 + 8 + 64);
    // Over another checkpoint it does not verify.
    let other = log
        .sign_checkpoint(1, log_of(&["b"]).root().unwrap())
        .unwrap();
    assert!(
        witness
            .verifier()
            .cosigned(&format!("{other}{line}"))
            .is_err()
    );
    // Malformed requests.
    for body in [
        "",
        "old x\n\nnote",
        "old 01\n\nnote",
        "old 1\nnot base64!\n\nnote",
    ] {
        assert!(
            matches!(AddCheckpoint::parse(body), Err(Refusal::Malformed(_))),
            "{body:?}"
        );
    }
}
