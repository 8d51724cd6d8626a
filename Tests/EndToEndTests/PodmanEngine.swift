import Foundation
import TestSupport

/// A Docker Engine API for a test: Podman's API service (`podman system service`) on a unix
/// socket in the test's directory, its storage, configuration and run-time state there too, and
/// its containers' bridge network inside a ``NetworkNamespace`` of the test's.
///
/// Nothing outside touches the machine's own Podman state: the service runs in the namespace's
/// network and in a private mount namespace where `/run` and `/var/lib` are folders of the test
/// (netavark keeps its IPAM database under `/run/containers`, the image layer cache is under
/// `/var/lib/containers`, the containers' network namespaces are mounted under `/run/netns`),
/// so its bridge, firewall rules and files go when the test does. A `sleep` holds both
/// namespaces, so that the service can be stopped and started again. The
/// test reaches the containers at their addresses through a route, via the namespace's veth
/// pair, to their subnet. Containers run with `runc` and `cgroupfs`, and with rlimits under
/// the test's own (there is no `CAP_SYS_RESOURCE` to raise them).
///
/// Containers are made and removed through the Docker API (with `curl`), as a Docker user would;
/// the image is the static busybox of Debian's busybox-static, imported from a tarball (there is
/// no registry to pull from). ``remove()`` deletes all of it; call it in a `defer`.
final class PodmanEngine: @unchecked Sendable {
    let directory: String
    let namespace: NetworkNamespace
    /// `10.X.Y`: the containers' /24.
    let subnet: String
    /// In /tmp, as a unix socket's path is short (107 bytes at most).
    let socket = "/tmp/agentd-podman-\(String(UInt32.random(in: 0..<UInt32.max), radix: 16)).sock"
    var host: String { "unix://" + socket }
    static let image = "localhost/agentd-test-busybox:latest"
    private var service: ChildProcess?
    /// `sleep` in the network namespace and a private mount namespace.
    private var holder: ChildProcess?

    static let podman = "/usr/bin/podman"
    static let busybox = "/bin/busybox"

    /// Starts the service and imports the image; throws, saying what is missing, when Podman,
    /// runc or busybox is not installed.
    init(directory: String) async throws {
        for (path, package) in [(Self.podman, "podman"), ("/usr/sbin/runc", "runc"), (Self.busybox, "busybox-static")]
        where !FileManager.default.isExecutableFile(atPath: path) {
            throw TestSupportError(
                "\(path) is missing: discovery.docker's end-to-end test runs containers with Podman; install \(package) (scripts/install-deps.sh does)"
            )
        }
        self.directory = directory
        subnet = "10.\(Int.random(in: 150...199)).\(Int.random(in: 0...255))"
        for folder in ["run", "varlib", "image/bin"] {
            try FileManager.default.createDirectory(
                atPath: directory + "/" + folder, withIntermediateDirectories: true)
        }
        namespace = try NetworkNamespace(addresses: 1, domain: "podman.test", directory: directory + "/netns")
        do {
            try writeConfiguration()
            try NetworkNamespace.run(["route", "add", "\(subnet).0/24", "via", namespace.address(0)])
            holder = try ChildProcess(
                "/usr/bin/nsenter",
                ["--net=/run/netns/\(namespace.name)", "unshare", "--mount", "--propagation", "private"]
                    + [directory + "/holder.sh"], name: "podman-namespaces")
            let mounted = await waitUntil(within: .seconds(10)) {
                FileManager.default.fileExists(atPath: directory + "/mounted")
            }
            guard mounted else { throw TestSupportError("the mount namespace was not set up: \(holder?.log ?? "")") }
            try await startService()
            try await importImage()
        } catch {
            remove()
            throw error
        }
    }

    /// Starts the API service (again) and waits until it answers.
    func startService() async throws {
        try launchService()
        let ready = await waitUntil(within: .seconds(30)) { await self.api("GET", "/_ping")?.status == 200 }
        guard ready else { throw TestSupportError("podman system service did not answer: \(log)") }
    }

    private func launchService() throws {
        guard let holder else { throw TestSupportError("no namespaces to start podman in") }
        service = try ChildProcess(
            "/usr/bin/python3",
            [
                directory + "/service.py", "/usr/bin/nsenter", "--target", "\(holder.pid)", "--mount", "--net",
                directory + "/service.sh",
            ], name: "podman-service")
    }

    private func writeConfiguration() throws {
        try """
        [containers]
        default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
        [engine]
        runtime = "runc"
        cgroup_manager = "cgroupfs"
        events_logger = "none"
        tmp_dir = "\(directory)/tmp"
        static_dir = "\(directory)/static"
        volume_path = "\(directory)/volumes"
        [network]
        network_backend = "netavark"
        network_config_dir = "\(directory)/networks"
        default_subnet = "\(subnet).0/24"
        """.write(toFile: directory + "/containers.conf", atomically: true, encoding: .utf8)
        try """
        [storage]
        driver = "vfs"
        runroot = "\(directory)/runroot"
        graphroot = "\(directory)/root"
        """.write(toFile: directory + "/storage.conf", atomically: true, encoding: .utf8)
        // Holds the namespaces every start of the service enters: a service started again must
        // see the mounts of the containers' network namespaces the first one made.
        try """
        #!/bin/sh
        mount --bind \(directory)/run /run && mount --bind \(directory)/varlib /var/lib || exit 1
        touch \(directory)/mounted
        exec sleep infinity
        """.write(toFile: directory + "/holder.sh", atomically: true, encoding: .utf8)
        chmod(directory + "/holder.sh", 0o755)
        try """
        #!/bin/sh
        export CONTAINERS_CONF=\(directory)/containers.conf CONTAINERS_STORAGE_CONF=\(directory)/storage.conf
        exec \(Self.podman) system service --time=0 unix://\(socket)
        """.write(toFile: directory + "/service.sh", atomically: true, encoding: .utf8)
        chmod(directory + "/service.sh", 0o755)
        // Foundation sees a child's exit when a socket the child inherits closes: the service
        // runs under this wrapper, which keeps it, so that the containers' conmon processes
        // (which would inherit it from Podman and outlive it) do not.
        try """
        import signal, subprocess, sys
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
        child = subprocess.Popen(sys.argv[1:], close_fds=True)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        sys.exit(child.wait())
        """.write(toFile: directory + "/service.py", atomically: true, encoding: .utf8)
    }

    private func importImage() async throws {
        try FileManager.default.copyItem(atPath: Self.busybox, toPath: directory + "/image/bin/busybox")
        let (status, output) = try await Self.runToEnd(
            "/usr/bin/tar", ["-C", directory + "/image", "-cf", directory + "/image.tar", "."])
        guard status == 0 else { throw TestSupportError("tar failed: \(output)") }
        let repository = Self.image.split(separator: ":").first.map(String.init) ?? Self.image
        let imported = await api(
            "POST", "/v1.41/images/create?fromSrc=-&repo=\(repository)", file: directory + "/image.tar")
        guard imported?.status == 200 else {
            throw TestSupportError("importing the image failed: \(String(describing: imported)) \(log)")
        }
    }

    /// Creates and starts a container running busybox's httpd on `port`, serving the folder
    /// `www` (its `metrics` file); `published` maps the port to 127.0.0.1 in the namespace.
    func run(name: String, labels: [String: String], www: String, port: Int, exposed: Bool, published: Int? = nil)
        async throws
    {
        var hostConfig: [String: Any] = ["Binds": ["\(www):/www"]]
        if let published {
            hostConfig["PortBindings"] = ["\(port)/tcp": [["HostIp": "127.0.0.1", "HostPort": "\(published)"]]]
        }
        var create: [String: Any] = [
            "Image": Self.image, "Cmd": [Self.busybox, "httpd", "-f", "-p", "\(port)", "-h", "/www"],
            "Labels": labels, "HostConfig": hostConfig,
        ]
        if exposed { create["ExposedPorts"] = ["\(port)/tcp": [String: String]()] }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: create), as: UTF8.self)
        let created = await api("POST", "/v1.41/containers/create?name=\(name)", json: json)
        guard created?.status == 201 else {
            throw TestSupportError("creating \(name) failed: \(String(describing: created)) \(log)")
        }
        let started = await api("POST", "/v1.41/containers/\(name)/start")
        guard started?.status == 204 else {
            throw TestSupportError("starting \(name) failed: \(String(describing: started)) \(log)")
        }
    }

    /// Stops and removes a container.
    func remove(container name: String) async throws {
        let removed = await api("DELETE", "/v1.41/containers/\(name)?force=true")
        guard removed?.status == 204 else {
            throw TestSupportError("removing \(name) failed: \(String(describing: removed)) \(log)")
        }
    }

    /// Stops the API service (the engine goes away; its containers keep running).
    func stopService() async {
        await service?.terminate(grace: .seconds(10))
    }

    /// The service's output.
    var log: String { service?.log ?? "" }

    /// Removes every container (starting the service again if it was stopped), stops the service
    /// and deletes the namespace (its bridge and the route with it). Blocking, for `defer`.
    func remove() {
        if holder != nil, service?.isRunning != true { try? launchService() }
        if service != nil {
            // curl's retries wait for a service just started.
            let listed = try? Self.blockingRun(
                "/usr/bin/curl",
                ["-sS", "--retry", "30", "--retry-delay", "1", "--retry-all-errors", "--unix-socket", socket]
                    + ["http://podman/v1.41/containers/json?all=true"])
            let containers = listed.flatMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [[String: Any]]
            }
            for id in (containers ?? []).compactMap({ $0["Id"] as? String }) {
                _ = try? Self.blockingRun(
                    "/usr/bin/curl",
                    ["-sS", "-X", "DELETE", "--unix-socket", socket, "http://podman/v1.41/containers/\(id)?force=true"])
            }
        }
        service?.stop(grace: .seconds(10))
        holder?.stop(grace: .milliseconds(100))
        namespace.remove()
        try? FileManager.default.removeItem(atPath: socket)
    }

    /// One API request with `curl`: the status and body, or nil when curl could not connect.
    func api(_ method: String, _ path: String, json: String? = nil, file: String? = nil) async -> (
        status: Int, body: String
    )? {
        var arguments = ["-sS", "-X", method, "--unix-socket", socket, "-w", "\n%{http_code}"]
        if let json { arguments += ["-H", "Content-Type: application/json", "--data-binary", json] }
        if let file { arguments += ["-H", "Content-Type: application/x-tar", "--data-binary", "@" + file] }
        guard let (status, output) = try? await Self.runToEnd("/usr/bin/curl", arguments + ["http://podman" + path]),
            status == 0, let newline = output.lastIndex(of: "\n"), let code = Int(output[newline...].dropFirst())
        else { return nil }
        return (code, String(output[..<newline]))
    }

    /// Runs a command to completion (bounded): its exit status and its output.
    static func runToEnd(_ executable: String, _ arguments: [String]) async throws -> (Int32, String) {
        let child = try ChildProcess(executable, arguments, name: URL(fileURLWithPath: executable).lastPathComponent)
        guard let status = await child.waitForExit(within: .seconds(60)) else {
            await child.kill9()
            throw TestSupportError("\(executable) \(arguments.joined(separator: " ")) did not finish")
        }
        return (status, child.log)
    }

    /// Runs a command to completion, for cleanup in a `defer`: its standard output.
    private static func blockingRun(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments + ["--max-time", "20"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self)
    }
}
