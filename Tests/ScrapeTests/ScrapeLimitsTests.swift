import CZlib
import Logging
import TestSupport
import Testing

@testable import Events
@testable import Scrape
@testable import WAL

/// `data` gzip-compressed by zlib, as one member.
func gzip(_ data: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    let level = Z_BEST_COMPRESSION
    let status = deflateInit2_(
        &stream, level, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    precondition(status == Z_OK)
    defer { deflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(data.count))) + 64)
    var input = data
    let written = input.withUnsafeMutableBufferPointer { input in
        output.withUnsafeMutableBufferPointer { output in
            stream.next_in = input.baseAddress
            stream.avail_in = UInt32(input.count)
            stream.next_out = output.baseAddress
            stream.avail_out = UInt32(output.count)
            precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
            return output.count - Int(stream.avail_out)
        }
    }
    return Array(output[..<written])
}

/// Decodes `compressed` fed in chunks of `chunkSize` bytes into a body limited to `limit`.
private func gunzip(_ compressed: [UInt8], chunkSize: Int, limit: Int = 0) -> Result<[UInt8], ScrapeError> {
    var body = ScrapeBody(limit: limit)
    do {
        let decoder = try GzipDecoder()
        var start = 0
        while start < compressed.count {
            let end = min(start + chunkSize, compressed.count)
            try compressed[start..<end].withUnsafeBytes { try decoder.decode($0, into: &body) }
            start = end
        }
        try decoder.finish()
        return .success(body.bytes)
    } catch let error as ScrapeError {
        return .failure(error)
    } catch {
        return .failure(ScrapeError("\(error)"))
    }
}

@Suite struct GzipDecoderTests {
    @Test func aBodyDecodesTheSameFedByteByByteAndInOnePiece() throws {
        let text = Array(String(repeating: "demo_total{a=\"b\"} 1\n", count: 5000).utf8)
        let compressed = gzip(text)
        for chunkSize in [1, 7, 4096, compressed.count] {
            #expect(try gunzip(compressed, chunkSize: chunkSize).get() == text, "chunk size \(chunkSize)")
        }
    }

    @Test func concatenatedMembersAreReadOneAfterTheOther() throws {
        let compressed = gzip(Array("a 1\n".utf8)) + gzip(Array("b 2\n".utf8))
        for chunkSize in [1, compressed.count] {
            #expect(try gunzip(compressed, chunkSize: chunkSize).get() == Array("a 1\nb 2\n".utf8))
        }
    }

    @Test func aBombIsRefusedAtTheLimitHavingHeldNoMoreThanIt() {
        let compressed = gzip([UInt8](repeating: 0, count: 8 << 20))
        #expect(compressed.count < 64 << 10)
        var body = ScrapeBody(limit: 1 << 20)
        var refused: ScrapeError?
        do {
            let decoder = try GzipDecoder()
            try compressed.withUnsafeBytes { try decoder.decode($0, into: &body) }
        } catch let error as ScrapeError {
            refused = error
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(refused?.kind == .bodySizeLimit)
        #expect(refused?.message == "body size limit exceeded: more than 1048576 bytes (decoded)")
        // Capacity is what malloc gave for exactly the limit: a page more at most, never a doubling.
        #expect(body.bytes.count <= 1 << 20)
        #expect(body.bytes.capacity <= (1 << 20) + 4096, "capacity \(body.bytes.capacity)")
        // Exactly at the limit is allowed.
        let exact = gzip([UInt8](repeating: 0, count: 1 << 20))
        #expect((try? gunzip(exact, chunkSize: exact.count, limit: 1 << 20).get().count) == 1 << 20)
    }

    @Test func truncatedOrForeignDataIsRefused() {
        let compressed = gzip(Array("a 1\n".utf8))
        let truncated = gunzip(Array(compressed.dropLast(4)), chunkSize: 3)
        #expect((try? truncated.get()) == nil)
        let garbage = gunzip(Array("a 1\n".utf8), chunkSize: 4)
        guard case .failure(let error) = garbage else {
            Issue.record("plain text decoded as gzip")
            return
        }
        #expect(error.message.hasPrefix("invalid gzip body"), "\(error)")
        #expect(error.kind == .failed)
    }
}

@Suite struct ScrapeBodyTests {
    @Test func aBodyGrowsToItsLimitAndNoFurther() throws {
        var body = ScrapeBody(limit: 10, expectedLength: 1 << 30)
        #expect(body.bytes.capacity <= 10 + 32)
        try body.append([UInt8](repeating: 1, count: 6))
        try body.append([UInt8](repeating: 2, count: 4))
        #expect(body.bytes.count == 10)
        #expect(throws: ScrapeError.self) { try body.append([3]) }
        #expect(body.bytes.count == 10)
    }
}

@Suite struct ScrapeEngineLimitTests {
    private func engine(_ settings: ScrapeSettings, _ dir: TemporaryDirectory) throws -> (ScrapeEngine, EventLog) {
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let target = try #require(
            ScrapeTarget(discovered: ["__address__": "a:1", "job": "j"], settings: settings))
        return (ScrapeEngine(target: target, settings: settings, appender: log, logger: Logger(label: "t")), log)
    }

    @Test func theLabelLimitCountsTheTargetsLabels() throws {
        let dir = TemporaryDirectory()
        // With job and instance from the target and the metric name: 3 labels + the exposed ones.
        let (engine, log) = try engine(ScrapeSettings(jobName: "j", labelLimit: 4), dir)
        defer { try? log.close() }
        #expect(engine.labelLimitProblem(engine.seriesLabels(name: "m", exposed: [("a", "1")])) == nil)
        let problem = engine.labelLimitProblem(engine.seriesLabels(name: "m", exposed: [("a", "1"), ("b", "2")]))
        #expect(problem == "label limit exceeded: series m has 5 labels with the target's, more than 4")
    }

    @Test func theLengthLimitsApplyToTheTargetsLabelsToo() throws {
        let dir = TemporaryDirectory()
        let (names, log) = try engine(ScrapeSettings(jobName: "j", labelNameLengthLimit: 8), dir)
        defer { try? log.close() }
        // `job` exposed by the target becomes `exported_job`: 12 bytes.
        #expect(names.labelLimitProblem(names.seriesLabels(name: "m", exposed: [("a", "1")])) == nil)
        #expect(
            names.labelLimitProblem(names.seriesLabels(name: "m", exposed: [("job", "x")]))
                == "label name length limit exceeded: \"exported_job\" of series m is 12 bytes, more than 8")
        let (values, log2) = try engine(ScrapeSettings(jobName: "j", labelValueLengthLimit: 2), TemporaryDirectory())
        defer { try? log2.close() }
        // The target's `instance` is "a:1": 3 bytes.
        #expect(values.labelLimitProblem(values.seriesLabels(name: "m", exposed: [])) != nil)
    }

    @Test func aRefusedExpositionGivesAReasonWithItsLineAndTheKindThatIsCounted() throws {
        let dir = TemporaryDirectory()
        let (engine, log) = try engine(ScrapeSettings(jobName: "j", timeout: .seconds(4)), dir)
        defer { try? log.close() }
        func reason(_ kind: ExpositionError.Kind, _ message: String) -> (String, ScrapeError.Kind) {
            let refused = engine.describe(ExpositionError(line: 1025, column: 7, message: message, kind: kind))
            return (refused.message, refused.kind)
        }
        #expect(
            reason(.timedOut, "parsing ran past its deadline")
                == ("scrape timed out after 4.0 seconds while parsing, at line 1025", .timedOut))
        #expect(
            reason(.sampleLimit, "sample limit exceeded: more than 2 samples")
                == ("sample limit exceeded: more than 2 samples (line 1025, column 7)", .sampleLimit))
        #expect(reason(.labelLimit, "label limit exceeded").0.hasSuffix("agentd's ceiling of labels per series)"))
        #expect(reason(.labelValueLengthLimit, "x").1 == .labelLimits)
        #expect(reason(.syntax, "expected a value") == ("invalid exposition at 1025:7: expected a value", .failed))
    }

    @Test func theCeilingOfLabelsPerSeriesHoldsWhateverTheLabelLimit() {
        #expect(ScrapeSettings(jobName: "j").effectiveLabelLimit == Labels.maximumCount)
        #expect(ScrapeSettings(jobName: "j", labelLimit: 1 << 20).effectiveLabelLimit == Labels.maximumCount)
        #expect(ScrapeSettings(jobName: "j", labelLimit: 30).effectiveLabelLimit == 30)
    }

    @Test func theBodySizeLimitHasADefaultThatAJobMayRaise() {
        #expect(ScrapeSettings(jobName: "j").effectiveBodySizeLimit == 16 << 20)
        #expect(ScrapeSettings(jobName: "j", bodySizeLimit: 100 << 20).effectiveBodySizeLimit == 100 << 20)
    }

    @Test func theWALRecordLimitIsTheWALs() {
        #expect(ScrapeEngine.walRecordLimit == RecordFrame.maxLength)
    }

    @Test(arguments: [0, 1, 127, 128, 16_383, 16_384, 200_000])
    func aSeriesRecordBoundIsTheRefsMostBytesPlusItsLabelsExactEncoding(valueLength: Int) {
        let labels = Labels([
            "__name__": "m", "job": String(repeating: "j", count: valueLength), "x": "é",
        ])
        var writer = ByteWriter()
        writer.labels(labels)
        #expect(SeriesCache.recordBytes(labels) == 10 + writer.bytes.count)
    }
}

@Suite struct ScrapeStoppedMidwayTests {
    /// A scrape whose task is cancelled while it runs (shutdown, reconfiguration, a target gone
    /// from discovery) failed because it was stopped, not because the target did: nothing is
    /// appended, neither `up` 0 nor staleness markers for the series of the scrape before.
    @Test func aScrapeStoppedByCancellationAppendsNothing() async throws {
        let settings = ScrapeSettings(jobName: "j")
        let target = try #require(ScrapeTarget(discovered: ["__address__": "a:1", "job": "j"], settings: settings))
        let appender = MemoryAppender()
        let scraper = FakeScraper()
        scraper.serve(target.url, "m 1\nn 2\n")
        var engine = ScrapeEngine(target: target, settings: settings, appender: appender, logger: Logger(label: "t"))
        let first = await engine.scrape(using: scraper, at: 1_000)
        #expect(first.error == nil)
        let appended = appender.batches.count
        #expect(appended > 0)

        // The request fails as one does when its task is cancelled under it.
        scraper.fail(target.url, ScrapeError("the request was cancelled"))
        let (stopped, failed) = await Task { [engine] in
            var stopping = engine
            withUnsafeCurrentTask { $0?.cancel() }
            let stopped = await stopping.scrape(using: scraper, at: 2_000)
            return (stopped, appender.batches.count)
        }.value
        #expect(stopped.stopped)
        #expect(stopped.error == ScrapeEngine.stoppedMessage)
        #expect(failed == appended, "a stopped scrape appended \(failed - appended) batches")

        // The same failure in a task that goes on is the target's: up 0 and staleness markers.
        let down = await engine.scrape(using: scraper, at: 3_000)
        #expect(down.error == "the request was cancelled")
        #expect(!down.stopped)
        #expect(appender.batches.count > appended)
        #expect(appender.samples.contains { $0.name == "up" && $0.value == 0 && $0.timestamp == 3_000 })
    }
}

@Suite struct ScrapeTimestampTests {
    /// What one scrape appended of the series `names`: name, value (`stale` for a staleness
    /// marker) and timestamp, in order.
    private func appended(_ appender: MemoryAppender, from batch: Int, names: Set<String>) -> [String] {
        let batches = appender.batches.dropFirst(batch)
        return batches.flatMap { batch in
            (0..<batch.count).compactMap { index -> String? in
                guard let name = appender.labels(batch.refs[index])?.metricName, names.contains(name) else {
                    return nil
                }
                let value = batch.values[index]
                let shown = SampleBatch.isStaleMarker(value) ? "stale" : "\(value)"
                return "\(name) \(shown) @\(batch.timestamp(at: index))"
            }
        }
    }

    /// A sample with a timestamp of its own keeps it (with `honor_timestamps`, the default); every
    /// other sample, staleness marker and report series of the scrape is at the scrape's start,
    /// whether it comes before or after the first timestamped sample, among new series, repeats
    /// and a written form dropped as a repeat of a known one.
    @Test func ownTimestampsAreKeptAndEveryOtherSampleIsAtTheScrapesStart() async throws {
        let settings = ScrapeSettings(jobName: "j")
        let target = try #require(ScrapeTarget(discovered: ["__address__": "a:1", "job": "j"], settings: settings))
        let appender = MemoryAppender()
        let scraper = FakeScraper()
        var engine = ScrapeEngine(target: target, settings: settings, appender: appender, logger: Logger(label: "t"))
        let names: Set = ["a", "b", "c", "up"]

        // New series; `a` repeated (the first kept); the timestamped sample between the others.
        scraper.serve(target.url, "a 1\nb 2 500\na 3\nc 4\n")
        #expect(await engine.scrape(using: scraper, at: 1_000).error == nil)
        #expect(
            appended(appender, from: 0, names: names) == ["a 1.0 @1000", "b 2.0 @500", "c 4.0 @1000", "up 1.0 @1000"])

        // Known series; `a{}` is a new written form of the known `a`: dropped; `c` is gone.
        var before = appender.batches.count
        scraper.serve(target.url, "a 5\nb 6 1500\na{} 7\n")
        #expect(await engine.scrape(using: scraper, at: 2_000).error == nil)
        #expect(
            appended(appender, from: before, names: names) == [
                "a 5.0 @2000", "b 6.0 @1500", "c stale @2000", "up 1.0 @2000",
            ])

        // The timestamped sample first, then a line that fails the scrape: nothing of it is kept,
        // and the markers and `up` 0 are at the start.
        before = appender.batches.count
        scraper.serve(target.url, "b 8 2500\na 9\n{bad\n")
        #expect(await engine.scrape(using: scraper, at: 3_000).error != nil)
        #expect(
            appended(appender, from: before, names: names) == ["a stale @3000", "b stale @3000", "up 0.0 @3000"])

        // Without honor_timestamps, every sample is at the start.
        var ignoring = ScrapeEngine(
            target: target, settings: ScrapeSettings(jobName: "j", honorTimestamps: false), appender: appender,
            logger: Logger(label: "t"))
        before = appender.batches.count
        scraper.serve(target.url, "a 1\nb 2 500\n")
        #expect(await ignoring.scrape(using: scraper, at: 4_000).error == nil)
        #expect(appended(appender, from: before, names: names) == ["a 1.0 @4000", "b 2.0 @4000", "up 1.0 @4000"])
    }
}
