#if canImport(Glibc)
    import Glibc
#endif

/// Where and why a record could not be read, and how much of the segment it cost.
public struct CorruptionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var position: Position
    public var reason: String
    /// How many bytes from `position` on were given up: up to the next valid record of
    /// the segment, or to the end of the segment when none follows. 0 when reading
    /// stopped there without stepping over anything (the end of the newest segment).
    public var skipped: Int

    public init(position: Position, reason: String, skipped: Int = 0) {
        self.position = position
        self.reason = reason
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
