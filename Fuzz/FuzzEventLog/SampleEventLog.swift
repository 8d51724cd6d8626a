import Events
import WAL

/// Writes, with agentd's own `EventLog`, a small log that has every kind of record: series
/// definitions, samples (repeated refs, per-sample timestamps, stale markers, counters and
/// gauges), targets, membership and ownership events, and checkpoints, over a few segments.
/// The seed corpus of the WAL and event targets is made from it.
public func writeSampleEventLog(in directory: String) throws {
    let log = try EventLog(
        directory: directory, options: .init(segmentSize: 6 << 10, sync: .never), checkpointInterval: 1 << 10)
    let start: Int64 = 1_800_000_000_000
    let targets = (1...2).map { index in
        Labels([
            "instance": "node-exporter-\(index)", "job": "clustered-targets", "__address__": "127.0.0.1:910\(index)",
        ])
    }
    let keys: [UInt64] = [0x1234_5678_9abc_def0, 0x0fed_cba9_8765_4321]
    _ = try log.append(
        .targets(TargetsChange(time: start, added: zip(keys, targets).map { .init(key: $0, labels: $1) }, removed: [])))
    _ = try log.append(
        .membership(
            MembershipEvent(
                time: start, lamport: 3, member: "agentd-2", address: "127.0.0.1:12346", state: .participant,
                incarnation: 1, reportedBy: ["agentd-1"], detail: "joined")))
    _ = try log.append(
        .ownership(
            OwnershipEvent(
                time: start, effective: start + 2_000, target: keys[1], labels: targets[1], previousOwner: "agentd-1",
                newOwner: "agentd-2", cause: .memberJoined, detail: "agentd-2 joined")))
    let series = (0..<12).map { index in
        Labels([
            "__name__": index % 3 == 0 ? "node_cpu_seconds_total" : "node_memory_bytes", "cpu": "\(index)",
            "instance": "node-exporter-1", "job": "clustered-targets",
        ])
    }
    let refs = log.refs(for: series)
    for scrape in 0..<40 {
        let time = start + Int64(scrape) * 15_000
        var values = refs.indices.map { index in Double(index * 1_000 + scrape * (index % 3 == 0 ? 7 : 0)) + 0.25 }
        if scrape == 17 { values[4] = SampleBatch.staleMarker }
        if scrape % 9 == 5 { values[2] = Double(scrape) * 1e-3 }
        let timestamps = scrape % 10 == 3 ? refs.indices.map { time - Int64($0) } : nil
        _ = try log.append(
            SampleBatch(target: keys[0], timestamp: time, refs: refs, values: values, timestamps: timestamps))
        if scrape == 20 {
            _ = try log.append(
                .membership(
                    MembershipEvent(
                        time: time, lamport: 9, member: "agentd-2", address: "127.0.0.1:12346", state: .dead,
                        incarnation: 1, reportedBy: ["agentd-1"], detail: "declared dead after suspicion")))
            _ = try log.append(
                .ownership(
                    OwnershipEvent(
                        time: time, effective: time, target: keys[1], labels: targets[1], previousOwner: "agentd-2",
                        newOwner: "agentd-1", cause: .memberDead, detail: "")))
            _ = try log.append(.targets(TargetsChange(time: time, added: [], removed: [keys[1]])))
        }
    }
    try log.close()
}
