import Foundation
import TestSupport
import Testing

/// A real `prometheus-node-exporter` behind its `--web.config.file`: TLS with the test's
/// certificates, optionally requiring a client certificate and basic auth.
struct SecureExporter {
    let process: ChildProcess
    let port: Int

    /// `scraper`'s password is `correct-horse-9271`: the bcrypt hash (cost 4) was made with
    /// Python's `crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))`.
    static let password = "correct-horse-9271"
    static let passwordHash = "$2b$04$dL2Eta3u/pXrLspYyAz54OsASiR5OcpkPpX4e.UzghPxrdVd/s.92"

    /// Starts one on `port` (a free one by default) and waits until it listens.
    static func start(
        in directory: String, name: String, certificate: TestCertificateAuthority.Issued, clientCA: String? = nil,
        basicAuth: Bool = false, port: Int? = nil
    ) async throws -> SecureExporter {
        let port = port ?? freePort()
        var config = """
            tls_server_config:
              cert_file: \(certificate.certificatePath)
              key_file: \(certificate.keyPath)

            """
        if let clientCA {
            config += "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: \(clientCA)\n"
        }
        if basicAuth { config += "basic_auth_users:\n  scraper: \(passwordHash)\n" }
        let path = "\(directory)/\(name)-web.yml"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let process = try ChildProcess(
            "/usr/bin/prometheus-node-exporter",
            [
                "--web.listen-address=127.0.0.1:\(port)", "--web.config.file=\(path)", "--collector.disable-defaults",
                "--collector.time", "--collector.loadavg",
            ], name: name)
        // exporter-toolkit logs this once the socket listens.
        guard await waitUntil(within: .seconds(10), { process.log.contains("TLS is enabled.") }) else {
            await process.terminate()
            throw TestSupportError("\(name) did not come up on port \(port): \(process.log)")
        }
        return SecureExporter(process: process, port: port)
    }
}

extension EndToEnd {
    /// Scrapes over TLS and with credentials, against real node exporters and certificates made
    /// with openssl: what is scraped, what is refused and with which reason, and files rewritten
    /// while agentd runs.
    @Suite(.serialized) struct ScrapeTLSTests {
        /// A `prometheus.scrape` of `port` over https, every second, with `extra` attributes and blocks.
        static func job(_ name: String, port: Int, _ extra: String) -> String {
            """
            prometheus.scrape "\(name)" {
            \ttargets         = [{"__address__" = "127.0.0.1:\(port)", "instance" = "\(name)"}]
            \tforward_to      = []
            \tscheme          = "https"
            \tscrape_interval = "1s"
            \tscrape_timeout  = "800ms"
            \(extra)
            }

            """
        }

        /// The agent's targets by their `instance` label.
        static func targets(_ agent: AgentProcess) async -> [String: TargetJSON] {
            let list = await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []
            return Dictionary(list.map { ($0.labels["instance"] ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        }

        /// Waits until the target `instance` has been scraped and `condition` holds for it; the
        /// target as last seen, and whether it held.
        static func waitForTarget(
            _ agent: AgentProcess, _ instance: String, within limit: Duration = .seconds(20),
            _ condition: @escaping (TargetJSON) -> Bool
        ) async -> (met: Bool, target: TargetJSON?) {
            var last: TargetJSON?
            let met = await waitUntil(within: limit) {
                last = await targets(agent)[instance]
                guard let target = last, target.lastScrape != nil else { return false }
                return condition(target)
            }
            return (met, last)
        }

        /// The `up` values of `instance` in the WAL (agentd stopped), and whether node samples came too.
        static func replayed(_ storage: String, instance: String) async throws -> (up: [String], node: Int) {
            let (code, output) = try await AgentProcess.run([
                "replay", "--since", "10m", "--storage.path=\(storage)", "--match", "{instance=\"\(instance)\"}",
            ])
            #expect(code == 0, "\(output)")
            let lines = output.split(separator: "\n")
            // `up{instance="tls", job="prometheus.scrape.tls"} 1 1795962864832`
            let up = lines.filter { $0.hasPrefix("up{") }.compactMap { line in
                line.split(separator: "}").last?.split(separator: " ").first.map(String.init)
            }
            return (up, lines.filter { $0.hasPrefix("node_") }.count)
        }

        @Test(.timeLimit(.minutes(3))) func httpsTargetsAreScrapedAndRefusedCertificatesShowTheirReason()
            async throws
        {
            let dir = TemporaryDirectory()
            let authority = try TestCertificateAuthority(in: dir.sub("ca"), name: "agentd test CA")
            let stranger = try TestCertificateAuthority(in: dir.sub("other-ca"), name: "some other CA")
            let server = try authority.issue("server")
            let client = try authority.issue("client", commonName: "agentd")
            let expired = try authority.issue("expired", days: -1)
            let misnamed = try authority.issue("misnamed", dnsNames: ["metrics.example.org"], ipAddresses: [])
            let foreign = try stranger.issue("foreign")

            let plain = try await SecureExporter.start(in: dir.path, name: "tls", certificate: server)
            defer { plain.process.stop() }
            let mutual = try await SecureExporter.start(
                in: dir.path, name: "mtls", certificate: server, clientCA: authority.certificatePath)
            defer { mutual.process.stop() }
            let other = try await SecureExporter.start(in: dir.path, name: "foreign", certificate: foreign)
            defer { other.process.stop() }
            let old = try await SecureExporter.start(in: dir.path, name: "expired", certificate: expired)
            defer { old.process.stop() }
            let wrong = try await SecureExporter.start(in: dir.path, name: "misnamed", certificate: misnamed)
            defer { wrong.process.stop() }

            let ca = "tls_config {\n\t\tca_file = \"\(authority.certificatePath)\"\n\t}"
            let withClient = """
                tls_config {
                \t\tca_file   = "\(authority.certificatePath)"
                \t\tcert_file = "\(client.certificatePath)"
                \t\tkey_file  = "\(client.keyPath)"
                \t}
                """
            let config =
                Self.job("tls", port: plain.port, ca) + Self.job("mtls", port: mutual.port, withClient)
                + Self.job("mtls_without_cert", port: mutual.port, ca) + Self.job("foreign", port: other.port, ca)
                + Self.job("expired", port: old.port, ca) + Self.job("misnamed", port: wrong.port, ca)
                + Self.job("no_ca", port: plain.port, "")
            try config.write(toFile: dir.sub("config.alloy"), atomically: true, encoding: .utf8)
            let agent = try AgentProcess(
                name: "tls", port: freePort(), config: dir.sub("config.alloy"), storage: dir.sub("data"))
            defer { agent.process.stop() }
            try await agent.waitUntilReady()

            for instance in ["tls", "mtls"] {
                let (up, target) = await Self.waitForTarget(agent, instance) { $0.lastError == nil }
                #expect(up, "\(instance): \(target as Any)")
            }
            let reasons: [(instance: String, reason: String)] = [
                ("mtls_without_cert", "the server requires a client certificate"),
                ("foreign", "certificate signed by unknown authority"),
                ("expired", "certificate has expired"),
                ("misnamed", "certificate is not valid for 127.0.0.1"),
                ("no_ca", "certificate signed by unknown authority"),
            ]
            for (instance, reason) in reasons {
                let (_, target) = await Self.waitForTarget(agent, instance) { $0.lastError != nil }
                #expect(
                    target?.lastError?.contains(reason) == true,
                    "\(instance): \(target?.lastError ?? "no error") lacks \"\(reason)\"")
            }
            // The CLI shows the same reasons.
            let (code, listing) = try await AgentProcess.run(["targets", "--addr", agent.address])
            #expect(code == 0)
            #expect(listing.contains("certificate signed by unknown authority"), "\(listing)")

            let status = await agent.process.terminate(grace: .seconds(20))
            #expect(status == 0, "exit status \(status): \(agent.process.log.suffix(2000))")
            for instance in ["tls", "mtls"] {
                let (up, node) = try await Self.replayed(agent.storage, instance: instance)
                #expect(!up.isEmpty && up.allSatisfy { Double($0) == 1 }, "\(instance): up = \(up)")
                #expect(node > 0, "\(instance): no node_ samples in the WAL")
            }
            for instance in ["foreign", "expired", "mtls_without_cert"] {
                let (up, node) = try await Self.replayed(agent.storage, instance: instance)
                #expect(!up.isEmpty && up.allSatisfy { Double($0) == 0 }, "\(instance): up = \(up)")
                #expect(node == 0)
            }
        }

        @Test(.timeLimit(.minutes(3))) func rewrittenPasswordAndCertificateFilesArePickedUpWhileRunning()
            async throws
        {
            let dir = TemporaryDirectory()
            let first = try TestCertificateAuthority(in: dir.sub("first-ca"), name: "first CA")
            let second = try TestCertificateAuthority(in: dir.sub("second-ca"), name: "second CA")
            let caFile = dir.sub("trusted-ca.crt")
            try FileManager.default.copyItem(atPath: first.certificatePath, toPath: caFile)
            let passwordFile = dir.sub("password")
            let wrongPassword = "battery-staple-4410"
            try "\(wrongPassword)\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)

            let guarded = try await SecureExporter.start(
                in: dir.path, name: "guarded", certificate: first.issue("guarded"), basicAuth: true)
            defer { guarded.process.stop() }
            var rotating = try await SecureExporter.start(
                in: dir.path, name: "rotating", certificate: first.issue("rotating-1"))
            defer { rotating.process.stop() }

            let config =
                Self.job(
                    "guarded", port: guarded.port,
                    """
                    tls_config {
                    \t\tca_file = "\(caFile)"
                    \t}
                    \tbasic_auth {
                    \t\tusername      = "scraper"
                    \t\tpassword_file = "\(passwordFile)"
                    \t}
                    """)
                + Self.job("rotating", port: rotating.port, "tls_config {\n\t\tca_file = \"\(caFile)\"\n\t}")
            try config.write(toFile: dir.sub("config.alloy"), atomically: true, encoding: .utf8)
            let agent = try AgentProcess(
                name: "rotation", port: freePort(), config: dir.sub("config.alloy"), storage: dir.sub("data"),
                extra: ["--log.level=debug"])
            defer { agent.process.stop() }
            try await agent.waitUntilReady()

            // The wrong password: 401, then the right one is written while agentd runs.
            let (_, refused) = await Self.waitForTarget(agent, "guarded") { $0.lastError != nil }
            #expect(
                refused?.lastError == "server returned HTTP status 401 Unauthorized",
                "\(refused?.lastError ?? "no error")")
            try Data(SecureExporter.password.utf8).write(to: URL(fileURLWithPath: passwordFile))
            let (accepted, guardedTarget) = await Self.waitForTarget(agent, "guarded") { $0.lastError == nil }
            #expect(accepted, "\(guardedTarget as Any)")

            // The rotating target is scraped; then its certificate is replaced by one of a new CA.
            let (trusted, before) = await Self.waitForTarget(agent, "rotating") { $0.lastError == nil }
            #expect(trusted, "\(before as Any)")
            let port = rotating.port
            await rotating.process.terminate()
            rotating = try await SecureExporter.start(
                in: dir.path, name: "rotating", certificate: second.issue("rotating-2"), port: port)
            let (refusedCA, untrusted) = await Self.waitForTarget(agent, "rotating") {
                $0.lastError?.contains("unknown authority") == true
            }
            #expect(refusedCA, "\(untrusted as Any)")
            // The trusted CA file is rewritten in place with the new CA: the next scrapes use it.
            try Data(contentsOf: URL(fileURLWithPath: second.certificatePath)).write(to: URL(fileURLWithPath: caFile))
            let (rotated, last) = await Self.waitForTarget(agent, "rotating") { $0.lastError == nil }
            #expect(rotated, "\(last as Any)")

            // The passwords never show: not in the API, the UI's JSON, /metrics or the log.
            for path in ["/api/v0/targets", "/api/v0/web/targets", "/metrics"] {
                let body = await httpGet(agent.url + path)?.body ?? ""
                #expect(!body.isEmpty)
                #expect(!body.contains(SecureExporter.password) && !body.contains(wrongPassword), "\(path)")
            }
            let status = await agent.process.terminate(grace: .seconds(20))
            #expect(status == 0)
            let log = agent.process.log
            #expect(!log.contains(SecureExporter.password) && !log.contains(wrongPassword))
            #expect(!log.contains(Data("scraper:\(SecureExporter.password)".utf8).base64EncodedString()))
        }

        @Test(.timeLimit(.minutes(2))) func scrapesGoThroughTheProxyOfProxyURL() async throws {
            let dir = TemporaryDirectory()
            let authority = try TestCertificateAuthority(in: dir.sub("ca"))
            let secure = try await SecureExporter.start(
                in: dir.path, name: "behind-proxy", certificate: authority.issue("server"))
            defer { secure.process.stop() }
            let (plain, plainPort) = try await startNodeExporter(name: "plain-behind-proxy")
            defer { plain.stop() }
            // tinyproxy as the test's own process: foreground (-d), its log in the test's directory.
            let proxyPort = freePort()
            let proxyLog = dir.sub("tinyproxy.log")
            try """
            Port \(proxyPort)
            Listen 127.0.0.1
            Timeout 60
            LogFile "\(proxyLog)"
            LogLevel Info
            MaxClients 20
            Allow 127.0.0.1

            """.write(toFile: dir.sub("tinyproxy.conf"), atomically: true, encoding: .utf8)
            let proxy = try ChildProcess(
                "/usr/bin/tinyproxy", ["-d", "-c", dir.sub("tinyproxy.conf")], name: "tinyproxy")
            defer { proxy.stop() }
            let proxyText = { (try? String(contentsOfFile: proxyLog, encoding: .utf8)) ?? "" }
            #expect(await waitUntil(within: .seconds(10)) { proxyText().contains("Accepting connections") })

            let proxyURL = "proxy_url = \"http://127.0.0.1:\(proxyPort)\""
            let config =
                Self.job(
                    "secure_via_proxy", port: secure.port,
                    "\(proxyURL)\n\ttls_config {\n\t\tca_file = \"\(authority.certificatePath)\"\n\t}")
                    + """
                    prometheus.scrape "plain_via_proxy" {
                    \ttargets         = [{"__address__" = "127.0.0.1:\(plainPort)", "instance" = "plain_via_proxy"}]
                    \tforward_to      = []
                    \tscrape_interval = "1s"
                    \tscrape_timeout  = "800ms"
                    \t\(proxyURL)
                    }

                    """
            try config.write(toFile: dir.sub("config.alloy"), atomically: true, encoding: .utf8)
            let agent = try AgentProcess(
                name: "proxied", port: freePort(), config: dir.sub("config.alloy"), storage: dir.sub("data"))
            defer { agent.process.stop() }
            try await agent.waitUntilReady()

            for instance in ["secure_via_proxy", "plain_via_proxy"] {
                let (up, target) = await Self.waitForTarget(agent, instance) { $0.lastError == nil }
                #expect(up, "\(instance): \(target as Any)")
            }
            // The proxy saw both: AsyncHTTPClient tunnels with CONNECT, for http targets too.
            let seen = proxyText()
            #expect(seen.contains("CONNECT 127.0.0.1:\(secure.port) "), "\(seen.suffix(2000))")
            #expect(seen.contains("CONNECT 127.0.0.1:\(plainPort) "), "\(seen.suffix(2000))")
            let status = await agent.process.terminate(grace: .seconds(20))
            #expect(status == 0)
        }
    }
}
