import Foundation
import Synchronization

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
    /// Signalled by Foundation once the process has exited: what the blocking ``stop(grace:)`` waits on.
    private let exited = DispatchSemaphore(value: 0)
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
        process.terminationHandler = { [exited] _ in exited.signal() }
        try process.run()
    }

    deinit { stop() }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// SIGTERM, then SIGKILL after `grace`, awaiting the exit. Returns the exit status (or signal).
    @discardableResult
    public func terminate(grace: Duration = .seconds(10)) async -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(pid, SIGTERM)
        if let status = await waitForExit(within: grace) { return status }
        kill(pid, SIGKILL)
        return await waitForExit(within: .seconds(30)) ?? SIGKILL
    }

    /// SIGKILL, awaiting the exit.
    public func kill9() async {
        guard process.isRunning else { return }
        kill(pid, SIGKILL)
        _ = await waitForExit(within: .seconds(30))
    }

    /// The blocking form of ``terminate(grace:)``, for `defer` and `deinit`, which cannot await:
    /// waits on the exit itself (no polling). In a test's flow, `await terminate(grace:)`.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(pid, SIGTERM)
        if exited.wait(timeout: .now() + .nanoseconds(Int(grace / .nanoseconds(1)))) == .timedOut {
            kill(pid, SIGKILL)
        } else {
            exited.signal()  // Stays signalled for any later wait.
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    public func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for the process to exit on its own; nil if it is still running after `limit`.
    public func waitForExit(within limit: Duration) async -> Int32? {
        await waitUntil(within: limit, every: .milliseconds(20)) { !process.isRunning }
            ? process.terminationStatus : nil
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// A TCP port on 127.0.0.1 that was free a moment ago, for a process the test starts next.
///
/// It is taken below the kernel's ephemeral range (`ip_local_port_range`), never twice in one
/// test run: a port the kernel handed out (a server bound to port 0 in a test running alongside,
/// the local end of any outgoing connection) is from that range, so it cannot take this one
/// between the check and the bind of the process it is for. Once, a port picked from that
/// range was taken in between: the agent given it could not serve, and another test's server
/// answered in its place.
public func freePort() -> Int {
    PortAllocator.shared.next(count: 1)
}

/// `count` consecutive ports, each as ``freePort()`` gives one: the first of them.
public func freePorts(count: Int) -> Int {
    PortAllocator.shared.next(count: count)
}

private final class PortAllocator: Sendable {
    static let shared = PortAllocator()

    private let range: Range<Int>
    private let given = Mutex<Set<Int>>([])

    private init() {
        let bounds = procFile("/proc/sys/net/ipv4/ip_local_port_range")?.split(whereSeparator: \.isWhitespace)
        let ephemeral = bounds?.first.flatMap { Int($0) } ?? 32_768
        // 10000 up to the ephemeral range: clear of the well-known ports and of the usual fixed
        // ones (9090, 9100, 12345) a developer may have running.
        self.range = 10_000..<max(ephemeral, 10_001)
    }

    func next(count: Int) -> Int {
        precondition(count > 0 && count < self.range.count)
        for _ in 0..<10_000 {
            let base = Int.random(in: self.range.lowerBound...(self.range.upperBound - count))
            let block = base..<(base + count)
            let fresh = self.given.withLock { given in
                guard block.allSatisfy({ !given.contains($0) }) else { return false }
                given.formUnion(block)
                return true
            }
            if fresh && block.allSatisfy(Self.isFree) { return base }
        }
        preconditionFailure("no \(count) free test ports in a row below the ephemeral range")
    }

    /// Whether 127.0.0.1:`port` can be bound now.
    private static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return bound == 0
    }
}

/// Whether process `pid` itself holds a socket listening on TCP `port` (IPv4 or IPv6), in its
/// own network namespace: from `/proc/PID/net/tcp*` and its descriptors.
public func isListening(pid: pid_t, port: Int) -> Bool {
    var inodes: Set<Substring> = []
    let hexPort = String(format: "%04X", port)
    for table in ["tcp", "tcp6"] {
        let text = procFile("/proc/\(pid)/net/\(table)") ?? ""
        for line in text.split(separator: "\n").dropFirst() {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            let fields = line.split(separator: " ")
            guard fields.count > 9, fields[3] == "0A", fields[1].hasSuffix(":" + hexPort) else { continue }
            inodes.insert(fields[9])
        }
    }
    guard !inodes.isEmpty else { return false }
    let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
    return descriptors.contains { fd in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
            target.hasPrefix("socket:[")
        else { return false }
        return inodes.contains(target.dropFirst(8).dropLast())
    }
}

/// The whole of a `/proc` file, read to its end. Foundation's `String(contentsOfFile:)` stops after
/// the first read of a file whose size the kernel reports as 0, as `/proc`'s: of a
/// `/proc/self/net/tcp` of 6,145 lines it returned 27, so a listening socket past them went unseen.
public func procFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count >= 0 else { return nil }
        if count == 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// GETs a URL; nil when it cannot connect.
public func httpGet(_ url: String, timeout: TimeInterval = 2) async -> (status: Int, body: String)? {
    await httpRequest("GET", url, timeout: timeout)
}

/// ``httpGet(_:timeout:)`` under its former name.
public func httpGetAsync(_ url: String, timeout: TimeInterval = 2) async -> (status: Int, body: String)? {
    await httpGet(url, timeout: timeout)
}

/// POSTs `body` to a URL; nil when it cannot connect.
public func httpPost(_ url: String, body: String = "", timeout: TimeInterval = 10) async -> (
    status: Int, body: String
)? {
    await httpRequest("POST", url, body: Data(body.utf8), timeout: timeout)
}

/// One HTTP exchange: the status and the body as text. No thread waits for the answer.
public func httpRequest(
    _ method: String, _ url: String, body: Data? = nil, headers: [String: String] = [:], timeout: TimeInterval
) async -> (status: Int, body: String)? {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.httpBody = body
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    request.timeoutInterval = timeout
    return await withCheckedContinuation { continuation in
        URLSession.shared.dataTask(with: request) { data, response, _ in
            guard let response = response as? HTTPURLResponse else { return continuation.resume(returning: nil) }
            continuation.resume(returning: (response.statusCode, String(decoding: data ?? Data(), as: UTF8.self)))
        }.resume()
    }
}

/// Polls `condition` until it holds or `limit` passes: the one way tests wait. It sleeps with
/// `Task.sleep`, so waiting never holds a thread of the concurrency pool that the code under
/// test (or another test running in parallel) needs.
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

/// The directory holding the test binary, where SwiftPM also puts the package's executables.
public func productsDirectory() -> URL {
    URL(
        fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
    ).deletingLastPathComponent()
}

/// Starts a real `prometheus-node-exporter` on `port` of 127.0.0.1 (a free one by default) and
/// waits until it serves.
public func startNodeExporter(name: String = "node-exporter", port: Int = freePort()) async throws -> (
    ChildProcess, Int
) {
    let exporter = try ChildProcess(
        "/usr/bin/prometheus-node-exporter",
        [
            "--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults", "--collector.cpu",
            "--collector.meminfo", "--collector.loadavg", "--collector.filesystem", "--collector.netdev",
            "--collector.stat", "--collector.time", "--collector.uname", "--collector.vmstat",
        ],
        name: name)
    guard await waitUntil(within: .seconds(10), { await httpGet("http://127.0.0.1:\(port)/metrics")?.status == 200 })
    else {
        await exporter.terminate()
        throw TestSupportError("node exporter did not come up on port \(port): \(exporter.log)")
    }
    return (exporter, port)
}

public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
