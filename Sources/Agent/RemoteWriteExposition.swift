import Events
import RemoteWrite

/// The remote-write self-metrics under Prometheus's names (agentd's own under `agentd_`),
/// rendered per endpoint with Prometheus's `remote_name` and `url` labels.
enum RemoteWriteExposition {
    /// One endpoint's state.
    struct Endpoint {
        var name: String
        var url: String
        var metrics: RemoteWriteMetrics
        var damage: Forwarder.Damage
        var backlogBytes: Int
    }

    static func render(_ endpoints: [Endpoint]) -> [UInt8] {
        guard !endpoints.isEmpty else { return [] }
        var text = ""
        func labels(_ endpoint: Endpoint) -> String {
            "remote_name=\"\(Labels.escape(endpoint.name))\",url=\"\(Labels.escape(endpoint.url))\""
        }
        func family(_ name: String, _ type: String, _ help: String, _ value: (Endpoint) -> Double?) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for endpoint in endpoints {
                guard let value = value(endpoint) else { continue }
                text += "\(name){\(labels(endpoint))} \(value)\n"
            }
        }
        family("prometheus_remote_storage_samples_total", "counter", "Samples sent to remote storage.") {
            Double($0.metrics.samplesTotal)
        }
        family(
            "prometheus_remote_storage_samples_failed_total", "counter",
            "Samples in requests refused for a reason that names no sample, not retried."
        ) { Double($0.metrics.failedSamplesTotal) }
        family("prometheus_remote_storage_samples_retried_total", "counter", "Samples that failed and were retried.") {
            Double($0.metrics.retriedSamplesTotal)
        }
        family("prometheus_remote_storage_samples_dropped_total", "counter", "Samples dropped before sending.") {
            Double($0.metrics.droppedSamplesTotal)
        }
        family("prometheus_remote_storage_bytes_total", "counter", "Compressed bytes sent.") {
            Double($0.metrics.bytesTotal)
        }
        family("prometheus_remote_storage_samples_pending", "gauge", "Samples queued, not yet sent.") {
            Double($0.metrics.pendingSamples)
        }
        family("prometheus_remote_storage_shards", "gauge", "Shards sending in parallel.") {
            Double($0.metrics.shards)
        }
        family(
            "prometheus_remote_storage_highest_timestamp_in_seconds", "gauge",
            "Timestamp of the newest sample read from the WAL for this endpoint."
        ) { $0.metrics.highestAppendedTimestamp.map { Double($0) / 1000 } }
        family(
            "prometheus_remote_storage_queue_highest_sent_timestamp_seconds", "gauge",
            "Timestamp of the newest sample sent successfully."
        ) { $0.metrics.highestSentTimestamp.map { Double($0) / 1000 } }
        text +=
            "# HELP agentd_remote_storage_samples_refused_total Samples the receiver refused alone, by reason; "
            + "the rest of their requests was delivered.\n# TYPE agentd_remote_storage_samples_refused_total counter\n"
        for endpoint in endpoints {
            for reason in RemoteWriteRefusal.allCases {
                let count = endpoint.metrics.refusedSamples[reason] ?? 0
                text +=
                    "agentd_remote_storage_samples_refused_total{\(labels(endpoint)),reason=\"\(reason)\"} \(count)\n"
            }
        }
        family(
            "agentd_remote_storage_wal_backlog_bytes", "gauge",
            "WAL bytes this endpoint has not read yet (the backlog of an outage)."
        ) { Double($0.backlogBytes) }
        family(
            "agentd_remote_storage_oldest_pending_timestamp_seconds", "gauge",
            "Timestamp of the oldest sample waiting in a shard."
        ) { $0.metrics.oldestPendingTimestamp.map { Double($0) / 1000 } }
        family(
            "agentd_remote_storage_records_skipped_total", "counter",
            "WAL records intact on disk that did not decode: skipped, logged with segment:offset."
        ) { Double($0.damage.recordsSkipped) }
        family(
            "agentd_remote_storage_wal_corruptions_total", "counter", "Damaged stretches of the WAL stepped over."
        ) { Double($0.damage.corruptions) }
        family(
            "agentd_remote_storage_samples_lost_total", "counter",
            "Samples left out because a skipped or damaged record broke their series' value chain."
        ) { Double($0.damage.samplesLost) }
        return Array(text.utf8)
    }
}
