import CXXHash

/// xxHash's XXH3, 128 bits: a fingerprint wide enough to stand for the bytes it was taken of.
/// Two different inputs share one with probability 2⁻¹²⁸ (a table of two thousand fingerprints
/// holds a colliding pair with probability about 6 × 10⁻³³).
public enum XXH3 {
    /// The 128-bit hash of raw bytes, as its low and high halves.
    @inline(__always)
    public static func hash128(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> (low: UInt64, high: UInt64) {
        let hash = XXH3_128bits_withSeed(bytes.baseAddress, bytes.count, XXH64_hash_t(seed))
        return (UInt64(hash.low64), UInt64(hash.high64))
    }
}
