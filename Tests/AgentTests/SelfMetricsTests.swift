import Primitives
import Prometheus
import Scrape
import Testing

@testable import Agent
@testable import Events
@testable import RemoteWrite

/// `/metrics` through one registry: each family once, totals shown as the parts keep them,
/// label values escaped, and series of departed peers or past states gone.
@Suite struct SelfMetricsTests {
    static func reading(
        samples: UInt64 = 0, endpoint: String = "default", cluster: SelfMetrics.ClusterReading? = nil
    ) -> SelfMetrics.Reading {
        var metrics = RemoteWriteMetrics()
        metrics.samplesTotal = samples
        metrics.refusedSamples[.outOfOrder] = 3
        var health = EventLog.AppendHealth()
        health.failures["disk_full"] = 2
        return SelfMetrics.Reading(
            targetsScrapedHere: 4, walSegments: 7, walSegmentsDropped: 1, walHealth: health,
            scrapeLimits: .init(bodySize: 5, samples: 0, labels: 0, walRecord: 0, slotsSkipped: 6),
            remoteWrite: [
                .init(
                    name: endpoint, url: "http://127.0.0.1:9090/api/v1/write", metrics: metrics,
                    damage: Forwarder.Damage(), backlogBytes: 1024)
            ],
            cluster: cluster)
    }

    static func cluster(state: String, skew: [String: Double]) -> SelfMetrics.ClusterReading {
        SelfMetrics.ClusterReading(
            name: "agentd-1", address: "127.0.0.1:12345", state: state, peersByState: ["participant": 2], lamport: 9,
            rxPackets: 4, rxBytes: 100, txPackets: 5, txBytes: 200, sendFailures: 1, healthScore: 2,
            rejected: ["stale": 1], nameConflicts: 0, lateSlots: 0, movedTargets: 3, clockSkewSeconds: skew)
    }

    static func lines(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func everyFamilyHasOneHelpAndTypeAndTheTotalsAsThePartsKeepThem() {
        let metrics = SelfMetrics(nodeName: "agentd-1")
        _ = metrics.exposition(Self.reading(samples: 10))
        let lines = Self.lines(metrics.exposition(Self.reading(samples: 25)))
        // Read twice: the counter shows the part's total, not the sum of readings.
        #expect(
            lines.contains(
                #"prometheus_remote_storage_samples_total{remote_name="default",url="http://127.0.0.1:9090/api/v1/write"} 25"#
            ))
        #expect(lines.contains(#"agentd_wal_append_failures_total{reason="disk_full"} 2"#))
        #expect(lines.contains(#"agentd_wal_append_failures_total{reason="io"} 0"#))
        #expect(lines.contains("prometheus_target_scrapes_exceeded_body_size_limit_total 5"))
        #expect(lines.contains("agentd_scrape_slots_skipped_total 6"))
        #expect(lines.contains(where: { $0.hasPrefix("agentd_build_info{") && $0.contains(#"node="agentd-1""#) }))
        let types = lines.filter { $0.hasPrefix("# TYPE ") }
        #expect(Set(types).count == types.count, "a family appears twice")
        #expect(types.contains("# TYPE agentd_remote_storage_samples_refused_total counter"))
        #expect(types.contains("# TYPE agentd_wal_appends_failing gauge"))
        #expect(lines.filter { $0.hasPrefix("agentd_remote_storage_samples_refused_total{") }.count == 4)
    }

    @Test func summariesShowTheirSumAndCountByLabel() {
        var reading = Self.reading()
        reading.intervalLengths = ["15s": .init(sum: 30.5, count: 2), "1m": .init(sum: 60, count: 1)]
        reading.syncLengths = ["job \"a\"": .init(sum: 0.25, count: 1)]
        reading.wal.fsyncs = 3
        reading.wal.fsyncSeconds = 0.5
        let lines = Self.lines(SelfMetrics(nodeName: "agentd-1").exposition(reading))
        #expect(lines.contains("# TYPE prometheus_target_interval_length_seconds summary"))
        #expect(lines.contains(#"prometheus_target_interval_length_seconds_sum{interval="15s"} 30.5"#))
        #expect(lines.contains(#"prometheus_target_interval_length_seconds_count{interval="15s"} 2"#))
        #expect(lines.contains(#"prometheus_target_interval_length_seconds_count{interval="1m"} 1"#))
        #expect(lines.contains(#"prometheus_target_sync_length_seconds_count{scrape_job="job \"a\""} 1"#))
        #expect(lines.contains("prometheus_tsdb_wal_fsync_duration_seconds_count 3"))
        #expect(lines.contains("prometheus_tsdb_wal_fsync_duration_seconds_sum 0.5"))
        // No observation in the window: the quantiles are NaN, as Prometheus shows them.
        #expect(lines.contains(#"prometheus_target_interval_length_seconds{interval="15s",quantile="0.99"} NaN"#))
        #expect(!lines.contains { $0.hasPrefix("prometheus_tsdb_wal_fsync_duration_seconds{") })
    }

    @Test func summaryQuantilesAreTheNearestRankOverTheLastTenMinutes() {
        let start = ContinuousClock.now
        var summary = WindowedSummary(capacity: 5)
        summary.observe(100, at: start)  // out of the window by the time it is read
        for value in [4.0, 1, 3, 2] { summary.observe(value, at: start + .seconds(300)) }
        let quantiles = summary.quantiles([0.01, 0.5, 0.9, 0.99], at: start + .seconds(700))
        #expect(quantiles.map(\.value) == [1, 2, 4, 4])
        #expect(summary.count == 5 && summary.sum == 110)
        // Past the window, nothing: NaN.
        #expect(summary.quantiles([0.5], at: start + .seconds(1000))[0].value.isNaN)
        // The ring keeps the newest `capacity` observations: 100, then 4, make way.
        summary.observe(0.5, at: start + .seconds(700))
        summary.observe(0.25, at: start + .seconds(700))
        #expect(summary.quantiles([0.01, 0.99], at: start + .seconds(700)).map(\.value) == [0.25, 3])
    }

    @Test func labelValuesAreEscaped() {
        let metrics = SelfMetrics(nodeName: "agentd-1")
        let lines = Self.lines(metrics.exposition(Self.reading(endpoint: "a\"b\\c\nd")))
        #expect(lines.contains { $0.contains(#"remote_name="a\"b\\c\nd""#) })
    }

    @Test func aDepartedPeerAndAPastStateTakeTheirSeriesWithThem() {
        let metrics = SelfMetrics(nodeName: "agentd-1")
        _ = metrics.exposition(Self.reading(cluster: Self.cluster(state: "viewer", skew: ["b": 0.5, "c": -0.25])))
        let lines = Self.lines(
            metrics.exposition(Self.reading(cluster: Self.cluster(state: "participant", skew: ["b": 0.75]))))
        #expect(lines.contains(#"cluster_node_clock_skew_seconds{peer="b"} 0.75"#))
        #expect(!lines.contains { $0.hasPrefix(#"cluster_node_clock_skew_seconds{peer="c"}"#) })
        let info = lines.filter { $0.hasPrefix("cluster_node_info{") }
        #expect(info.count == 1 && info[0].contains(#"state="participant""#), "\(info)")
        #expect(lines.contains(#"cluster_transport_rejected_messages_total{reason="stale"} 1"#))
        #expect(lines.contains(#"cluster_node_peers{state="participant"} 2.0"#))
        #expect(lines.contains("cluster_node_gossip_alive_peers 2.0"))
        #expect(lines.contains("cluster_node_gossip_health_score 2.0"))
        #expect(lines.contains("cluster_transport_tx_packets_total 5"))
        #expect(lines.contains("cluster_transport_tx_packets_failed_total 1"))
    }

    @Test func requestDurationsAreAHistogramPerEndpointWithCumulativeBuckets() {
        var reading = Self.reading()
        for seconds in [0.003_906_25, 0.125, 0.25, 8, 400] {
            reading.remoteWrite[0].metrics.sendDurations.observe(seconds)
        }
        let lines = Self.lines(SelfMetrics(nodeName: "agentd-1").exposition(reading))
        let name = "prometheus_remote_storage_sent_batch_duration_seconds"
        let labels = #"remote_name="default",url="http://127.0.0.1:9090/api/v1/write""#
        #expect(lines.contains("# TYPE \(name) histogram"))
        #expect(lines.contains(#"\#(name)_bucket{\#(labels),le="0.005"} 1"#))
        #expect(lines.contains(#"\#(name)_bucket{\#(labels),le="0.25"} 3"#))
        #expect(lines.contains(#"\#(name)_bucket{\#(labels),le="10"} 4"#))
        #expect(lines.contains(#"\#(name)_bucket{\#(labels),le="300"} 4"#))
        #expect(lines.contains(#"\#(name)_bucket{\#(labels),le="+Inf"} 5"#))
        #expect(lines.contains(#"\#(name)_count{\#(labels)} 5"#))
        #expect(lines.contains(#"\#(name)_sum{\#(labels)} 408.37890625"#))
    }
}
