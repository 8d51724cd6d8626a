import Cluster
import Events
import Foundation
import TestSupport
import WAL

/// The seed scenario on one machine, at a 1 s scrape interval: node exporters,
/// a Prometheus receiver, and an Alloy config that clusters them.
struct Scenario {
    let directory: TemporaryDirectory
    let exporters: [(ChildProcess, Int)]
    let receiver: PrometheusReceiver
    let config: String

    static let interval: Int64 = 1000

    /// The instance label of exporter `i` (1-based), as the seed scenario names them.
    static func instance(_ index: Int) -> String { "node-exporter-\(index)" }

    /// Starts `count` exporters whose targets split between `members` (each owns at least one),
    /// and a Prometheus receiver with `receiverConfiguration` as its prometheus.yml.
    init(
        exporters count: Int, members: [String],
        receiverConfiguration: String = PrometheusReceiver.receiverOnly, name: String = #function
    ) async throws {
        directory = TemporaryDirectory(name)
        let exporters = try await Self.startSplitExporters(count: count, members: members)
        self.exporters = exporters
        receiver = try await PrometheusReceiver(
            directory: directory.sub("prometheus"), configuration: receiverConfiguration)
        config = directory.sub("config.alloy")
        try Self.configText(exporters: exporters.map(\.1), receiver: receiver.writeURL)
            .write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// Starts `count` node exporters whose targets the ring splits between `members`, so that
    /// each owns at least one (ports are random; up to 20 tries).
    static func startSplitExporters(count: Int, members: [String]) async throws -> [(ChildProcess, Int)] {
        let ring = HashRing(members: members)
        var exporters: [(ChildProcess, Int)] = []
        for attempt in 0..<20 {
            exporters = []
            for index in 1...count { exporters.append(try await startNodeExporter(name: "node-exporter-\(index)")) }
            let owners = Set(
                exporters.enumerated().map { index, exporter in ring.owner(of: key(port: exporter.1, index: index + 1))
                })
            if owners.count == members.count || attempt == 19 { break }
            for exporter in exporters { await exporter.0.terminate() }
        }
        return exporters
    }

    /// The target key the agents compute for exporter `index` on `port`.
    static func key(port: Int, index: Int) -> UInt64 {
        TargetKey.of([
            "__address__": "127.0.0.1:\(port)", "__meta_exporter": instance(index), "instance": instance(index),
            "job": "clustered-targets",
        ])
    }

    func key(_ index: Int) -> UInt64 { Self.key(port: exporters[index - 1].1, index: index) }

    /// The seed's config.alloy with the exporters' ports, a 1 s interval and the member's node
    /// name as scraped_by; without a receiver, samples are forwarded nowhere.
    static func configText(exporters: [Int], receiver: String?) -> String {
        let targets = exporters.enumerated().map { index, port in
            "\t\t{\"__address__\" = \"127.0.0.1:\(port)\", \"__meta_exporter\" = \"\(instance(index + 1))\"},"
        }.joined(separator: "\n")
        return """
            discovery.relabel "targets" {
            \ttargets = [
            \(targets)
            \t]

            \trule {
            \t\tsource_labels = ["__meta_exporter"]
            \t\ttarget_label  = "instance"
            \t}

            \trule {
            \t\ttarget_label = "job"
            \t\treplacement  = "clustered-targets"
            \t}
            }

            prometheus.scrape "clustered" {
            \ttargets         = discovery.relabel.targets.output
            \tforward_to      = [\(receiver == nil ? "" : "prometheus.remote_write.default.receiver")]
            \tscrape_interval = "1s"
            \tscrape_timeout  = "800ms"

            \tclustering {
            \t\tenabled = true
            \t}
            }

            \(receiver.map(remoteWriteBlock) ?? "")
            """
    }

    /// The `prometheus.remote_write "default"` block the scenario tests send with: the member as
    /// `scraped_by`, batches sent after 200 ms.
    static func remoteWriteBlock(_ receiver: String) -> String {
        """
        prometheus.remote_write "default" {
        \texternal_labels = {
        \t\tscraped_by = constants.node_name,
        \t}

        \tendpoint {
        \t\turl = "\(receiver)"
        \t\tqueue_config {
        \t\t\tbatch_send_deadline = "200ms"
        \t\t}
        \t}
        }
        """
    }

    /// Stops the exporters and the receiver (blocking: for `defer`).
    func stop() {
        for exporter in exporters { exporter.0.stop() }
        receiver.process.stop()
    }

    struct UpSample: Equatable {
        var timestamp: Int64
        var scrapedBy: String
    }

    /// Every `up` sample Prometheus holds for exporter `index`, oldest first.
    func upSamples(_ index: Int) async -> [UpSample] {
        let now = Date().timeIntervalSince1970
        return await receiver.rawSamples("up{instance=\"\(Self.instance(index))\"}[10m]", at: now)
            .flatMap { metric, values in values.map { UpSample(timestamp: $0.0, scrapedBy: metric["scraped_by"] ?? "") }
            }
            .sorted { $0.timestamp < $1.timestamp }
    }

    /// Starts one agent per name with `config`, each on a port of its own and joining all of them,
    /// its storage in the scenario's directory (stop them with `process.stop()`).
    func startMembers(_ members: [String], config: String) throws -> [AgentProcess] {
        let ports = members.map { _ in freePort() }
        let join = ports.map { "127.0.0.1:\($0)" }
        return try members.enumerated().map { index, name in
            try AgentProcess(
                name: name, port: ports[index], config: config, storage: directory.sub("data-\(name)"), join: join)
        }
    }

    /// Waits up to 40 s until Prometheus holds an `up` sample of every exporter from a slot after
    /// `slot` (its slots by the phase of `key(index)`); returns the instances still without one.
    func late(after slot: Int64, key: (Int) -> UInt64) async -> [String] {
        var late: [String] = []
        _ = await waitUntil(within: .seconds(40), every: .milliseconds(250)) {
            late = []
            for index in 1...exporters.count {
                let samples = await upSamples(index)
                if !samples.contains(where: { Self.slot(of: $0.timestamp, key: key(index)) > slot }) {
                    late.append(Self.instance(index))
                }
            }
            return late.isEmpty
        }
        return late
    }

    /// The index of the current 1 s slot (milliseconds since the epoch over the interval).
    static func currentSlot() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) / interval }

    /// The slot index of a scrape timestamp for target `key` (1 s interval, phase from the key).
    static func slot(of timestamp: Int64, key: UInt64) -> Int64 {
        let phase = Int64(key % 1_000_000_000) / 1_000_000
        return (timestamp - phase + interval / 2) / interval
    }
}

/// The `up` samples and all sample timestamps an agent's WAL holds, per series.
func walSamples(_ storage: String) throws -> [String: Set<Int64>] {
    var reader = try EventReader(directory: storage + "/wal")
    var series: [String: Set<Int64>] = [:]
    while let (_, event) = try reader.next() {
        guard case .samples(let batch) = event else { continue }
        for index in 0..<batch.count {
            guard let labels = reader.labels(for: batch.refs[index]), labels.metricName == "up" else { continue }
            series[labels["instance"] ?? "", default: []].insert(batch.timestamp(at: index))
        }
    }
    return series
}

struct TargetJSON: Decodable {
    var key: UInt64
    var labels: [String: String]
    var discoveredLabels: [String: String]
    var owner: String?
    /// The series count published for `balance = "series"`, in effect now.
    var weight: UInt64?
    var scrapedHere: Bool
    var lastError: String?
    /// Start of the last scrape, in milliseconds since the epoch: the timestamp of its samples.
    var lastScrape: Int64?
}

struct TargetsJSON: Decodable {
    var targets: [TargetJSON]
}

struct PeerJSON: Decodable {
    var name: String
    var addr: String
    var isSelf: Bool
    var state: String
}

/// The members `agent` sees as participants.
func clusterParticipants(_ agent: AgentProcess) async -> Set<String> {
    Set(
        (await agent.json("/api/v0/web/peers", as: [PeerJSON].self) ?? []).filter { $0.state == "participant" }.map(
            \.name))
}

/// Each target's owner (owners, joined by a comma, with replicas) by its `instance` label, as
/// `agent`'s `/api/v0/targets` says.
func ownersByInstance(_ agent: AgentProcess) async -> [String: String] {
    ownersByInstance(await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? [])
}

func ownersByInstance(_ targets: [TargetJSON]) -> [String: String] {
    Dictionary(targets.map { ($0.labels["instance"] ?? "", $0.owner ?? "") }, uniquingKeysWith: { first, _ in first })
}

/// The members `agent` says own at least one target.
func targetOwners(_ agent: AgentProcess) async -> Set<String> {
    Set((await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []).compactMap(\.owner))
}

/// Whether `check` holds for every agent in `agents`.
func allAgents(_ agents: some Sequence<AgentProcess>, _ check: (AgentProcess) async -> Bool) async -> Bool {
    for agent in agents where !(await check(agent)) { return false }
    return true
}
