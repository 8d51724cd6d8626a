import Cluster
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// What a hostile client can send to the gossip endpoint of a real agent.
    @Suite(.serialized) struct GossipEdgeTests {
        @Test(.timeLimit(.minutes(2))) func oversizedForgedAndPlayedBackMessagesAreRefusedCountedAndLoggedByAddress()
            async throws
        {
            let dir = TemporaryDirectory()
            let (exporter, port) = try await startNodeExporter()
            defer { exporter.stop() }
            try Scenario.configText(exporters: [port], receiver: nil).write(
                toFile: dir.sub("config.alloy"), atomically: true, encoding: .utf8)
            try "s3cret\n".write(toFile: dir.sub("secret"), atomically: true, encoding: .utf8)
            let agentPort = freePort()
            let agent = try AgentProcess(
                name: "edge", port: agentPort, config: dir.sub("config.alloy"), storage: dir.sub("data"),
                join: ["127.0.0.1:\(agentPort)"],
                extra: ["--cluster.name=edges", "--cluster.secret-file=\(dir.sub("secret"))"])
            defer { agent.process.stop() }
            try await agent.waitUntilReady()
            let url = agent.url + "/api/v1/cluster/message"
            func rejected(_ reason: String) async -> Int {
                let body = await httpGet(agent.url + "/metrics")?.body ?? ""
                let line = body.split(separator: "\n").first {
                    $0.hasPrefix("cluster_transport_rejected_messages_total{reason=\"\(reason)\"}")
                }
                return line.flatMap { Int(Double($0.split(separator: " ").last!) ?? -1) } ?? -1
            }

            // Bodies over 1 MiB: 413, counted as oversized.
            for size in [(1 << 20) + 1, 2 << 20] {
                let answer = await httpRequest("POST", url, body: Data(count: size), timeout: 10)
                #expect(answer?.status == 413, "\(size) bytes: \(String(describing: answer))")
            }
            #expect(await rejected("oversized") == 2)

            // 300 forged senders with garbage: every one refused, one log line for the address.
            for index in 0..<300 {
                let answer = await httpRequest(
                    "POST", url, body: Data("garbage \(index)".utf8), headers: ["X-Agentd-Sender": "forged-\(index):1"],
                    timeout: 5)
                #expect(answer.map { (400..<500).contains($0.status) } == true)
            }
            let refusals = [
                await rejected("malformed"), await rejected("cluster_mismatch"), await rejected("authentication"),
            ]
            #expect(refusals.reduce(0, +) >= 300)

            // The node's own message, authenticated as it would be on the wire, played back to it.
            let codec = MessageCodec(clusterName: "edges", secret: Array("s3cret".utf8))
            let own = Message(
                sender: Node(name: "edge", address: agent.address), sequence: 1,
                sentAt: ClusterTime(seconds: Date().timeIntervalSince1970), body: .ack(probe: 1))
            let answer = await httpRequest("POST", url, body: Data(codec.encode(own)), timeout: 5)
            #expect(answer?.status == 409, "\(String(describing: answer))")
            #expect(await rejected("self") == 1)

            let log = agent.process.log
            let warnings = log.split(separator: "\n").filter { $0.contains("Rejected a cluster message") }
            // One line per address and reason a minute: two reasons here besides the forged ones.
            #expect(warnings.count <= 4, "\(warnings.joined(separator: "\n"))")
            #expect(warnings.allSatisfy { $0.contains("cluster.peer_address=127.0.0.1:") })
            #expect(warnings.contains { $0.contains("oversized") || $0.contains("exceeds the limit") })
            #expect(warnings.contains { $0.contains("names this node as its sender") })
            #expect(await httpGet(agent.url + "/-/ready")?.status == 200)
        }
    }
}
