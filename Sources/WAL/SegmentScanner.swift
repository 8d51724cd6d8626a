#if canImport(Glibc)
    import Glibc
#endif

/// Reads the records of one segment file in order, with a read buffer so that
/// small records cost no system call each. Works on a file that another thread
/// or process is still appending to: what is not there yet reads as `.end`.
struct SegmentScanner {
    enum Step {
        case record(StoredRecord)
        /// No more bytes (up to the limit, if any) at `position`.
        case end(Position)
        /// Some bytes of a record are there, but not all of them.
        case incomplete(CorruptionError)
        /// The bytes at `position` are not a valid record.
        case corrupt(CorruptionError)
    }

    let segment: Int
    private let file: SegmentFile
    /// Offset of the next record.
    private(set) var offset: Int
    private var data: [UInt8] = []
    private var dataStart = 0
    private static let chunk = 256 << 10

    init(directory: String, segment: Int, offset: Int = SegmentHeader.size) throws {
        self.segment = segment
        self.file = try SegmentFile(path: SegmentName.path(segment, in: directory), flags: O_RDONLY)
        self.offset = offset
        self.dataStart = offset
    }

    var position: Position { Position(segment: segment, offset: offset) }

    /// Checks the segment header; nil when it is valid.
    func headerProblem() throws -> CorruptionError.Cause? {
        var header = [UInt8](repeating: 0, count: SegmentHeader.size)
        let n = try header.withUnsafeMutableBytes { (buffer) throws in try file.read(into: buffer, at: 0) }
        return header.withUnsafeBytes { SegmentHeader.validate(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }

    /// Reads the next record. `limit` is a file offset past which nothing is read
    /// (the writer's committed end, for a live tailer).
    mutating func next(limit: Int? = nil) throws -> Step {
        var available = try fill(RecordFrame.headerSize, limit: limit)
        if available == 0 { return .end(position) }
        while true {
            let outcome = data.withUnsafeBytes { bytes in
                RecordFrame.decode(UnsafeRawBufferPointer(rebasing: bytes[(offset - dataStart)...]))
            }
            switch outcome {
            case .record(let record, let size):
                let start = position
                offset += size
                return .record(StoredRecord(position: start, end: position, record: record))
            case .invalid(let cause):
                return .corrupt(CorruptionError(position: position, cause: cause))
            case .incomplete(let needed):
                let more = try fill(needed, limit: limit)
                if more < needed {
                    return .incomplete(
                        CorruptionError(position: position, cause: .torn(announced: needed, present: more)))
                }
                available = more
            }
        }
    }

    /// Steps over the next record by its header alone, unless `read` wants its type: then
    /// it is read and checked like `next` does. A record stepped over is neither
    /// checksummed nor decompressed, and its payload may run past the end of the file.
    mutating func skip(limit: Int? = nil, reading read: (UInt8) -> Bool) throws -> Step? {
        let available = try fill(RecordFrame.headerSize, limit: limit)
        if available == 0 { return .end(position) }
        let header = data.withUnsafeBytes { bytes in
            RecordFrame.header(UnsafeRawBufferPointer(rebasing: bytes[(offset - dataStart)...]))
        }
        switch header {
        case .valid(let type, _) where read(type):
            return try next(limit: limit)
        case .valid(_, let length):
            offset += RecordFrame.headerSize + length
            return nil
        case .incomplete(let needed):
            return .incomplete(
                CorruptionError(position: position, cause: .torn(announced: needed, present: available)))
        case .invalid(let cause):
            return .corrupt(CorruptionError(position: position, cause: cause))
        }
    }

    /// Called with `offset` at a record that is not valid (after `next` returned
    /// `.corrupt` or `.incomplete`): moves `offset` to the next valid record of the
    /// segment and returns true, or to the end of the segment's bytes (`limit`, else
    /// the file's size) and returns false when no valid record follows.
    ///
    /// The next valid record is the first offset after the damaged one where a record
    /// passes the header rules, fits before the end, matches its CRC32C and, when
    /// compressed, decompresses to its `rawLength`. When the damage spared the header
    /// (a checksum, payload or lz4 failure) that is where the header says its record
    /// ends; the offsets before it are tried too, because a bit flip in a compressed
    /// record's length can leave a plausible length that points past the next record,
    /// and trusting it would throw intact records away. The header test is a few
    /// comparisons and only the rare candidate that passes it is checksummed, so a
    /// resync costs about one pass over the damaged bytes.
    mutating func resync(limit: Int? = nil) throws -> Bool {
        let end = try limit ?? file.size()
        let damaged = offset
        offset = damaged + 1
        while offset + RecordFrame.headerSize <= end {
            guard try fill(RecordFrame.headerSize, limit: end) >= RecordFrame.headerSize else { break }
            // The first offset in the buffer whose header is plausible for a record that fits.
            let (candidate, checked) = data.withUnsafeBytes { bytes -> (Int?, Int) in
                let last = bytes.count - RecordFrame.headerSize
                var at = offset - dataStart
                while at <= last {
                    let header = UnsafeRawBufferPointer(rebasing: bytes[at..<(at + RecordFrame.headerSize)])
                    if let size = RecordFrame.plausibleSize(header), dataStart + at + size <= end {
                        return (dataStart + at, at)
                    }
                    at += 1
                }
                return (nil, at)
            }
            guard let candidate else {
                offset = dataStart + checked
                continue
            }
            offset = candidate
            if try isValidRecord(end: end) { return true }
            offset += 1
        }
        offset = Swift.max(end, damaged)
        return false
    }

    /// True when a complete, valid record starts at `offset` and ends at or before `end`.
    private mutating func isValidRecord(end: Int) throws -> Bool {
        guard try fill(RecordFrame.headerSize, limit: end) >= RecordFrame.headerSize else { return false }
        let size = data.withUnsafeBytes { bytes in
            RecordFrame.plausibleSize(UnsafeRawBufferPointer(rebasing: bytes[(offset - dataStart)...]))
        }
        guard let size, offset + size <= end, try fill(size, limit: end) >= size else { return false }
        return data.withUnsafeBytes { bytes in
            let frame = UnsafeRawBufferPointer(rebasing: bytes[(offset - dataStart)..<(offset - dataStart + size)])
            if case .record = RecordFrame.decode(frame) { return true }
            return false
        }
    }

    /// The size of the segment file now.
    func size() throws -> Int { try file.size() }

    /// Makes at least `count` bytes from `offset` available if the file has them;
    /// returns how many are available.
    private mutating func fill(_ count: Int, limit: Int?) throws -> Int {
        let have = dataStart + data.count - offset
        if have >= count { return have }
        // Keep the buffered bytes from `offset` on (less than a record), drop the rest.
        let kept = Swift.max(have, 0)
        let keptFrom = data.count - kept
        var want = Swift.max(count, Self.chunk) - kept
        if let limit { want = Swift.min(want, limit - (offset + kept)) }
        guard want > 0 else { return kept }
        let at = offset + kept
        // One copy of the file's bytes: from the kernel straight into the new buffer.
        data = try [UInt8](unsafeUninitializedCapacity: kept + want) { buffer, initialized in
            let target = UnsafeMutableRawBufferPointer(buffer)
            data.withUnsafeBytes { old in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: old[keptFrom...]))
            }
            initialized = kept + (try file.read(into: UnsafeMutableRawBufferPointer(rebasing: target[kept...]), at: at))
        }
        dataStart = offset
        return data.count
    }
}
