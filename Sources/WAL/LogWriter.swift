import Dispatch
import Logging
import Primitives
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Appends batches of records to the newest segment of a WAL directory.
///
/// Opening a writer repairs a torn tail of the newest segment (see
/// `openRepairs`) and starts a new segment. One writer per directory: a lock file
/// keeps a second process out.
public final class LogWriter: Sendable {
    public struct Options: Sendable {
        /// Segments are rotated before a batch that would take them past this size.
        public var segmentSize: Int
        public var sync: SyncPolicy
        /// With `.batch`: how long ``sync(upTo:then:)`` may hold an append for others to share its
        /// `fdatasync` (group commit over a window). Zero syncs at once.
        public var syncDelay: Duration

        public init(segmentSize: Int = 128 << 20, sync: SyncPolicy = .batch, syncDelay: Duration = .zero) {
            self.segmentSize = segmentSize
            self.sync = sync
            self.syncDelay = syncDelay
        }
    }

    /// The result of a write: where its records went.
    public struct Appended: Sendable {
        /// Position of each record, in order.
        public var positions: [Position]
        /// Where the next record will start.
        public var end: Position
        fileprivate var sequence: UInt64
    }

    public let directory: String
    public let options: Options
    /// What opening had to truncate from the newest segment, if anything.
    public let openRepairs: [CorruptionError]
    private let logger: Logger

    private struct State {
        var file: SegmentFile
        var segment: Int
        var offset: Int
        /// Offset up to which the current segment is known to hold complete records.
        var goodOffset: Int
        /// A failed write left bytes past `goodOffset` that could not be truncated yet.
        var tailDirty = false
        var sequence: UInt64 = 0
        var closed = false
        var frameBuffer: [UInt8] = []
        var scratch: [UInt8] = []
        var waiters: [UInt64: (Position, CheckedContinuation<Void, Never>)] = [:]
        var nextWaiter: UInt64 = 0
    }

    private struct SyncState {
        var syncedSequence: UInt64 = 0
    }

    /// Appends waiting for the delayed sync (``sync(upTo:then:)``).
    private struct DelayedSync {
        var waiting: [@Sendable (Result<Void, any Error>) -> Void] = []
        /// The latest append among them.
        var latest: Appended?
        var scheduled = false
    }

    private let state: Mutex<State>
    /// Every `fdatasync` of a segment: how many, and the time they took.
    public let syncs = SyncStatistics()
    private let syncState = Mutex(SyncState())
    private let delayedSync = Mutex(DelayedSync())
    private let delayedSyncQueue = DispatchQueue(label: "agentd.wal.sync")
    /// When set, called with the end of each sync window instead of ending it after
    /// ``Options/syncDelay``: tests end windows themselves.
    let windowEnds = Mutex<(@Sendable (@escaping @Sendable () -> Void) -> Void)?>(nil)
    private let lockFile: SegmentFile
    private let ioQueue = DispatchQueue(label: "agentd.wal.io", attributes: .concurrent)
    private let timer: Mutex<Task<Void, Never>?> = Mutex(nil)

    public init(directory: String, options: Options = Options(), logger: Logger = Logger(label: "agentd.wal"))
        throws
    {
        self.directory = directory
        self.options = options
        self.logger = logger
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw WALError.io(path: directory, operation: "create directory", errno: errno)
        }
        lockFile = try SegmentFile(path: directory + "/.lock", flags: O_RDWR | O_CREAT)
        if flock(lockFile.fd, LOCK_EX | LOCK_NB) != 0 { throw WALError.locked(path: directory) }

        let segments = try SegmentName.list(in: directory)
        var repairs: [CorruptionError] = []
        if let newest = segments.last, let repair = try Repair.truncateTornTail(directory: directory, segment: newest) {
            repairs.append(repair)
            logger.warning(
                "Truncated a torn or corrupt WAL tail on open",
                metadata: ["wal.position": "\(repair.position)", "wal.reason": "\(repair.reason)"])
        }
        openRepairs = repairs
        // Listed again: the repair removes a newest segment too short for its header (a crash
        // while creating it), and its number is taken again so that no gap is left.
        let first = ((try SegmentName.list(in: directory)).last ?? -1) + 1
        let file = try Self.createSegment(first, in: directory, sync: options.sync != .never)
        state = Mutex(State(file: file, segment: first, offset: SegmentHeader.size, goodOffset: SegmentHeader.size))
        if case .interval(let every) = options.sync { startSyncTimer(every: every) }
    }

    deinit {
        timer.withLock { $0?.cancel() }
    }

    /// Where the next record will start: everything before it has been written.
    public var end: Position {
        state.withLock { Position(segment: $0.segment, offset: $0.offset) }
    }

    /// Size of the segment being written.
    public var currentSegmentSize: Int { state.withLock { $0.offset } }

    /// True when a batch of framed size `bytes` would start a new segment.
    public func wouldRotate(forBytes bytes: Int) -> Bool {
        state.withLock { $0.offset > SegmentHeader.size && $0.offset + bytes > options.segmentSize }
    }

    /// Writes `records` as one batch and makes it durable as the sync policy says.
    @discardableResult
    public func append(_ records: [Record]) throws -> Appended {
        let appended = try write(records)
        if options.sync == .batch { try sync(upTo: appended) }
        return appended
    }

    /// `append` off the cooperative thread pool: the write and the sync block a
    /// dispatch thread, not a Swift concurrency thread. The sync is shared with other appends as
    /// ``Options/syncDelay`` allows (``sync(upTo:then:)``).
    @discardableResult
    public func append(_ records: [Record]) async throws -> Appended {
        try await withCheckedThrowingContinuation { continuation in
            ioQueue.async {
                let appended: Appended
                do {
                    appended = try self.write(records)
                } catch {
                    continuation.resume(throwing: error)
                    return
                }
                self.sync(upTo: appended) { result in continuation.resume(with: result.map { appended }) }
            }
        }
    }

    /// Writes `records` as one batch without syncing. A batch never spans segments:
    /// the writer rotates first when it would not fit.
    public func write(_ records: [Record]) throws -> Appended {
        let (appended, ready) = try state.withLock { state in try write(records, state: &state) }
        for continuation in ready { continuation.resume() }
        return appended
    }

    private func write(_ records: [Record], state: inout State) throws -> (
        Appended, [CheckedContinuation<Void, Never>]
    ) {
        guard !state.closed else { throw WALError.closed }
        if state.tailDirty {
            // An earlier write failed half-way and so did its truncation: try again now.
            try state.file.truncate(to: state.goodOffset)
            state.tailDirty = false
        }
        state.frameBuffer.removeAll(keepingCapacity: true)
        var relative: [Int] = []
        relative.reserveCapacity(records.count)
        for record in records {
            precondition(record.type != RecordFrame.paddingType, "record type 255 is reserved for padding")
            if record.payload.count > RecordFrame.maxLength {
                throw WALError.recordTooLarge(size: record.payload.count, limit: RecordFrame.maxLength)
            }
            relative.append(state.frameBuffer.count)
            RecordFrame.append(record, to: &state.frameBuffer, scratch: &state.scratch)
        }
        if state.offset > SegmentHeader.size && state.offset + state.frameBuffer.count > options.segmentSize {
            try rotate(state: &state)
        }
        let start = state.offset
        do {
            try state.frameBuffer.withUnsafeBytes { (bytes) throws in
                try state.file.write(bytes, at: start)
            }
        } catch {
            // Leave no partial record behind; if even that fails, the next write retries it.
            state.offset = state.goodOffset
            do {
                try state.file.truncate(to: state.goodOffset)
            } catch {
                state.tailDirty = true
            }
            throw error
        }
        state.offset += state.frameBuffer.count
        state.goodOffset = state.offset
        state.sequence += 1
        let end = Position(segment: state.segment, offset: state.offset)
        let positions = relative.map { Position(segment: state.segment, offset: start + $0) }
        var ready: [CheckedContinuation<Void, Never>] = []
        for (id, waiter) in state.waiters where waiter.0 < end {
            ready.append(waiter.1)
            state.waiters[id] = nil
        }
        return (Appended(positions: positions, end: end, sequence: state.sequence), ready)
    }

    /// Makes everything written up to `appended` durable. Concurrent callers share
    /// one `fdatasync` (group commit).
    public func sync(upTo appended: Appended) throws {
        try syncState.withLock { (sync) throws in
            guard sync.syncedSequence < appended.sequence else { return }
            let (file, sequence) = state.withLock { ($0.file, $0.sequence) }
            try syncs.time { try file.sync() }
            sync.syncedSequence = sequence
        }
    }

    /// Calls `done` once everything written up to `appended` is durable as the sync policy says:
    /// at once when the policy is not `.batch` (the timer or the OS syncs). Without a sync delay
    /// (``Options/syncDelay``) that is ``sync(upTo:)`` at once, on the caller's thread. With one,
    /// the first append to ask opens a window of that length, every append that asks within it
    /// joins, and one `fdatasync` at its end answers them all, on the writer's sync queue: no
    /// thread waits out the window. `done` is called exactly once, with the sync's error if it
    /// failed.
    public func sync(upTo appended: Appended, then done: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        guard options.sync == .batch else {
            done(.success(()))
            return
        }
        guard options.syncDelay > .zero else {
            done(Result { try sync(upTo: appended) })
            return
        }
        let opens = delayedSync.withLock { delayed -> Bool in
            delayed.waiting.append(done)
            if delayed.latest.map({ $0.sequence < appended.sequence }) ?? true { delayed.latest = appended }
            defer { delayed.scheduled = true }
            return !delayed.scheduled
        }
        guard opens else { return }
        if let hook = windowEnds.withLock({ $0 }) {
            hook { self.syncWaiting() }
            return
        }
        let (seconds, attoseconds) = options.syncDelay.components
        let nanoseconds = Int(clamping: min(seconds, 3600)) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        delayedSyncQueue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { self.syncWaiting() }
    }

    /// The end of a sync window: one sync for every append waiting.
    private func syncWaiting() {
        let (waiting, latest) = delayedSync.withLock { delayed in
            defer { delayed = DelayedSync() }
            return (delayed.waiting, delayed.latest)
        }
        guard let latest else { return }
        let result = Result { try sync(upTo: latest) }
        for done in waiting { done(result) }
    }

    /// Syncs everything written so far.
    public func sync() throws {
        let (file, sequence) = state.withLock { ($0.file, $0.sequence) }
        try syncState.withLock { (sync) throws in
            try syncs.time { try file.sync() }
            sync.syncedSequence = Swift.max(sync.syncedSequence, sequence)
        }
    }

    /// Closes the current segment and starts the next one.
    public func rotate() throws {
        try state.withLock { (state) throws in try rotate(state: &state) }
    }

    private func rotate(state: inout State) throws {
        if options.sync != .never { try syncs.time { try state.file.sync() } }
        let next = state.segment + 1
        state.file = try Self.createSegment(next, in: directory, sync: options.sync != .never)
        state.segment = next
        state.offset = SegmentHeader.size
        state.goodOffset = SegmentHeader.size
        logger.debug("WAL segment started", metadata: ["wal.segment": "\(SegmentName.format(next))"])
    }

    /// Syncs and closes; later appends throw `WALError.closed`.
    public func close() throws {
        timer.withLock { $0?.cancel() }
        let waiters: [CheckedContinuation<Void, Never>] = try state.withLock { (state) throws in
            guard !state.closed else { return [] }
            state.closed = true
            try state.file.sync()
            let waiters = state.waiters.values.map(\.1)
            state.waiters = [:]
            return waiters
        }
        for waiter in waiters { waiter.resume() }
        // Appends waiting for a delayed sync were written before the close, which synced them.
        let delayed = delayedSync.withLock { delayed in
            defer { delayed = DelayedSync() }
            return delayed.waiting
        }
        for done in delayed { done(.success(())) }
        _ = flock(lockFile.fd, LOCK_UN)
    }

    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Returns once the log extends beyond `position` (or the writer is closed, or
    /// the task is cancelled). A live tailer's way to wait without polling.
    public func waitForData(beyond position: Position) async {
        let id: UInt64 = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    let end = Position(segment: state.segment, offset: state.offset)
                    if state.closed || end > position || Task.isCancelled { return true }
                    state.waiters[id] = (position, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.1.resume()
        }
    }

    private static func createSegment(_ segment: Int, in directory: String, sync: Bool) throws
        -> SegmentFile
    {
        let path = SegmentName.path(segment, in: directory)
        let file = try SegmentFile(path: path, flags: O_WRONLY | O_CREAT | O_EXCL)
        do {
            try SegmentHeader.bytes.withUnsafeBytes { (bytes) throws in try file.write(bytes, at: 0) }
            if sync {
                try file.sync()
                try SegmentFile.syncDirectory(directory)
            }
        } catch {
            // A full disk: leave no half-made segment behind, so the next attempt can make it.
            unlink(path)
            throw error
        }
        return file
    }

    private func startSyncTimer(every interval: Duration) {
        let task = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !self.isClosed else { return }
                do {
                    try self.sync()
                } catch {
                    self.logger.error("WAL interval sync failed", metadata: ["error": "\(error)"])
                }
            }
        }
        timer.withLock { $0 = task }
    }
}

/// How many times the writer synced a segment, and the time that took in all.
public final class SyncStatistics: Sendable {
    private let count = Atomic<Int>(0)
    private let nanoseconds = Atomic<Int>(0)

    init() {}

    func time(_ sync: () throws -> Void) throws {
        let began = ContinuousClock.now
        defer {
            count.add(1, ordering: .relaxed)
            nanoseconds.add(Int((ContinuousClock.now - began).nanoseconds), ordering: .relaxed)
        }
        try sync()
    }

    public var syncs: Int { count.load(ordering: .relaxed) }
    public var seconds: Double { Double(nanoseconds.load(ordering: .relaxed)) / 1e9 }
}
