import Cluster
import Events
import Primitives
import Prometheus
import RemoteWrite
import Scrape
import Synchronization

/// The agent's own metrics on `/metrics`: every family registered once in one swift-prometheus
/// registry, under Alloy's and Prometheus's names where they exist (agentd's own under
/// `agentd_`). Label values are enumerated or bounded (reasons, member states, the configured
/// endpoints, the cluster's peers) and escaped by the registry.
///
/// The parts count in their own structures (atomics and snapshots, cheap on their hot paths);
/// a scrape of `/metrics` reads them into the registry (`collect`) and emits it, under one lock so
/// that concurrent scrapes see whole readings.
final class SelfMetrics: Sendable {
    /// What `/metrics` reads from the running parts.
    struct Reading {
        var targetsScrapedHere: Int
        var walSegments: Int
        var walSegmentsDropped: Int
        var walHealth: EventLog.AppendHealth
        var scrapeLimits: ScrapeLimitReading
        var remoteWrite: [RemoteWriteEndpointReading]
        var cluster: ClusterReading?
        /// Failed TLS handshakes on the agent's port; nil when it does not serve TLS.
        var tlsHandshakeFailures: Int? = nil
        /// The discovery components' health.
        var discovery: [DiscoveryHealth.Status] = []
        var samplesAppended = 0
        var activeSeries = 0
        /// By configured interval (`15s`).
        var intervalLengths: [String: ScrapeStatistics.Summary] = [:]
        /// By job.
        var syncLengths: [String: ScrapeStatistics.Summary] = [:]
        var wal = WALReading()
    }

    /// The WAL as Prometheus's `prometheus_tsdb_wal_*` families show one.
    struct WALReading {
        var currentSegment = 0
        var sizeBytes = 0
        var fsyncs = 0
        var fsyncSeconds = 0.0
        var writesFailed = 0
        var truncations = 0
        var truncationsFailed = 0
        /// Torn or damaged tails repaired when the WAL was opened.
        var corruptions = 0
    }

    struct ScrapeLimitReading {
        var bodySize: Int
        var samples: Int
        var labels: Int
        var walRecord: Int
        var targetLimit = 0
        var duplicateSamples = 0
        var slotsSkipped = 0
    }

    /// One remote-write endpoint's state.
    struct RemoteWriteEndpointReading {
        var name: String
        var url: String
        var metrics: RemoteWriteMetrics
        var damage: Forwarder.Damage
        var backlogBytes: Int
        /// The queue's shards and sizes (nil: not shown).
        var configuration: RemoteWriteQueue.Configuration? = nil
    }

    /// The member's view of the cluster.
    struct ClusterReading {
        var name: String
        var address: String
        var state: String
        var peersByState: [String: Int]
        var lamport: UInt64
        var rxPackets: Int
        var rxBytes: Int
        var txPackets: Int
        var txBytes: Int
        var sendFailures: Int
        /// Lifeguard's local health score (0: healthy).
        var healthScore: Int
        var rejected: [String: Int]
        var nameConflicts: Int
        var lateSlots: Int
        var movedTargets: Int
        var clockSkewSeconds: [String: Double]
        var joinLookupFailures = 0
        /// Ownership changes by cause (`member_joined`, `member_left`, `member_dead`, `target_added`, `target_removed`,
        /// `rebalanced`).
        var ownershipChanges: [String: Int] = [:]
        /// Clustered targets by owner, as this member sees them now.
        var targetsOwned: [String: Int] = [:]
    }

    /// The reasons a WAL append fails (`EventLog.AppendHealth.failures`).
    static let appendFailureReasons = ["disk_full", "record_too_large", "io"]
    /// Member states as `cluster_node_peers` counts them.
    static let peerStates = ["participant", "viewer", "terminating", "suspect", "dead", "left"]
    /// The states memberlist counts among the members it gossips with: all but the departed.
    static let gossipingStates = peerStates.filter { $0 != "dead" && $0 != "left" }
    /// Why gossip messages are refused (`MessageRejection`'s labels).
    static let rejectionReasons = [
        "malformed", "oversized", "cluster_mismatch", "authentication", "replayed", "stale", "self",
        "no_client_certificate", "name_conflict",
    ]

    let registry: PrometheusCollectorRegistry
    private let families: Mutex<Families>

    init(nodeName: String, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.families = Mutex(Families(registry: registry))
        registry.makeGauge(
            descriptor: MetricNameDescriptor(
                metricName: "agentd_build_info", unitName: "", helpText: "agentd's version and node name."),
            labels: [("version", "0.1.0"), ("node", nodeName)]
        ).set(to: 1)
    }

    /// Reads `reading` into the registry and emits the exposition (text format 0.0.4).
    func exposition(_ reading: Reading) -> [UInt8] {
        var exposition = families.withLock { families in
            families.collect(reading)
            return registry.emitToBuffer()
        }
        // Summaries (swift-prometheus has none): quantiles over the last 10 minutes, sum and count.
        Self.appendSummary(
            "prometheus_target_interval_length_seconds", "Actual intervals between scrapes.", label: "interval",
            reading.intervalLengths, to: &exposition)
        Self.appendSummary(
            "prometheus_target_sync_length_seconds", "Actual interval to sync the scrape pool.", label: "scrape_job",
            reading.syncLengths, to: &exposition)
        Self.appendSummary(
            "prometheus_tsdb_wal_fsync_duration_seconds", "Duration of write log fsync.", label: nil,
            ["": .init(sum: reading.wal.fsyncSeconds, count: reading.wal.fsyncs)], quantiles: false,
            to: &exposition)
        Self.appendHistogram(
            "prometheus_remote_storage_sent_batch_duration_seconds",
            "Duration of send calls to the remote storage, answered or failed.",
            reading.remoteWrite.map { ([("remote_name", $0.name), ("url", $0.url)], $0.metrics.sendDurations) },
            to: &exposition)
        return exposition
    }

    /// `name="value"`, the value escaped, for the families written as text here.
    private static func pair(_ name: String, _ value: String) -> String { "\(name)=\"\(Labels.escape(value))\"" }

    /// A histogram family in the text format, one histogram per label set.
    static func appendHistogram(
        _ name: String, _ help: String, _ histograms: [([(String, String)], BucketHistogram)],
        to exposition: inout [UInt8]
    ) {
        var text = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (labels, histogram) in histograms {
            let pairs = labels.map { pair($0.0, $0.1) }
            for bucket in histogram.cumulativeBuckets {
                let all = (pairs + [pair("le", bucket.le)]).joined(separator: ",")
                text += "\(name)_bucket{\(all)} \(bucket.count)\n"
            }
            let braced = pairs.isEmpty ? "" : "{\(pairs.joined(separator: ","))}"
            text += "\(name)_sum\(braced) \(histogram.sum)\n\(name)_count\(braced) \(histogram.count)\n"
        }
        exposition.append(contentsOf: text.utf8)
    }

    /// A summary family in the text format; `label` names the dictionary's keys. Quantiles are
    /// shown when `quantiles` (the fsync summary keeps only its sum and count).
    static func appendSummary(
        _ name: String, _ help: String, label: String?, _ values: [String: WindowedSummary], quantiles: Bool = true,
        to exposition: inout [UInt8]
    ) {
        var text = "# HELP \(name) \(help)\n# TYPE \(name) summary\n"
        let now = ContinuousClock.now
        for (key, summary) in values.sorted(by: { $0.key < $1.key }) {
            let keyPair = label.map { pair($0, key) }
            if quantiles {
                for (quantile, value) in summary.quantiles(at: now) {
                    let all = [keyPair, pair("quantile", "\(quantile)")].compactMap { $0 }.joined(separator: ",")
                    text += "\(name){\(all)} \(value.isNaN ? "NaN" : "\(value)")\n"
                }
            }
            let labels = keyPair.map { "{\($0)}" } ?? ""
            text += "\(name)_sum\(labels) \(summary.sum)\n\(name)_count\(labels) \(summary.count)\n"
        }
        exposition.append(contentsOf: text.utf8)
    }
}

/// The registered metrics by name and label values: each is made once, and those of a departed
/// peer or a past state are unregistered.
private struct Families {
    let registry: PrometheusCollectorRegistry
    var gauges: [String: Gauge] = [:]
    var counters: [String: Counter] = [:]

    static func key(_ name: String, _ labels: [(String, String)]) -> String {
        name + labels.map { "\u{0}\($0.0)=\($0.1)" }.joined()
    }

    mutating func gauge(_ name: String, _ help: String, _ value: Double) { gauge(name, help, [], value) }

    mutating func counter(_ name: String, _ help: String, _ value: Int) { counter(name, help, [], value) }

    mutating func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
        let key = Self.key(name, labels)
        if gauges[key] == nil {
            gauges[key] = registry.makeGauge(
                descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
        }
        gauges[key]!.set(to: value)
    }

    /// The parts keep the totals; the registry shows them.
    mutating func counter(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Int) {
        let key = Self.key(name, labels)
        if counters[key] == nil {
            counters[key] = registry.makeCounter(
                descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
        }
        counters[key]!.reset()
        counters[key]!.increment(by: Int64(value))
    }

    /// Unregisters the gauges of `name` whose labels are not among `kept`.
    mutating func dropGauges(_ name: String, keeping kept: Set<String>) {
        for (key, metric) in gauges where key.hasPrefix(name + "\u{0}") && !kept.contains(key) {
            registry.unregisterGauge(metric)
            gauges[key] = nil
        }
    }

    mutating func collect(_ reading: SelfMetrics.Reading) {
        gauge(
            "prometheus_scrape_targets_gauge", "Targets this member currently scrapes.",
            Double(reading.targetsScrapedHere))
        gauge("agentd_wal_segments", "Segments in the write-ahead log.", Double(reading.walSegments))
        counter(
            "prometheus_agent_samples_appended_total", "Total number of samples appended to the storage.",
            reading.samplesAppended)
        gauge(
            "prometheus_agent_active_series",
            "Series written by the last scrape of each target this member scrapes (report series included).",
            Double(reading.activeSeries))
        let wal = reading.wal
        gauge(
            "prometheus_tsdb_wal_segment_current", "Write log segment index that TSDB is currently writing to.",
            Double(wal.currentSegment))
        gauge("prometheus_tsdb_wal_storage_size_bytes", "Size of the write log directory.", Double(wal.sizeBytes))
        counter(
            "prometheus_tsdb_wal_writes_failed_total", "Total number of write log writes that failed.",
            wal.writesFailed)
        counter(
            "prometheus_tsdb_wal_truncations_total", "Total number of write log truncations attempted.",
            wal.truncations + wal.truncationsFailed)
        counter(
            "prometheus_tsdb_wal_truncations_failed_total", "Total number of write log truncations that failed.",
            wal.truncationsFailed)
        counter(
            "prometheus_tsdb_wal_corruptions_total",
            "Total number of WAL corruptions (torn or damaged tails repaired on open).",
            wal.corruptions)
        counter(
            "agentd_wal_segments_dropped_total",
            "WAL segments deleted by a maximum age or size before every reader had passed them.",
            reading.walSegmentsDropped)
        for reason in SelfMetrics.appendFailureReasons {
            counter(
                "agentd_wal_append_failures_total",
                "Appends the WAL refused (their scrapes were not stored), by reason.", [("reason", reason)],
                Int(reading.walHealth.failures[reason] ?? 0))
        }
        gauge(
            "agentd_wal_appends_failing", "Whether WAL appends are failing now (1) or succeed (0).",
            reading.walHealth.failing == nil ? 0 : 1)

        let limits = reading.scrapeLimits
        counter(
            "prometheus_target_scrapes_exceeded_body_size_limit_total",
            "Total number of scrapes that hit the body size limit.", limits.bodySize)
        counter(
            "prometheus_target_scrapes_exceeded_sample_limit_total",
            "Total number of scrapes that hit the sample limit and were rejected.", limits.samples)
        counter(
            "prometheus_target_scrape_pool_exceeded_label_limits_total",
            "Total number of times scrapes hit the label limits (label_limit, label_name_length_limit, "
                + "label_value_length_limit or agentd's ceiling of labels per series).", limits.labels)
        counter(
            "agentd_target_scrapes_exceeded_wal_record_size_total",
            "Scrapes refused because their series and samples would not fit in one WAL record.", limits.walRecord)
        counter(
            "prometheus_target_scrape_pool_exceeded_target_limit_total",
            "Total number of times scrape pools hit the target limit, during sync or config reload.",
            limits.targetLimit)
        counter(
            "prometheus_target_scrapes_sample_duplicate_timestamp_total",
            "Samples dropped because their series was repeated within one exposition (the first is kept).",
            limits.duplicateSamples)
        counter(
            "agentd_scrape_slots_skipped_total",
            "Slots that scrape loops skipped because they fell more than an interval behind (a starved CPU, "
                + "a paused process): scraped by no one unless they were another member's.",
            limits.slotsSkipped)

        // Alloy's prometheus.relabel debug metrics; processed less written is what a component dropped.
        for (id, relabel) in MetricRelabelCounters.all {
            let labels = [("component_id", id)]
            counter(
                "prometheus_relabel_metrics_processed", "Total number of metrics processed.", labels,
                relabel.processed)
            counter("prometheus_relabel_metrics_written", "Total number of metrics written.", labels, relabel.written)
            counter("prometheus_relabel_cache_hits", "Total number of cache hits.", labels, relabel.cacheHits)
            counter("prometheus_relabel_cache_misses", "Total number of cache misses.", labels, relabel.cacheMisses)
        }
        for endpoint in reading.remoteWrite { collect(endpoint) }
        collect(reading.discovery)
        if let cluster = reading.cluster { collect(cluster) }
        if let failures = reading.tlsHandshakeFailures {
            counter(
                "agentd_http_tls_handshake_failures_total",
                "TLS handshakes refused on the agent's port: a client certificate no trusted CA signed, a client that does not trust the server's.",
                [], failures)
        }
    }

    private mutating func collect(_ endpoint: SelfMetrics.RemoteWriteEndpointReading) {
        let labels = [("remote_name", endpoint.name), ("url", endpoint.url)]
        let metrics = endpoint.metrics
        counter(
            "prometheus_remote_storage_samples_total", "Samples sent to remote storage.", labels,
            Int(metrics.samplesTotal))
        counter(
            "prometheus_remote_storage_samples_failed_total",
            "Samples in requests refused for a reason that names no sample, not retried.", labels,
            Int(metrics.failedSamplesTotal))
        counter(
            "prometheus_remote_storage_samples_retried_total", "Samples that failed and were retried.", labels,
            Int(metrics.retriedSamplesTotal))
        counter(
            "prometheus_remote_storage_samples_dropped_total", "Samples dropped before sending.", labels,
            Int(metrics.droppedSamplesTotal))
        counter("prometheus_remote_storage_bytes_total", "Compressed bytes sent.", labels, Int(metrics.bytesTotal))
        gauge(
            "prometheus_remote_storage_samples_pending", "Samples queued, not yet sent.", labels,
            Double(metrics.pendingSamples))
        gauge("prometheus_remote_storage_shards", "Shards sending in parallel.", labels, Double(metrics.shards))
        if let configuration = endpoint.configuration {
            // agentd's shard count is fixed by the configuration: its minimum, maximum and desired count alike.
            for name in ["shards_max", "shards_min", "shards_desired"] {
                gauge(
                    "prometheus_remote_storage_\(name)", "The number of shards used for parallel sending (fixed).",
                    labels, Double(configuration.shards))
            }
            gauge(
                "prometheus_remote_storage_shard_capacity", "The capacity of each shard of the queue.", labels,
                Double(configuration.capacity))
            gauge(
                "prometheus_remote_storage_max_samples_per_send", "The maximum number of samples in one request.",
                labels, Double(configuration.maxSamplesPerSend))
        }
        if let newest = metrics.highestAppendedTimestamp {
            gauge(
                "prometheus_remote_storage_highest_timestamp_in_seconds",
                "Timestamp of the newest sample read from the WAL for this endpoint.", labels, Double(newest) / 1000)
        }
        if let sent = metrics.highestSentTimestamp {
            gauge(
                "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
                "Timestamp of the newest sample sent successfully.", labels, Double(sent) / 1000)
        }
        for reason in RemoteWriteRefusal.allCases {
            counter(
                "agentd_remote_storage_samples_refused_total",
                "Samples the receiver refused alone, by reason; the rest of their requests was delivered.",
                labels + [("reason", reason.description)], Int(metrics.refusedSamples[reason] ?? 0))
        }
        for reason in RemoteWriteFailureReason.allCases {
            counter(
                "agentd_remote_storage_failed_requests_total",
                "Requests that failed, by reason: retried (tls, unauthorized, forbidden, credentials, http_429, "
                    + "http_5xx, timeout, network) or dropped (http_4xx, and http_429 when not retried).",
                labels + [("reason", reason.description)], Int(metrics.failedAttempts[reason] ?? 0))
        }
        gauge(
            "agentd_remote_storage_wal_backlog_bytes",
            "WAL bytes this endpoint has not read yet (the backlog of an outage).",
            labels, Double(endpoint.backlogBytes))
        if let oldest = metrics.oldestPendingTimestamp {
            gauge(
                "agentd_remote_storage_oldest_pending_timestamp_seconds",
                "Timestamp of the oldest sample waiting in a shard.", labels, Double(oldest) / 1000)
        }
        counter(
            "agentd_remote_storage_records_skipped_total",
            "WAL records intact on disk that did not decode: skipped, logged with segment:offset.", labels,
            endpoint.damage.recordsSkipped)
        counter(
            "agentd_remote_storage_wal_corruptions_total", "Damaged stretches of the WAL stepped over.", labels,
            endpoint.damage.corruptions)
        counter(
            "agentd_remote_storage_samples_lost_total",
            "Samples left out because a skipped or damaged record broke their series' value chain.", labels,
            endpoint.damage.samplesLost)
    }

    private mutating func collect(_ discovery: [DiscoveryHealth.Status]) {
        var kept: Set<String> = []
        for status in discovery {
            let labels = [("component_id", status.component)]
            kept.insert(Self.key("agentd_discovery_targets", labels))
            kept.insert(Self.key("agentd_discovery_healthy", labels))
            gauge(
                "agentd_discovery_targets",
                "Targets a discovery component gives now (its last good set while failing).",
                labels, Double(status.targets))
            gauge(
                "agentd_discovery_healthy", "Whether a discovery component's last refresh succeeded (1) or failed (0).",
                labels, status.healthy ? 1 : 0)
            counter(
                "agentd_discovery_refreshes_total", "Refresh rounds of a discovery component.", labels,
                status.refreshes)
            counter(
                "agentd_discovery_refresh_failures_total",
                "Failed lookups, fetches or file reads of a discovery component.", labels, status.failures)
        }
        dropGauges("agentd_discovery_targets", keeping: kept)
        dropGauges("agentd_discovery_healthy", keeping: kept)
    }

    private mutating func collect(_ cluster: SelfMetrics.ClusterReading) {
        // This member's state is a label: the previous state's series goes when it changes.
        let info = [("name", cluster.name), ("address", cluster.address), ("state", cluster.state)]
        dropGauges("cluster_node_info", keeping: [Self.key("cluster_node_info", info)])
        gauge("cluster_node_info", "Information about this member.", info, 1)
        for state in SelfMetrics.peerStates {
            gauge(
                "cluster_node_peers", "Members by state, as this member sees them.", [("state", state)],
                Double(cluster.peersByState[state] ?? 0))
        }
        gauge("cluster_node_lamport_time", "This member's Lamport clock.", Double(cluster.lamport))
        // memberlist counts suspects among the members it gossips with, and itself.
        let alive = SelfMetrics.gossipingStates.reduce(0) { $0 + (cluster.peersByState[$1] ?? 0) }
        gauge(
            "cluster_node_gossip_alive_peers", "Members alive or suspected, this member included.", Double(alive))
        gauge(
            "cluster_node_gossip_health_score",
            "Lifeguard's local health: 0 is healthy; each point stretches this member's probe timeouts.",
            Double(cluster.healthScore))
        gauge(
            "cluster_node_gossip_proto_version", "Version of the gossip message encoding.",
            Double(MessageCodec.version))
        counter("cluster_transport_rx_packets_total", "Gossip messages received.", cluster.rxPackets)
        counter("cluster_transport_rx_bytes_total", "Gossip bytes received.", cluster.rxBytes)
        counter("cluster_transport_tx_packets_total", "Gossip messages sent, delivered or not.", cluster.txPackets)
        counter("cluster_transport_tx_bytes_total", "Gossip bytes sent, delivered or not.", cluster.txBytes)
        counter(
            "cluster_transport_tx_packets_failed_total", "Gossip messages that could not be delivered.",
            cluster.sendFailures)
        counter(
            "agentd_cluster_join_lookup_failures_total",
            "DNS lookups of --cluster.join-addresses names that failed (server failure, timeout).",
            cluster.joinLookupFailures)
        for reason in SelfMetrics.rejectionReasons {
            counter(
                "cluster_transport_rejected_messages_total",
                "Messages refused: wrong cluster, bad authenticator, malformed, oversized, replayed, stale, a node's own, or without a client certificate under TLS.",
                [("reason", reason)], cluster.rejected[reason] ?? 0)
        }
        counter(
            "cluster_node_name_conflicts_total", "Other members seen using this member's node name.", [],
            cluster.nameConflicts)
        counter(
            "agentd_handoff_late_slots_total",
            "Slots missed or scraped twice because a change arrived after its effective time.", cluster.lateSlots)
        counter(
            "prometheus_scrape_targets_moved_total", "Targets whose owner changed from one member to another.", [],
            cluster.movedTargets)
        for cause in OwnershipEvent.Cause.allCases where cause != .initial {
            counter(
                "agentd_ownership_changes_total",
                "Changes of a target's owner this member recorded (planned ahead or late), by cause.",
                [("cause", cause.rawValue)], cluster.ownershipChanges[cause.rawValue] ?? 0)
        }
        // One series per member that owns targets now: a member that owns none (or left) has none.
        let owned = "agentd_targets_owned"
        dropGauges(owned, keeping: Set(cluster.targetsOwned.keys.map { Self.key(owned, [("member", $0)]) }))
        for (member, count) in cluster.targetsOwned {
            gauge(
                owned, "Clustered targets each member owns now, as this member sees the ring.", [("member", member)],
                Double(count))
        }
        // One series per current peer: a peer that left takes its series with it.
        let skew = "cluster_node_clock_skew_seconds"
        dropGauges(skew, keeping: Set(cluster.clockSkewSeconds.keys.map { Self.key(skew, [("peer", $0)]) }))
        for (peer, seconds) in cluster.clockSkewSeconds {
            gauge(
                skew, "Each peer's clock offset from this member's, from ping round trips.", [("peer", peer)], seconds)
        }
    }
}
