import Foundation
import TestSupport

/// `bench/targets.py` as a process: `count` scrape targets on consecutive 127.0.0.1 ports, each
/// exposing `series` series whose values change every second. It can be stopped and started
/// again on the same ports: scrapes fail in between, and the scraper writes StaleNaN markers.
final class SyntheticTargets: @unchecked Sendable {
    private(set) var process: ChildProcess
    let ports: [Int]
    private(set) var series: Int
    private let directory: String
    private var starts = 0

    static let script =
        String(#filePath.dropLast("Tests/EndToEndTests/SyntheticTargets.swift".count)) + "bench/targets.py"

    /// Starts the targets and waits until every port serves; retries on other ports when a
    /// port of the range turns out to be taken (up to 10 tries).
    init(count: Int, series: Int, directory: String) async throws {
        self.series = series
        self.directory = directory
        var failure = ""
        for _ in 0..<10 {
            let base = freePorts(count: count)
            let ports = Array(base..<(base + count))
            switch try await Self.start(ports: ports, series: series, ready: "\(directory)/targets-\(base)") {
            case .success(let process):
                self.process = process
                self.ports = ports
                return
            case .failure(let error):
                failure = error.description
            }
        }
        throw TestSupportError("bench/targets.py did not start: \(failure)")
    }

    /// Stops the targets by PID: every scrape fails until ``restart()``. With SIGKILL: a child of
    /// the test process starts with SIGTERM blocked (Foundation's `Process` passes the spawning
    /// thread's signal mask on), and Python, unlike Go or agentd, never unblocks it.
    func stop() async {
        await process.kill9()
        try? FileManager.default.removeItem(atPath: process.logPath)
    }

    /// Starts the targets again on the same ports, exposing `series` series from now on.
    func restart(series: Int? = nil) async throws {
        if let series { self.series = series }
        starts += 1
        process = try await Self.start(
            ports: ports, series: self.series, ready: "\(directory)/targets-\(ports[0])-\(starts)"
        ).get()
    }

    private static func start(ports: [Int], series: Int, ready: String) async throws -> Result<
        ChildProcess, TestSupportError
    > {
        let process = try ChildProcess(
            "/usr/bin/env",
            [
                "python3", script, "--port", "\(ports[0])", "--targets", "\(ports.count)", "--series", "\(series)",
                "--ready-file", ready,
            ], name: "targets")
        let started = await waitUntil(within: .seconds(20)) {
            FileManager.default.fileExists(atPath: ready) || !process.isRunning
        }
        var serving = started && process.isRunning
        for port in ports where serving {
            serving = await httpGet("http://127.0.0.1:\(port)/metrics")?.status == 200
        }
        if serving { return .success(process) }
        await process.terminate()
        let log = process.log
        try? FileManager.default.removeItem(atPath: process.logPath)
        return .failure(TestSupportError("on ports \(ports.first!)…\(ports.last!): \(log.suffix(1500))"))
    }
}
