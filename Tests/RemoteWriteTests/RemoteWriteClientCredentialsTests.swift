import AsyncHTTPClient
import Foundation
import HTTPSecurity
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import TestSupport
import Testing

@testable import RemoteWrite

/// The client with `tls_config` and credentials: files read again when they change, and every
/// failure classified with a bounded reason.
@Suite(.timeLimit(.minutes(2))) struct RemoteWriteClientCredentialsTests {
    private func body() -> ByteBuffer {
        var encoder = WriteRequestEncoder()
        encoder.encode([
            RemoteWriteSeries(labels: [.init(name: "__name__", value: "up")], samples: [.init(timestamp: 1, value: 1)])
        ])
        var buffer = ByteBuffer()
        encoder.withEncodedBytes { Snappy.compress($0, appendingTo: &buffer) }
        return buffer
    }

    private func endpoint(_ url: String, http: HTTPClientSettings) -> RemoteWriteEndpoint {
        RemoteWriteEndpoint(
            name: "secure", url: url, http: http, remoteTimeout: .seconds(5), minBackoff: .milliseconds(10),
            maxBackoff: .milliseconds(40))
    }

    /// Runs `body` with a remote-write client pool, shut down afterwards.
    private func withPool<Result: Sendable>(_ body: (HTTPClientPool) async throws -> Result) async throws -> Result {
        let pool = RemoteWriteClient.makePool()
        do {
            let result = try await body(pool)
            try await pool.shutdown()
            return result
        } catch {
            try? await pool.shutdown()
            throw error
        }
    }

    private static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    @Test func aRewrittenPasswordFileIsUsedByTheNextRequest() async throws {
        let dir = TemporaryDirectory()
        let passwordFile = dir.sub("password")
        try "first\n".write(toFile: passwordFile, atomically: false, encoding: .utf8)
        try await TestReceiver.with { receiver in
            let settings = HTTPClientSettings(authorization: .basic(username: "agent", password: .file(passwordFile)))
            let client = try RemoteWriteClient(
                endpoint: endpoint(receiver.url, http: settings), httpClient: receiver.httpClient,
                logger: Logger(label: "test"))
            #expect(try await client.send(body()).isSent)
            // Rewritten in place, and then replaced by a new file (a new inode), as a rotation does.
            try "second-password".write(toFile: passwordFile, atomically: false, encoding: .utf8)
            #expect(try await client.send(body()).isSent)
            try "third".write(toFile: passwordFile, atomically: true, encoding: .utf8)
            #expect(try await client.send(body()).isSent)
            #expect(
                receiver.requests.map { $0.headers["Authorization"] } == [
                    [Self.basic("agent", "first")], [Self.basic("agent", "second-password")],
                    [Self.basic("agent", "third")],
                ])
        }
    }

    @Test func aRotatedTokenFileReachesTheNextRequestsHeader() async throws {
        let dir = TemporaryDirectory()
        let tokenFile = dir.sub("token")
        try "token-1".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try await TestReceiver.with { receiver in
            let settings = HTTPClientSettings(
                authorization: .credentials(type: "Bearer", credentials: .file(tokenFile)))
            try await withPool { pool in
                let client = try RemoteWriteClient(
                    endpoint: endpoint(receiver.url, http: settings), pool: pool, logger: Logger(label: "test"))
                #expect(try await client.send(body()).isSent)
                try "token-2-rotated".write(toFile: tokenFile, atomically: true, encoding: .utf8)
                #expect(try await client.send(body()).isSent)
            }
            #expect(
                receiver.requests.map { $0.headers["Authorization"] } == [
                    ["Bearer token-1"], ["Bearer token-2-rotated"],
                ])
        }
    }

    @Test func anUnreadableCredentialFileIsRetriedNamingTheFileAndOwnerNotDropped() async throws {
        let dir = TemporaryDirectory()
        let tokenFile = dir.sub("missing-token")
        try await TestReceiver.with { receiver in
            let settings = HTTPClientSettings(
                authorization: .credentials(type: "Bearer", credentials: .file(tokenFile)))
            let client = try RemoteWriteClient(
                endpoint: endpoint(receiver.url, http: settings), httpClient: receiver.httpClient,
                owner: "prometheus.remote_write.default endpoint secure", logger: Logger(label: "test"))
            let failures = Mutex<[RemoteWriteClient.RetryableFailure]>([])
            let outcome = try await client.send(body()) { failure in
                failures.withLock { $0.append(failure) }
                // The file appears before the next attempt: it is read then.
                try? "late-token".write(toFile: tokenFile, atomically: true, encoding: .utf8)
            }
            #expect(outcome == .sent(status: 204, attempts: 2))
            let failure = try #require(failures.withLock { $0 }.first)
            #expect(failure.reason == .credentials)
            #expect(failure.status == nil)
            #expect(failure.message.contains(tokenFile), "\(failure)")
            #expect(failure.message.contains("prometheus.remote_write.default endpoint secure"), "\(failure)")
            #expect(receiver.requests.map { $0.headers["Authorization"] } == [["Bearer late-token"]])
        }
    }

    @Test func unauthorizedIsRetriedUntilTheCredentialsAreRightAndNeverLeaksThem() async throws {
        let dir = TemporaryDirectory()
        let passwordFile = dir.sub("password")
        try "wrong-password".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let right = Self.basic("agent", "right-password")
        try await TestReceiver.with(answering: { _, request in
            request.headers["Authorization"] == [right] ? .status(204) : .status(401, body: "Unauthorized")
        }) { receiver in
            let settings = HTTPClientSettings(authorization: .basic(username: "agent", password: .file(passwordFile)))
            let client = try RemoteWriteClient(
                endpoint: endpoint(receiver.url, http: settings), httpClient: receiver.httpClient,
                logger: Logger(label: "test"))
            let failures = Mutex<[RemoteWriteClient.RetryableFailure]>([])
            let outcome = try await client.send(body()) { failure in
                let count = failures.withLock {
                    $0.append(failure)
                    return $0.count
                }
                if count == 2 { try? "right-password".write(toFile: passwordFile, atomically: true, encoding: .utf8) }
            }
            #expect(outcome == .sent(status: 204, attempts: 3))
            let seen = failures.withLock { $0 }
            #expect(seen.map(\.reason) == [.unauthorized, .unauthorized])
            #expect(seen.map(\.status) == [401, 401])
            for failure in seen {
                #expect(!failure.description.contains("password"), "\(failure)")
            }
        }
    }

    @Test(arguments: [401, 403]) func anAuthorizationFailureIsDroppedWhenNotRetried(status: Int) async throws {
        try await TestReceiver.with(script: { _ in .status(status, body: "no") }) { receiver in
            var endpoint = endpoint(receiver.url, http: HTTPClientSettings())
            endpoint.retryOnAuthorizationFailure = false
            let client = try RemoteWriteClient(
                endpoint: endpoint, httpClient: receiver.httpClient, logger: Logger(label: "test"))
            let outcome = try await client.send(body())
            #expect(outcome == .dropped(.init(reason: .rejected, status: status, message: "no", attempts: 1)))
        }
    }

    @Test func failureReasonsOfAnswersAreBounded() {
        #expect(RemoteWriteFailureReason.classify(status: 401) == .unauthorized)
        #expect(RemoteWriteFailureReason.classify(status: 403) == .forbidden)
        #expect(RemoteWriteFailureReason.classify(status: 429) == .rateLimited)
        #expect(RemoteWriteFailureReason.classify(status: 503) == .serverError)
        #expect(RemoteWriteFailureReason.classify(status: 404) == .clientError)
        #expect(RemoteWriteFailureReason.classify(error: HTTPClientError.deadlineExceeded).reason == .timeout)
        #expect(RemoteWriteFailureReason.classify(error: HTTPClientError.remoteConnectionClosed).reason == .network)
        let credential = CredentialError(owner: "endpoint x", message: "could not read password_file /p: gone")
        #expect(
            RemoteWriteFailureReason.classify(error: credential) == (
                .credentials, "endpoint x: could not read password_file /p: gone"
            ))
    }

    // MARK: - TLS, against a real handshake with certificates made by openssl

    /// A CA, and a server certificate it issued for `localhost` and 127.0.0.1.
    private struct Certificates {
        let directory: TemporaryDirectory
        let authority: TestCertificateAuthority
        let server: TestCertificateAuthority.Issued

        init(serverDays: Int = 30, dnsNames: [String] = ["localhost"], ipAddresses: [String] = ["127.0.0.1"]) throws {
            directory = TemporaryDirectory()
            authority = try TestCertificateAuthority(in: directory.sub("ca"))
            server = try authority.issue("server", dnsNames: dnsNames, ipAddresses: ipAddresses, days: serverDays)
        }

        var tls: TestReceiver.ServerTLS { .init(certificatePath: server.certificatePath, keyPath: server.keyPath) }
    }

    /// One attempt to the TLS receiver with `tls` as `tls_config`.
    private func attempt(
        _ certificates: Certificates, _ tls: TLSSettings
    ) async throws -> RemoteWriteClient.AttemptResult {
        try await TestReceiver.with(tls: certificates.tls) { receiver in
            try await withPool { pool in
                let client = try RemoteWriteClient(
                    endpoint: endpoint(receiver.url, http: HTTPClientSettings(tls: tls)), pool: pool,
                    logger: Logger(label: "test"))
                return await client.attempt(body())
            }
        }
    }

    @Test func aServerSignedByTheConfiguredAuthorityIsAccepted() async throws {
        let certificates = try Certificates()
        let result = try await attempt(
            certificates, TLSSettings(certificateAuthority: .file(certificates.authority.certificatePath)))
        #expect(result == .success(status: 204))
    }

    @Test func anUnknownAuthorityIsATLSFailure() async throws {
        let certificates = try Certificates()
        let other = try TestCertificateAuthority(in: certificates.directory.sub("other"), name: "another CA")
        let result = try await attempt(certificates, TLSSettings(certificateAuthority: .file(other.certificatePath)))
        guard case .retryable(let reason, nil, let message, nil) = result else {
            Issue.record("expected a retryable failure, got \(result)")
            return
        }
        #expect(reason == .tls)
        #expect(message.contains("did not verify"), "\(message)")
    }

    @Test func anExpiredServerCertificateIsATLSFailure() async throws {
        let certificates = try Certificates(serverDays: -1)
        let result = try await attempt(
            certificates, TLSSettings(certificateAuthority: .file(certificates.authority.certificatePath)))
        guard case .retryable(let reason, nil, let message, nil) = result else {
            Issue.record("expected a retryable failure, got \(result)")
            return
        }
        #expect(reason == .tls)
        #expect(message.contains("expired"), "\(message)")
    }

    @Test func aCertificateForAnotherNameIsATLSFailureAndServerNameFixesIt() async throws {
        let certificates = try Certificates(dnsNames: ["receiver.example"], ipAddresses: [])
        let authority = PEMSource.file(certificates.authority.certificatePath)
        let wrong = try await attempt(certificates, TLSSettings(certificateAuthority: authority))
        guard case .retryable(let reason, nil, let message, nil) = wrong else {
            Issue.record("expected a retryable failure, got \(wrong)")
            return
        }
        #expect(reason == .tls)
        #expect(message.contains("not valid for the name"), "\(message)")
        let named = try await attempt(
            certificates, TLSSettings(certificateAuthority: authority, serverName: "receiver.example"))
        #expect(named == .success(status: 204))
    }

    @Test func aRenewedAuthorityFileIsUsedByTheNextAttempt() async throws {
        let certificates = try Certificates()
        let other = try TestCertificateAuthority(in: certificates.directory.sub("other"), name: "another CA")
        let caFile = certificates.directory.sub("trusted.crt")
        try FileManager.default.copyItem(atPath: other.certificatePath, toPath: caFile)
        try await TestReceiver.with(tls: certificates.tls) { receiver in
            try await withPool { pool in
                let client = try RemoteWriteClient(
                    endpoint: endpoint(
                        receiver.url, http: HTTPClientSettings(tls: TLSSettings(certificateAuthority: .file(caFile)))),
                    pool: pool, logger: Logger(label: "test"))
                guard case .retryable(.tls, _, _, _) = await client.attempt(body()) else {
                    Issue.record("the wrong authority was accepted")
                    return
                }
                let renewed = try String(contentsOfFile: certificates.authority.certificatePath, encoding: .utf8)
                try renewed.write(toFile: caFile, atomically: true, encoding: .utf8)
                #expect(await client.attempt(body()) == .success(status: 204))
            }
        }
    }
}
