import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// A process a test starts: bounded in time, stopped by its PID when the test is done.
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    public let name: String
    private let output: FileHandle?
    public let logPath: String

    /// Starts `executable` with `arguments`; its output goes to a log file that failures can show.
    public init(_ executable: String, _ arguments: [String], name: String, environment: [String: String]? = nil) throws
    {
        self.name = name
        logPath =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "agentd-test-\(name)-\(UUID().uuidString.prefix(8)).log"
            ).path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        output = FileHandle(forWritingAtPath: logPath)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        if let environment { process.environment = environment }
        try process.run()
    }

    deinit { stop() }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// SIGTERM, then SIGKILL after `grace`. Returns the exit status (or signal).
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(pid, SIGTERM)
        return waitForExit(within: grace)
            ?? {
                kill(pid, SIGKILL)
                process.waitUntilExit()
                return process.terminationStatus
            }()
    }

    public func kill9() {
        guard process.isRunning else { return }
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    public func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for the process to exit on its own; nil if it is still running after `limit`.
    public func waitForExit(within limit: Duration) -> Int32? {
        let deadline = ContinuousClock.now + limit
        while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
public func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// GETs a URL; nil when it cannot connect.
public func httpGet(_ url: String, timeout: TimeInterval = 2) -> (status: Int, body: String)? {
    httpRequest("GET", url, timeout: timeout)
}

/// POSTs `body` to a URL; nil when it cannot connect.
public func httpPost(_ url: String, body: String = "", timeout: TimeInterval = 10) -> (status: Int, body: String)? {
    httpRequest("POST", url, body: Data(body.utf8), timeout: timeout)
}

/// One HTTP exchange, synchronously: the status and the body as text.
public func httpRequest(_ method: String, _ url: String, body: Data? = nil, timeout: TimeInterval) -> (
    status: Int, body: String
)? {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.httpBody = body
    request.timeoutInterval = timeout
    let result = LockedBox<(Int, String)?>(nil)
    let done = DispatchSemaphore(value: 0)
    URLSession.shared.dataTask(with: request) { data, response, _ in
        if let response = response as? HTTPURLResponse {
            result.value = (response.statusCode, String(decoding: data ?? Data(), as: UTF8.self))
        }
        done.signal()
    }.resume()
    done.wait()
    return result.value
}

/// Polls `condition` until it holds or `limit` passes.
public func eventually(within limit: Duration, every step: Duration = .milliseconds(100), _ condition: () -> Bool)
    -> Bool
{
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: Double(step.components.attoseconds) / 1e18 + Double(step.components.seconds))
    }
    return condition()
}

final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// The directory holding the test binary, where SwiftPM also puts the package's executables.
public func productsDirectory() -> URL {
    URL(
        fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
    ).deletingLastPathComponent()
}

/// Starts a real `prometheus-node-exporter` on a free 127.0.0.1 port and waits until it serves.
public func startNodeExporter(name: String = "node-exporter") throws -> (ChildProcess, Int) {
    let port = freePort()
    let exporter = try ChildProcess(
        "/usr/bin/prometheus-node-exporter",
        [
            "--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults", "--collector.cpu",
            "--collector.meminfo", "--collector.loadavg", "--collector.filesystem", "--collector.netdev",
            "--collector.stat", "--collector.time", "--collector.uname", "--collector.vmstat",
        ],
        name: name)
    guard eventually(within: .seconds(10), { httpGet("http://127.0.0.1:\(port)/metrics")?.status == 200 }) else {
        exporter.stop()
        throw TestSupportError("node exporter did not come up on port \(port): \(exporter.log)")
    }
    return (exporter, port)
}

public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `eventually` for async tests: sleeps with `Task.sleep`, so waiting never blocks a
/// thread of the concurrency pool that the code under test needs.
public func waitUntil(
    within limit: Duration, every step: Duration = .milliseconds(100), _ condition: () async -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: step)
    }
    return await condition()
}

/// `httpGet` for async tests: the blocking exchange runs on a dispatch thread.
public func httpGetAsync(_ url: String, timeout: TimeInterval = 2) async -> (status: Int, body: String)? {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: httpGet(url, timeout: timeout)) }
    }
}
