#if canImport(Glibc)
    import Glibc
#endif

/// Finding damage and cutting it out. See docs/wal-format.md, "Finding a torn or corrupt record".
///
/// A closed segment (every segment but the newest) is examined as readers read it:
/// each damaged span runs from an invalid record to the next valid one, and `cutDamage`
/// replaces it in place by padding, so every later record keeps its offset; damage that
/// no valid record follows is cut off the end. The newest segment is treated as the
/// writer's open treats it: its first invalid record starts a torn tail, cut off with
/// everything after it.
public enum Repair {
    /// A span of a segment that a repair cut out.
    public struct Cut: Sendable, Equatable, CustomStringConvertible {
        public enum Action: Sendable, Equatable {
            /// Replaced in place by padding records: every later record keeps its offset.
            case padded
            /// Cut off the end of the segment: no valid record followed the damage.
            case truncated
            /// The segment was removed: its segment header is bad or missing.
            case removed
        }

        public var segment: Int
        /// The byte offsets cut out.
        public var offsets: Range<Int>
        public var action: Action
        /// The damage found in the span, in order. Empty for padding that `report` found,
        /// left by an earlier repair.
        public var problems: [CorruptionError]

        public init(segment: Int, offsets: Range<Int>, action: Action, problems: [CorruptionError]) {
            self.segment = segment
            self.offsets = offsets
            self.action = action
            self.problems = problems
        }

        /// Where the span starts.
        public var position: Position { Position(segment: segment, offset: offsets.lowerBound) }

        /// For example `00000003:1234: 222 bytes replaced by padding (up to offset 1456): checksum
        /// mismatch (…)`, or for padding that `report` found, `00000003:1234: 222 bytes cut out
        /// earlier (padding up to offset 1456)`.
        public var description: String {
            let head: String
            switch action {
            case .padded where problems.isEmpty:
                head =
                    "\(position): \(offsets.count) bytes cut out earlier (padding up to offset \(offsets.upperBound))"
            case .padded:
                head = "\(position): \(offsets.count) bytes replaced by padding (up to offset \(offsets.upperBound))"
            case .truncated:
                head = "\(position): truncated, \(offsets.count) bytes cut off"
            case .removed:
                head = "\(SegmentName.format(segment)): segment removed (\(offsets.count) bytes)"
            }
            return problems.isEmpty ? head : head + ": " + problems.map(\.reason).joined(separator: "; ")
        }
    }

    /// What `report` finds in a directory.
    public struct Report: Sendable, Equatable {
        /// Every damaged record and every gap in segment numbering: what `verify` returns.
        public var problems: [CorruptionError]
        /// The spans earlier repairs replaced by padding, adjacent padding records as one.
        /// Information, not problems: readers step over them (signalling a lost record).
        public var cutOut: [Cut]

        public init(problems: [CorruptionError] = [], cutOut: [Cut] = []) {
            self.problems = problems
            self.cutOut = cutOut
        }
    }

    /// Scans `segment` and truncates it at its first invalid or incomplete record (the
    /// torn tail of the newest segment, which is what the writer calls this for on open).
    /// Returns what was cut, or nil when the segment was intact. A segment too short
    /// to hold its header (a crash while creating it) is removed.
    public static func truncateTornTail(directory: String, segment: Int) throws -> CorruptionError? {
        guard let problem = try firstProblem(directory: directory, segment: segment) else { return nil }
        let path = SegmentName.path(segment, in: directory)
        if problem.position.offset < SegmentHeader.size {
            if unlink(path) != 0 { throw WALError.io(path: path, operation: "remove", errno: errno) }
        } else {
            let file = try SegmentFile(path: path, flags: O_WRONLY)
            try file.truncate(to: problem.position.offset)
            try file.sync()
        }
        try SegmentFile.syncDirectory(directory)
        return problem
    }

    /// The first invalid or incomplete record of `segment`, or nil. Its `skipped` is
    /// the rest of the segment.
    public static func firstProblem(directory: String, segment: Int) throws -> CorruptionError? {
        try examine(directory: directory, segment: segment, resyncing: false).problems.first
    }

    /// Every problem in the directory: every damaged record of a closed segment (as
    /// readers meet them, past each one to the next valid record), the first invalid
    /// record of the newest segment, and gaps in numbering. Padding left by a repair is
    /// not a problem; `report` lists it.
    public static func verify(directory: String) throws -> [CorruptionError] {
        try report(directory: directory).problems
    }

    /// `verify`'s problems, and the spans earlier repairs cut out; `progress` is told the end of
    /// each segment once it has been examined.
    public static func report(directory: String, progress: ((Position) -> Void)? = nil) throws -> Report {
        let segments = try SegmentName.list(in: directory)
        var report = Report()
        for (index, segment) in segments.enumerated() {
            if index > 0, segments[index - 1] + 1 != segment {
                report.problems.append(
                    CorruptionError(
                        position: Position(segment: segment, offset: 0),
                        cause: .segmentsMissing(first: segments[index - 1] + 1, last: segment - 1)))
            }
            let examined = try examine(directory: directory, segment: segment, resyncing: index < segments.count - 1)
            report.problems += examined.problems
            report.cutOut += examined.padding.map {
                Cut(segment: segment, offsets: $0, action: .padded, problems: [])
            }
            progress?(Position(segment: segment, offset: examined.size))
        }
        return report
    }

    /// Cuts every problem `verify` reports out of its segment (gaps in numbering stay):
    /// in a closed segment each damaged span is replaced by padding of the same length,
    /// or cut off the end when no valid record follows it; the newest segment is
    /// truncated at its first problem; a segment whose header is bad is removed. Returns
    /// what was cut, in order. Must not run while a writer has the directory open.
    public static func cutDamage(directory: String) throws -> [Cut] {
        let segments = try SegmentName.list(in: directory)
        var cuts: [Cut] = []
        for (index, segment) in segments.enumerated() {
            let examined = try examine(directory: directory, segment: segment, resyncing: index < segments.count - 1)
            guard !examined.problems.isEmpty else { continue }
            func problems(in offsets: Range<Int>) -> [CorruptionError] {
                examined.problems.filter { offsets.contains($0.position.offset) }
            }
            let path = SegmentName.path(segment, in: directory)
            if examined.tail == 0 {
                if unlink(path) != 0 { throw WALError.io(path: path, operation: "remove", errno: errno) }
                cuts.append(
                    Cut(segment: segment, offsets: 0..<examined.size, action: .removed, problems: examined.problems))
                continue
            }
            let file = try SegmentFile(path: path, flags: O_WRONLY)
            for span in examined.damaged {
                var offset = span.lowerBound
                for size in RecordFrame.paddingSizes(covering: span.count) {
                    try RecordFrame.writePadding(size: size, at: offset, to: file)
                    offset += size
                }
                cuts.append(Cut(segment: segment, offsets: span, action: .padded, problems: problems(in: span)))
            }
            if let tail = examined.tail {
                try file.truncate(to: tail)
                let span = tail..<examined.size
                cuts.append(Cut(segment: segment, offsets: span, action: .truncated, problems: problems(in: span)))
            }
            try file.sync()
        }
        if !cuts.isEmpty { try SegmentFile.syncDirectory(directory) }
        return cuts
    }

    /// Replaces the intact record at `position` with padding of the same length, so later
    /// records keep their offsets: for a record the WAL reads but the event decoder refuses.
    /// Readers then report a lost record there, as for any cut-out damage. Must not run
    /// while a writer has the directory open.
    @discardableResult
    public static func cutOut(directory: String, record position: Position) throws -> Cut {
        var scanner = try SegmentScanner(directory: directory, segment: position.segment, offset: position.offset)
        guard case .record(let record) = try scanner.next() else {
            throw WALError.corruption(CorruptionError(position: position, cause: .noIntactRecord))
        }
        let span = position.offset..<record.end.offset
        let file = try SegmentFile(path: SegmentName.path(position.segment, in: directory), flags: O_WRONLY)
        var offset = span.lowerBound
        for size in RecordFrame.paddingSizes(covering: span.count) {
            try RecordFrame.writePadding(size: size, at: offset, to: file)
            offset += size
        }
        try file.sync()
        return Cut(segment: position.segment, offsets: span, action: .padded, problems: [])
    }

    /// `cutDamage`, returning just the problems it cut out: what `verify` reported.
    public static func repair(directory: String) throws -> [CorruptionError] {
        try cutDamage(directory: directory).flatMap(\.problems)
    }

    /// One segment, read the way readers read it.
    struct Examination {
        /// The segment file's size.
        var size: Int
        /// Every invalid record met, each with the bytes it cost.
        var problems: [CorruptionError] = []
        /// Damaged spans that a valid record follows: each from an invalid record to the
        /// next valid one, at least a record header long.
        var damaged: [Range<Int>] = []
        /// Where damage that no valid record follows starts: 0 when the segment header
        /// is bad.
        var tail: Int?
        /// Padding records, adjacent ones as one span.
        var padding: [Range<Int>] = []
    }

    /// Reads `segment` record by record. With `resyncing`, each invalid record is stepped
    /// over to the next valid one as a reader does in a closed segment; without, the
    /// first one ends the segment, as the writer's open treats the newest.
    ///
    /// A valid record found less than a record header after the start of the damage is
    /// counted as part of the damaged span, for a padding record needs at least its
    /// header's 14 bytes. It cannot be a record the writer wrote: the damaged span
    /// starts where a record starts, and the writer's next record begins at least a
    /// header further on.
    static func examine(directory: String, segment: Int, resyncing: Bool) throws -> Examination {
        var scanner = try SegmentScanner(directory: directory, segment: segment)
        var examined = Examination(size: try scanner.size())
        if let cause = try scanner.headerProblem() {
            examined.problems = [
                CorruptionError(position: Position(segment: segment, offset: 0), cause: cause, skipped: examined.size)
            ]
            examined.tail = 0
            return examined
        }
        /// Where the damage that no valid record has followed yet starts.
        var open: Int?
        scanning: while true {
            switch try scanner.next() {
            case .record(let record):
                let offset = record.position.offset
                if let start = open {
                    guard offset - start >= RecordFrame.headerSize else { continue }
                    examined.damaged.append(start..<offset)
                    open = nil
                }
                if record.type == RecordFrame.paddingType {
                    if let last = examined.padding.last, last.upperBound == offset {
                        examined.padding[examined.padding.count - 1] = last.lowerBound..<record.end.offset
                    } else {
                        examined.padding.append(offset..<record.end.offset)
                    }
                }
            case .end:
                break scanning
            case .incomplete(var error), .corrupt(var error):
                open = open ?? error.position.offset
                guard resyncing else {
                    error.skipped = examined.size - error.position.offset
                    examined.problems.append(error)
                    break scanning
                }
                _ = try scanner.resync()
                error.skipped = scanner.offset - error.position.offset
                examined.problems.append(error)
            }
        }
        examined.tail = open
        return examined
    }
}
