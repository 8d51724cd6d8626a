import AsyncHTTPClient
import Foundation
import HTTPSecurity
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

/// What a refused TLS connection is reported as, against a real node exporter serving the test's
/// certificates (`--web.config.file`): BoringSSL's `CERTIFICATE_VERIFY_FAILED` and
/// AsyncHTTPClient's "remote connection closed" become reasons.
@Suite(.serialized) struct TLSFailureTests {
    let directory = TemporaryDirectory()

    /// A node exporter serving `certificate`, requiring a client certificate of `clientCA` if set.
    func exporter(_ certificate: TestCertificateAuthority.Issued, clientCA: String? = nil) async throws -> (
        ChildProcess, Int
    ) {
        let port = freePort()
        var yaml =
            "tls_server_config:\n  cert_file: \(certificate.certificatePath)\n  key_file: \(certificate.keyPath)\n"
        if let clientCA { yaml += "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: \(clientCA)\n" }
        let config = directory.sub("web-\(port).yml")
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        let process = try ChildProcess(
            "/usr/bin/prometheus-node-exporter",
            [
                "--web.listen-address=127.0.0.1:\(port)", "--web.config.file=\(config)", "--collector.disable-defaults",
                "--collector.time",
            ], name: "tls-exporter")
        guard await waitUntil(within: .seconds(10), { process.log.contains("TLS is enabled.") }) else {
            await process.terminate()
            throw TestSupportError("the node exporter did not start: \(process.log)")
        }
        return (process, port)
    }

    /// Scrapes the exporter with `tls`: nil on success, else the explained failure.
    func outcome(_ certificate: TestCertificateAuthority.Issued, clientCA: String? = nil, tls: TLSSettings)
        async throws -> String?
    {
        let (process, port) = try await exporter(certificate, clientCA: clientCA)
        defer { process.stop() }
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        let pool = HTTPClientPool(configuration: configuration)
        let credentials = HTTPClientCredentials(settings: HTTPClientSettings(tls: tls), owner: "prometheus.scrape.t")
        let url = "https://127.0.0.1:\(port)/metrics"
        let (client, request) = try pool.prepare(url: url, credentials: credentials)
        var result: String?
        do {
            let response = try await client.execute(request, timeout: .seconds(5))
            _ = try await response.body.collect(upTo: 1 << 20)
        } catch {
            result =
                await TLSFailure.explain(error, url: url, credentials: credentials, within: .seconds(5)) ?? "\(error)"
        }
        try await pool.shutdown()
        return result
    }

    @Test(.timeLimit(.minutes(1))) func refusedCertificatesAreExplained() async throws {
        let authority = try TestCertificateAuthority(in: directory.sub("a"), name: "CA A")
        let stranger = try TestCertificateAuthority(in: directory.sub("b"), name: "CA B")
        let trustA = TLSSettings(certificateAuthority: .file(authority.certificatePath))

        #expect(try await outcome(authority.issue("good"), tls: trustA) == nil)
        #expect(
            try await outcome(stranger.issue("foreign"), tls: trustA)
                == "TLS handshake failed: certificate signed by unknown authority (issued by \"CN=CA B\", not by a CA in ca_file)"
        )
        let expired = try #require(try await outcome(authority.issue("expired", days: -1), tls: trustA))
        #expect(expired.hasPrefix("TLS handshake failed: certificate has expired (not valid after "), "\(expired)")
        #expect(
            try await outcome(
                authority.issue("misnamed", dnsNames: ["elsewhere.example"], ipAddresses: []), tls: trustA)
                == "TLS handshake failed: certificate is not valid for 127.0.0.1")
        #expect(
            try await outcome(authority.issue("system"), tls: TLSSettings())
                == "TLS handshake failed: certificate signed by unknown authority (issued by \"CN=CA A\", not among the system's roots)"
        )
        // Another CA under the same name: the name is trusted, the key is not.
        let impostor = try TestCertificateAuthority(in: directory.sub("c"), name: "CA A")
        let forged = try #require(try await outcome(impostor.issue("forged"), tls: trustA))
        #expect(forged.contains("certificate signed by unknown authority"), "\(forged)")
    }

    @Test(.timeLimit(.minutes(1))) func aRequiredClientCertificateIsExplained() async throws {
        let authority = try TestCertificateAuthority(in: directory.sub("a"), name: "CA A")
        let stranger = try TestCertificateAuthority(in: directory.sub("b"), name: "CA B")
        let server = try authority.issue("server")
        let client = try authority.issue("client")
        let foreign = try stranger.issue("foreign-client")
        let ca = PEMSource.file(authority.certificatePath)

        #expect(
            try await outcome(server, clientCA: authority.certificatePath, tls: TLSSettings(certificateAuthority: ca))
                == "TLS handshake failed: the server requires a client certificate (cert_file and key_file)")
        #expect(
            try await outcome(
                server, clientCA: authority.certificatePath,
                tls: TLSSettings(
                    certificateAuthority: ca, certificate: .file(foreign.certificatePath), key: .file(foreign.keyPath)))
                == "TLS handshake failed: the server refused the client certificate (bad certificate)")
        #expect(
            try await outcome(
                server, clientCA: authority.certificatePath,
                tls: TLSSettings(
                    certificateAuthority: ca, certificate: .file(client.certificatePath), key: .file(client.keyPath)))
                == nil)
    }

    @Test func otherErrorsAreNotTLSFailures() {
        #expect(TLSFailure.describe(HTTPClientError.connectTimeout) == nil)
        #expect(TLSFailure.describe(CredentialError(owner: "x", message: "y")) == nil)
    }
}
