/// The splitting of one run of samples until the samples a receiver refuses stand alone: the
/// decisions of ``RemoteWriteSender``, without the sending.
///
/// ``nextRun(timestamp:)`` says which samples (offsets into the run) go in the next request;
/// the answer goes back through ``accepted(_:bytes:newest:)`` or ``refused(_:drop:timestamp:)``.
/// A request refused for samples (``RemoteWriteRefusal``) is split in halves, sent first half
/// first, so a series' samples still leave in order; a request refused for another reason is
/// dropped whole. ``result`` is what became of the run once ``nextRun(timestamp:)`` returns nil.
struct RefusalIsolation: Sendable {
    /// What became of the run so far.
    private(set) var result = RemoteWriteSender.Result()
    /// Ranges of offsets still to send; the top is sent next, so ranges leave in order.
    private var pending: [Range<Int>]
    /// The newest timestamp refused as out of bounds so far. A receiver's bound only moves
    /// forward (it keeps a window up to its newest data), so a sample no newer is counted as
    /// refused without being sent: after a long outage a whole backlog can be too old, and
    /// splitting it down to single samples would cost two requests per sample.
    private var outOfBoundsAtOrBefore: Int64?

    /// Starts the isolation of a run of `count` samples.
    init(count: Int) {
        self.pending = [0..<count]
    }

    /// The offsets to send next, or nil when every sample of the run is settled. Samples no
    /// newer than one refused as out of bounds are refused here, unsent.
    ///
    /// - Parameter timestamp: the timestamp of the sample at an offset.
    mutating func nextRun(timestamp: (Int) -> Int64) -> Range<Int>? {
        while let range = self.pending.popLast() {
            guard !range.isEmpty else { continue }
            guard let bound = self.outOfBoundsAtOrBefore else { return range }
            // Some may be refused unsent: send the others as runs of what is left.
            var runs: [Range<Int>] = []
            for offset in range {
                if timestamp(offset) <= bound {
                    self.result.refused.append((offset, .outOfBounds))
                } else if let last = runs.last, last.upperBound == offset {
                    runs[runs.count - 1] = last.lowerBound..<(offset + 1)
                } else {
                    runs.append(offset..<(offset + 1))
                }
            }
            if runs.count == 1, runs[0] == range { return range }
            // Keep the order: the stack's top is sent next.
            self.pending.append(contentsOf: runs.reversed())
        }
        return nil
    }

    /// The receiver accepted the request of `range`: `bytes` compressed, `newest` its newest timestamp.
    mutating func accepted(_ range: Range<Int>, bytes: Int, newest: Int64?) {
        self.result.requests += 1
        self.result.accepted += range.count
        self.result.acceptedRequests += 1
        self.result.acceptedBytes += bytes
        if let newest {
            self.result.newestAccepted = max(self.result.newestAccepted ?? newest, newest)
        }
    }

    /// The receiver refused the request of `range` for good with `drop`.
    ///
    /// - Parameter timestamp: the timestamp of the sample at an offset.
    mutating func refused(_ range: Range<Int>, drop: RemoteWriteDrop, timestamp: (Int) -> Int64) {
        self.result.requests += 1
        guard let refusal = RemoteWriteRefusal.classify(status: drop.status, message: drop.message) else {
            self.result.dropped += range.count
            self.result.drops.append((drop, range.count))
            return
        }
        if self.result.refusalMessage == nil { self.result.refusalMessage = drop.message }
        if range.count == 1 {
            self.result.refused.append((range.lowerBound, refusal))
            if refusal == .outOfBounds {
                let timestamp = timestamp(range.lowerBound)
                self.outOfBoundsAtOrBefore = max(self.outOfBoundsAtOrBefore ?? timestamp, timestamp)
            }
        } else {
            let middle = range.lowerBound + range.count / 2
            self.pending.append(middle..<range.upperBound)
            self.pending.append(range.lowerBound..<middle)
        }
    }
}
