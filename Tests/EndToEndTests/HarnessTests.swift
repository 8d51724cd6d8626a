import Foundation
import TestSupport
import Testing

/// The harness the end-to-end tests stand on: ports for the processes they start, and the wait
/// for an agent to be ready.
@Suite struct HarnessTests {
    /// Ports come from below the kernel's ephemeral range, where nothing the kernel hands out can
    /// take them, and never twice in a run.
    @Test func freePortsAreBelowTheEphemeralRangeAndNeverRepeat() throws {
        let text = try #require(procFile("/proc/sys/net/ipv4/ip_local_port_range"))
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

    /// A listening socket is found however many sockets come before it in `/proc/PID/net/tcp`:
    /// with 200 of the test's own, most lie past the first page of the table.
    @Test func aListeningSocketIsFoundPastTheFirstPageOfTheSocketTable() throws {
        var sockets: [Int32] = []
        defer { for fd in sockets { close(fd) } }
        var ports: [Int] = []
        for _ in 0..<200 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            try #require(fd >= 0)
            sockets.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                    bind(fd, pointer, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, pointer, &length) == 0
                }
            }
            try #require(bound)
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        let unseen = ports.filter { !isListening(pid: getpid(), port: $0) }
        #expect(unseen.isEmpty, "\(unseen.count) of 200 listening sockets not found")
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
