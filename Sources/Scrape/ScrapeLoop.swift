import Events
import Foundation
import Logging
import Synchronization

/// Scrapes one target at its slots and appends every scrape to the event log.
///
/// The target's slots are `phase + k × interval` with the phase derived from the
/// target key alone, so every member would scrape it at the same moments; before
/// each slot the loop asks the ownership oracle whether the slot is this member's.
final class ScrapeLoop: Sendable {
    enum StopReason: Sendable {
        /// Gone from discovery: its series get staleness markers.
        case removed
        /// Shutdown or reconfiguration: no markers (another loop or process takes over).
        case quiet
    }

    let target: ScrapeTarget
    let settings: ScrapeSettings
    private let log: EventLog
    private let scraper: HTTPScraper
    private let oracle: any OwnershipOracle
    private let board: TargetStatusBoard
    private let throughput: ThroughputMeter
    private let logger: Logger
    private let stopReason = Mutex<StopReason>(.quiet)

    init(
        target: ScrapeTarget, settings: ScrapeSettings, log: EventLog, scraper: HTTPScraper,
        oracle: any OwnershipOracle, board: TargetStatusBoard, throughput: ThroughputMeter, logger: Logger
    ) {
        self.throughput = throughput
        self.target = target
        self.settings = settings
        self.log = log
        self.scraper = scraper
        self.oracle = oracle
        self.board = board
        var logger = logger
        logger[metadataKey: "scrape.target"] = "\(target.url)"
        self.logger = logger
    }

    func setStopReason(_ reason: StopReason) { stopReason.withLock { $0 = reason } }

    /// The target's first slot at or after `time`, in nanoseconds since the epoch: the
    /// phase is the key modulo the interval, exactly as the cluster computes it.
    static func slot(atOrAfter time: Int64, key: UInt64, interval: Int64) -> Int64 {
        let phase = Int64(key % UInt64(interval))
        let (quotient, remainder) = (time - phase).quotientAndRemainder(dividingBy: interval)
        return phase + (remainder > 0 ? quotient + 1 : quotient) * interval
    }

    func run() async {
        let interval = settings.intervalNanoseconds
        var engine = ScrapeEngine(target: target, settings: settings, log: log, logger: logger)
        var slot = Self.slot(atOrAfter: nowNanoseconds(), key: target.key, interval: interval)
        while !Task.isCancelled {
            let wait = slot - nowNanoseconds()
            if wait > 0 {
                do {
                    try await Task.sleep(for: .nanoseconds(wait))
                } catch {
                    break
                }
            }
            if oracle.owns(target.key, atSlot: slot) {
                let report = await engine.scrape(using: scraper)
                throughput.record(report.appended)
                board.update(target.key) { status in
                    status.health = report.error == nil ? .up : .down
                    status.lastScrape = report.timestamp
                    status.lastError = report.error
                    status.lastDurationSeconds = report.duration
                    status.lastSamples = report.samples
                    status.scrapedHere = true
                }
            } else {
                // The slot is another member's: hand the series over without staleness markers.
                engine.forgetPreviousScrape()
                board.update(target.key) { $0.scrapedHere = false }
            }
            slot += interval
            let now = nowNanoseconds()
            if slot <= now - interval {
                logger.warning(
                    "Scrape loop fell behind; skipping missed slots",
                    metadata: ["scrape.behind_ms": "\((now - slot) / 1_000_000)"])
                slot = Self.slot(atOrAfter: now, key: target.key, interval: interval)
            }
        }
        if stopReason.withLock({ $0 }) == .removed {
            await engine.markEverythingStale()
        }
    }
}

func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

/// The wall clock in nanoseconds since the epoch (to a quarter of a microsecond).
func nowNanoseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

/// The per-target scrape state: the series cache, the refs of the previous scrape
/// (for staleness), and reusable buffers.
struct ScrapeEngine {
    struct Report: Sendable {
        var timestamp: Int64
        var duration: Double
        var samples: Int
        var error: String?
        /// Samples written to the log, report series and staleness markers included.
        var appended = 0
    }

    let target: ScrapeTarget
    let settings: ScrapeSettings
    let log: EventLog
    let logger: Logger
    private var cache = SeriesCache()
    /// Marks tell scrapes apart in the cache: each scrape gets a new one.
    private var nextMark: UInt64 = 1
    /// The mark of the previous scrape of this target by this member (`noMark`: none, or it failed).
    private var previousMark = noMark
    private static let noMark = UInt64.max
    /// The cache indexes of the series in the previous scrape, in its order.
    private var previous: [Int] = []
    private let reportRefs: [UInt64]

    init(target: ScrapeTarget, settings: ScrapeSettings, log: EventLog, logger: Logger) {
        self.target = target
        self.settings = settings
        self.log = log
        self.logger = logger
        let names = [
            "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
            "scrape_series_added",
        ]
        reportRefs = log.refs(
            for: names.map { name in Labels(target.labels.labels + [Label("__name__", name)]) })
    }

    mutating func forgetPreviousScrape() {
        previous.removeAll()
        previousMark = Self.noMark
    }

    /// One scrape, appended to the log: the samples (or nothing, on failure),
    /// staleness markers for series that are gone, and the five report series.
    mutating func scrape(using scraper: HTTPScraper) async -> Report {
        let start = nowMilliseconds()
        let clock = ContinuousClock.now
        var refs: [UInt64] = []
        var values: [Double] = []
        var timestamps: [Int64] = []
        var current: [Int] = []
        var explicitTimestamps = false
        var failure: String?
        var added = 0
        let mark = nextMark
        nextMark += 1
        do {
            let response = try await scraper.fetch(
                url: target.url, timeout: settings.timeout, bodySizeLimit: settings.bodySizeLimit)
            let format = ExpositionFormat(contentType: response.contentType)
            try parse(
                response.body, format: format, start: start, mark: mark, refs: &refs, values: &values,
                timestamps: &timestamps, current: &current, explicitTimestamps: &explicitTimestamps, added: &added)
        } catch let error as ScrapeError {
            failure = error.message
        } catch let error as ExpositionError {
            failure = "invalid exposition at \(error)"
        } catch {
            failure = "\(error)"
        }
        let scraped = failure == nil ? refs.count : 0
        if failure != nil {
            refs.removeAll()
            values.removeAll()
            timestamps.removeAll()
            current.removeAll()
            added = 0
        }
        // Series of the previous scrape that this one did not expose (all of them, if it failed).
        for index in previous where failure != nil || cache.series[index].lastSeen != mark {
            refs.append(cache.series[index].ref)
            values.append(SampleBatch.staleMarker)
            timestamps.append(start)
        }
        previous = current
        previousMark = failure == nil ? mark : Self.noMark
        let elapsed = ContinuousClock.now - clock
        let duration = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let report: [Double] = [failure == nil ? 1 : 0, duration, Double(scraped), Double(scraped), Double(added)]
        refs += reportRefs
        values += report
        timestamps += Array(repeating: start, count: report.count)
        let batch = SampleBatch(
            target: target.key, timestamp: start, refs: refs, values: values,
            timestamps: explicitTimestamps ? timestamps : nil)
        do {
            try await log.append(batch)
        } catch {
            // Counted and logged (once a minute) by the event log; the target shows the reason.
            logger.debug("Could not append a scrape to the WAL", metadata: ["error": "\(error)"])
            return Report(timestamp: start, duration: duration, samples: scraped, error: "WAL append failed: \(error)")
        }
        if let failure {
            logger.debug("Scrape failed", metadata: ["scrape.error": "\(failure)"])
        }
        return Report(timestamp: start, duration: duration, samples: scraped, error: failure, appended: batch.count)
    }

    /// Staleness markers for every series of the last scrape (target removed).
    mutating func markEverythingStale() async {
        guard !previous.isEmpty else { return }
        let now = nowMilliseconds()
        let refs = previous.map { cache.series[$0].ref } + reportRefs
        let batch = SampleBatch(
            target: target.key, timestamp: now, refs: refs,
            values: Array(repeating: SampleBatch.staleMarker, count: refs.count))
        do {
            try await log.append(batch)
        } catch {
            logger.error("Could not append staleness markers to the WAL", metadata: ["error": "\(error)"])
        }
        previous.removeAll()
        previousMark = Self.noMark
    }

    private mutating func parse(
        _ body: [UInt8], format: ExpositionFormat, start: Int64, mark: UInt64, refs: inout [UInt64],
        values: inout [Double], timestamps: inout [Int64], current: inout [Int], explicitTimestamps: inout Bool,
        added: inout Int
    ) throws {
        var parser = ExpositionParser(format: format)
        let limit = settings.sampleLimit
        let honorTimestamps = settings.honorTimestamps
        try body.withUnsafeBytes { buffer in
            _ = try parser.parse(buffer) { sample in
                let hash = TargetKey.hash(sample.seriesBytes)
                let index: Int
                if let known = cache.index(for: sample.seriesBytes, hash: hash) {
                    index = known
                } else {
                    let labels = seriesLabels(name: sample.name(), exposed: sample.labels())
                    // The WAL's reader refuses a series with more labels: never append one.
                    guard labels.count <= Labels.maximumCount else {
                        throw ScrapeError(
                            "series \(sample.name()) has \(labels.count) labels, more than the "
                                + "\(Labels.maximumCount) a series may have")
                    }
                    let ref = log.ref(for: labels)
                    index = cache.insert(sample.seriesBytes, hash: hash, ref: ref)
                }
                let before = cache.mark(index, mark)
                // A series repeated within one exposition: keep the first, as Prometheus.
                guard before != mark else { return }
                if before != previousMark { added += 1 }
                current.append(index)
                refs.append(cache.series[index].ref)
                values.append(sample.value)
                if honorTimestamps, let timestamp = sample.timestamp {
                    timestamps.append(timestamp)
                    explicitTimestamps = true
                } else {
                    timestamps.append(start)
                }
                if limit > 0 && refs.count > limit {
                    throw ScrapeError("sample limit exceeded: more than \(limit) samples")
                }
            }
        }
    }

    /// A series' labels: the exposed ones and the target's, with Prometheus's
    /// `honor_labels` rules; empty values mean "absent".
    func seriesLabels(name: String, exposed: [(name: String, value: String)]) -> Labels {
        var result: [String: String] = ["__name__": name]
        for label in exposed where !label.value.isEmpty { result[label.name] = label.value }
        for label in target.labels {
            if settings.honorLabels {
                if result[label.name] == nil { result[label.name] = label.value }
            } else {
                if let existing = result[label.name] {
                    var exported = "exported_" + label.name
                    while result[exported] != nil { exported = "exported_" + exported }
                    result[exported] = existing
                }
                result[label.name] = label.value
            }
        }
        return Labels(result.filter { !$0.value.isEmpty })
    }
}
