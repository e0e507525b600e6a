"""Values for the formats /openapi.json names that JSON Schema cannot check: check digits.

`scripts/api-fuzz.sh` loads this (SCHEMATHESIS_HOOKS) so that a request schemathesis builds as
valid carries a GTIN, VIN or SSCC the server accepts: a pattern states the characters, the check digit
is stated by the format, and a generator that ignored it would send values the server rightly
refuses. Each strategy below produces exactly what `signer::Gtin::parse`, `registry::Vin::parse`
and `signer::DigitalLink::parse` accept.
"""

import base64
import os
from urllib.parse import quote

import schemathesis
from hypothesis import strategies as st

DIGITS = "0123456789"
# GS1 character set 82: what serials and lots may hold.
CS82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
# The transliteration of ISO 3779, as registry/src/vin.rs has it.
VIN_VALUES = dict(zip("0123456789", range(10)))
for value, letters in enumerate(["AJ", "BKS", "CLT", "DMU", "ENV", "FW", "GPX", "HY", "RZ"], 1):
    VIN_VALUES.update(dict.fromkeys(letters, value))
VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]


def gtin_check(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


gtins = st.text(DIGITS, min_size=13, max_size=13).map(lambda body: body + gtin_check(body))


def vin_with_check(chars: str) -> str:
    total = sum(VIN_VALUES[c] * w for c, w in zip(chars, VIN_WEIGHTS))
    check = "X" if total % 11 == 10 else str(total % 11)
    return chars[:8] + check + chars[9:]


vins = st.text(VIN_CHARS, min_size=17, max_size=17).map(vin_with_check)
attributes = st.text(CS82, min_size=1, max_size=20)
b64 = lambda n: st.binary(min_size=n, max_size=n).map(  # noqa: E731
    lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
)


@st.composite
def digital_links(draw):
    base = draw(st.sampled_from(["", "https://verify.example.cn", "http://127.0.0.1:8080/p"]))
    path = f"/01/{draw(gtins)}"
    if draw(st.booleans()):
        path += f"/10/{quote(draw(attributes), safe='')}"
    path += f"/21/{quote(draw(attributes), safe='')}"
    if draw(st.booleans()):
        path += f"?k={draw(b64(8))}&s={draw(b64(64))}"
    return base + path


# An SSCC's check digit is the GTIN's, over 17 digits.
ssccs = st.text(DIGITS, min_size=17, max_size=17).map(lambda body: body + gtin_check(body))


@st.composite
def cartons(draw):
    sscc = draw(ssccs)
    base = draw(st.sampled_from([None, "https://verify.example.cn", "http://127.0.0.1:8080"]))
    return sscc if base is None else f"{base}/00/{sscc}"


schemathesis.openapi.format("gtin", gtins)
schemathesis.openapi.format("sscc", cartons())
# A carton in a path: the 18 digits only.
schemathesis.openapi.format("sscc-digits", ssccs)
# A page of packing records starts after one: its packing time and its SSCC.
schemathesis.openapi.format(
    "carton-page",
    st.builds(lambda at, sscc: f"{at}-{sscc}", st.integers(0, 10**12), ssccs),
)
schemathesis.openapi.format("vin", vins)
schemathesis.openapi.format("gs1-digital-link", digital_links())

# A manifest upload (`application/x-ndjson`) is text: JSON Lines.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")

# The signed-in pages' forms carry the session's CSRF token (`csrf`); `scripts/api-fuzz.sh` signs
# in and passes the session's token here, so that a form schemathesis builds reaches the page's
# own checks rather than stopping at the CSRF check. A form without the field keeps its absence.
SESSION_CSRF = os.environ.get("PARTSEAL_CSRF")

if SESSION_CSRF:

    @schemathesis.hook
    def map_body(context, body):
        if isinstance(body, dict) and "csrf" in body:
            return {**body, "csrf": SESSION_CSRF}
        return body
