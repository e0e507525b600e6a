// Checks a receipt's checkpoint and inclusion proof with Sigstore's own verifier
// (@sigstore/verify, npm), not the project's code: the signed note's Ed25519 signature by the
// log key (Node's OpenSSL), the checkpoint's root against the proof's, and the RFC 6962
// inclusion of the entry. Reads {"receipt": …, "log_key": "<name>+<id>+<base64(0x01 || key)>"}
// on standard input; exits 0 when everything holds, 1 with the reason otherwise.
'use strict';
const crypto = require('crypto');
const { verifyCheckpoint } = require('@sigstore/verify/dist/timestamp/checkpoint');
const { verifyMerkleInclusion } = require('@sigstore/verify/dist/timestamp/merkle');

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const receipt = input.receipt;
// <name>+<id hex>+<base64>: the name has no '+', the id is 8 hex digits, base64 may hold '+'.
const vkey = input.log_key.trim();
const afterName = vkey.indexOf('+') + 1;
const idHex = vkey.slice(afterName, afterName + 8);
const keyB64 = vkey.slice(afterName + 9);
const raw = Buffer.from(keyB64, 'base64');
// An Ed25519 SubjectPublicKeyInfo: the fixed DER prefix, then the 32-byte key after the 0x01 type.
const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(1)]);
const tlog = {
  logID: Buffer.from(idHex, 'hex'),
  publicKey: crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' }),
  validFor: { start: new Date(0), end: new Date(8640000000000000) },
};
const lines = receipt.checkpoint.split('\n');
const entry = {
  integratedTime: String(Math.floor(Date.now() / 1000)),
  canonicalizedBody: Buffer.from(receipt.entry, 'base64'),
  inclusionProof: {
    logIndex: String(receipt.index),
    treeSize: lines[1],
    rootHash: Buffer.from(lines[2], 'base64'),
    hashes: receipt.proof.map((h) => Buffer.from(h, 'base64')),
    checkpoint: { envelope: receipt.checkpoint },
  },
};
try {
  verifyCheckpoint(entry, [tlog]);
  verifyMerkleInclusion(entry);
} catch (e) {
  console.log(`refused: ${e.message}`);
  process.exit(1);
}
console.log(`holds: entry ${receipt.index} of ${lines[1]} under ${lines[0]}`);
