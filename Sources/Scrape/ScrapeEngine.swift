import Events
import HTTPSecurity
import Logging
import Primitives

/// The per-target scrape state: the series cache, the refs of the previous scrape
/// (for staleness), and reusable buffers.
struct ScrapeEngine {
    /// The most bytes a WAL record may hold (`RecordFrame.maxLength` in the WAL module).
    static let walRecordLimit = 64 << 20
    /// The most bytes a sample may take in a samples record: a ref delta and a timestamp delta
    /// (varints, 10 bytes each at most) and a value (9 bytes at most). The record's own header
    /// takes at most 29 more.
    static let sampleRecordBound = 29

    let target: ScrapeTarget
    let settings: ScrapeSettings
    /// The job's TLS configuration and credentials (nil: none), shared by its targets.
    let credentials: HTTPClientCredentials?
    let appender: any ScrapeAppender
    let logger: Logger
    private var cache = SeriesCache()
    /// Marks tell scrapes apart in the cache: each scrape gets a new one. 32 bits (4 bytes of
    /// every cached series): after 2³² − 2 scrapes they start over from 1, and the cache's marks
    /// with them.
    private var nextMark: UInt32 = 1
    /// The mark of the previous scrape of this target by this member (`noMark`: none, or it failed).
    private var previousMark = noMark
    private static let noMark = UInt32.max
    /// The cache indexes of the series in the previous scrape, in its order (32 bits: 4 bytes of
    /// every series a target exposes, kept between scrapes).
    private var previous: [Int32] = []
    /// How many metric names the last parsed body had (family names and sample names): the next
    /// parse's name table starts with room for them.
    private var previousNames = 0
    private let reportRefs: [UInt64]
    /// Whether this member's `agentd_target_owner` series has a sample and no staleness marker since.
    private var ownerSeriesWritten = false
    /// Repeats of a series within the exposition being parsed (dropped).
    private var duplicates = 0
    /// The job's pipelines (never empty).
    private let pipelines: [MetricPipeline]
    /// Per pipeline with stages, by series index in the cache: the ref of the series' relabelled
    /// labels, or ``droppedFlag`` with the index of the stage that dropped it. Kept with the
    /// series, so a series is relabelled once, when the target first exposes it. Empty for a
    /// pipeline without stages.
    private var relabelled: [[UInt64]]
    /// The same for the report series, by their order.
    private let relabelledReport: [[UInt64]]
    /// Series relabelled for the first time in the current scrape, per pipeline.
    private var newlyRelabelled: [Int]
    static let droppedFlag: UInt64 = 1 << 63
    /// Whether some pipeline relabels (has `prometheus.relabel` stages).
    private let hasStages: Bool
    /// What a scrape's series and samples may take in WAL records: the WAL's limit less what the
    /// report series take. Counted as if none of the series were defined in the current segment
    /// yet (the first scrape in a new segment defines them all in one `series` record), staleness
    /// markers included. A scrape that could pass it is refused before anything is appended.
    /// (Tests lower it, to reach it with fewer series.)
    var recordBudget: Int

    init(
        target: ScrapeTarget, settings: ScrapeSettings, credentials: HTTPClientCredentials? = nil,
        appender: any ScrapeAppender, logger: Logger
    ) {
        self.target = target
        self.settings = settings
        self.credentials = credentials
        self.appender = appender
        self.logger = logger
        let names = [
            "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
            "scrape_series_added",
        ]
        var reportLabels = names.map { name in Labels(target.labels.labels + [Label("__name__", name)]) }
        if let owner = settings.ownerSeries {
            // The member's own `owner` label wins over a target label of that name.
            let labels = target.labels.labels.filter { $0.name != "owner" }
            reportLabels.append(
                Labels(labels + [Label("__name__", "agentd_target_owner"), Label("owner", owner)]))
        }
        reportRefs = appender.refs(for: reportLabels)
        let pipelines = settings.pipelines.isEmpty ? [.everywhere] : settings.pipelines
        self.pipelines = pipelines
        hasStages = pipelines.contains { !$0.stages.isEmpty }
        relabelled = pipelines.map { _ in [] }
        newlyRelabelled = pipelines.map { _ in 0 }
        relabelledReport = pipelines.map { pipeline in
            pipeline.stages.isEmpty ? [] : Self.relabel(reportLabels, through: pipeline, appender: appender)
        }
        let reportBytes = reportLabels.reduce(29) { $0 + SeriesCache.recordBytes($1) + Self.sampleRecordBound }
        recordBudget = Self.walRecordLimit - reportBytes
    }

    /// Series in the target's cache: every series of every accepted scrape.
    var knownSeries: Int { cache.count }

    /// The slot at `time` (milliseconds since the epoch) went to another member: forgets the
    /// previous scrape, whose series the new owner takes over without staleness markers, and marks
    /// this member's `agentd_target_owner` series stale (the new owner writes its own).
    mutating func handOver(at time: Int64) async {
        previous.removeAll()
        previousMark = Self.noMark
        guard ownerSeriesWritten, let ref = reportRefs.last else { return }
        ownerSeriesWritten = false
        let batches = self.batches(
            timestamp: time, refs: [ref], values: [SampleBatch.staleMarker], timestamps: nil, series: [])
        do {
            try await appender.append(samples: batches)
        } catch {
            logger.debug("Could not append the owner series' staleness marker", metadata: ["error": "\(error)"])
        }
    }

    /// One scrape started at `start` (milliseconds since the epoch: its samples' timestamp),
    /// appended to the log: the samples (or nothing, on failure), staleness markers for series that
    /// are gone, and the five report series. The scrape timeout bounds the request and the parsing
    /// together. Returns once the log holds the scrape durably (the scrape loop does not wait for
    /// that: it takes ``collect(using:at:)`` and appends itself).
    mutating func scrape(using scraper: any TargetScraper, at start: Int64) async -> ScrapeReport {
        let scrape = await collect(using: scraper, at: start)
        guard !scrape.report.stopped else { return scrape.report }
        do {
            try await appender.append(samples: scrape.batches)
        } catch {
            return scrape.report.appendFailed(error, logger: logger)
        }
        return scrape.report
    }

    /// A scrape made and not yet appended: the batches for the log, and its report once they are in it.
    struct Collected: Sendable {
        var batches: [SampleBatch]
        var report: ScrapeReport
    }

    /// What ``scrape(using:at:)`` does but the append: the request, the parse, the cache, new
    /// series registered, and the batches (for every pipeline) with their report. A scrape stopped
    /// by cancellation has no batches and a ``ScrapeReport/stopped`` report.
    mutating func collect(using scraper: any TargetScraper, at start: Int64) async -> Collected {
        let clock = ContinuousClock.now
        let deadline = clock + settings.timeout
        // Room for as many samples as the last scrape had (and a little more) and the report
        // series, so that a target of steady size grows none of these per sample.
        let expected = previous.count + previous.count / 16 + reportRefs.count + 8
        var refs: [UInt64] = []
        refs.reserveCapacity(expected)
        var values: [Double] = []
        values.reserveCapacity(expected)
        var current: [Int32] = []
        current.reserveCapacity(previous.count + 16)
        // A timestamp per sample only once a sample carries its own (``explicitTimestamps``):
        // until then every sample is at `start`.
        var timestamps: [Int64] = []
        var explicitTimestamps = false
        var failure: String?
        var failureKind: ScrapeError.Kind?
        var added = 0
        duplicates = 0
        if nextMark == Self.noMark {
            cache.clearMarks()
            nextMark = 1
            previousMark = Self.noMark
        }
        let mark = nextMark
        nextMark += 1
        do {
            if let reason = settings.targetLimitFailure { throw ScrapeError(reason, kind: .targetLimit) }
            let response = try await scraper.fetch(
                url: target.url, timeout: settings.timeout, bodySizeLimit: settings.effectiveBodySizeLimit,
                credentials: credentials)
            let format = ExpositionFormat(contentType: response.contentType)
            let parsed = try parse(
                response.body, format: format, start: start, deadline: deadline, mark: mark, refs: &refs,
                values: &values, timestamps: &timestamps, current: &current, explicitTimestamps: &explicitTimestamps,
                added: &added)
            try checkRecordSize(seriesBytes: parsed.seriesBytes, samples: refs.count, mark: mark)
            register(
                parsed.newSeries, mark: mark, refs: &refs, values: &values, timestamps: &timestamps,
                current: &current, added: &added)
        } catch let error as ScrapeError {
            failure = error.message
            failureKind = error.kind
            if error.kind == .bodySizeLimit && settings.bodySizeLimit == 0 {
                failure! += " (agentd's default body_size_limit; set body_size_limit to raise it)"
            }
        } catch let error as ExpositionError {
            let refused = describe(error)
            failure = refused.message
            failureKind = refused.kind
        } catch {
            failure = "\(error)"
            failureKind = .failed
        }
        if failure != nil, Task.isCancelled {
            // Stopped mid-scrape (shutdown, reconfiguration, the target gone from discovery): the
            // target did not fail, so no `up` 0 and no staleness markers for its series. Nothing is
            // appended; how the loop stops decides what its series get.
            logger.debug("Scrape stopped before it finished", metadata: ["scrape.error": "\(failure ?? "")"])
            var report = ScrapeReport(timestamp: start, duration: 0, samples: 0, error: Self.stoppedMessage)
            report.stopped = true
            return Collected(batches: [], report: report)
        }
        let scraped = failure == nil ? refs.count : 0
        if failure != nil {
            refs.removeAll(keepingCapacity: true)
            values.removeAll(keepingCapacity: true)
            timestamps.removeAll()
            explicitTimestamps = false
            current.removeAll()
            added = 0
        }
        // Series of the previous scrape that this one did not expose (all of them, if it failed).
        var gone: [Int32] = []
        for index in previous where failure != nil || cache.series[Int(index)].lastSeen != mark {
            refs.append(cache.series[Int(index)].ref)
            values.append(SampleBatch.staleMarker)
            if explicitTimestamps { timestamps.append(start) }
            if hasStages { gone.append(index) }
        }
        let series = current
        previous = current
        previousMark = failure == nil ? mark : Self.noMark
        let elapsed = ContinuousClock.now - clock
        let duration = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var report: [Double] = [failure == nil ? 1 : 0, duration, Double(scraped), Double(scraped), Double(added)]
        if settings.ownerSeries != nil { report.append(1) }
        refs += reportRefs
        values += report
        if explicitTimestamps { timestamps += Array(repeating: start, count: report.count) }
        let batches = self.batches(
            timestamp: start, refs: refs, values: values, timestamps: explicitTimestamps ? timestamps : nil,
            series: hasStages ? series + gone : [])
        // The owner series has a sample now (should the append fail, the staleness marker that
        // `handOver` writes for it is one for a series with none: harmless).
        ownerSeriesWritten = settings.ownerSeries != nil
        if let failure {
            logger.debug("Scrape failed", metadata: ["scrape.error": "\(failure)"])
        }
        return Collected(
            batches: batches,
            report: ScrapeReport(
                timestamp: start, duration: duration, samples: scraped, error: failure, failureKind: failureKind,
                appended: batches.reduce(0) { $0 + $1.count }, series: series.count + reportRefs.count,
                duplicates: failure == nil ? duplicates : 0))
    }

    /// The error of a ``ScrapeReport/stopped`` scrape, for the logs.
    static let stoppedMessage = "scrape stopped before it finished"

    /// The reason a scrape gives for an exposition the parser refused.
    func describe(_ error: ExpositionError) -> ScrapeError {
        let place = "(line \(error.line), column \(error.column))"
        switch error.kind {
        case .syntax:
            return ScrapeError("invalid exposition at \(error)")
        case .timedOut:
            return ScrapeError(
                "scrape timed out after \(settings.timeout) while parsing, at line \(error.line)", kind: .timedOut)
        case .sampleLimit:
            return ScrapeError("\(error.message) \(place)", kind: .sampleLimit)
        case .labelLimit where settings.labelLimit == 0 || settings.labelLimit > Labels.maximumCount:
            return ScrapeError(
                "\(error.message) (line \(error.line), column \(error.column); agentd's ceiling of labels per series)",
                kind: .labelLimits)
        case .labelLimit, .labelNameLengthLimit, .labelValueLengthLimit:
            return ScrapeError("\(error.message) \(place)", kind: .labelLimits)
        }
    }

    /// Why the labels of a new series (the target's included) break a label limit, if they do.
    func labelLimitProblem(_ labels: Labels) -> String? {
        // The WAL's reader refuses a series with more labels: never append one.
        if labels.count > Labels.maximumCount {
            return "series \(labels.metricName) has \(labels.count) labels, more than the "
                + "\(Labels.maximumCount) a series may have"
        }
        if settings.labelLimit > 0 && labels.count > settings.labelLimit {
            return "label limit exceeded: series \(labels.metricName) has \(labels.count) labels with the "
                + "target's, more than \(settings.labelLimit)"
        }
        let nameLimit = settings.labelNameLengthLimit
        let valueLimit = settings.labelValueLengthLimit
        guard nameLimit > 0 || valueLimit > 0 else { return nil }
        for label in labels {
            if nameLimit > 0 && label.name.utf8.count > nameLimit {
                return "label name length limit exceeded: \"\(label.name)\" of series \(labels.metricName) is "
                    + "\(label.name.utf8.count) bytes, more than \(nameLimit)"
            }
            if valueLimit > 0 && label.value.utf8.count > valueLimit {
                return "label value length limit exceeded: the value of \"\(label.name)\" of series "
                    + "\(labels.metricName) is \(label.value.utf8.count) bytes, more than \(valueLimit)"
            }
        }
        return nil
    }

    /// Staleness markers at `now` (milliseconds since the epoch) for every series of the last scrape
    /// (target removed); none when that scrape failed or was another member's.
    mutating func markEverythingStale(at now: Int64) async {
        guard !previous.isEmpty else { return }
        let refs = previous.map { cache.series[Int($0)].ref } + reportRefs
        let batches = self.batches(
            timestamp: now, refs: refs, values: Array(repeating: SampleBatch.staleMarker, count: refs.count),
            timestamps: nil, series: hasStages ? previous : [])
        do {
            try await appender.append(samples: batches)
        } catch {
            logger.error("Could not append staleness markers to the WAL", metadata: ["error": "\(error)"])
        }
        previous.removeAll()
        previousMark = Self.noMark
    }

    /// Refuses a scrape whose series and samples, with the staleness markers of the previous
    /// scrape's series that it no longer exposes, could pass ``recordBudget``. (When it is refused,
    /// the previous scrape's series all get markers instead: that scrape fitted, so they do.)
    private func checkRecordSize(seriesBytes: Int, samples: Int, mark: UInt32) throws(ScrapeError) {
        var stale = 0
        var staleBytes = 0
        for index in previous where cache.series[Int(index)].lastSeen != mark {
            stale += 1
            staleBytes += cache.series[Int(index)].recordBytes
        }
        if seriesBytes + staleBytes > recordBudget || (samples + stale) * Self.sampleRecordBound > recordBudget {
            throw ScrapeError(
                "exposition too large for one WAL record: its series and the \(stale) series of the previous "
                    + "scrape that go stale could take more than \(recordBudget) bytes",
                kind: .tooLargeForWAL)
        }
    }

    /// A series the target exposed for the first time in this scrape (in this written form).
    struct NewSeries {
        var fingerprint: SeriesCache.Fingerprint
        /// The bytes of its written form.
        var length: Int
        var labels: Labels
        var recordBytes: Int
    }

    /// Parses `body` into the scrape's samples, with the job's limits and the scrape's deadline
    /// checked as it goes: the first line past one ends the scrape, as does the first series that
    /// takes the scrape past ``recordBudget``.
    ///
    /// Series not in the cache are collected, not registered: a sample of the `k`th new series
    /// has `current == -(k + 1)` until ``register(_:mark:refs:values:timestamps:current:added:)``
    /// gives them refs, once the scrape is accepted. A refused scrape leaves no series behind.
    /// - Returns: the most bytes the scrape's series may take in a `series` record, and the new series.
    private mutating func parse(
        _ body: [UInt8], format: ExpositionFormat, start: Int64, deadline: ContinuousClock.Instant, mark: UInt32,
        refs: inout [UInt64], values: inout [Double], timestamps: inout [Int64], current: inout [Int32],
        explicitTimestamps: inout Bool, added: inout Int
    ) throws -> (seriesBytes: Int, newSeries: [NewSeries]) {
        // The last body's metric names: the parser's name table gets room for them at once (the
        // samples would be too many: 4,096 slots of 24 bytes to clear for 2,000 samples of a few
        // dozen names).
        var parser = ExpositionParser(
            format: format, limits: settings.expositionLimits, expectedNames: previousNames)
        defer { previousNames = parser.names.count }
        let honorTimestamps = settings.honorTimestamps
        let budget = recordBudget
        // Upper bounds of what the scrape's series and samples records will take.
        var seriesRecordBytes = 0
        var samplesRecordBytes = 0
        var newSeries: [NewSeries] = []
        var newByLabels: [Labels: Int] = [:]
        try body.withUnsafeBytes { buffer in
            // The cache answers only for bytes parsed in full at an earlier scrape with the same
            // limits (`settings` are fixed for the engine's life), so the text parser may skip
            // their label checks.
            _ = try parser.parse(
                buffer, deadline: deadline, lookup: { cache.index(for: cache.fingerprint(of: $0)) },
                expectedLength: { cache.expectedLength }
            ) { sample in
                let index: Int
                let recordBytes: Int
                let ref: UInt64
                if let known = sample.known {
                    let before = cache.mark(known, mark)
                    // A series repeated within one exposition: keep the first, as Prometheus.
                    guard before.lastSeen != mark else {
                        duplicates += 1
                        return
                    }
                    if before.lastSeen != previousMark { added += 1 }
                    index = known
                    recordBytes = before.recordBytes
                    ref = before.ref
                } else {
                    let labels = seriesLabels(name: sample.name(), exposed: sample.labels())
                    if let problem = labelLimitProblem(labels) {
                        throw ScrapeError("\(problem) (line \(sample.line))", kind: .labelLimits)
                    }
                    // Repeated (perhaps with its labels in another order): keep the first.
                    guard newByLabels[labels] == nil else {
                        duplicates += 1
                        return
                    }
                    recordBytes = SeriesCache.recordBytes(labels)
                    newByLabels[labels] = newSeries.count
                    newSeries.append(
                        NewSeries(
                            fingerprint: cache.fingerprint(of: sample.seriesBytes),
                            length: sample.seriesBytes.count, labels: labels,
                            recordBytes: recordBytes))
                    index = -newSeries.count
                    ref = 0
                }
                seriesRecordBytes += recordBytes
                samplesRecordBytes += Self.sampleRecordBound
                if seriesRecordBytes > budget || samplesRecordBytes > budget {
                    throw ScrapeError(
                        "exposition too large for one WAL record: its series could take more than \(budget) bytes "
                            + "by line \(sample.line) (a WAL record holds at most \(Self.walRecordLimit))",
                        kind: .tooLargeForWAL)
                }
                current.append(Int32(index))
                refs.append(ref)
                values.append(sample.value)
                if honorTimestamps, let timestamp = sample.timestamp {
                    if !explicitTimestamps {
                        // The first sample with its own: the ones before it were at `start`.
                        explicitTimestamps = true
                        timestamps.reserveCapacity(refs.capacity)
                        timestamps.append(contentsOf: repeatElement(start, count: values.count - 1))
                    }
                    timestamps.append(timestamp)
                } else if explicitTimestamps {
                    timestamps.append(start)
                }
            }
        }
        return (seriesRecordBytes, newSeries)
    }

    /// Gives the new series of an accepted scrape their refs and cache entries, and their
    /// samples those refs. A new written form of a series the scrape also exposed in a known
    /// form is a repeat: its sample is dropped.
    private mutating func register(
        _ newSeries: [NewSeries], mark: UInt32, refs: inout [UInt64], values: inout [Double],
        timestamps: inout [Int64], current: inout [Int32], added: inout Int
    ) {
        guard !newSeries.isEmpty else { return }
        let newRefs = appender.refs(for: newSeries.map(\.labels))
        var indexes: [Int] = []
        indexes.reserveCapacity(newSeries.count)
        cache.reserveFirst(forms: newSeries.count)
        for (series, ref) in zip(newSeries, newRefs) {
            indexes.append(
                cache.insert(series.fingerprint, length: series.length, ref: ref, recordBytes: series.recordBytes))
        }
        if hasStages { relabelNew(newSeries.map(\.labels), at: indexes) }
        var kept = 0
        for position in current.indices {
            var index = Int(current[position])
            if index < 0 {
                index = indexes[-index - 1]
                let before = cache.mark(index, mark)
                guard before.lastSeen != mark else {
                    duplicates += 1
                    continue
                }
                if before.lastSeen != previousMark { added += 1 }
            }
            current[kept] = Int32(index)
            refs[kept] = cache.series[index].ref
            values[kept] = values[position]
            if !timestamps.isEmpty { timestamps[kept] = timestamps[position] }
            kept += 1
        }
        let dropped = current.count - kept
        if dropped > 0 {
            current.removeLast(dropped)
            refs.removeLast(dropped)
            values.removeLast(dropped)
            if !timestamps.isEmpty { timestamps.removeLast(dropped) }
        }
    }

    /// The refs of `labelSets` after `pipeline`'s stages, or ``droppedFlag`` with the stage that dropped each.
    private static func relabel(_ labelSets: [Labels], through pipeline: MetricPipeline, appender: any ScrapeAppender)
        -> [UInt64]
    {
        var result: [UInt64] = []
        var kept: [Labels] = []
        var keptAt: [Int] = []
        for labels in labelSets {
            let (relabelled, droppedAt) = pipeline.relabel(labels)
            if let relabelled {
                keptAt.append(result.count)
                kept.append(relabelled)
                result.append(0)
            } else {
                result.append(droppedFlag | UInt64(droppedAt ?? 0))
            }
        }
        for (position, ref) in zip(keptAt, appender.refs(for: kept)) { result[position] = ref }
        return result
    }

    /// Relabels the series just added to the cache at `indexes`, for every pipeline with stages.
    private mutating func relabelNew(_ labelSets: [Labels], at indexes: [Int]) {
        for (number, pipeline) in pipelines.enumerated() where !pipeline.stages.isEmpty {
            relabelled[number].extend(to: cache.count, with: Self.droppedFlag)
            let refs = Self.relabel(labelSets, through: pipeline, appender: appender)
            for (index, ref) in zip(indexes, refs) { relabelled[number][index] = ref }
            newlyRelabelled[number] += labelSets.count
        }
    }

    /// One scrape's samples as a batch per pipeline. `series` gives the cache index of each
    /// sample's series, in order, the report series (the last five samples) left out; it is
    /// only read when a pipeline relabels. Counts what each `prometheus.relabel` stage did.
    private mutating func batches(
        timestamp: Int64, refs: [UInt64], values: [Double], timestamps: [Int64]?, series: [Int32]
    ) -> [SampleBatch] {
        var batches: [SampleBatch] = []
        batches.reserveCapacity(pipelines.count)
        for (number, pipeline) in pipelines.enumerated() {
            guard !pipeline.stages.isEmpty else {
                batches.append(
                    SampleBatch(
                        target: target.key, timestamp: timestamp, refs: refs, values: values, timestamps: timestamps,
                        route: pipeline.route))
                continue
            }
            var keptRefs: [UInt64] = []
            var keptValues: [Double] = []
            var keptTimestamps: [Int64] = []
            keptRefs.reserveCapacity(refs.count)
            keptValues.reserveCapacity(refs.count)
            if timestamps != nil { keptTimestamps.reserveCapacity(refs.count) }
            var droppedAt = [Int](repeating: 0, count: pipeline.stages.count)
            let map = relabelled[number]
            let report = relabelledReport[number]
            for position in 0..<refs.count {
                let mapped =
                    position < series.count
                    ? map[Int(series[position])] : report[position - (refs.count - report.count)]
                if mapped & Self.droppedFlag != 0 {
                    droppedAt[Int(mapped & ~Self.droppedFlag)] += 1
                    continue
                }
                keptRefs.append(mapped)
                keptValues.append(values[position])
                if let timestamps { keptTimestamps.append(timestamps[position]) }
            }
            var entering = refs.count
            let misses = newlyRelabelled[number]
            for (stage, dropped) in zip(pipeline.stages, droppedAt) {
                let stageMisses = Swift.min(misses, entering)
                stage.counters.add(
                    processed: entering, written: entering - dropped, hits: entering - stageMisses, misses: stageMisses)
                entering -= dropped
            }
            newlyRelabelled[number] = 0
            batches.append(
                SampleBatch(
                    target: target.key, timestamp: timestamp, refs: keptRefs, values: keptValues,
                    timestamps: timestamps == nil ? nil : keptTimestamps, route: pipeline.route))
        }
        return batches
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

extension ScrapeReport {
    /// This report when the log did not take the scrape's batches (or could not make them
    /// durable): the scrape counts as failed, with why.
    func appendFailed(_ error: any Error, logger: Logger) -> ScrapeReport {
        // Counted and logged (once a minute) by the event log; the target shows the reason.
        logger.debug("Could not append a scrape to the WAL", metadata: ["error": "\(error)"])
        var failed = ScrapeReport(
            timestamp: timestamp, duration: duration, samples: samples, error: "WAL append failed: \(error)")
        failed.interval = interval
        failed.sinceLastScrape = sinceLastScrape
        return failed
    }
}
