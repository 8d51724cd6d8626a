import Events
import Primitives
import WAL

/// One sample read back from the log.
public struct ReplayedSample: Sendable {
    public var labels: Labels
    public var timestamp: Int64
    public var value: Double
    /// Names the sample's series within one replay: samples with the same number have the
    /// same labels (a series gets a new number in each segment), so a caller can keep
    /// per-series work, such as the formatted labels, by it.
    public var series: Int
}

/// Reads the samples of a time window from the WAL, seeking with the segment
/// index so that only segments overlapping the window are read.
public struct ReplayWindow: Sendable {
    public var since: Int64?
    public var until: Int64?
    public var selectors: [SeriesSelector]
    /// Only samples routed to the `prometheus.remote_write` component with this label (and
    /// those recorded without a route, which went to every one); nil: all samples.
    public var receiver: String?
    /// An endpoint's `write_relabel_config`, applied to the series the selectors chose (they match
    /// the labels as the WAL holds them): the labels as that endpoint is sent them, or nil for a
    /// series it drops. nil: the samples as the WAL holds them.
    public var relabel: (@Sendable (Labels) -> Labels?)?

    public init(
        since: Int64?, until: Int64?, selectors: [SeriesSelector] = [], receiver: String? = nil,
        relabel: (@Sendable (Labels) -> Labels?)? = nil
    ) {
        self.since = since
        self.until = until
        self.selectors = selectors
        self.receiver = receiver
        self.relabel = relabel
    }

    /// The segments worth reading: from the index when it covers them, else all.
    public func segments(walDirectory: String, store: ProjectionStore?) throws -> [Int] {
        let all = try SegmentName.list(in: walDirectory)
        guard let store else { return all }
        let indexed = Dictionary(uniqueKeysWithValues: try store.allSegments().map { (Int($0.segment), $0) })
        return all.filter { segment in
            // A segment the index does not know yet (the newest, usually) is read.
            guard let summary = indexed[segment] else { return true }
            if summary.firstTimestamp == nil { return summary.sampleRecords > 0 }
            return summary.overlaps(since: since, until: until)
        }
    }

    public func contains(_ timestamp: Int64) -> Bool {
        (since.map { timestamp >= $0 } ?? true) && (until.map { timestamp <= $0 } ?? true)
    }

    /// Calls `body` for every sample in the window, in log order; returns the damage met.
    public func forEachSample(
        walDirectory: String, store: ProjectionStore?, _ body: (ReplayedSample) throws -> Void
    ) throws -> [CorruptionError] {
        var samples = try self.samples(walDirectory: walDirectory, store: store)
        while let sample = try samples.next() { try body(sample) }
        return samples.problems
    }

    /// The window's samples one at a time, in log order, for a caller that awaits
    /// between them (sending to a receiver): nothing is gathered in memory.
    public func samples(walDirectory: String, store: ProjectionStore?) throws -> Samples {
        Samples(
            window: self, walDirectory: walDirectory, segments: try segments(walDirectory: walDirectory, store: store))
    }

    /// A cursor over a window's samples; see `samples(walDirectory:store:)`.
    public struct Samples {
        private let window: ReplayWindow
        private let walDirectory: String
        private let segments: [Int]
        private var segmentIndex = -1
        private var reader: EventReader?
        private var batch: SampleBatch?
        private var index = 0
        /// Per ref of the current segment: 0 not decided yet, 1 left out (by the selectors or the
        /// relabelling), 2 wanted.
        private var wanted: [UInt8] = []
        /// Per ref of the current segment, with `window.relabel`: the wanted series' labels as relabelled.
        private var relabelled: [Int: Labels] = [:]
        /// Damage met in the segments read so far.
        public private(set) var problems: [CorruptionError] = []
        /// How far into the WAL the cursor has read (nil before the first segment or after the last).
        public var position: Position? { reader.flatMap(\.position) }

        init(window: ReplayWindow, walDirectory: String, segments: [Int]) {
            self.window = window
            self.walDirectory = walDirectory
            self.segments = segments
        }

        /// The next sample of the window, or nil after the last.
        public mutating func next() throws -> ReplayedSample? {
            while true {
                if let batch, index < batch.count {
                    let position = index
                    index += 1
                    let timestamp = batch.timestamp(at: position)
                    guard window.contains(timestamp) else { continue }
                    let ref = batch.refs[position]
                    guard let labels = try wantedLabels(ref) else { continue }
                    return ReplayedSample(
                        labels: labels, timestamp: timestamp, value: batch.values[position],
                        series: segmentIndex << 32 | Int(ref))
                }
                batch = nil
                index = 0
                if reader != nil, let (record, event) = try reader!.next(skippingSamplesBefore: window.since),
                    record.position.segment == segments[segmentIndex]
                {
                    if case .samples(let next) = event, window.receiver.map(next.flows(to:)) ?? true { batch = next }
                    continue
                }
                if let reader { problems += reader.corruptions }
                guard try openNextSegment() else { return nil }
            }
        }

        /// The labels of `ref` when its series is in the window's selection.
        private mutating func wantedLabels(_ ref: UInt64) throws -> Labels? {
            wanted.extend(to: Int(ref) + 1, with: 0)
            switch wanted[Int(ref)] {
            case 1: return nil
            case 2: return window.relabel == nil ? reader!.labels(for: ref) : relabelled[Int(ref)]
            default: break
            }
            guard var labels = reader!.labels(for: ref) else { return nil }
            let match = window.selectors.isEmpty || window.selectors.contains { $0.matches(labels) }
            if match, let relabel = window.relabel {
                guard let sent = relabel(labels) else {
                    wanted[Int(ref)] = 1
                    return nil
                }
                labels = sent
                relabelled[Int(ref)] = sent
            }
            wanted[Int(ref)] = match ? 2 : 1
            return match ? labels : nil
        }

        private mutating func openNextSegment() throws -> Bool {
            reader = nil
            segmentIndex += 1
            guard segmentIndex < segments.count else { return false }
            let segment = segments[segmentIndex]
            reader =
                try window.since.map { try EventReader(directory: walDirectory, segment: segment, seekingTo: $0) }
                ?? EventReader(directory: walDirectory, from: .start(of: segment))
            wanted.removeAll(keepingCapacity: true)
            relabelled.removeAll(keepingCapacity: true)
            return true
        }
    }
}
