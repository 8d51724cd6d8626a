import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real Prometheus (Debian's 2.42 at /usr/bin/prometheus) with the remote-write receiver on,
/// on 127.0.0.1, storing into a directory that survives restarts.
final class PrometheusProcess: @unchecked Sendable {
    static let binary = "/usr/bin/prometheus"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    let port: Int
    let directory: URL
    private var process: Process?

    init(directory: URL, port: Int) {
        self.directory = directory
        self.port = port
    }

    var baseURL: String { "http://127.0.0.1:\(self.port)" }
    var writeURL: String { "\(self.baseURL)/api/v1/write" }

    /// Starts the process and waits (at most `timeout`) until `/-/ready` answers 200.
    func start(timeout: Duration = .seconds(30)) async throws {
        let config = self.directory.appendingPathComponent("prometheus.yml")
        try "global:\n  scrape_interval: 1h\nscrape_configs: []\n".write(to: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "--config.file=\(config.path)",
            "--storage.tsdb.path=\(self.directory.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(self.port)",
            "--web.enable-remote-write-receiver",
        ]
        let log = self.directory.appendingPathComponent("prometheus.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.process = process
        // Polls, with a deadline, a process that gives no other sign of being ready.
        let start = ContinuousClock.now
        while ContinuousClock.now - start < timeout {
            if let status = try? await self.get("/-/ready").status, status == 200 { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw PrometheusProcessError(message: "not ready within \(timeout): \(output.suffix(2000))")
    }

    /// Stops the process by PID: SIGTERM, then SIGKILL after `grace`.
    func stop(grace: Duration = .seconds(10)) async {
        guard let process = self.process, process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        // Polls, with a deadline, for the exit (`waitUntilExit` would block a thread of the pool).
        let start = ContinuousClock.now
        while process.isRunning, ContinuousClock.now - start < grace {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        self.process = nil
    }

    /// Raw samples of `selector` in the hour up to `time` (ms), via `/api/v1/query`.
    func rawSamples(_ selector: String, at time: Int64) async throws -> [(
        labels: [String: String], samples: [(Int64, Double)]
    )] {
        var components = URLComponents()
        components.queryItems = [
            URLQueryItem(name: "query", value: "\(selector)[1h]"),
            URLQueryItem(name: "time", value: String(format: "%.3f", Double(time) / 1000)),
        ]
        let query = components.percentEncodedQuery!.replacingOccurrences(of: "+", with: "%2B")
        let response = try await self.get("/api/v1/query?\(query)")
        guard response.status == 200 else {
            throw PrometheusProcessError(message: "query \(selector): HTTP \(response.status): \(response.body)")
        }
        let json = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as! [String: Any]
        let data = json["data"] as! [String: Any]
        return (data["result"] as! [[String: Any]]).map { series in
            let labels = series["metric"] as! [String: String]
            let values = (series["values"] as! [[Any]]).map { pair -> (Int64, Double) in
                let seconds = pair[0] as! Double
                return (Int64((seconds * 1000).rounded()), Double(pair[1] as! String)!)
            }
            return (labels, values)
        }
    }

    private func get(_ path: String) async throws -> (status: UInt, body: String) {
        let request = HTTPClientRequest(url: self.baseURL + path)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 16 << 20)
        return (response.status.code, String(buffer: body))
    }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
    }
}

struct PrometheusProcessError: Error, CustomStringConvertible {
    var message: String
    var description: String { "prometheus: \(self.message)" }
}

/// A fresh temporary directory, removed after `body`.
func withTemporaryDirectory<Result>(_ body: (URL) async throws -> Result) async throws -> Result {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("replay-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url)
}
