#if canImport(Glibc)
    import Glibc
#endif

/// Where and why a record could not be read, and how much of the segment it cost (as
/// Prometheus' `CorruptionErr{Segment, Offset, Err}`, with a typed cause).
public struct CorruptionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong, as found by the format's rules (docs/wal-format.md).
    public enum Cause: Sendable, Equatable, CustomStringConvertible {
        /// The segment's 8-byte header is shorter than 8 bytes.
        case segmentHeaderShort(bytes: Int)
        /// The segment does not start with `AGWL`.
        case segmentMagic
        /// The segment's format version is not one this build reads.
        case segmentVersion(UInt8)
        /// Segments between two present ones are gone.
        case segmentsMissing(first: Int, last: Int)
        /// Zeros where a record header should start (preallocated or never written).
        case zeroed
        /// A record header with type 0 (reserved).
        case recordTypeZero
        /// Flag bits this build does not know.
        case unknownFlags(UInt8)
        /// A stored length above the format's maximum.
        case recordTooLong(length: Int)
        /// A compressed record whose stored and raw lengths cannot belong together.
        case compressedLengths(stored: Int, raw: Int)
        /// An uncompressed record whose two lengths differ.
        case lengthsDiffer(stored: Int, raw: Int)
        /// The header announces more bytes than the segment holds.
        case torn(announced: Int, present: Int)
        /// The CRC32C over the header and payload does not match.
        case checksumMismatch(stored: UInt32, computed: UInt32)
        /// The lz4 payload does not decompress to the announced raw length.
        case decompression(rawLength: Int)
        /// A repair was asked to start at a position where no intact record starts.
        case noIntactRecord

        public var description: String {
            switch self {
            case .segmentHeaderShort(let bytes): "segment header is \(bytes) bytes, want \(SegmentHeader.size)"
            case .segmentMagic: "bad segment magic"
            case .segmentVersion(let version): "unsupported segment version \(version)"
            case .segmentsMissing(let first, let last):
                "segments \(SegmentName.format(first)) to \(SegmentName.format(last)) are missing"
            case .zeroed: "zeroed bytes where a record should start"
            case .recordTypeZero: "record type 0"
            case .unknownFlags(let flags): "unknown record flags 0x\(String(flags, radix: 16))"
            case .recordTooLong(let length): "record length \(length) exceeds \(RecordFrame.maxLength)"
            case .compressedLengths(let stored, let raw): "compressed record lengths \(stored)/\(raw) are inconsistent"
            case .lengthsDiffer(let stored, let raw): "record lengths \(stored)/\(raw) differ without compression"
            case .torn(let announced, let present): "torn record: \(announced) bytes announced, \(present) present"
            case .checksumMismatch(let stored, let computed):
                "checksum mismatch (stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16)))"
            case .decompression(let rawLength): "lz4 payload does not decompress to \(rawLength) bytes"
            case .noIntactRecord: "no intact record starts here"
            }
        }
    }

    public var position: Position
    public var cause: Cause
    /// How many bytes from `position` on were given up: up to the next valid record of
    /// the segment, or to the end of the segment when none follows. 0 when reading
    /// stopped there without stepping over anything (the end of the newest segment).
    public var skipped: Int

    /// The cause, in words.
    public var reason: String { cause.description }

    public init(position: Position, cause: Cause, skipped: Int = 0) {
        self.position = position
        self.cause = cause
        self.skipped = skipped
    }

    /// `segment:offset: reason`, followed by `(N bytes skipped)` when bytes were skipped.
    public var description: String {
        skipped > 0 ? "\(position): \(reason) (\(skipped) bytes skipped)" : "\(position): \(reason)"
    }
}

public enum WALError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call failed; `errno` is kept so callers can tell a full disk apart.
    case io(path: String, operation: String, errno: Int32)
    case corruption(CorruptionError)
    case recordTooLarge(size: Int, limit: Int)
    case closed
    case locked(path: String)

    public var description: String {
        switch self {
        case .io(let path, let operation, let code):
            let message = String(cString: strerror(code))
            return "\(operation) \(path): \(message) (errno \(code))"
        case .corruption(let error):
            return "corrupt WAL at \(error)"
        case .recordTooLarge(let size, let limit):
            return "record of \(size) bytes exceeds the \(limit)-byte limit"
        case .closed:
            return "the WAL writer is closed"
        case .locked(let path):
            return "\(path) is locked by another process"
        }
    }

    /// True for ENOSPC / EDQUOT / EFBIG: the disk (or the quota) is full.
    public var isOutOfSpace: Bool {
        if case .io(_, _, let code) = self { return code == ENOSPC || code == EDQUOT || code == EFBIG }
        return false
    }
}
