import Foundation
import Logging
import Primitives

#if canImport(Glibc)
    import Glibc
#endif

/// Deletes whole, closed segments. See docs/wal-format.md, "Retention".
public struct Retention: Sendable {
    /// A segment is kept at least this long after its last write, even once every cursor has passed it.
    public var minAge: Duration
    /// When set, segments older than this are deleted even if a cursor still needs them.
    public var maxAge: Duration?
    /// When set, the oldest segments are deleted while the directory is larger.
    public var maxBytes: Int?

    public init(minAge: Duration = .seconds(0), maxAge: Duration? = nil, maxBytes: Int? = nil) {
        self.minAge = minAge
        self.maxAge = maxAge
        self.maxBytes = maxBytes
    }

    public struct Outcome: Sendable, Equatable {
        /// Segments every cursor had passed.
        public var deleted: [Int] = []
        /// Segments deleted by `maxAge` or `maxBytes` that some cursor had not passed yet: data lost to them.
        public var dropped: [Int] = []
    }

    /// Applies the policy. `cursors` are the positions every registered reader has
    /// reached; `current` is the segment the writer appends to, never deleted.
    public func apply(
        directory: String, cursors: [Position], current: Int, now: Date = Date(), logger: Logger? = nil
    ) throws -> Outcome {
        var outcome = Outcome()
        let oldestCursor = cursors.map(\.segment).min() ?? Int.max
        var entries: [(segment: Int, size: Int, modified: Date)] = []
        for segment in try SegmentName.list(in: directory) where segment < current {
            let path = SegmentName.path(segment, in: directory)
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            let modified = Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))
            entries.append((segment, Int(info.st_size), modified))
        }
        var total = entries.reduce(0) { $0 + $1.size }
        for entry in entries {
            let age = now.timeIntervalSince(entry.modified)
            let passed = entry.segment < oldestCursor
            let oldEnough = age >= minAge.seconds
            let tooOld = maxAge.map { age > $0.seconds } ?? false
            let tooBig = maxBytes.map { total > $0 } ?? false
            if passed && oldEnough {
                outcome.deleted.append(entry.segment)
            } else if tooOld || tooBig {
                outcome.dropped.append(entry.segment)
                logger?.warning(
                    "Dropping a WAL segment that a reader has not passed yet",
                    metadata: [
                        "wal.segment": "\(SegmentName.format(entry.segment))",
                        "wal.oldest_cursor": "\(oldestCursor == Int.max ? "none" : SegmentName.format(oldestCursor))",
                        "reason": "\(tooOld ? "max age" : "max size")",
                    ])
            } else {
                // Segments are deleted oldest first: stop at the first one that stays.
                break
            }
            let path = SegmentName.path(entry.segment, in: directory)
            if unlink(path) != 0 { throw WALError.io(path: path, operation: "remove", errno: errno) }
            total -= entry.size
        }
        if !outcome.deleted.isEmpty || !outcome.dropped.isEmpty { try SegmentFile.syncDirectory(directory) }
        return outcome
    }
}
