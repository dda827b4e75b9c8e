#!/usr/bin/env bash
# Regenerates the KeyHasherTests reference vectors with the reference implementation (xxhsum 0.8.1, -H3 = XXH3-64, seed 0).
# Input byte i = ((i * 2654435761) mod 2^32) >> 24. xxhsum prints the canonical (big-endian) form, i.e. the ulong value in hex.
set -euo pipefail
if ! command -v xxhsum >/dev/null; then
  echo "xxhsum missing: installing Debian's xxhash" >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get update >&2 && apt-get install -y xxhash >&2; else sudo apt-get update >&2 && sudo apt-get install -y xxhash >&2; fi
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for n in 0 1 2 3 4 5 6 7 8 9 10 12 15 16 17 24 31 32 33 48 63 64 65 80 96 97 112 127 128 129 130 144 160 176 192 200 208 224 239 240 241 255 256 257 300 511 512 1000 1023 1024 1025 1087 1088 1089 2047 2048 2049 4095 4096 4097 10000 16384 16385 65536 100000 1048577; do
  python3 -c "import sys; n=int(sys.argv[1]); sys.stdout.buffer.write(bytes(((i*2654435761)&0xFFFFFFFF)>>24 for i in range(n)))" "$n" > "$tmp/in"
  printf '(%d, 0x%sUL),\n' "$n" "$(xxhsum -H3 "$tmp/in" | sed -E 's/.* = ([0-9a-f]{16})$/\1/')"
done
for s in "" "a" "abc" "10.0.0.7:8080" "user-42" "0123456789abcdef0123456789abcdef"; do
  printf '%s' "$s" > "$tmp/in"
  printf '("%s", 0x%sUL),\n' "$s" "$(xxhsum -H3 "$tmp/in" | sed -E 's/.* = ([0-9a-f]{16})$/\1/')"
done
