//! The construction of `docs/transparency-log.md`: what an entry hides, what a label's signature
//! finds and opens, and a registration batch in one entry.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use rand::SeedableRng;
use rand::rngs::StdRng;
use tlog::entry::{bundle, unbundle};
use tlog::{BatchTree, ENTRY_LEN, Entry, LabelKey, Opening, TlogError, check_batch_path};

fn opening(rng: &mut StdRng, code: &str, event: &str) -> Opening {
    Opening::new(rng, code.as_bytes().to_vec(), event.as_bytes().to_vec())
}

#[test]
fn an_entry_is_65_bytes_and_names_nothing_in_clear() {
    let mut rng = StdRng::seed_from_u64(1);
    let label = LabelKey::from_signature(&[9; 64]);
    let open = opening(
        &mut rng,
        "0106901234567892X7K2P9QD4MABC",
        "shipped by dist-1 to shop-2",
    );
    let entry = Entry::event(label.tag(3), label.commit(&open));
    let bytes = entry.to_bytes();
    assert_eq!(bytes.len(), ENTRY_LEN);
    assert_eq!(Entry::from_bytes(&bytes).unwrap(), entry);
    for clear in [open.code.as_slice(), open.event.as_slice(), &[9u8; 64][..8]] {
        assert!(!bytes.windows(clear.len()).any(|w| w == clear));
    }
    assert!(
        !format!("{open:?}").contains("dist-1"),
        "an opening's Debug shows no content"
    );
    assert!(!format!("{label:?}").contains('9'));
}

#[test]
fn tags_find_one_code_s_entries_and_no_one_else_s() {
    let a = LabelKey::from_signature(&[1; 64]);
    let b = LabelKey::from_signature(&[2; 64]);
    // Deterministic for whoever holds the signature: the maker computes t(0), t(1), ...
    assert_eq!(a.tag(4), LabelKey::from_signature(&[1; 64]).tag(4));
    // Distinct per event and per code, so the public cannot link a code's entries.
    assert_ne!(a.tag(0), a.tag(1));
    assert_ne!(a.tag(0), b.tag(0));
}

#[test]
fn a_commitment_opens_only_with_its_salt_code_and_event() {
    let mut rng = StdRng::seed_from_u64(2);
    let label = LabelKey::from_signature(&[5; 64]);
    let open = opening(&mut rng, "code", "received by shop-2");
    let c = label.commit(&open);
    assert_eq!(c, label.commit(&open.clone()));

    // Someone with the signature who guesses the event, without the salt, does not find it.
    let guess = opening(&mut rng, "code", "received by shop-2");
    assert_ne!(label.commit(&guess), c);
    // Another event, code or label gives another commitment.
    let mut other_event = open.clone();
    other_event.event = b"received by shop-3".to_vec();
    assert_ne!(label.commit(&other_event), c);
    let mut other_code = open.clone();
    other_code.code = b"code2".to_vec();
    assert_ne!(label.commit(&other_code), c);
    assert_ne!(LabelKey::from_signature(&[6; 64]).commit(&open), c);
    // Lengths are prefixed: moving bytes between code and event changes the commitment.
    let shifted = Opening {
        salt: open.salt,
        code: b"coder".to_vec(),
        event: b"eceived by shop-2".to_vec(),
    };
    assert_ne!(label.commit(&shifted), c);
}

#[test]
fn a_batch_is_one_entry_and_each_code_has_its_path() {
    let mut rng = StdRng::seed_from_u64(3);
    let labels: Vec<LabelKey> = (0u8..13)
        .map(|i| LabelKey::from_signature(&[i; 64]))
        .collect();
    let commitments: Vec<_> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| l.commit(&opening(&mut rng, &format!("code-{i}"), "commissioned")))
        .collect();
    let batch = BatchTree::new(&commitments).unwrap();
    let root = batch.root().unwrap();
    let entry = Entry::batch(labels[0].tag(0), root);
    for (i, c) in commitments.iter().enumerate() {
        let path = batch.path(i as u64).unwrap();
        check_batch_path(&path, c, root).unwrap();
        // Not another code's place.
        let mut moved = path.clone();
        moved.index = (moved.index + 1) % 13;
        assert!(check_batch_path(&moved, c, root).is_err());
    }
    assert!(check_batch_path(&batch.path(0).unwrap(), &commitments[1], root).is_err());
    assert_eq!(entry.to_bytes().len(), ENTRY_LEN);

    // A batch of one: its root is its leaf, never the bare commitment (so a batch entry can not be
    // passed off as an event entry).
    let one = BatchTree::new(&commitments[..1]).unwrap();
    assert_ne!(one.root().unwrap().0, commitments[0].0);
    check_batch_path(&one.path(0).unwrap(), &commitments[0], one.root().unwrap()).unwrap();
    assert!(BatchTree::new(&[]).is_err());
}

#[test]
fn entries_refuse_other_lengths_and_versions() {
    assert_eq!(
        Entry::from_bytes(&[1; 64]),
        Err(TlogError::EntryLength {
            len: 64,
            expected: 65
        })
    );
    let mut bytes = Entry::event(
        LabelKey::from_signature(&[0; 64]).tag(0),
        tlog::Commitment([0; 32]),
    )
    .to_bytes();
    bytes[0] = 2;
    assert_eq!(Entry::from_bytes(&bytes), Err(TlogError::EntryVersion(2)));
}

#[test]
fn bundles_round_trip_and_refuse_truncation() {
    let entries: Vec<Vec<u8>> = vec![vec![1; 65], vec![], vec![2; 300]];
    let b = bundle(entries.iter().map(Vec::as_slice)).unwrap();
    assert_eq!(b.len(), 2 * 3 + 65 + 300);
    let back = unbundle(&b).unwrap();
    assert_eq!(back, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
    assert!(unbundle(&b[..b.len() - 1]).is_err());
    assert!(unbundle(&[0]).is_err());
    assert!(bundle([vec![0; 70_000].as_slice()]).is_err());
}
