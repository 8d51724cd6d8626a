import AsyncHTTPClient
import Foundation
import HTTPSecurity
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

extension EndToEnd {
    /// Remote write over TLS with basic auth, against a real Prometheus 2.42 behind
    /// `--web.config.file` (its TLS server and its bcrypt-checked users), with certificates the
    /// test makes with openssl: agentd trusts the test's CA through `tls_config { ca_file }`,
    /// reads its password from `basic_auth { password_file }`, counts the 401s of a wrong
    /// password by reason, keeps the samples in its WAL meanwhile, and delivers them all once
    /// the file holds the right password, without a restart. The password never shows in its
    /// log or on `/metrics`.
    @Suite(.serialized) struct RemoteWriteTLSTests {
        static let user = "agentd"
        static let rightPassword = "correct-horse-battery-staple"
        static let wrongPassword = "wrong-tr0ub4dor-password"
        /// bcrypt (cost 10) of `rightPassword`, made once, offline, with Python's
        /// `crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024))`.
        static let rightPasswordHash = "$2b$10$weGaJaKs7a0tNw0wOyRUO.Q3MukG7NkEgh0Rcw0ghU.MwRwOQqmSi"

        @Test(.timeLimit(.minutes(3)))
        func deliversOverTLSWithBasicAuthCountsUnauthorizedAndPicksUpARewrittenPasswordFile() async throws {
            let dir = TemporaryDirectory()
            let authority = try TestCertificateAuthority(in: dir.sub("ca"))
            let certificate = try authority.issue("prometheus", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
            let prometheus = try await SecurePrometheus(
                directory: dir.sub("prometheus"), certificate: certificate, authority: authority,
                user: Self.user, passwordHash: Self.rightPasswordHash, password: Self.rightPassword)
            defer { prometheus.stop() }
            // The receiver really wants both: no credentials is a 401, no CA is a failed handshake.
            #expect(await prometheus.status("/-/ready", authorized: false) == 401)

            let passwordFile = dir.sub("password")
            try "\(Self.wrongPassword)\n".write(toFile: passwordFile, atomically: false, encoding: .utf8)
            let port = freePort()
            let config = dir.sub("config.alloy")
            try Self.config(
                agentPort: port, receiver: prometheus.writeURL, caFile: authority.certificatePath,
                passwordFile: passwordFile
            ).write(toFile: config, atomically: true, encoding: .utf8)
            let agent = try AgentProcess(name: "tls-agent", port: port, config: config, storage: dir.sub("data"))
            defer { agent.process.stop() }
            try await agent.waitUntilReady()

            // A wrong password: 401s, counted by reason; nothing delivered, nothing dropped.
            #expect(
                await waitUntil(within: .seconds(30)) {
                    await Self.counter(agent, "agentd_remote_storage_failed_requests_total", reason: "unauthorized")
                        >= 3
                }, "no 401 counted: \(agent.process.log.suffix(3000))")
            let scrapedWhileRefused = wallClock()
            #expect(
                await waitUntil(within: .seconds(15)) {
                    let targets = await agent.json("/api/v0/targets", as: TargetsJSON.self)?.targets ?? []
                    return targets.contains { ($0.lastScrape ?? 0) > scrapedWhileRefused }
                }, "agentd did not scrape itself")
            #expect(await prometheus.samples("up{job=\"self\"}[10m]").isEmpty)
            #expect(await Self.counter(agent, "prometheus_remote_storage_samples_total") == 0)
            #expect(await Self.counter(agent, "prometheus_remote_storage_samples_failed_total") == 0)
            #expect(await Self.counter(agent, "agentd_remote_storage_failed_requests_total", reason: "tls") == 0)
            #expect(
                agent.process.log.contains("remote_write.reason=unauthorized"),
                "no warning with the reason: \(agent.process.log.suffix(3000))")

            // The password file rewritten in place while agentd runs: the next request uses it,
            // and the samples appended during the 401s arrive too.
            let rewritten = wallClock()
            try "\(Self.rightPassword)\n".write(toFile: passwordFile, atomically: false, encoding: .utf8)
            #expect(
                await waitUntil(within: .seconds(30)) {
                    let values = await prometheus.samples("up{job=\"self\"}[10m]")
                    return values.contains { $0.0 < scrapedWhileRefused } && values.contains { $0.0 > rewritten }
                }, "samples of the 401 phase and after it did not arrive: \(agent.process.log.suffix(3000))")
            let delivered = await prometheus.samples("up{job=\"self\"}[10m]")
            #expect(delivered.allSatisfy { $0.1 == "1" })
            #expect(await Self.counter(agent, "prometheus_remote_storage_samples_total") > 0)
            #expect(await Self.counter(agent, "prometheus_remote_storage_samples_failed_total") == 0)
            #expect(
                agent.process.log.contains("remote write receiver recovered"), "\(agent.process.log.suffix(3000))")

            // No secret anywhere it could be read.
            let metrics = await httpGet(agent.url + "/metrics")?.body ?? ""
            let log = agent.process.log
            for secret in [Self.rightPassword, Self.wrongPassword] {
                #expect(!metrics.contains(secret), "/metrics shows a password")
                #expect(!log.contains(secret), "the log shows a password")
            }
            let status = await agent.process.terminate(grace: .seconds(20))
            #expect(status == 0, "exit status \(status): \(agent.process.log.suffix(2000))")
            for secret in [Self.rightPassword, Self.wrongPassword] {
                #expect(!agent.process.log.contains(secret), "the log shows a password")
            }

            // `agentd replay --to NAME --config FILE` sends with the endpoint's TLS and credentials.
            // Prometheus has every sample already: it takes each series' newest again and refuses
            // the older ones as out of order; what matters here is that it answered.
            let (_, output) = try await AgentProcess.run([
                "replay", "--since", "10m", "--storage.path", agent.storage, "--to", "secure", "--config", config,
            ])
            // (Its progress goes to standard error, which the run interleaves: the summary is a line of its own.)
            let summary = output.split(separator: "\n").first { $0.hasPrefix("sent ") }
            #expect(summary != nil && summary?.hasPrefix("sent 0 ") == false, "\(output)")
            #expect(!output.contains("HTTP 401"), "\(output)")
            // With the wrong password it is refused and says so, without the password.
            try "\(Self.wrongPassword)\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
            let (refusedCode, refusedOutput) = try await AgentProcess.run([
                "replay", "--since", "10m", "--storage.path", agent.storage, "--to", "secure", "--config", config,
            ])
            #expect(refusedCode == 1, "\(refusedOutput)")
            #expect(refusedOutput.contains("HTTP 401"), "\(refusedOutput)")
            #expect(!refusedOutput.contains(Self.wrongPassword))
        }

        /// agentd scraping its own `/metrics` every second and writing to `receiver` over TLS.
        static func config(agentPort: Int, receiver: String, caFile: String, passwordFile: String) -> String {
            """
            prometheus.scrape "self" {
            \ttargets         = [{"__address__" = "127.0.0.1:\(agentPort)"}]
            \tforward_to      = [prometheus.remote_write.secure.receiver]
            \tjob_name        = "self"
            \tscrape_interval = "1s"
            \tscrape_timeout  = "900ms"
            }

            prometheus.remote_write "secure" {
            \tendpoint {
            \t\tname           = "secure"
            \t\turl            = "\(receiver)"
            \t\tremote_timeout = "5s"

            \t\ttls_config {
            \t\t\tca_file = "\(caFile)"
            \t\t}

            \t\tbasic_auth {
            \t\t\tusername      = "\(user)"
            \t\t\tpassword_file = "\(passwordFile)"
            \t\t}

            \t\tqueue_config {
            \t\t\tbatch_send_deadline = "200ms"
            \t\t\tmax_backoff         = "500ms"
            \t\t}
            \t}
            }
            """
        }

        /// The value of a counter of agentd's `/metrics` (the first series of `name`, or the one
        /// with `reason`); 0 when absent.
        static func counter(_ agent: AgentProcess, _ name: String, reason: String? = nil) async -> Double {
            let text = await httpGet(agent.url + "/metrics")?.body ?? ""
            for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
                if let reason, !line.contains("reason=\"\(reason)\"") { continue }
                return line.split(separator: " ").last.flatMap { Double($0) } ?? 0
            }
            return 0
        }
    }
}

/// Prometheus 2.42 with its remote-write receiver behind `--web.config.file`: HTTPS with the
/// test's certificate, and one basic-auth user. The test talks to it with AsyncHTTPClient and
/// agentd's own ``HTTPClientCredentials`` (trusting the test's CA, sending the password).
final class SecurePrometheus: Sendable {
    let port: Int
    let process: ChildProcess
    private let client = HTTPClient(eventLoopGroupProvider: .singleton)
    private let credentials: HTTPClientCredentials
    private let trustOnly: HTTPClientCredentials

    var url: String { "https://127.0.0.1:\(port)" }
    var writeURL: String { url + "/api/v1/write" }

    init(
        directory: String, certificate: TestCertificateAuthority.Issued, authority: TestCertificateAuthority,
        user: String, passwordHash: String, password: String
    ) async throws {
        port = freePort()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try PrometheusReceiver.receiverOnly.write(
            toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        try """
        tls_server_config:
          cert_file: \(certificate.certificatePath)
          key_file: \(certificate.keyPath)
        basic_auth_users:
          \(user): '\(passwordHash)'

        """.write(toFile: directory + "/web.yml", atomically: true, encoding: .utf8)
        let tls = TLSSettings(certificateAuthority: .file(authority.certificatePath))
        credentials = HTTPClientCredentials(
            settings: HTTPClientSettings(
                tls: tls, authorization: .basic(username: user, password: .inline(Secret(password)))),
            owner: "test")
        trustOnly = HTTPClientCredentials(settings: HTTPClientSettings(tls: tls), owner: "test")
        process = try ChildProcess(
            "/usr/bin/prometheus",
            [
                "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                "--web.listen-address=127.0.0.1:\(port)", "--web.config.file=\(directory)/web.yml",
                "--web.enable-remote-write-receiver", "--storage.tsdb.retention.time=1d",
            ], name: "prometheus-tls")
        guard await waitUntil(within: .seconds(30), { await self.status("/-/ready") == 200 }) else {
            stop()
            throw TestSupportError("Prometheus did not become ready over TLS: \(process.log)")
        }
    }

    /// Stops Prometheus by PID, and the test's HTTP client.
    func stop() {
        process.stop()
        try? client.syncShutdown()
    }

    /// The status of a GET of `path`, with the password or without; nil when it cannot connect.
    func status(_ path: String, authorized: Bool = true) async -> Int? {
        await get(path, authorized: authorized)?.status
    }

    /// The raw samples (ms, value) of a range selector, every series together.
    func samples(_ selector: String) async -> [(Int64, String)] {
        var components = URLComponents()
        components.queryItems = [URLQueryItem(name: "query", value: selector)]
        guard let query = components.percentEncodedQuery,
            let (status, body) = await get("/api/v1/query?" + query), status == 200,
            let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let data = object["data"] as? [String: Any], let result = data["result"] as? [[String: Any]]
        else { return [] }
        return result.flatMap { series in
            (series["values"] as? [[Any]] ?? []).map { pair in
                (Int64(((pair[0] as? Double) ?? 0) * 1000 + 0.5), pair[1] as? String ?? "")
            }
        }
    }

    private func get(_ path: String, authorized: Bool = true) async -> (status: Int, body: String)? {
        var request = HTTPClientRequest(url: url + path)
        do {
            try (authorized ? credentials : trustOnly).authorize(&request)
            let response = try await client.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 16 << 20)
            return (Int(response.status.code), String(buffer: body))
        } catch {
            return nil
        }
    }
}
