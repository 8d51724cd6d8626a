import Events
import WAL

/// One sample read back from the log.
public struct ReplayedSample: Sendable {
    public var labels: Labels
    public var timestamp: Int64
    public var value: Double
}

/// Reads the samples of a time window from the WAL, seeking with the segment
/// index so that only segments overlapping the window are read.
public struct ReplayWindow: Sendable {
    public var since: Int64?
    public var until: Int64?
    public var selectors: [SeriesSelector]

    public init(since: Int64?, until: Int64?, selectors: [SeriesSelector] = []) {
        self.since = since
        self.until = until
        self.selectors = selectors
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

    /// Calls `body` for every sample in the window, in log order.
    public func forEachSample(
        walDirectory: String, store: ProjectionStore?, _ body: (ReplayedSample) throws -> Void
    ) throws -> [CorruptionError] {
        var problems: [CorruptionError] = []
        var cache: [UInt64: Bool] = [:]
        for segment in try segments(walDirectory: walDirectory, store: store) {
            var reader =
                try since.map { try EventReader(directory: walDirectory, segment: segment, seekingTo: $0) }
                ?? EventReader(directory: walDirectory, from: .start(of: segment))
            cache.removeAll(keepingCapacity: true)
            while let (record, event) = try reader.next(skippingSamplesBefore: since) {
                guard record.position.segment == segment else { break }
                guard case .samples(let batch) = event else { continue }
                for index in 0..<batch.count {
                    let timestamp = batch.timestamp(at: index)
                    guard contains(timestamp), let labels = reader.labels(for: batch.refs[index]) else { continue }
                    let ref = batch.refs[index]
                    let wanted =
                        cache[ref]
                        ?? {
                            let match = selectors.isEmpty || selectors.contains { $0.matches(labels) }
                            cache[ref] = match
                            return match
                        }()
                    if wanted {
                        try body(ReplayedSample(labels: labels, timestamp: timestamp, value: batch.values[index]))
                    }
                }
            }
            problems += reader.corruptions
        }
        return problems
    }
}
