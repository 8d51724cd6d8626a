import Events
import Foundation
import HTTPSecurity
import NIOCore
import Primitives
import RemoteWrite
import Scrape
import Synchronization
import WAL

/// `agentd-bench stages [--stage scrape|append|handoff|encode] [--iterations N] [--series S] [--targets T]`:
/// a synthetic target's exposition (S series, about 75 bytes a line, as `bench/targets.py` serves)
/// through each stage of the hot path alone, N times after one warm-up pass:
///
/// - scrape: parse, series-cache lookup and batch building (`ScrapeStage`, the scrape loop's
///   engine) for T targets (50) in turn, appending to a sink that keeps nothing;
/// - append: the batch into a WAL (`EventLog.append`, no fsync);
/// - handoff: the batch's samples to the remote-write shards, batched and settled as if every
///   request were accepted (`HandoffStage`: the queue's state machine, no encoding, no HTTP);
/// - encode: the batch as remote-write requests of 2,000 samples (protobuf + snappy).
///
/// It prints wall and CPU time per sample. `bench/callgrind.py` runs it under callgrind with two
/// iteration counts and prints each stage's instructions per sample, which do not move with the
/// machine's load.
func runStageBenchmark(arguments: [String]) async throws {
    func option(_ name: String) -> String? {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }
    let stage = option("--stage")
    let iterations = option("--iterations").flatMap(Int.init) ?? 200
    let series = option("--series").flatMap(Int.init) ?? 2_000
    let targets = option("--targets").flatMap(Int.init) ?? 50
    let body = syntheticExposition(series: series)
    let start: Int64 = 1_700_000_000_000

    if stage == nil || stage == "scrape" {
        // Several targets scraped in turn, as a member scrapes its share: each target's series
        // cache is cold again by the time its next scrape comes.
        let sink = DiscardingAppender()
        var engines = try (0..<targets).map { try scrapeStage(target: $0, appender: sink) }
        let scraper = FixedBody(body: body)
        for index in engines.indices { _ = await engines[index].scrape(using: scraper, at: start) }
        let clock = Stopwatch()
        for iteration in 1...iterations {
            let report = await engines[iteration % targets].scrape(using: scraper, at: start + Int64(iteration) * 1000)
            precondition(report.error == nil, "scrape failed: \(report.error ?? "")")
        }
        printStage("scrape (parse, cache, batch; \(targets) targets in turn)", samples: iterations * series, clock)
    }
    if stage == nil || stage == "append" { try appendStage(iterations: iterations, series: series, start: start) }
    // The label sets as the forwarder makes them for the series of its own log: the registry's
    // numbered bytes, shared.
    let setsDirectory = temporaryDirectory("stages-sets")
    defer { try? FileManager.default.removeItem(atPath: setsDirectory) }
    let setsLog = try EventLog(directory: setsDirectory, options: .init(sync: .never))
    let sets = setsLog.refs(for: (0..<series).map { nodeLikeLabels(series: $0, instance: "127.0.0.1:20000") }).map {
        RemoteWriteLabelSet(setsLog.encodedLabels(for: $0)!)
    }
    try setsLog.close()
    if stage == nil || stage == "handoff" {
        var handoff = HandoffStage()
        var settled = handoff.run(sets, timestamp: start)
        let clock = Stopwatch()
        for iteration in 1...iterations { settled += handoff.run(sets, timestamp: start + Int64(iteration) * 1000) }
        precondition(settled >= (iterations - 4) * series, "the hand-off settled \(settled) samples")
        printStage("handoff (to 4 shards, batches of 2,000 settled)", samples: iterations * series, clock)
    }
    if stage == nil || stage == "encode" {
        var encoder = WriteRequestEncoder()
        var snappy = Snappy()
        var batch = RemoteWriteBatch(capacity: 2_000)
        var bytes = 0
        func encode(_ timestamp: Int64) {
            for (index, set) in sets.enumerated() {
                batch.append(set, timestamp: timestamp, value: Double(index))
                if batch.count == 2_000 || index == sets.count - 1 {
                    encoder.encode(batch)
                    var body = ByteBuffer()
                    encoder.withEncodedBytes { snappy.compress($0, appendingTo: &body) }
                    bytes += body.readableBytes
                    batch.removeAll()
                }
            }
        }
        encode(start)
        bytes = 0
        let clock = Stopwatch()
        for iteration in 1...iterations { encode(start + Int64(iteration) * 1000) }
        printStage("encode (batch, protobuf, snappy)", samples: iterations * series, clock)
        print(String(format: "  %.2f bytes/sample after snappy", Double(bytes) / Double(iterations * series)))
    }
}

/// The append stage, synchronous: `EventLog.append` as a scrape's batch reaches it.
private func appendStage(iterations: Int, series: Int, start: Int64) throws {
    let directory = temporaryDirectory("stages")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let log = try EventLog(directory: directory, options: .init(sync: .never))
    let refs = log.refs(for: (0..<series).map { nodeLikeLabels(series: $0, instance: "127.0.0.1:20000") })
    var values = (0..<series).map { Double($0) }
    try log.append(SampleBatch(target: 1, timestamp: start, refs: refs, values: values))
    let clock = Stopwatch()
    for iteration in 1...iterations {
        for index in stride(from: iteration % 10, to: series, by: 10) { values[index] += 1 }
        try log.append(
            SampleBatch(target: 1, timestamp: start + Int64(iteration) * 1000, refs: refs, values: values))
    }
    printStage("append (WAL record, lz4, write; no fsync)", samples: iterations * series, clock)
    try log.close()
}

private func printStage(_ name: String, samples: Int, _ clock: Stopwatch) {
    print(
        String(
            format: "%@: %d samples, %.1f ns/sample wall, %.3f CPU-s per M samples", name, samples,
            clock.wall / Double(samples) * 1e9, clock.cpu / Double(samples) * 1e6))
}

/// The body `agentd-bench targets` serves (bench/targets.py's): `series / 20` families, each
/// after its `# HELP` and `# TYPE` lines, of series with three labels, at their values after a
/// few seconds.
func syntheticExposition(series: Int) -> [UInt8] {
    let layout = SyntheticLayout(series: series)
    var values = layout.initialValues(target: 0)
    var random = SplitMix64(seed: 0)
    for _ in 0..<3 { layout.advance(&values, using: &random) }
    var body = ByteBuffer()
    layout.render(values, into: &body)
    return Array(body.readableBytesView)
}

private func scrapeStage(target index: Int, appender: DiscardingAppender) throws -> ScrapeStage {
    let settings = ScrapeSettings(jobName: "synthetic", interval: .seconds(1), timeout: .seconds(10))
    guard let target = ScrapeTarget(discovered: ["__address__": "127.0.0.1:\(20_000 + index)"], settings: settings)
    else {
        throw CocoaError(.featureUnsupported)
    }
    return ScrapeStage(target: target, settings: settings, appender: appender)
}

/// Serves the same body to every scrape.
private struct FixedBody: TargetScraper {
    let body: [UInt8]
    func fetch(url: String, timeout: Duration, bodySizeLimit: Int, credentials: HTTPClientCredentials?)
        async throws(ScrapeError) -> ScrapeResponse
    {
        ScrapeResponse(body: body, contentType: "text/plain; version=0.0.4")
    }
}

/// Gives out refs in order and keeps nothing it is given.
private final class DiscardingAppender: ScrapeAppender {
    private let nextRef = Atomic<UInt64>(1)
    func refs(for labelSets: [Labels]) -> [UInt64] {
        let first = nextRef.add(UInt64(labelSets.count), ordering: .relaxed).oldValue
        return (0..<UInt64(labelSets.count)).map { first + $0 }
    }
    func append(samples batch: SampleBatch) async throws {}
    func append(targets change: TargetsChange) async throws {}
}
