import CXXHash

/// xxHash64 (Yann Collet's XXH64) through libxxhash: the one 64-bit hash of agentd. Target keys,
/// ring tokens and remote-write shard keys are all XXH64 with seed 0, so every member computes the
/// same values.
public enum XXH64 {
    /// The hash of a string's UTF-8 bytes.
    public static func hash(_ string: String, seed: UInt64 = 0) -> UInt64 {
        var string = string
        return string.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    /// The hash of a byte array.
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    /// The hash of raw bytes.
    @inline(__always)
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        UInt64(CXXHash.XXH64(bytes.baseAddress, bytes.count, XXH64_hash_t(seed)))
    }
}
