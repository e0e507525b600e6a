#!/usr/bin/env bash
# Makes labels/fonts/NotoSansCJKsc-GB2312.otf, the face labels draw Chinese with, from Debian's
# fonts-noto-cjk: Noto Sans CJK SC Regular (face 2 of NotoSansCJK-Regular.ttc, SIL Open Font
# Licence 1.1) cut down to the characters of GB 2312 (6,763 hanzi and 682 symbols: punctuation,
# full-width forms, kana, Greek, Cyrillic, box drawing) plus ASCII and Latin-1, 7,617 code points.
# The whole face is 65,535 glyphs; the cut is about 1.5 MB, which the binary carries.
#
# Run it once, as root on Debian (it uses apt-get download and a Python virtual environment), and
# commit the result; the pinned package, checksum and fonttools version make it give the same bytes
# again (checked below). The layout tables go (labels set one glyph per character, no shaping), and
# so do the hints (label text is rasterised at print resolution, where they make no difference) and
# the vertical metrics (labels are horizontal).
set -euo pipefail
cd "$(dirname "$0")/.."

deb_version='1:20220127+repack1-1'
ttc_sha256='b76b0433203017ca80401b2ee0dd69350349871c4b19d504c34dbdd80541690a'
out_sha256='c7ba62789cb1beffc2612b8a686b807cbfaca7cc40a772a81e95e47cc592e3a4'
fonttools_version='4.69.1'
out=labels/fonts/NotoSansCJKsc-GB2312.otf

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && apt-get download "fonts-noto-cjk=$deb_version")
dpkg-deb -x "$work"/fonts-noto-cjk_*.deb "$work/deb"
ttc="$work/deb/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
echo "$ttc_sha256  $ttc" | sha256sum --check --quiet

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "fonttools==$fonttools_version"

# GB 2312's characters, from Python's own codec: every valid two-byte code, rows 0xA1 to 0xF7.
"$work/venv/bin/python" - "$work/unicodes.txt" <<'EOF'
import sys

points = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
for high in range(0xA1, 0xF8):
    for low in range(0xA1, 0xFF):
        try:
            points.update(map(ord, bytes([high, low]).decode("gb2312")))
        except UnicodeDecodeError:
            pass
with open(sys.argv[1], "w") as f:
    f.writelines(f"U+{p:04X}\n" for p in sorted(points))
print(f"{len(points)} code points", file=sys.stderr)
EOF

"$work/venv/bin/pyftsubset" "$ttc" --font-number=2 \
    --unicodes-file="$work/unicodes.txt" \
    --layout-features='' --no-hinting \
    --drop-tables+=VORG,vhea,vmtx,BASE,GDEF,GPOS,GSUB,DSIG \
    --name-IDs=0,1,2,3,4,5,6,13,14 \
    --output-file="$out"

echo "$out_sha256  $out" | sha256sum --check --quiet
ls -l "$out"
