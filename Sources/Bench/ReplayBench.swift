import AsyncHTTPClient
import Events
import Foundation
import Logging
import NIOCore
import Primitives
import Projections
import RemoteWrite
import WAL

/// `agentd-bench replay [--captures DIR] [--only encode|first-sample|receiver] [--wal-gib N]
/// [--checkpoint-mib N] [--keep DIR [--reuse]] [--receiver URL]`:
///
/// - encode: remote-write requests (protobuf + snappy) built from node-exporter-like scrapes,
///   alone and sent over HTTP to a local discarding sink; samples/s and bytes per sample;
/// - first-sample: builds a WAL of `--wal-gib` GiB (the default 128 MiB segments and
///   checkpoint interval) with its index, then times
///   `ReplayWindow.forEachSample` to its first sample for several windows;
/// - receiver: replays a WAL of 2 M samples into a real Prometheus (`--receiver`) with
///   `RemoteWriteReplay.send`.
func runReplayBenchmark(arguments: [String]) async throws {
    func option(_ name: String) -> String? {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }
    let only = option("--only")
    if only == nil || only == "encode" {
        try await runEncodeBenchmark(captures: option("--captures"))
    }
    if only == nil || only == "first-sample" {
        let gib = Double(option("--wal-gib") ?? "1") ?? 1
        let checkpoint = option("--checkpoint-mib").flatMap(Double.init).map { Int($0 * Double(1 << 20)) }
        try runFirstSampleBenchmark(
            bytes: Int(gib * Double(1 << 30)), checkpointInterval: checkpoint ?? EventLog.defaultCheckpointInterval,
            keep: option("--keep"), reuse: arguments.contains("--reuse"))
    }
    if let url = option("--receiver"), only == nil || only == "receiver" {
        try await runReceiverBenchmark(url: url)
    }
}

/// xorshift64*: fast enough that generating values costs little next to what is measured.
struct FastRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }
}

/// Node-exporter-like label sets: real captured series when given, else synthetic ones.
private func nodeLikeScrapes(captures: String?, targets: Int) throws -> (
    labels: [[RemoteWriteLabel]], scrapes: [(labelIndexes: [Int], values: [Double])], source: String
) {
    var labels: [[RemoteWriteLabel]] = []
    var scrapes: [(labelIndexes: [Int], values: [Double])] = []
    if let captures, case let bodies = try CapturedBodies.load(directory: captures), !bodies.captures.isEmpty {
        for target in 0..<targets {
            for series in bodies.series {
                labels.append(
                    series.map { RemoteWriteLabel(name: $0.name, value: $0.value) } + [
                        RemoteWriteLabel(name: "instance", value: "node-\(target):9100"),
                        RemoteWriteLabel(name: "job", value: "node"),
                    ])
            }
        }
        for capture in bodies.captures {
            for target in 0..<targets {
                scrapes.append((capture.series.map { target * bodies.series.count + $0 }, capture.values))
            }
        }
        return (labels, scrapes, "\(bodies.captures.count) captured node-exporter bodies × \(targets) targets")
    }
    let series = 500
    var random = FastRandom(seed: 42)
    for target in 0..<targets {
        for index in 0..<series {
            labels.append([
                RemoteWriteLabel(name: "__name__", value: "node_metric_\(index / 8)"),
                RemoteWriteLabel(name: "cpu", value: "\(index % 8)"),
                RemoteWriteLabel(name: "instance", value: "node-\(target):9100"),
                RemoteWriteLabel(name: "job", value: "node"),
                RemoteWriteLabel(name: "mode", value: ["idle", "user", "system", "iowait"][index % 4]),
            ])
        }
    }
    var values = [Double](repeating: 0, count: targets * series)
    for _ in 0..<20 {
        for target in 0..<targets {
            for index in 0..<series {
                let slot = target * series + index
                switch (index * 7) % 10 {
                case 0..<4: values[slot] = Double(index)
                case 4..<7: values[slot] += Double(random.below(40))
                default: values[slot] = Double(random.below(1_000_000_000)) / 1024
                }
            }
            scrapes.append(
                (Array(target * series..<(target + 1) * series), Array(values[target * series..<(target + 1) * series]))
            )
        }
    }
    return (labels, scrapes, "synthetic node-like series (500 per target) × \(targets) targets")
}

private func runEncodeBenchmark(captures: String?) async throws {
    let targets = 20
    let (labels, scrapes, source) = try nodeLikeScrapes(captures: captures, targets: targets)
    let sets = labels.map { RemoteWriteLabelSet($0) }
    print("Remote-write encode (protobuf + snappy): \(source), \(labels.count) series, scrapes 15 s apart")
    for perRequest in [500, 2_000] {
        // Flatten the scrapes in order and cut them into requests as a queue shard would.
        var batches: [RemoteWriteBatch] = []
        var batch = RemoteWriteBatch(capacity: perRequest)
        var total = 0
        for (scrape, (indexes, values)) in scrapes.enumerated() {
            let timestamp = 1_700_000_000_000 + Int64(scrape / targets) * 15_000
            for (position, index) in indexes.enumerated() {
                batch.append(sets[index], timestamp: timestamp, value: values[position])
                total += 1
                if batch.count == perRequest {
                    batches.append(batch)
                    batch = RemoteWriteBatch(capacity: perRequest)
                }
            }
        }
        if !batch.isEmpty { batches.append(batch) }

        var encoder = WriteRequestEncoder()
        var snappy = Snappy()
        // Encode only, several passes over the batches.
        let passes = max(1, 20_000_000 / total)
        var raw = 0
        var compressed = 0
        let clock = Stopwatch()
        for _ in 0..<passes {
            for batch in batches {
                encoder.encode(batch)
                raw += encoder.count
                compressed += encoder.withEncodedBytes { snappy.compress($0).count }
            }
        }
        let samples = Double(total * passes)
        print(
            "  \(perRequest) samples/request, encode + snappy only: \(formatRate(samples / clock.wall)) samples/s "
                + String(
                    format: "(%.2f CPU-s per M samples); %.2f bytes/sample protobuf, %.2f bytes/sample snappy",
                    clock.cpu / samples * 1e6, Double(raw) / samples, Double(compressed) / samples))
        compareWithLibsnappy(batches, encoder: &encoder, snappy: &snappy)

        // The same through HTTP to a discarding sink in this process.
        let sink = try DiscardingSink()
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let client = try RemoteWriteClient(
            endpoint: RemoteWriteEndpoint(name: "sink", url: "http://127.0.0.1:\(sink.port)/api/v1/write"),
            httpClient: httpClient, logger: Logger(label: "bench"))
        let sendPasses = max(1, 5_000_000 / total)
        var sent = 0
        var sentBytes = 0
        let sendClock = Stopwatch()
        for _ in 0..<sendPasses {
            for batch in batches {
                encoder.encode(batch)
                var body = ByteBuffer()
                encoder.withEncodedBytes { snappy.compress($0, appendingTo: &body) }
                sentBytes += body.readableBytes
                let outcome = try await client.send(body)
                if outcome.isSent { sent += batch.count }
            }
        }
        let wall = sendClock.wall
        let cpu = sendClock.cpu
        try await httpClient.shutdown()
        let requests = sink.requests
        let received = sink.bodyBytes
        try sink.shutdown()
        print(
            "  \(perRequest) samples/request, encode + snappy + HTTP POST to a discarding sink: "
                + "\(formatRate(Double(sent) / wall)) samples/s, \(formatRate(Double(requests) / wall)) requests/s "
                + String(
                    format: "(%.2f CPU-s per M samples, client and sink); %.2f bytes/sample on the wire (body), "
                        + "sink received %d of %d bytes",
                    cpu / Double(sent) * 1e6, Double(sentBytes) / Double(sent), received, sentBytes))
    }
}

/// Writes a WAL of about `bytes` with the default segment size and checkpoint interval: 100 targets × 1,000 series scraped 15 s
/// apart, then indexes it and times the first sample of several replay windows.
private func runFirstSampleBenchmark(bytes: Int, checkpointInterval: Int, keep: String?, reuse: Bool) throws {
    let root = keep ?? temporaryDirectory("replay-wal")
    defer { if keep == nil { try? FileManager.default.removeItem(atPath: root) } }
    if reuse, keep != nil, FileManager.default.fileExists(atPath: root + "/index.sqlite") {
        try timeFirstSamples(root: root)
        return
    }
    try? FileManager.default.removeItem(atPath: root + "/wal")
    try? FileManager.default.removeItem(atPath: root + "/index.sqlite")
    try FileManager.default.createDirectory(atPath: root + "/wal", withIntermediateDirectories: true)
    let walDirectory = root + "/wal"
    let segmentSize = LogWriter.Options().segmentSize
    let targets = 100
    let seriesPerTarget = 1_000
    print(
        "\nReplay, first sample: WAL of ≥ \(bytes >> 20) MiB, \(segmentSize >> 20) MiB segments, "
            + "checkpoints every \(String(format: "%g", Double(checkpointInterval) / Double(1 << 20))) MiB of samples, "
            + "\(targets) targets × \(seriesPerTarget) series, scrapes 15 s apart, sync never")
    let log = try EventLog(
        directory: walDirectory, options: .init(segmentSize: segmentSize, sync: .never),
        checkpointInterval: checkpointInterval)
    var refs: [[UInt64]] = []
    for target in 0..<targets {
        refs.append(
            log.refs(
                for: (0..<seriesPerTarget).map {
                    nodeLikeLabels(series: $0, instance: "host-\(target).example.org:9100")
                }))
    }
    var values = [Double](repeating: 0, count: targets * seriesPerTarget)
    var random = FastRandom(seed: 7)
    // Start 48 h back; stop once the WAL is big enough.
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    var timestamp = now - 48 * 3_600_000
    let firstTimestamp = timestamp
    var samples = 0
    let buildClock = Stopwatch()
    let firstSegment = log.writer.end.segment
    func written() -> Int { (log.writer.end.segment - firstSegment) * segmentSize + log.writer.currentSegmentSize }
    while written() < bytes {
        for target in 0..<targets {
            let base = target * seriesPerTarget
            for index in 0..<seriesPerTarget {
                switch (index * 7) % 10 {
                case 0..<4: values[base + index] = Double(index)
                case 4..<7: values[base + index] += Double(random.below(40))
                case 7, 8: values[base + index] += Double(random.below(1500)) / 100
                default: values[base + index] = Double(random.below(1_000_000_000)) / 1024
                }
            }
            try log.append(
                SampleBatch(
                    target: UInt64(target), timestamp: timestamp, refs: refs[target],
                    values: Array(values[base..<base + seriesPerTarget])))
            samples += seriesPerTarget
        }
        timestamp += 15_000
    }
    let lastTimestamp = timestamp - 15_000
    try log.close()
    let buildSeconds = buildClock.wall
    let segments = try SegmentName.list(in: walDirectory)
    let onDisk = try segments.reduce(0) { total, segment in
        let path = SegmentName.path(segment, in: walDirectory)
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        return total + size
    }
    print(
        "  wrote \(samples) samples in \(segments.count) segments, \(onDisk >> 20) MiB "
            + String(
                format: "(%.2f bytes/sample), %.1f h of scrapes, in %.1f s", Double(onDisk) / Double(samples),
                Double(lastTimestamp - firstTimestamp) / 3_600_000, buildSeconds))

    let indexClock = Stopwatch()
    let store = try ProjectionStore.open(path: root + "/index.sqlite")
    try Projector.catchUp(store: store, walDirectory: walDirectory)
    print(String(format: "  index (Projector.catchUp over the whole WAL): %.1f s", indexClock.wall))
    try timeFirstSamples(root: root)
}

/// Times the decoding of the newest closed segment, then the first sample of several windows.
private func timeFirstSamples(root: String) throws {
    let walDirectory = root + "/wal"
    let segments = try ProjectionStore.openReadOnly(path: root + "/index.sqlite").allSegments()
    guard let newest = segments.last, let lastTimestamp = newest.lastTimestamp else {
        print("  the index lists no samples")
        return
    }
    try timeDecoding(walDirectory: walDirectory, segment: segments[segments.count - 2])

    struct FirstSample: Error {}
    func timeFirstSample(_ label: String, since: Int64, useIndex: Bool) throws {
        var durations: [Double] = []
        var got: Int64 = 0
        for _ in 0..<(useIndex ? 5 : 1) {
            let clock = Stopwatch()
            let readOnly = useIndex ? try ProjectionStore.openReadOnly(path: root + "/index.sqlite") : nil
            do {
                _ = try ReplayWindow(since: since, until: nil).forEachSample(
                    walDirectory: walDirectory, store: readOnly
                ) {
                    got = $0.timestamp
                    throw FirstSample()
                }
            } catch is FirstSample {}
            durations.append(clock.wall * 1000)
        }
        durations.sort()
        print(
            "  first sample, \(label): median \(String(format: "%.1f", durations[durations.count / 2])) ms "
                + "(min \(String(format: "%.1f", durations[0])) ms, max \(String(format: "%.1f", durations.last!)) ms, "
                + "\(durations.count) runs; sample at \(got - since) ms after since)")
    }
    let newestStart = newest.firstTimestamp ?? lastTimestamp
    var seekTimes: [Double] = []
    let full = Int(segments[segments.count - 2].segment)
    for _ in 0..<5 {
        let clock = Stopwatch()
        _ = try EventReader(directory: walDirectory, segment: full, seekingTo: lastTimestamp - 300_000)
        seekTimes.append(clock.wall * 1000)
    }
    print(
        "  seek to the last checkpoint of segment \(full) (walk its headers, define its series): median "
            + "\(String(format: "%.1f", seekTimes.sorted()[2])) ms")
    let middle = newestStart + (lastTimestamp - newestStart) / 2
    try timeFirstSample("since = start of the newest segment (index)", since: newestStart, useIndex: true)
    try timeFirstSample("since = middle of the newest segment (index)", since: middle, useIndex: true)
    try timeFirstSample("since = last 5 minutes (index)", since: lastTimestamp - 300_000, useIndex: true)
    try timeFirstSample("since = last 1 hour (index)", since: lastTimestamp - 3_600_000, useIndex: true)
    try timeFirstSample(
        "since = last 5 minutes, no index (reads every segment)", since: lastTimestamp - 300_000, useIndex: false)
    let iso = ISO8601DateFormatter()
    print("  last sample at \(iso.string(from: Date(timeIntervalSince1970: Double(lastTimestamp) / 1000)))")
    print("  REPLAY_SINCE_5M=\(iso.string(from: Date(timeIntervalSince1970: Double(lastTimestamp - 300_000) / 1000)))")
    print(
        "  REPLAY_SINCE_1H=\(iso.string(from: Date(timeIntervalSince1970: Double(lastTimestamp - 3_600_000) / 1000)))")
}

/// How fast one whole segment is read: records (checksums, lz4) alone, then decoded into events.
private func timeDecoding(walDirectory: String, segment summary: SegmentSummary) throws {
    let segment = Int(summary.segment)
    var clock = Stopwatch()
    var records = 0
    var bytes = 0
    var reader = try LogReader(directory: walDirectory, from: .start(of: segment))
    while let record = try reader.next(), record.position.segment == segment {
        records += 1
        bytes += record.payload.count
    }
    let readSeconds = clock.wall
    clock = Stopwatch()
    var events = try EventReader(directory: walDirectory, from: .start(of: segment))
    var samples = 0
    while let (record, event) = try events.next(), record.position.segment == segment {
        if case .samples(let batch) = event { samples += batch.count }
    }
    let decodeSeconds = clock.wall
    print(
        String(
            format: "  segment %d (%d MiB, %d records, %.1f M samples): records read (checksum + lz4) in %.0f ms "
                + "(%.0f MB/s of payload); decoded to events in %.0f ms (%.1f M samples/s)",
            segment, summary.bytes >> 20, records, Double(samples) / 1e6, readSeconds * 1000,
            Double(bytes) / readSeconds / 1e6, decodeSeconds * 1000, Double(samples) / decodeSeconds / 1e6))
}

/// Replays 2 M node-like samples (last 50 minutes) into a real Prometheus.
private func runReceiverBenchmark(url: String) async throws {
    let root = temporaryDirectory("replay-receiver")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let targets = 20
    let seriesPerTarget = 500
    let scrapes = 200
    try writeReceiverWAL(directory: root, targets: targets, seriesPerTarget: seriesPerTarget, scrapes: scrapes)
    let total = targets * seriesPerTarget * scrapes
    print("\nReplay into a real Prometheus (\(url)): \(total) samples, \(targets * seriesPerTarget) series, 50 minutes")
    let clock = Stopwatch()
    let report = try await RemoteWriteReplay.send(
        window: ReplayWindow(since: nil, until: nil), walDirectory: root, store: nil, to: url)
    let wall = clock.wall
    print(
        "  RemoteWriteReplay.send (2,000 samples/request, one request at a time): "
            + "\(formatRate(Double(report.sentSamples) / wall)) samples/s "
            + String(format: "(%.2f s, %.2f CPU-s of agentd-bench)", wall, clock.cpu))
    print("  " + report.summary.replacingOccurrences(of: "\n", with: "\n  "))
    print("  REPLAY_SENT=\(report.sentSamples)")
}

/// 20 targets × 500 node-like series, `scrapes` scrapes 15 s apart ending now.
private func writeReceiverWAL(directory: String, targets: Int, seriesPerTarget: Int, scrapes: Int) throws {
    let log = try EventLog(directory: directory, options: .init(sync: .never))
    var refs: [[UInt64]] = []
    for target in 0..<targets {
        refs.append(
            log.refs(
                for: (0..<seriesPerTarget).map { nodeLikeLabels(series: $0, instance: "node-\(target):9100") }))
    }
    var random = FastRandom(seed: 3)
    var values = [Double](repeating: 1, count: seriesPerTarget)
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    for scrape in 0..<scrapes {
        for index in values.indices where index % 3 == 0 { values[index] += Double(random.below(40)) }
        for target in 0..<targets {
            try log.append(
                SampleBatch(
                    target: UInt64(target), timestamp: now - Int64(scrapes - scrape) * 15_000, refs: refs[target],
                    values: values))
        }
    }
    try log.close()
}

/// The compression alone, agentd's encoder against libsnappy's on the same encoded requests:
/// bytes per sample and input bytes a second, each over several passes.
private func compareWithLibsnappy(
    _ batches: [RemoteWriteBatch], encoder: inout WriteRequestEncoder, snappy: inout Snappy
) {
    let requests = batches.map { batch in
        encoder.encode(batch)
        return Array(encoder.bytes)
    }
    let samples = batches.reduce(0) { $0 + $1.count }
    let input = requests.reduce(0) { $0 + $1.count }
    let passes = max(1, 500_000_000 / max(input, 1))
    var output = [UInt8](repeating: 0, count: SnappyCompressor.maxCompressedLength(requests.map(\.count).max() ?? 0))
    var ours = 0
    let oursClock = Stopwatch()
    for _ in 0..<passes {
        ours = 0
        for request in requests { ours += request.withUnsafeBytes { snappy.compress($0).count } }
    }
    let oursSeconds = oursClock.cpu
    var theirs = 0
    let theirsClock = Stopwatch()
    for _ in 0..<passes {
        theirs = 0
        for request in requests {
            theirs += request.withUnsafeBytes { raw in
                output.withUnsafeMutableBytes { Snappy.libsnappyCompress(raw, into: $0) }
            }
        }
    }
    let theirsSeconds = theirsClock.cpu
    let megabytes = Double(input * passes) / 1e6
    print(
        String(
            format: "    compression alone: agentd's %.2f bytes/sample at %.0f MB/s, libsnappy's %.2f at %.0f MB/s"
                + " (agentd's %.1f %% smaller)",
            Double(ours) / Double(samples), megabytes / oursSeconds, Double(theirs) / Double(samples),
            megabytes / theirsSeconds, 100 * (1 - Double(ours) / Double(theirs))))
}
