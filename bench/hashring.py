"""The ring agentd places targets on, computed independently of agentd: the fleet bed's oracle.

agentd's HashRing (Sources/Cluster/HashRing.swift) gives each participant 512 tokens,
xxh64("name/i") for i in 0..511 with seed 0, sorts them (a tie goes to the smaller name), and a
target belongs to the owner of the first token at or after its key, wrapping around. This module
does the same from the members' names and the keys `/api/v0/targets` reports, so a test can say
which member must own each target after a change of membership, rather than only that some
targets moved.

    python3 bench/hashring.py   checks the XXH64 implementation against its reference vectors
"""

import bisect

MASK = (1 << 64) - 1
P1 = 0x9E3779B185EBCA87
P2 = 0xC2B2AE3D27D4EB4F
P3 = 0x165667B19E3779F9
P4 = 0x85EBCA77C2B2AE63
P5 = 0x27D4EB2F165667C5
TOKENS_PER_MEMBER = 512


def _rotl(value, bits):
    return ((value << bits) | (value >> (64 - bits))) & MASK


def _round(accumulator, lane):
    accumulator = (accumulator + lane * P2) & MASK
    return (_rotl(accumulator, 31) * P1) & MASK


def _merge(hash_value, accumulator):
    hash_value ^= _round(0, accumulator)
    return (hash_value * P1 + P4) & MASK


def xxh64(data, seed=0):
    """XXH64 of `data` (bytes), as the xxHash specification defines it."""
    length = len(data)
    offset = 0
    if length >= 32:
        lanes = [(seed + P1 + P2) & MASK, (seed + P2) & MASK, seed, (seed - P1) & MASK]
        while offset + 32 <= length:
            for index in range(4):
                word = int.from_bytes(data[offset:offset + 8], "little")
                lanes[index] = _round(lanes[index], word)
                offset += 8
        hash_value = (_rotl(lanes[0], 1) + _rotl(lanes[1], 7) + _rotl(lanes[2], 12) + _rotl(lanes[3], 18)) & MASK
        for lane in lanes:
            hash_value = _merge(hash_value, lane)
    else:
        hash_value = (seed + P5) & MASK
    hash_value = (hash_value + length) & MASK
    while offset + 8 <= length:
        hash_value ^= _round(0, int.from_bytes(data[offset:offset + 8], "little"))
        hash_value = (_rotl(hash_value, 27) * P1 + P4) & MASK
        offset += 8
    if offset + 4 <= length:
        hash_value ^= (int.from_bytes(data[offset:offset + 4], "little") * P1) & MASK
        hash_value = (_rotl(hash_value, 23) * P2 + P3) & MASK
        offset += 4
    while offset < length:
        hash_value ^= (data[offset] * P5) & MASK
        hash_value = (_rotl(hash_value, 11) * P1) & MASK
        offset += 1
    hash_value ^= hash_value >> 33
    hash_value = (hash_value * P2) & MASK
    hash_value ^= hash_value >> 29
    hash_value = (hash_value * P3) & MASK
    return hash_value ^ (hash_value >> 32)


class HashRing:
    """The members' tokens, sorted; `owner(key)` is the member of the first token at or after it."""

    def __init__(self, members, tokens_per_member=TOKENS_PER_MEMBER):
        self.members = sorted(set(members))
        entries = []
        for index, name in enumerate(self.members):
            for token in range(tokens_per_member):
                entries.append((xxh64(("%s/%d" % (name, token)).encode()), index))
        entries.sort()
        self.tokens = [token for token, _ in entries]
        self.owners = [owner for _, owner in entries]

    def owner(self, key):
        if not self.tokens:
            return None
        index = bisect.bisect_left(self.tokens, key)
        return self.members[self.owners[index if index < len(self.tokens) else 0]]


if __name__ == "__main__":
    # Reference vectors of the xxHash project (XXH64, seed 0 unless given).
    vectors = [
        (b"", 0, 0xEF46DB3751D8E999),
        (b"a", 0, 0xD24EC4F1A98C6E5B),
        (b"abc", 0, 0x44BC2CF5AD770999),
        (b"message digest", 0, 0x066ED728FCEEB3BE),
        (b"abcdefghijklmnopqrstuvwxyz", 0, 0xCFE1F278FA89835C),
        (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 0, 0xAAA46907D3047814),
        (b"12345678901234567890123456789012345678901234567890123456789012345678901234567890", 0,
         0xE04A477F19EE145D),
    ]
    failed = [(data, hex(xxh64(data, seed)), hex(want)) for data, seed, want in vectors if xxh64(data, seed) != want]
    print("xxh64: %d of %d reference vectors match%s" % (len(vectors) - len(failed), len(vectors),
                                                       "" if not failed else ": " + repr(failed)))
    raise SystemExit(1 if failed else 0)
