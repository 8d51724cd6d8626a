import Foundation
import TestSupport
import Testing

/// The harness the end-to-end tests stand on: ports for the processes they start, and the wait
/// for an agent to be ready.
@Suite struct HarnessTests {
    /// Ports come from below the kernel's ephemeral range, where nothing the kernel hands out can
    /// take them, and never twice in a run.
    @Test func freePortsAreBelowTheEphemeralRangeAndNeverRepeat() throws {
        let text = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
        let ephemeral = try #require(text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) })
        let ports = (0..<500).map { _ in freePort() }
        #expect(Set(ports).count == ports.count, "a port was given twice")
        #expect(ports.allSatisfy { $0 >= 10_000 && $0 < ephemeral }, "ports outside 10000..<\(ephemeral)")
        let base = freePorts(count: 50)
        let block = Set(base..<(base + 50))
        #expect(base >= 10_000 && base + 50 <= ephemeral, "a block past the ephemeral range's start")
        #expect(block.isDisjoint(with: ports), "a block overlapping ports given before")
        let after = (0..<500).map { _ in freePort() }
        #expect(block.isDisjoint(with: after), "a port of the block given again")
    }

    /// An agent that cannot bind its port exits; whatever else answers `/-/ready` on that port
    /// (here a Python file server with a `-/ready` file) must not pass for it.
    @Test func anAgentThatCouldNotBindItsPortIsNotReadyWhoeverAnswersThere() async throws {
        let directory = TemporaryDirectory()
        let served = directory.sub("served")
        try FileManager.default.createDirectory(atPath: served + "/-", withIntermediateDirectories: true)
        try "ready\n".write(toFile: served + "/-/ready", atomically: true, encoding: .utf8)
        let port = freePort()
        let squatter = try ChildProcess(
            "/usr/bin/python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", served],
            name: "squatter")
        defer { squatter.stop(grace: .zero) }
        let answering = await waitUntil(within: .seconds(20)) {
            await httpGet("http://127.0.0.1:\(port)/-/ready")?.status == 200
        }
        #expect(answering, "the file server did not answer: \(squatter.log)")

        let config = directory.sub("agent.alloy")
        try """
        prometheus.scrape "none" {
        \ttargets    = []
        \tforward_to = []
        }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try AgentProcess(name: "squatted", port: port, config: config, storage: directory.sub("data"))
        defer { agent.process.stop(grace: .zero) }
        await #expect(throws: TestSupportError.self) { try await agent.waitUntilReady(within: .seconds(20)) }
        #expect(!agent.process.isRunning)
        #expect(agent.process.log.contains("could not serve HTTP on 127.0.0.1:\(port)"), "\(agent.process.log)")
    }
}
