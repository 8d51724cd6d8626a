import Primitives

/// The 64-bit identity of a scrape target: xxhash64 of its labels sorted by name,
/// excluding the `__meta_*` labels that discovery attaches. Every member computes
/// the same key for the same target, which decides its owner and its scrape phase.
public enum TargetKey {
    public static func of(_ labels: [String: String]) -> UInt64 {
        of(Labels(labels))
    }

    public static func of(_ labels: Labels) -> UInt64 {
        key(labels) { !$0.hasPrefix("__meta_") }
    }

    /// The key of the labels named in `names` only (`clustering { hash_labels = [...] }`): labels
    /// outside the list, volatile ones or those a relabel step adds, do not change it. A listed
    /// label the target lacks hashes as absent; the order of `names` does not matter.
    public static func of(_ labels: Labels, only names: [String]) -> UInt64 {
        let wanted = Set(names)
        return key(labels) { wanted.contains($0) }
    }

    /// xxhash64 of `name 0xFF value 0xFF` for every label (in name order) whose name is included.
    private static func key(_ labels: Labels, including: (String) -> Bool) -> UInt64 {
        var bytes: [UInt8] = []
        for label in labels where including(label.name) {
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
        String(key, radix: 16, zeroPaddedTo: 16)
    }
}
