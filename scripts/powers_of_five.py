#!/usr/bin/env python3
"""Writes Sources/Scrape/PowersOfFive.swift: 5^q for q in -342...308, as the 128 most significant
bits of its binary expansion, for the Eisel–Lemire conversion in ExpositionNumber.parseFloat.

    python3 scripts/powers_of_five.py > Sources/Scrape/PowersOfFive.swift

Each entry is the integer c with 2^127 <= c < 2^128 and c * 2^e ≈ 5^q for some e: 5^q shifted
until it has exactly 128 bits and truncated (q >= 0); for q < 0, 2^b // 5^-q + 1: with b chosen so that
the quotient has exactly 128 bits while 5^-q < 2^64 (q >= -27), else computed with more bits and
truncated to 128. These are the bounds under which the algorithm's checks for an ambiguous
product were shown to hold (Lemire, "Number Parsing at a Gigabyte per Second", 2021). Below -342 every
decimal with at most 19 digits is zero as a double, above 308 it is infinite.
"""

SMALLEST, LARGEST = -342, 308


def entry(q):
    if q >= 0:
        c = 5 ** q
        while c < 1 << 127:
            c <<= 1
        while c >= 1 << 128:
            c >>= 1
        return c
    power = 5 ** -q
    bits = power.bit_length()
    if q >= -27:
        # 5^-q < 2^64: the quotient has exactly 128 bits; rounded up.
        c = (1 << (bits + 127)) // power + 1
    else:
        c = (1 << (2 * bits + 128)) // power + 1
        while c >= 1 << 128:
            c >>= 1
    assert 1 << 127 <= c < 1 << 128
    return c


def main():
    print("// Written by scripts/powers_of_five.py; do not edit.")
    print()
    print("/// The exponents the table covers: 5^q for q in smallestPowerOfFive...largestPowerOfFive.")
    print("let smallestPowerOfFive = %d" % SMALLEST)
    print("let largestPowerOfFive = %d" % LARGEST)
    print()
    print("/// 5^q for q in %d...%d, each as its 128 most significant bits: the high 64 bits, then the" % (SMALLEST, LARGEST))
    print("/// low 64 (scripts/powers_of_five.py says how they are rounded).")
    print("let powersOfFive: [UInt64] = [")
    for q in range(SMALLEST, LARGEST + 1):
        c = entry(q)
        print("    0x%016X, 0x%016X,  // 5^%d" % (c >> 64, c & ((1 << 64) - 1), q))
    print("]")


if __name__ == "__main__":
    main()
