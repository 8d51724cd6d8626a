import Primitives

/// The 64-bit identity of a scrape target: xxhash64 of its labels sorted by name,
/// excluding the `__meta_*` labels that discovery attaches. Every member computes
/// the same key for the same target, which decides its owner and its scrape phase.
public enum TargetKey {
    public static func of(_ labels: [String: String]) -> UInt64 {
        of(Labels(labels))
    }

    public static func of(_ labels: Labels) -> UInt64 {
        var bytes: [UInt8] = []
        for label in labels where !label.name.hasPrefix("__meta_") {
            bytes.append(contentsOf: label.name.utf8)
            bytes.append(0xFF)
            bytes.append(contentsOf: label.value.utf8)
            bytes.append(0xFF)
        }
        return hash(bytes)
    }

    /// xxhash64 with seed 0.
    public static func hash(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { hash($0) }
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        XXH64.hash(bytes)
    }

    /// The key as 16 hex digits, as the CLI and API print it.
    public static func format(_ key: UInt64) -> String {
        let digits = String(key, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
