#!/usr/bin/env python3
"""Regenerates codes.json from docs/code-format.md, independently of the Rust implementation.

This is a second implementation of the part code format (message, key id, URI) in a few lines of
Python, so the vectors check the Rust code against the document rather than against itself.
Needs the `cryptography` package. Usage: python3 tests/vectors/generate.py > tests/vectors/codes.json
"""
import base64
import hashlib
import json
import urllib.parse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

CODE_DOMAIN = b"partseal-code-v1\x00"
KEY_ID_DOMAIN = b"partseal-key-id-v1\x00"
UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_public(sk: Ed25519PrivateKey) -> bytes:
    return sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: bytes) -> bytes:
    return hashlib.sha256(KEY_ID_DOMAIN + public).digest()[:8]


def pct(value: str) -> str:
    return "".join(c if c in UNRESERVED else "%%%02X" % ord(c) for c in value)


def message(gtin: str, lot, serial: str, kid: bytes) -> bytes:
    lot_b = (lot or "").encode()
    ser_b = serial.encode()
    return CODE_DOMAIN + gtin.encode() + bytes([len(lot_b)]) + lot_b + bytes([len(ser_b)]) + ser_b + kid


def valid_case(name, seed_hex, base, gtin, lot, serial):
    sk = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    pub = raw_public(sk)
    kid = key_id(pub)
    msg = message(gtin, lot, serial, kid)
    sig = sk.sign(msg)
    path = "/01/" + gtin + ("/10/" + pct(lot) if lot is not None else "") + "/21/" + pct(serial)
    uri = base + path + "?k=" + b64url(kid) + "&s=" + b64url(sig)
    return {
        "name": name,
        "seed_hex": seed_hex,
        "public_key_hex": pub.hex(),
        "key_id_hex": kid.hex(),
        "key_id": b64url(kid),
        "base_url": base,
        "gtin": gtin,
        "lot": lot,
        "serial": serial,
        "message_hex": msg.hex(),
        "signature_hex": sig.hex(),
        "uri": uri,
    }


SEED_A = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"  # RFC 8032 test 1
SEED_B = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"  # RFC 8032 test 2

valid = [
    valid_case("lot and generated serial", SEED_A, "https://verify.example.cn", "06901234567892", "L2026A", "X7K2P9QD4MABC"),
    valid_case("no lot", SEED_A, "https://verify.example.cn", "06901234567892", None, "X7K2P9QD4MABC"),
    valid_case("path prefix in base", SEED_B, "https://parts.example.com/dl", "00012345600012", "2026-11", "SN000001"),
    valid_case("serial needing percent-encoding", SEED_B, "https://verify.example.cn", "06901234567892", "A/B", "ab!&'()*+,:;=?"),
    valid_case("longest lot and serial", SEED_A, "http://127.0.0.1:8080", "10614141000415", "L" * 20, "Z" * 20),
]

good = valid[0]
sig_part = "&s=" + good["uri"].split("&s=")[1]
kid_part = "?k=" + good["key_id"]
base_path = "https://verify.example.cn/01/06901234567892/10/L2026A/21/X7K2P9QD4MABC"

invalid = [
    ("empty input", "", "input.empty"),
    ("not a URI", "hello world", "input.bad_char"),
    ("ftp scheme", "ftp://verify.example.cn/01/06901234567892/21/X", "input.not_a_uri"),
    ("fragment", base_path + kid_part + sig_part + "#x", "input.fragment"),
    ("bad GTIN check digit", base_path.replace("67892", "67893") + kid_part + sig_part, "gtin.check_digit"),
    ("GTIN-13 instead of GTIN-14", "https://verify.example.cn/01/6901234567892/21/X7K2P9QD4MABC" + kid_part + sig_part, "gtin.wrong_length"),
    ("letter in GTIN", "https://verify.example.cn/01/0690123456789A/21/X" + kid_part + sig_part, "gtin.bad_char"),
    ("serial too long", "https://verify.example.cn/01/06901234567892/21/" + "A" * 21 + kid_part + sig_part, "serial.too_long"),
    ("serial character outside GS1 set", "https://verify.example.cn/01/06901234567892/21/AB%23C" + kid_part + sig_part, "serial.bad_char"),
    ("non-ASCII serial via escape", "https://verify.example.cn/01/06901234567892/21/AB%C3%A9" + kid_part + sig_part, "serial.bad_char"),
    ("broken percent-escape", "https://verify.example.cn/01/06901234567892/21/AB%2" + kid_part + sig_part, "serial.bad_percent_encoding"),
    ("empty serial", "https://verify.example.cn/01/06901234567892/21/" + kid_part + sig_part, "serial.empty"),
    ("no serial", "https://verify.example.cn/01/06901234567892" + kid_part + sig_part, "serial.missing"),
    ("no GS1 path", "https://verify.example.cn/" + kid_part + sig_part, "gtin.missing"),
    ("unsupported AI in a GS1 position", "https://verify.example.cn/01/06901234567892/17/261231/21/X7K2P9QD4MABC" + kid_part + sig_part, "path.unsupported_ai"),
    ("serial before lot", "https://verify.example.cn/01/06901234567892/21/X7K2P9QD4MABC/10/L2026A" + kid_part + sig_part, "path.trailing"),
    ("lot before GTIN", "https://verify.example.cn/10/L2026A/01/06901234567892/21/X" + kid_part + sig_part, "path.out_of_order"),
    ("lot twice", "https://verify.example.cn/01/06901234567892/10/A/10/B/21/X" + kid_part + sig_part, "path.duplicate"),
    ("segment after serial", base_path + "/extra" + kid_part + sig_part, "path.trailing"),
    ("missing key id", base_path + "?" + sig_part[1:], "key_id.missing"),
    ("missing signature", base_path + kid_part, "signature.missing"),
    ("signature with padding", base_path + kid_part + sig_part + "==", "signature.not_base64url"),
    ("signature in standard base64 alphabet", base_path + kid_part + "&s=" + "+/" * 43, "signature.not_base64url"),
    ("signature too short", base_path + kid_part + sig_part[:-1], "signature.wrong_length"),
    ("signature with non-zero trailing bits", base_path + kid_part + sig_part[:-1] + "B", "signature.not_base64url"),
    ("key id wrong length", base_path + "?k=AAAA" + sig_part, "key_id.wrong_length"),
    ("key id twice", base_path + kid_part + "&k=" + good["key_id"] + sig_part, "key_id.duplicate"),
    ("too many query parameters", base_path + kid_part + sig_part + "&x=1" * 20, "query.too_many_parameters"),
]

# 86 base64url characters carry 516 bits for 512: the last character's low 4 bits must be zero, so ending
# in 'B' (value 1) is always a non-canonical spelling.
doc = {
    "format": "partseal-code-v1",
    "description": "Test vectors for docs/code-format.md. Valid cases: deriving the public key from the seed, "
    "the key id, the signed message, the signature and the URI must all match exactly, and parsing the URI "
    "must give back the fields. Invalid cases: parsing must fail with exactly the given error code.",
    "valid": valid,
    "invalid": [{"name": n, "input": i, "error": e} for (n, i, e) in invalid]
    + [{"name": "one megabyte of bytes", "input_repeat": {"text": "A", "count": 1_000_000}, "error": "input.too_long"}],
}
print(json.dumps(doc, indent=2, ensure_ascii=False))
