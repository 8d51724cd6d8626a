import Foundation
import TestSupport

/// A network namespace the test creates, with a name server of its own: `dnsmasq` on 127.0.0.1
/// there (answering for `domain` only, from `--host-record`, `--srv-host` and the hosts files of
/// ``hostsDirectory``, which it re-reads when they change), `/etc/netns/NAME/resolv.conf` pointing
/// at it, and a veth pair so the test, outside, reaches the addresses inside (`subnet.2`,
/// `subnet.3`, …; the test's own end is `subnet.1`). ``remove()`` deletes all of it; call it in a
/// `defer`.
final class NetworkNamespace: @unchecked Sendable {
    let name: String
    /// `10.X.Y`: the veth pair's /24.
    let subnet: String
    let directory: String
    let domain: String
    private let outside: String
    private var dnsmasq: DaemonProcess?
    private var processes: [ChildProcess] = []

    static let ip = "/usr/sbin/ip"

    /// Creates the namespace with `addresses` inside addresses on its veth end.
    init(addresses: Int, domain: String, directory: String) throws {
        let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
        name = "agentd-\(tag)"
        outside = "agd\(tag)"
        subnet = "10.\(Int.random(in: 200...250)).\(Int.random(in: 0...255))"
        self.domain = domain
        self.directory = directory
        try FileManager.default.createDirectory(atPath: hostsDirectory, withIntermediateDirectories: true)
        do {
            try Self.run(["netns", "add", name])
            try Self.run(["-n", name, "link", "set", "lo", "up"])
            try Self.run(["link", "add", outside, "type", "veth", "peer", "name", "inside", "netns", name])
            try Self.run(["addr", "add", "\(subnet).1/24", "dev", outside])
            try Self.run(["link", "set", outside, "up"])
            for index in 0..<addresses {
                try Self.run(["-n", name, "addr", "add", "\(address(index))/24", "dev", "inside"])
            }
            try Self.run(["-n", name, "link", "set", "inside", "up"])
            try FileManager.default.createDirectory(atPath: "/etc/netns/\(name)", withIntermediateDirectories: true)
            try "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n".write(
                toFile: "/etc/netns/\(name)/resolv.conf", atomically: true, encoding: .utf8)
        } catch {
            remove()
            throw error
        }
    }

    /// The `index`-th address inside (0: `subnet.2`).
    func address(_ index: Int) -> String { "\(subnet).\(index + 2)" }

    var hostsDirectory: String { directory + "/hosts" }

    /// Starts the name server with these records (`--host-record=…`, `--srv-host=…` values);
    /// returns once it answers.
    func startNameServer(hostRecords: [String], srvHosts: [String]) async throws {
        var arguments = [
            "netns", "exec", name, "/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
            "--no-resolv", "--no-hosts", "--listen-address=127.0.0.1", "--bind-interfaces", "--pid-file=",
            "--user=root", "--log-queries", "--log-facility=-", "--local=/\(domain)/", "--hostsdir=\(hostsDirectory)",
        ]
        arguments += hostRecords.map { "--host-record=\($0)" } + srvHosts.map { "--srv-host=\($0)" }
        // dnsmasq closes the descriptors it inherits: see DaemonProcess for why that matters.
        let server = try DaemonProcess(Self.ip, arguments, name: "dnsmasq-\(name)")
        dnsmasq = server
        let ready = await waitUntil(within: .seconds(10)) { server.log.contains("read \(self.hostsDirectory)") }
        guard ready else { throw TestSupportError("dnsmasq did not start: \(server.log)") }
    }

    /// Stops the name server: lookups fail from now on.
    func stopNameServer() async {
        await dnsmasq?.kill9()
    }

    var nameServerLog: String { dnsmasq?.log ?? "" }

    /// Writes the hosts file `file` of the name server's hosts directory (atomically: dnsmasq
    /// reads it again when it appears).
    func writeHosts(_ file: String, _ lines: [String]) throws {
        let staging = directory + "/\(file).staging"
        try (lines.joined(separator: "\n") + "\n").write(toFile: staging, atomically: false, encoding: .utf8)
        _ = rename(staging, hostsDirectory + "/" + file)
    }

    /// Starts `executable` inside the namespace; it is stopped by ``remove()`` at the latest.
    func start(_ executable: String, _ arguments: [String], name processName: String) throws -> ChildProcess {
        let process = try ChildProcess(Self.ip, ["netns", "exec", name, executable] + arguments, name: processName)
        processes.append(process)
        return process
    }

    /// Stops what runs inside, then deletes the namespace (and the veth pair with it) and its
    /// `/etc/netns` folder. Blocking, for `defer`.
    func remove() {
        for process in processes { process.stop() }
        dnsmasq?.stop(grace: .milliseconds(200))
        try? Self.run(["netns", "delete", name])
        try? Self.run(["link", "delete", outside])
        try? FileManager.default.removeItem(atPath: "/etc/netns/\(name)")
    }

    /// Runs `ip` with `arguments` to completion (bounded); throws with its output if it fails.
    static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        if process.isRunning, finished.wait(timeout: .now() + 10) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw TestSupportError("ip \(arguments.joined(separator: " ")) failed: \(output)")
        }
    }
}
