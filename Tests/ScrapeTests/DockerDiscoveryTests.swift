import Foundation
import HTTPSecurity
import TestSupport
import Testing

@testable import Scrape

@Suite struct DockerDiscoveryTests {
    private let discovery = DockerDiscovery(host: .unix(path: "/var/run/docker.sock"))

    private func decode<T: Decodable>(_ json: String, as type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    /// A Docker Engine's answers (shaped as Prometheus's `discovery/moby` test data): a bridge
    /// container with a published and an unpublished TCP port and a UDP port, one in host
    /// network mode, one sharing another's network, one on two networks, one without a name.
    static let containers = """
        [
          {"Id": "c1", "Names": ["/web"], "Labels": {"com.example.team": "a", "scrape": "true"},
           "Ports": [{"IP": "0.0.0.0", "PrivatePort": 8080, "PublicPort": 32768, "Type": "tcp"},
                     {"PrivatePort": 9000, "Type": "tcp"}, {"PrivatePort": 53, "Type": "udp"}],
           "HostConfig": {"NetworkMode": "bridge"},
           "NetworkSettings": {"Networks": {"bridge": {"NetworkID": "n-bridge", "IPAddress": "172.17.0.2"}}}},
          {"Id": "c2", "Names": ["/node"], "Labels": {}, "Ports": [],
           "HostConfig": {"NetworkMode": "host"},
           "NetworkSettings": {"Networks": {"host": {"NetworkID": "n-host", "IPAddress": ""}}}},
          {"Id": "c3", "Names": ["/sidecar"], "Ports": [],
           "HostConfig": {"NetworkMode": "container:c1"}, "NetworkSettings": {"Networks": {}}},
          {"Id": "c4", "Names": ["/multi"], "Ports": [{"PrivatePort": 53, "Type": "udp"}],
           "HostConfig": {"NetworkMode": "zeta"},
           "NetworkSettings": {"Networks": {"zeta": {"NetworkID": "n-zeta", "IPAddress": "10.1.0.4"},
                                            "alpha": {"NetworkID": "n-alpha", "IPAddress": "fd00::4"}, "nil": null}}},
          {"Id": "c5", "Names": [], "Ports": [], "HostConfig": {"NetworkMode": "bridge"},
           "NetworkSettings": {"Networks": {"bridge": {"NetworkID": "n-bridge", "IPAddress": "172.17.0.9"}}}}
        ]
        """
    static let networks = """
        [
          {"Id": "n-bridge", "Name": "bridge", "Scope": "local", "Internal": false, "Ingress": false,
           "Labels": {"com.docker.network.bridge.default": "true"}},
          {"Id": "n-host", "Name": "host", "Scope": "local", "Internal": false, "Ingress": false, "Labels": {}},
          {"Id": "n-alpha", "Name": "alpha", "Scope": "swarm", "Internal": true, "Ingress": true}
        ]
        """

    @Test func targetsAndLabelsAreThoseOfPrometheus() throws {
        let targets = discovery.targets(
            containers: try decode(Self.containers), networks: try decode(Self.networks))
        let bridge: [String: String] = [
            "__meta_docker_network_id": "n-bridge", "__meta_docker_network_name": "bridge",
            "__meta_docker_network_scope": "local", "__meta_docker_network_internal": "false",
            "__meta_docker_network_ingress": "false",
            "__meta_docker_network_label_com_docker_network_bridge_default": "true",
        ]
        let web = bridge.merging([
            "__meta_docker_container_id": "c1", "__meta_docker_container_name": "/web",
            "__meta_docker_container_network_mode": "bridge", "__meta_docker_container_label_com_example_team": "a",
            "__meta_docker_container_label_scrape": "true", "__meta_docker_network_ip": "172.17.0.2",
        ]) { a, _ in a }
        let sidecar = bridge.merging([
            "__meta_docker_container_id": "c3", "__meta_docker_container_name": "/sidecar",
            "__meta_docker_container_network_mode": "container:c1", "__meta_docker_network_ip": "172.17.0.2",
            "__address__": "172.17.0.2:80",
        ]) { a, _ in a }
        #expect(
            targets == [
                web.merging([
                    "__meta_docker_port_private": "8080", "__meta_docker_port_public": "32768",
                    "__meta_docker_port_public_ip": "0.0.0.0", "__address__": "172.17.0.2:8080",
                ]) { a, _ in a },
                web.merging(["__meta_docker_port_private": "9000", "__address__": "172.17.0.2:9000"]) { a, _ in a },
                [
                    "__meta_docker_container_id": "c2", "__meta_docker_container_name": "/node",
                    "__meta_docker_container_network_mode": "host", "__meta_docker_network_ip": "",
                    "__meta_docker_network_id": "n-host", "__meta_docker_network_name": "host",
                    "__meta_docker_network_scope": "local", "__meta_docker_network_internal": "false",
                    "__meta_docker_network_ingress": "false", "__address__": "localhost",
                ],
                sidecar,
                // The first network by name only; the engine lists "alpha" (IPv6: brackets).
                [
                    "__meta_docker_container_id": "c4", "__meta_docker_container_name": "/multi",
                    "__meta_docker_container_network_mode": "zeta", "__meta_docker_network_ip": "fd00::4",
                    "__meta_docker_network_id": "n-alpha", "__meta_docker_network_name": "alpha",
                    "__meta_docker_network_scope": "swarm", "__meta_docker_network_internal": "true",
                    "__meta_docker_network_ingress": "true", "__address__": "[fd00::4]:80",
                ],
            ])
    }

    @Test func everyNetworkGivesTargetsWithoutMatchFirstNetwork() throws {
        var discovery = self.discovery
        discovery.matchFirstNetwork = false
        discovery.port = 9100
        let multi = try decode(Self.containers, as: [DockerContainer].self).filter { $0.id == "c4" }
        let targets = discovery.targets(containers: multi, networks: [])
        #expect(targets.map { $0["__address__"] } == ["[fd00::4]:9100", "10.1.0.4:9100"])
        #expect(targets.allSatisfy { $0["__meta_docker_network_name"] == nil })
    }

    @Test func hostNetworkingHostAndLinksThatLoopOrDangle() {
        var discovery = self.discovery
        discovery.hostNetworkingHost = "host.internal"
        let containers = [
            DockerContainer(
                id: "h", names: ["/h"], networkMode: "host",
                networks: ["host": .init(networkID: "n", ipAddress: "")]),
            DockerContainer(id: "a", names: ["/a"], networkMode: "container:b"),
            DockerContainer(id: "b", names: ["/b"], networkMode: "container:a"),
            DockerContainer(id: "d", names: ["/d"], networkMode: "container:gone"),
        ]
        #expect(
            discovery.targets(containers: containers, networks: []).map { $0["__address__"] } == ["host.internal"])
    }

    /// Podman 4.3's `/containers/json`, as the end-to-end test's engine gives it: no `HostConfig`,
    /// and `null` networks for a container in host network mode (which then gives no target,
    /// as with Prometheus).
    @Test func podmansListDecodes() throws {
        let containers = try decode(
            """
            [{"Id":"0cfc","Names":["/t2"],"Image":"localhost/busybox:test","Command":"httpd",
              "Ports":[{"IP":"127.0.0.1","PrivatePort":8080,"PublicPort":18082,"Type":"tcp"}],
              "Labels":{"clustering_target":"true"},"State":"running",
              "NetworkSettings":{"Networks":{"podman":{"IPAMConfig":null,"Links":null,"Aliases":["0cfc"],
                "NetworkID":"podman","EndpointID":"","Gateway":"10.88.0.1","IPAddress":"10.88.0.2",
                "IPPrefixLen":16,"MacAddress":"7e:5e:86:9a:7a:1a","DriverOpts":null}}},
              "Mounts":[],"Name":"","Config":null,"NetworkingConfig":null,"Platform":null},
             {"Id":"b909","Names":["/t1"],"Ports":[],"Labels":{"clustering_target":"true"},
              "NetworkSettings":{"Networks":null}}]
            """, as: [DockerContainer].self)
        #expect(containers.map(\.networkMode) == ["", ""])
        let targets = discovery.targets(containers: containers, networks: [])
        #expect(
            targets == [
                [
                    "__meta_docker_container_id": "0cfc", "__meta_docker_container_name": "/t2",
                    "__meta_docker_container_network_mode": "",
                    "__meta_docker_container_label_clustering_target": "true",
                    "__meta_docker_network_ip": "10.88.0.2", "__meta_docker_port_private": "8080",
                    "__meta_docker_port_public": "18082", "__meta_docker_port_public_ip": "127.0.0.1",
                    "__address__": "10.88.0.2:8080",
                ]
            ])
    }

    @Test(arguments: [
        (
            "unix:///var/run/docker.sock", DockerDiscovery.Host.unix(path: "/var/run/docker.sock"),
            "unix:///var/run/docker.sock"
        ),
        (
            "tcp://docker.example.org:2375", .http(baseURL: "http://docker.example.org:2375"),
            "http://docker.example.org:2375"
        ),
        (
            "https://docker.example.org:2376/", .http(baseURL: "https://docker.example.org:2376"),
            "https://docker.example.org:2376"
        ),
    ])
    func hostsParse(text: String, host: DockerDiscovery.Host, description: String) {
        #expect(DockerDiscovery.Host(text) == host)
        #expect(host.description == description)
    }

    @Test func hostsThatAreNot() {
        #expect(DockerDiscovery.Host("tcp://docker:2376", tls: true) == .http(baseURL: "https://docker:2376"))
        for text in ["/var/run/docker.sock", "unix://", "npipe:////./pipe/docker_engine", "tcp://:2375", "docker"] {
            #expect(DockerDiscovery.Host(text) == nil, "\(text)")
        }
    }

    @Test func requestsGoToTheSocketWithTheFilters() {
        var discovery = DockerDiscovery(host: .unix(path: "/run/user/1000/podman/podman.sock"))
        #expect(discovery.host.url("/_ping") == "http+unix://%2Frun%2Fuser%2F1000%2Fpodman%2Fpodman.sock/_ping")
        let version = DockerDiscovery.APIVersion(major: 1, minor: 41)
        #expect(discovery.containersPath(version: version) == "/v1.41/containers/json")
        discovery.filters = [
            .init(name: "label", values: ["scrape=true", "team=a"]), .init(name: "status", values: ["running"]),
        ]
        let path = discovery.containersPath(version: version)
        #expect(
            path == "/v1.41/containers/json?filters="
                + "%7B%22label%22%3A%7B%22scrape%3Dtrue%22%3Atrue%2C%22team%3Da%22%3Atrue%7D%2C%22status%22%3A%7B%22running%22%3Atrue%7D%7D"
        )
    }

    @Test(arguments: [("1.41", "1.41"), ("1.52", "1.47"), (nil, "1.24"), ("garbage", "1.24")] as [(String?, String)])
    func theVersionIsTheEnginesOrOursWhicheverIsLower(header: String?, version: String) {
        #expect(DockerDiscovery.APIVersion.negotiated(engine: header).description == version)
    }

    @Test(.timeLimit(.minutes(1)))
    func aMissingSocketIsNamed() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agentd-\(UUID()).sock").path
        let pool = HTTPScraper.makePool()
        let discovery = DockerDiscovery(host: .unix(path: path), refreshInterval: .seconds(5))
        do {
            _ = try await discovery.fetch(pool: pool, credentials: nil)
            Issue.record("a missing socket answered")
        } catch {
            #expect(
                error.description
                    == "unix://\(path): no socket at \(path); is the Docker daemon (or podman system service) running?")
        }
        try await pool.shutdown()
    }

    @Test func aSocketPathTooLongForASocketAddressIsNamed() async throws {
        let path = "/tmp/" + String(repeating: "d", count: 100) + ".sock"
        let pool = HTTPScraper.makePool()
        do {
            _ = try await DockerDiscovery(host: .unix(path: path)).fetch(pool: pool, credentials: nil)
            Issue.record("a socket path of 110 bytes was used")
        } catch {
            #expect(
                error.description == "unix://\(path): the socket path is 110 bytes long; a unix socket's is at most 107"
            )
        }
        try await pool.shutdown()
    }

    @Test(.timeLimit(.minutes(1)))
    func aFileThatIsNoSocketFailsNamingIt() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agentd-\(UUID()).sock").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let pool = HTTPScraper.makePool()
        let discovery = DockerDiscovery(host: .unix(path: path), refreshInterval: .seconds(5))
        do {
            _ = try await discovery.fetch(pool: pool, credentials: nil)
            Issue.record("a plain file answered as an engine")
        } catch {
            #expect(error.description.hasPrefix("unix://\(path): GET /_ping: "), "\(error)")
        }
        try await pool.shutdown()
    }
}

/// `DockerDiscovery.fetch` against a stand-in engine on a unix socket
/// (`Fixtures/docker_engine_stub.py`): what it asks for and how it reports what goes wrong. The
/// real engine is the end-to-end test's (Podman).
@Suite(.serialized) struct DockerEngineRequestTests {
    /// A stub engine answering from the files of its own directory.
    final class Stub {
        let directory = TemporaryDirectory()
        let process: ChildProcess
        var socket: String { directory.sub("engine.sock") }

        init() async throws {
            let script =
                String(#filePath.dropLast("DockerDiscoveryTests.swift".count)) + "Fixtures/docker_engine_stub.py"
            process = try ChildProcess(
                "/usr/bin/env", ["python3", script, directory.path, directory.sub("engine.sock")], name: "docker-stub")
            let up = await waitUntil(within: .seconds(20)) { [process] in process.log.contains("serving") }
            try #require(up, "the stub engine did not start: \(process.log)")
        }

        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: directory.sub(name), atomically: true, encoding: .utf8)
        }

        var requests: [String] {
            ((try? String(contentsOfFile: directory.sub("requests.log"), encoding: .utf8)) ?? "")
                .split(separator: "\n").map(String.init)
        }

        /// Python keeps the SIGTERM the test process blocks: stopped with SIGKILL.
        func stop() { process.stop(grace: .milliseconds(100)) }
    }

    @Test(.timeLimit(.minutes(1)))
    func itSpeaksTheEnginesVersionWithTheFiltersAndNamesTheDaemonDocker() async throws {
        let stub = try await Stub()
        defer { stub.stop() }
        try stub.write("version", "1.43")
        try stub.write("containers.json", DockerDiscoveryTests.containers)
        try stub.write("networks.json", DockerDiscoveryTests.networks)
        let pool = HTTPScraper.makePool()
        var discovery = DockerDiscovery(host: .unix(path: stub.socket), refreshInterval: .seconds(5))
        discovery.filters = [.init(name: "label", values: ["scrape=true"])]
        let (targets, version) = try await discovery.fetch(pool: pool, credentials: nil)
        #expect(version.description == "1.43")
        #expect(targets.count == 5)
        #expect(
            stub.requests == [
                "/_ping docker",
                "/v1.43/containers/json?filters=%7B%22label%22%3A%7B%22scrape%3Dtrue%22%3Atrue%7D%7D docker",
                "/v1.43/networks docker",
            ])
        // A version already negotiated is used as it is.
        _ = try await discovery.fetch(pool: pool, credentials: nil, version: version)
        #expect(stub.requests.count == 5)
        try await pool.shutdown()
    }

    @Test(.timeLimit(.minutes(1)))
    func aNewerEngineIsSpokenToInOurNewestVersionAndOneThatNamesNoneIn124() async throws {
        let stub = try await Stub()
        defer { stub.stop() }
        let pool = HTTPScraper.makePool()
        let discovery = DockerDiscovery(host: .unix(path: stub.socket), refreshInterval: .seconds(5))
        try stub.write("version", "1.52")
        #expect(try await discovery.fetch(pool: pool, credentials: nil).version.description == "1.47")
        try FileManager.default.removeItem(atPath: stub.directory.sub("version"))
        #expect(try await discovery.fetch(pool: pool, credentials: nil).version.description == "1.24")
        #expect(stub.requests.contains("/v1.24/networks docker"))
        try await pool.shutdown()
    }

    @Test(.timeLimit(.minutes(1)))
    func anErrorStatusAndABodyThatDoesNotParseAreNamedWithTheHost() async throws {
        let stub = try await Stub()
        defer { stub.stop() }
        let pool = HTTPScraper.makePool()
        let discovery = DockerDiscovery(host: .unix(path: stub.socket), refreshInterval: .seconds(5))
        let version = DockerDiscovery.APIVersion(major: 1, minor: 41)
        func failure() async -> String? {
            do {
                _ = try await discovery.fetch(pool: pool, credentials: nil, version: version)
                return nil
            } catch {
                return error.description
            }
        }
        try stub.write("status", "500")
        try stub.write("containers.json", #"{"message": "database is locked"}"#)
        #expect(
            await failure()
                == "unix://\(stub.socket): GET /v1.41/containers/json: HTTP status 500 Internal Server Error: database is locked"
        )
        try stub.write("status", "200")
        try stub.write("containers.json", #"{"not": "a list"}"#)
        let invalid = await failure()
        #expect(
            invalid?.hasPrefix("unix://\(stub.socket): invalid container list: ") == true,
            "\(String(describing: invalid))")
        try await pool.shutdown()
    }
}
