import Foundation
import Synchronization

/// A real `agentd run` process for end-to-end tests, on a free 127.0.0.1 port.
public final class AgentProcess: @unchecked Sendable {
    public let name: String
    public let port: Int
    public let storage: String
    public let arguments: [String]
    /// The environment it runs with, when it differs from the test's (nil: the test's).
    public let environment: [String: String]?
    /// A command agentd runs under (e.g. `faketime -f +1.5s`), given agentd's path and arguments.
    public let launcher: [String]
    public private(set) var process: ChildProcess

    /// How the test speaks to an agent that serves TLS (`--cluster.enable-tls`); nil: plain HTTP.
    public let identity: TestClientIdentity?

    public var address: String { "127.0.0.1:\(port)" }
    public var url: String { "\(identity == nil ? "http" : "https")://127.0.0.1:\(port)" }

    /// Starts `agentd run CONFIG` with clustering on when `join` is not empty.
    public init(
        name: String, port: Int, config: String, storage: String, join: [String] = [], extra: [String] = [],
        identity: TestClientIdentity? = nil, environment: [String: String] = [:], launcher: [String] = []
    ) throws {
        self.name = name
        self.identity = identity
        self.port = port
        self.storage = storage
        var arguments = [
            "run", config, "--server.http.listen-addr=127.0.0.1:\(port)", "--storage.path=\(storage)",
            "--cluster.node-name=\(name)",
        ]
        if !join.isEmpty {
            arguments += ["--cluster.enabled=true", "--cluster.join-addresses=\(join.joined(separator: ","))"]
        }
        self.arguments = arguments + extra
        self.environment =
            environment.isEmpty
            ? nil : ProcessInfo.processInfo.environment.merging(environment, uniquingKeysWith: { _, new in new })
        self.launcher = launcher
        process = try ChildProcess(
            launcher.first ?? Self.binary,
            launcher.dropFirst() + (launcher.isEmpty ? [] : [Self.binary]) + self.arguments,
            name: name, environment: self.environment)
    }

    /// The PID of agentd itself when it runs under a launcher (the launcher's child).
    public var launchedPID: pid_t? {
        guard !launcher.isEmpty else { return process.pid }
        let path = "/proc/\(process.pid)/task/\(process.pid)/children"
        let children = procFile(path) ?? ""
        return children.split(separator: " ").first.flatMap { pid_t($0) }
    }

    /// The `agentd` executable next to the test binary.
    public static var binary: String { productsDirectory().appendingPathComponent("agentd").path }

    /// Waits until `/-/ready` answers 200 from this agent: while it runs and listens on its port
    /// itself. An agent that could not bind its port exits, and whoever answers there is not it.
    public func waitUntilReady(within limit: Duration = .seconds(30)) async throws {
        try await self.waitUntilAnswering("/-/ready", within: limit, or: "did not become ready")
    }

    /// Waits until `/-/healthy` answers 200: the agent serves, ready or not.
    public func waitUntilHealthy(within limit: Duration = .seconds(30)) async throws {
        try await self.waitUntilAnswering("/-/healthy", within: limit, or: "did not start serving")
    }

    private func waitUntilAnswering(_ path: String, within limit: Duration, or failure: String) async throws {
        let process = self.process
        // What the last try saw, for the error: whether the agent held its listening socket, and
        // what `path` answered (nil: no answer).
        let seen = Mutex<(listening: Bool, answer: (status: Int, body: String)?)>((false, nil))
        let answered = await waitUntil(within: limit) {
            guard process.isRunning else { return true }
            let listening = self.launchedPID.map { isListening(pid: $0, port: self.port) } ?? false
            seen.withLock { $0 = (listening, nil) }
            guard listening else { return false }
            let answer = await get(path)
            seen.withLock { $0.answer = answer }
            return answer?.status == 200
        }
        guard answered, process.isRunning else {
            let state = process.isRunning ? "still running" : "exited with \(process.process.terminationStatus)"
            let last = seen.withLock { seen in
                !seen.listening
                    ? "port \(port) not held by it as a listening socket"
                    : seen.answer.map { "\(path) answered \($0.status): \($0.body.prefix(200))" }
                        ?? "\(path) did not answer"
            }
            throw TestSupportError("\(name) \(failure) (\(state); last try: \(last)): \(process.log)")
        }
    }

    /// Starts the same agent again (same name, port and storage).
    public func restart() throws {
        process = try ChildProcess(
            launcher.first ?? Self.binary, launcher.dropFirst() + (launcher.isEmpty ? [] : [Self.binary]) + arguments,
            name: name, environment: environment)
    }

    /// Runs `agentd` with `arguments` to completion and returns its exit status and output.
    public static func run(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (Int32, String) {
        let child = try ChildProcess(binary, arguments, name: "agentd-cli")
        guard let status = await child.waitForExit(within: timeout) else {
            await child.kill9()
            throw TestSupportError("agentd \(arguments.joined(separator: " ")) did not finish")
        }
        return (status, child.log)
    }

    /// GET a path, over TLS as ``identity`` when the agent serves TLS.
    public func get(_ path: String) async -> (status: Int, body: String)? {
        if let identity { return await httpsRequest("GET", url + path, identity: identity) }
        return await httpGet(url + path)
    }

    /// GET a JSON API path and decode it.
    public func json<T: Decodable>(_ path: String, as type: T.Type = T.self) async -> T? {
        guard let (status, body) = await get(path), status == 200 else { return nil }
        return try? JSONDecoder().decode(T.self, from: Data(body.utf8))
    }
}

/// A Prometheus 2.42 with its remote-write receiver, on a free 127.0.0.1 port and a temporary directory.
///
/// It can be stopped (SIGTERM) and started again on the same data directory and port, as a
/// receiver outage.
public final class PrometheusReceiver: @unchecked Sendable {
    public let port: Int
    public let directory: String
    public private(set) var process: ChildProcess
    public var url: String { "http://127.0.0.1:\(port)" }
    public var writeURL: String { url + "/api/v1/write" }

    /// A prometheus.yml with none of its own scrapes: a receiver only.
    public static let receiverOnly = "global:\n  scrape_interval: 15s\n"

    /// `configuration` is its prometheus.yml (by default ``receiverOnly``).
    public init(directory: String, port: Int? = nil, configuration: String = receiverOnly) async throws {
        let port = port ?? freePort()
        self.port = port
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try configuration.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        process = try Self.launch(directory: directory, port: port)
        try await waitUntilReady()
    }

    private static func launch(directory: String, port: Int) throws -> ChildProcess {
        try ChildProcess(
            "/usr/bin/prometheus",
            [
                "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                "--web.listen-address=127.0.0.1:\(port)", "--web.enable-remote-write-receiver",
                "--storage.tsdb.retention.time=1d",
            ], name: "prometheus")
    }

    private func waitUntilReady() async throws {
        guard await waitUntil(within: .seconds(30), { await httpGet(url + "/-/ready")?.status == 200 }) else {
            await process.terminate()
            throw TestSupportError("Prometheus did not become ready: \(process.log)")
        }
    }

    /// Stops Prometheus by PID with SIGTERM (SIGKILL after `grace`); its data stays for ``restart()``.
    @discardableResult
    public func terminate(grace: Duration = .seconds(10)) async -> Int32 { await process.terminate(grace: grace) }

    /// Starts Prometheus again on the same data directory and port, and waits until it is ready.
    public func restart() async throws {
        process = try Self.launch(directory: directory, port: port)
        try await waitUntilReady()
    }

    /// The label sets of an instant query's result at the current time.
    public func instantQuery(_ query: String) async -> [[String: String]] {
        var components = URLComponents(string: url + "/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: query)]
        guard let (status, body) = await httpGet(components.url!.absoluteString, timeout: 10), status == 200,
            let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let data = object["data"] as? [String: Any], let result = data["result"] as? [[String: Any]]
        else { return [] }
        return result.map { $0["metric"] as? [String: String] ?? [:] }
    }

    /// Raw samples of a range selector (e.g. `up{job="x"}[5m]`) at `time`: (labels, [(ms, value)]).
    public func rawSamples(_ selector: String, at time: Double? = nil) async -> [([String: String], [(Int64, String)])]
    {
        var components = URLComponents(string: url + "/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: selector)]
        if let time { components.queryItems!.append(URLQueryItem(name: "time", value: String(time))) }
        guard let (status, body) = await httpGet(components.url!.absoluteString, timeout: 10), status == 200,
            let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let data = object["data"] as? [String: Any], let result = data["result"] as? [[String: Any]]
        else { return [] }
        return result.map { series in
            let metric = series["metric"] as? [String: String] ?? [:]
            let values = (series["values"] as? [[Any]] ?? []).map { pair in
                (Int64(((pair[0] as? Double) ?? 0) * 1000 + 0.5), pair[1] as? String ?? "")
            }
            return (metric, values)
        }
    }
}
