//! Receipts checked offline: a registration's (through its batch path) and an event's, and every
//! way a receipt could be altered to claim what the log does not hold.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use ed25519_dalek::SigningKey;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tlog::{BatchTree, Entry, LabelKey, LogKey, MemoryTree, Opening, Receipt, TlogError, tree};

const ORIGIN: &str = "verify.example.cn/log";

struct Log {
    key: LogKey,
    tree: MemoryTree,
    receipts: Vec<(Receipt, [u8; 64], Vec<u8>)>,
}

/// A log of a batch of three codes' registrations and one event of the first code, and the receipt
/// of each.
fn log() -> Log {
    let mut rng = StdRng::seed_from_u64(7);
    let key = LogKey::new(ORIGIN, SigningKey::from_bytes(&[5; 32])).unwrap();
    let signatures: Vec<[u8; 64]> = (0u8..3).map(|i| [i + 1; 64]).collect();
    let codes: Vec<Vec<u8>> = (0u8..3).map(|i| vec![b'c', i]).collect();
    let labels: Vec<LabelKey> = signatures.iter().map(LabelKey::from_signature).collect();
    let registrations: Vec<Opening> = codes
        .iter()
        .map(|c| Opening::new(&mut rng, c.clone(), b"commissioned".to_vec()))
        .collect();
    let commitments: Vec<_> = labels
        .iter()
        .zip(&registrations)
        .map(|(l, o)| l.commit(o))
        .collect();
    let batch = BatchTree::new(&commitments).unwrap();
    let batch_entry = Entry::batch(labels[0].tag(0), batch.root().unwrap());
    let shipped = Opening::new(&mut rng, codes[0].clone(), b"shipped to dist-1".to_vec());
    let event_entry = Entry::event(labels[0].tag(1), labels[0].commit(&shipped));

    let mut tree = MemoryTree::new();
    tree.push(&batch_entry.to_bytes()).unwrap();
    tree.push(&event_entry.to_bytes()).unwrap();
    let note = key
        .sign_checkpoint(tree.size(), tree.root().unwrap())
        .unwrap();
    let mut receipts = Vec::new();
    for (i, opening) in registrations.iter().enumerate() {
        let proof = tree::inclusion_proof(2, 0, &tree).unwrap();
        let path = batch.path(i as u64).unwrap();
        let r = Receipt::new(
            format!("code {i}"),
            0,
            opening,
            &batch_entry,
            0,
            &proof,
            Some(&path),
            note.clone(),
        );
        receipts.push((r, signatures[i], codes[i].clone()));
    }
    let proof = tree::inclusion_proof(2, 1, &tree).unwrap();
    let r = Receipt::new(
        "code 0".into(),
        1,
        &shipped,
        &event_entry,
        1,
        &proof,
        None,
        note,
    );
    receipts.push((r, signatures[0], codes[0].clone()));
    Log {
        key,
        tree,
        receipts,
    }
}

#[test]
fn receipts_of_registrations_and_events_check_offline() {
    let log = log();
    assert_eq!(log.tree.size(), 2);
    for (receipt, signature, code) in &log.receipts {
        let again = Receipt::from_json(&receipt.to_json()).unwrap();
        assert_eq!(&again, receipt);
        let checked = again.check(&log.key.verifier(), code, signature).unwrap();
        assert_eq!(checked.checkpoint.size, 2);
        assert_eq!(checked.seq, receipt.seq);
    }
    let (event, ..) = &log.receipts[3];
    let checked = event.check(&log.key.verifier(), b"c\0", &[1; 64]).unwrap();
    assert_eq!(checked.event, b"shipped to dist-1");
}

#[test]
fn an_altered_receipt_is_refused() {
    let log = log();
    let verifier = log.key.verifier();
    let (event, signature, code) = log.receipts[3].clone();
    let (registration, ..) = log.receipts[1].clone();
    let b64 = |b: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    let refused = |r: &Receipt, code: &[u8], signature: &[u8; 64]| {
        r.check(&verifier, code, signature).unwrap_err()
    };

    // Another event claimed for the entry.
    let mut r = event.clone();
    r.opening.event = b64(b"installed in LSVAU218XN2183294");
    assert!(matches!(
        refused(&r, &code, &signature),
        TlogError::Receipt(_)
    ));
    // Another label's signature, or another code.
    assert!(matches!(
        refused(&event, &code, &[9; 64]),
        TlogError::Receipt(_)
    ));
    assert!(matches!(
        refused(&event, b"c\x01", &signature),
        TlogError::Receipt(_)
    ));
    // Another event number (the tag would differ).
    let mut r = event.clone();
    r.seq = 2;
    refused(&r, &code, &signature);
    // Another place in the log, or a proof of something else.
    let mut r = event.clone();
    r.index = 0;
    assert!(matches!(
        refused(&r, &code, &signature),
        TlogError::Proof { .. }
    ));
    let mut r = event.clone();
    r.proof = registration.proof.clone();
    refused(&r, &code, &signature);
    // A registration claimed as a later event.
    let mut r = registration.clone();
    r.seq = 1;
    assert!(matches!(
        refused(&r, &[b'c', 1], &[2; 64]),
        TlogError::Receipt(_)
    ));
    // Another code's place in the batch.
    let mut r = registration.clone();
    r.batch.as_mut().unwrap().position = 0;
    refused(&r, &[b'c', 1], &[2; 64]);
    // A checkpoint the log did not sign, or another log's key.
    let mut r = event.clone();
    r.checkpoint = r.checkpoint.replacen("\n2\n", "\n3\n", 1);
    assert!(matches!(
        refused(&r, &code, &signature),
        TlogError::Checkpoint(_)
    ));
    let other = LogKey::new(ORIGIN, SigningKey::from_bytes(&[6; 32])).unwrap();
    assert!(event.check(&other.verifier(), &code, &signature).is_err());
    // Not a receipt at all.
    assert!(Receipt::from_json("{}").is_err());
    let mut r = event;
    r.entry = "***".into();
    refused(&r, &code, &signature);
}
