#!/usr/bin/python3
"""Independent reference for the gRFC A42 ring_hash ring, written from the spec text.

Sources read (not copied): gRFC A42 (ring construction "same algorithm as Envoy"),
gRFC A76 (request_hash_header: XXH64 of the header values joined with ","; endpoint
hash_key attribute), grpc-go balancer/ringhash/ring.go (normalised weights, scale,
currentHashes/targetHashes loop, entry key "<hashKey>_<i>", sort by hash, first entry
with hash >= request hash, wrap to entry 0) and grpc-go's parseConfig (min 1024,
max 8M, both capped at GRPC_RING_HASH_CAP = 4096 by default).

XXH64 (seed 0) comes from Debian's python3-xxhash (libxxhash), not from .NET, so the
vectors check System.IO.Hashing and the C# ring against a second implementation.

Run:  /usr/bin/python3 ring_hash_vectors.py > ring-hash-vectors.json
The output is deterministic (fixed seeds, sorted keys).
"""

import json
import math
import random
import sys

import xxhash

UPPER_BOUND = 8 * 1024 * 1024
DEFAULT_MIN = 1024
DEFAULT_MAX = UPPER_BOUND
DEFAULT_CAP = 4096


def xxh64(text):
    return xxhash.xxh64_intdigest(text.encode("utf-8"), seed=0)


def address_key(host, port):
    # Go's net.JoinHostPort / Envoy's asString: IPv6 literals are bracketed.
    if ":" in host and not host.startswith("["):
        return "[%s]:%d" % (host, port)
    return "%s:%d" % (host, port)


def effective_sizes(min_size, max_size, cap):
    """grpc-go parseConfig: 0 means default, > 8M is an error, then cap both."""
    min_size = min_size or DEFAULT_MIN
    max_size = max_size or DEFAULT_MAX
    assert min_size <= UPPER_BOUND and max_size <= UPPER_BOUND and min_size <= max_size
    return min(min_size, cap), min(max_size, cap)


def build_ring(endpoints, min_size, max_size):
    """endpoints: list of (hash_key, weight). Returns (ring, ring_size_target).

    ring is a list of (hash, hash_key), sorted by (hash, endpoint order)."""
    merged = {}
    for key, weight in endpoints:
        merged[key] = merged.get(key, 0) + max(weight, 1)
    keys = sorted(merged)  # ordinal (code point) order, as Go's byte order for ASCII
    total = sum(merged.values())
    normalized = [(k, merged[k] / total) for k in keys]
    min_weight = 1.0
    for _, w in normalized:
        min_weight = min(min_weight, w)
    scale = min(math.ceil(min_weight * min_size) / min_weight, float(max_size))
    ring_size = math.ceil(scale)
    entries = []
    current = 0.0
    target = 0.0
    for order, (key, w) in enumerate(normalized):
        target += scale * w
        i = 0
        while current < target:
            entries.append((xxh64("%s_%d" % (key, i)), order, key))
            i += 1
            current += 1
    entries.sort(key=lambda e: (e[0], e[1]))
    return [(h, k) for h, _, k in entries], ring_size


def pick(ring, request_hash):
    lo, hi = 0, len(ring)
    while lo < hi:
        mid = (lo + hi) // 2
        if ring[mid][0] >= request_hash:
            hi = mid
        else:
            lo = mid + 1
    return 0 if lo == len(ring) else lo


def next_distinct(ring, index):
    first = ring[index][1]
    for step in range(1, len(ring)):
        k = ring[(index + step) % len(ring)][1]
        if k != first:
            return k
    return None


def make_case(name, addresses, configs, rnd, key_count=40, hash_count=40, key_values=None):
    """addresses: list of dicts {host, port, weight?, hashKey?}."""
    endpoints = []
    for a in addresses:
        key = a.get("hashKey") or address_key(a["host"], a["port"])
        endpoints.append((key, a.get("weight", 1)))
    out_configs = []
    for cfg in configs:
        min_eff, max_eff = effective_sizes(cfg.get("minRingSize", 0), cfg.get("maxRingSize", 0), cfg.get("cap", DEFAULT_CAP))
        ring, ring_size = build_ring(endpoints, min_eff, max_eff)
        counts = {}
        for _, k in ring:
            counts[k] = counts.get(k, 0) + 1
        keys = []
        for n in range(key_count if key_values is None else len(key_values)):
            value = "user-%d" % rnd.randrange(1_000_000) if key_values is None else key_values[n]
            h = xxh64(value)
            idx = pick(ring, h)
            keys.append({"key": value, "hash": str(h), "expected": ring[idx][1], "nextDistinct": next_distinct(ring, idx)})
        hashes = []
        specials = [0, 1, 2**64 - 1, ring[0][0], ring[-1][0], ring[-1][0] + 1 if ring[-1][0] < 2**64 - 1 else 0, ring[len(ring) // 2][0] - 1]
        for h in specials + [rnd.getrandbits(64) for _ in range(hash_count)]:
            idx = pick(ring, h)
            hashes.append({"hash": str(h), "expected": ring[idx][1]})
        out_configs.append({
            "minRingSize": cfg.get("minRingSize", 0),
            "maxRingSize": cfg.get("maxRingSize", 0),
            "cap": cfg.get("cap", DEFAULT_CAP),
            "expectedRingSize": ring_size,
            "expectedEntryCount": len(ring),
            "entriesPerKey": dict(sorted(counts.items())),
            "firstEntries": [{"hash": str(h), "key": k} for h, k in ring[:8]],
            "keys": keys,
            "hashes": hashes,
        })
    return {"name": name, "addresses": addresses, "configs": out_configs}


def main():
    rnd = random.Random(42)
    default = [{}]
    small_and_big = [{}, {"minRingSize": 10, "maxRingSize": 100}, {"minRingSize": 1, "maxRingSize": 1}]
    large = [{"minRingSize": 65536, "maxRingSize": UPPER_BOUND, "cap": UPPER_BOUND}]
    ipv4 = lambda n, base=10: [{"host": "10.0.%d.%d" % (i // 250, i % 250 + 1), "port": 8080} for i in range(n)]
    cases = [
        make_case("one-ipv4", ipv4(1), small_and_big, rnd),
        make_case("three-ipv4", ipv4(3), small_and_big + large, rnd),
        make_case("ten-ipv4", ipv4(10), small_and_big, rnd),
        make_case("hundred-ipv4", ipv4(100), small_and_big + [{"minRingSize": 4096, "maxRingSize": 4096}], rnd),
        make_case("three-ipv6", [{"host": "2001:db8::1", "port": 443}, {"host": "2001:db8::2", "port": 443}, {"host": "::1", "port": 50051}], small_and_big, rnd),
        make_case("weighted-3-3-4", [{"host": "10.1.0.1", "port": 80, "weight": 3}, {"host": "10.1.0.2", "port": 80, "weight": 3}, {"host": "10.1.0.3", "port": 80, "weight": 4}], small_and_big + [{"minRingSize": 7, "maxRingSize": 7}], rnd),
        make_case("weighted-1-100", [{"host": "10.2.0.1", "port": 9000, "weight": 1}, {"host": "10.2.0.2", "port": 9000, "weight": 100}, {"host": "10.2.0.3", "port": 9000, "weight": 7}], [{}, {"minRingSize": 1024, "maxRingSize": UPPER_BOUND, "cap": UPPER_BOUND}], rnd),
        make_case("hash-key-attribute", [{"host": "10.3.0.1", "port": 80, "hashKey": "web-0"}, {"host": "10.3.0.2", "port": 80, "hashKey": "web-1"}, {"host": "10.3.0.3", "port": 80}], default, rnd),
        # End-to-end pods: loopback ports are chosen at run time, so the pods carry A76 hash keys
        # (ports 1..n here are placeholders the test replaces; the ring depends only on the keys).
        make_case("loopback-pods", [{"host": "127.0.0.1", "port": i + 1, "hashKey": k} for i, k in enumerate(("pod-0", "pod-1", "pod-2", "pod-dead"))], default, rnd, key_count=60),
        make_case("loopback-pods-live", [{"host": "127.0.0.1", "port": i + 1, "hashKey": k} for i, k in enumerate(("pod-0", "pod-1", "pod-2"))], default, rnd, key_count=30),
    ]
    # The same keys once pod-2 is gone: the ring is rebuilt (1024 entries over two pods instead of 1026 over
    # three), so keys can move between the survivors too, not only off pod-2.
    live_keys = [k["key"] for k in cases[-1]["configs"][0]["keys"]]
    cases.append(make_case("loopback-pods-live-without-pod-2", [{"host": "127.0.0.1", "port": i + 1, "hashKey": k} for i, k in enumerate(("pod-0", "pod-1"))], default, rnd, key_values=live_keys))
    xxh = [{"input": s, "xxh64": str(xxh64(s))} for s in ["", "a", "10.0.0.1:8080_0", "[2001:db8::1]:443_17", "user-42", "x" * 100, "é∑"]]
    json.dump({"generator": "ring_hash_vectors.py with Debian python3-xxhash %s" % xxhash.VERSION, "xxh64": xxh, "cases": cases}, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
