//! The log's formats against published vectors: RFC 6962's reference tree (the roots, inclusion and
//! consistency proofs every Certificate Transparency implementation checks), Go's `sumdb/note`
//! signed-note vector, and tlog-tiles' path examples. A log no other implementation agrees with
//! proves nothing to anyone.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::SigningKey;
use tlog::{Hash, LogKey, LogVerifier, MemoryTree, TilePath, TlogError, tree};

/// RFC 6962's reference leaves (certificate-transparency's `merkle_tree_test`).
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// The roots of the trees of sizes 0 to 8 over those leaves.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (index, tree size, proof)
const INCLUSION: [(u64, u64, &[&str]); 3] = [
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (0, 1, &[]),
];

/// (old size, new size, proof)
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(hex_str: &str) -> Hash {
    Hash(hex::decode(hex_str).unwrap().try_into().unwrap())
}

fn hashes(list: &[&str]) -> Vec<Hash> {
    list.iter().map(|s| h(s)).collect()
}

fn reference_tree(size: usize) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in &LEAVES[..size] {
        tree.push(&hex::decode(leaf).unwrap()).unwrap();
    }
    tree
}

#[test]
fn roots_match_rfc_6962_for_every_size() {
    for (size, want) in ROOTS.iter().enumerate() {
        let tree = reference_tree(size);
        assert_eq!(tree.root().unwrap(), h(want), "size {size}");
    }
}

#[test]
fn inclusion_proofs_match_rfc_6962_and_check() {
    let full = reference_tree(8);
    for (index, size, want) in INCLUSION {
        let proof = tree::inclusion_proof(size, index, &full).unwrap();
        assert_eq!(proof, hashes(want), "index {index} in {size}");
        let leaf = MemoryTree::leaf_hash(&hex::decode(LEAVES[index as usize]).unwrap());
        tree::check_inclusion(&proof, size, h(ROOTS[size as usize]), index, leaf).unwrap();

        // Another leaf, index or root is refused.
        let other = MemoryTree::leaf_hash(b"not in the tree");
        assert!(
            tree::check_inclusion(&proof, size, h(ROOTS[size as usize]), index, other).is_err()
        );
        if size > 1 {
            assert!(
                tree::check_inclusion(&proof, size, h(ROOTS[size as usize - 1]), index, leaf)
                    .is_err()
            );
        }
    }
}

#[test]
fn consistency_proofs_match_rfc_6962_and_check() {
    let full = reference_tree(8);
    for (old, new, want) in CONSISTENCY {
        let proof = tree::consistency_proof(new, old, &full).unwrap();
        assert_eq!(proof, hashes(want), "{old} -> {new}");
        let (old_root, new_root) = (h(ROOTS[old as usize]), h(ROOTS[new as usize]));
        tree::check_consistency(&proof, new, new_root, old, old_root).unwrap();
    }
}

#[test]
fn a_fork_or_a_shrunk_tree_is_not_consistent() {
    let full = reference_tree(8);
    let proof = tree::consistency_proof(8, 6, &full).unwrap();
    // Another tree of 6 entries (a rewritten history) is not a prefix of this one.
    let mut forked = reference_tree(5);
    forked.push(b"rewritten").unwrap();
    let err =
        tree::check_consistency(&proof, 8, h(ROOTS[8]), 6, forked.root().unwrap()).unwrap_err();
    assert_eq!(
        err,
        TlogError::Proof {
            what: "consistency proof"
        }
    );
    // Shrinking is never consistent, whatever the proof.
    assert!(tree::check_consistency(&[], 6, h(ROOTS[6]), 8, h(ROOTS[8])).is_err());
    // Same size, different root: a fork.
    assert!(tree::check_consistency(&[], 8, h(ROOTS[8]), 8, forked.root().unwrap()).is_err());
    // Every tree extends the empty one.
    tree::check_consistency(&[], 8, h(ROOTS[8]), 0, h(ROOTS[0])).unwrap();
}

/// Go's `golang.org/x/mod/sumdb/note` vector, which signed-note's specification follows.
const GO_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

fn go_key() -> LogKey {
    let raw = BASE64
        .decode(GO_SKEY.splitn(5, '+').nth(4).unwrap())
        .unwrap();
    assert_eq!(raw[0], 1, "an Ed25519 key");
    let seed: [u8; 32] = raw[1..].try_into().unwrap();
    LogKey::new("PeterNeumann", SigningKey::from_bytes(&seed)).unwrap()
}

#[test]
fn notes_are_signed_exactly_as_go_signs_them() {
    let key = go_key();
    assert_eq!(key.verifier_key(), GO_VKEY);
    assert_eq!(
        key.sign_note(GO_TEXT.as_bytes()).unwrap(),
        format!("{GO_TEXT}\n{GO_SIG}")
    );
    let parsed = LogVerifier::parse(GO_VKEY).unwrap();
    assert_eq!(parsed.to_key_string(), GO_VKEY);
    assert_eq!(parsed, key.verifier());
}

#[test]
fn verifier_keys_with_a_wrong_id_algorithm_or_name_are_refused() {
    for bad in [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
    ] {
        assert!(
            matches!(LogVerifier::parse(bad), Err(TlogError::VerifierKey(_))),
            "{bad}"
        );
    }
}

#[test]
fn a_checkpoint_is_a_c2sp_checkpoint_signed_by_the_log_key() {
    let key = LogKey::new(
        "verify.example.cn/partseal-log",
        SigningKey::from_bytes(&[3; 32]),
    )
    .unwrap();
    let tree = reference_tree(8);
    let note = key.sign_checkpoint(8, tree.root().unwrap()).unwrap();
    let root_b64 = BASE64.encode(h(ROOTS[8]).0);
    assert!(note.starts_with(&format!(
        "verify.example.cn/partseal-log\n8\n{root_b64}\n\n— verify.example.cn/partseal-log "
    )));

    let opened = key.verifier().open_checkpoint(&note).unwrap();
    assert_eq!((opened.size, opened.root), (8, h(ROOTS[8])));
    assert_eq!(
        opened.text,
        format!("verify.example.cn/partseal-log\n8\n{root_b64}\n")
    );

    // A changed size, another log's key, and a note without a signature are refused.
    let tampered = note.replacen("\n8\n", "\n9\n", 1);
    assert!(key.verifier().open_checkpoint(&tampered).is_err());
    let other = LogKey::new(
        "verify.example.cn/partseal-log",
        SigningKey::from_bytes(&[4; 32]),
    )
    .unwrap();
    assert!(other.verifier().open_checkpoint(&note).is_err());
    assert!(key.verifier().open_checkpoint(&opened.text).is_err());

    // A checkpoint for another origin, signed by a key named as this log, is refused by origin.
    let elsewhere = key
        .sign_note(format!("other.example/log\n8\n{root_b64}\n").as_bytes())
        .unwrap();
    assert!(matches!(
        key.verifier().open_checkpoint(&elsewhere),
        Err(TlogError::CheckpointOrigin { .. })
    ));
}

#[test]
fn tile_paths_are_tlog_tiles_paths() {
    let cases = [
        ("tile/0/000", TilePath::hashes(0, 0, 256).unwrap()),
        (
            "tile/0/x001/x234/067",
            TilePath::hashes(0, 1_234_067, 256).unwrap(),
        ),
        (
            "tile/2/x001/x234/067.p/8",
            TilePath::hashes(2, 1_234_067, 8).unwrap(),
        ),
        (
            "tile/entries/x001/x234/067",
            TilePath::entries(1_234_067, 256).unwrap(),
        ),
        ("tile/entries/005.p/255", TilePath::entries(5, 255).unwrap()),
    ];
    for (path, tile) in cases {
        assert_eq!(TilePath::parse(path).unwrap(), tile, "{path}");
        assert_eq!(tile.path(), path);
    }
    for bad in [
        "tile/0/1234067",
        "tile/0/x001/234067",
        "tile/0/0001",
        "tile/0/000.p/256",
        "tile/0/000.p/0",
        "tile/0/000.p/",
        "tile/8/0/000",
        "tile/data/000",
        "tile/entries/000.p/x",
        "tile/64/000",
        "tile/-1/000",
        "tile/0/x001",
        "tile/0/",
        "tile/99999/000",
        "tile/entries/000.p/0",
        "tile/entries/000.p/00",
        "tile/entries/000.p/08",
    ] {
        assert!(TilePath::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_hash_tile_lists_its_level_s_hashes_and_only_within_the_tree() {
    let mut log = MemoryTree::new();
    for i in 0u32..300 {
        log.push(&i.to_be_bytes()).unwrap();
    }
    let full = TilePath::hashes(0, 0, 256).unwrap();
    let data = full.hash_tile(300, &log).unwrap();
    assert_eq!(data.len(), 256 * 32);
    assert_eq!(&data[..32], &MemoryTree::leaf_hash(&0u32.to_be_bytes()).0);
    // A full tile hashes to the root of its 256 entries.
    let mut first = MemoryTree::new();
    for i in 0u32..256 {
        first.push(&i.to_be_bytes()).unwrap();
    }
    assert_eq!(
        TilePath::hashes(1, 0, 1)
            .unwrap()
            .hash_tile(300, &log)
            .unwrap(),
        first.root().unwrap().0
    );

    assert!(TilePath::hashes(0, 1, 44).unwrap().within(300));
    assert!(!TilePath::hashes(0, 1, 45).unwrap().within(300));
    assert!(!TilePath::hashes(1, 0, 2).unwrap().within(300));
    assert!(matches!(
        TilePath::hashes(0, 1, 45).unwrap().hash_tile(300, &log),
        Err(TlogError::TileBeyondTree { .. })
    ));
    assert!(TilePath::entries(1, 44).unwrap().within(300));
    assert!(!TilePath::entries(1, 256).unwrap().within(300));
    assert!(TilePath::hashes(64, 0, 1).is_err());
    assert!(TilePath::entries(0, 0).is_err());
    assert!(TilePath::entries(0, 257).is_err());
}
