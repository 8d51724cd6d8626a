import WAL

/// What a WAL directory holds, per segment: record counts by kind, samples, time
/// range and bytes. Behind `agentd wal inspect` and the segment index.
public struct SegmentStats: Sendable, Equatable {
    public var segment: Int
    public var bytes: Int = 0
    public var records: [EventKind: Int] = [:]
    public var samples = 0
    public var minTimestamp: Int64?
    public var maxTimestamp: Int64?

    public init(segment: Int) { self.segment = segment }

    mutating func add(_ record: StoredRecord, _ event: Event) {
        bytes = record.end.offset
        records[event.kind, default: 0] += 1
        var times: [Int64] = []
        switch event {
        case .samples(let batch):
            samples += batch.count
            times = batch.timestamps.map { [$0.min()!, $0.max()!] } ?? [batch.timestamp]
            if batch.count == 0 { times = [] }
        case .targets(let change): times = [change.time]
        case .membership(let membership): times = [membership.time]
        case .ownership(let ownership): times = [ownership.time]
        case .series, .checkpoint: break
        }
        for time in times {
            minTimestamp = Swift.min(minTimestamp ?? time, time)
            maxTimestamp = Swift.max(maxTimestamp ?? time, time)
        }
    }
}

public struct LogSummary: Sendable {
    public var segments: [SegmentStats] = []
    public var problems: [String] = []

    public var totalBytes: Int { segments.reduce(0) { $0 + $1.bytes } }
    public var totalSamples: Int { segments.reduce(0) { $0 + $1.samples } }
    public var bytesPerSample: Double { totalSamples == 0 ? 0 : Double(totalBytes) / Double(totalSamples) }

    /// Reads the whole directory. Damage is listed in `problems`, not thrown.
    public static func read(directory: String) throws -> LogSummary {
        var summary = LogSummary()
        var reader = try EventReader(directory: directory)
        var current: SegmentStats?
        while true {
            let next: (record: StoredRecord, event: Event)?
            do {
                next = try reader.next()
            } catch {
                summary.problems.append("\(error)")
                continue
            }
            guard let (record, event) = next else { break }
            if current?.segment != record.position.segment {
                if let done = current { summary.segments.append(done) }
                current = SegmentStats(segment: record.position.segment)
            }
            current!.add(record, event)
        }
        if let done = current { summary.segments.append(done) }
        summary.problems += reader.corruptions.map(\.description)
        return summary
    }
}
