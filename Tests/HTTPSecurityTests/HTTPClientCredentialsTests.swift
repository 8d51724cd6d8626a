import AsyncHTTPClient
import Foundation
import HTTPSecurity
import NIOCore
import NIOHTTP1
import NIOSSL
import TestSupport
import Testing

@Suite struct HTTPClientCredentialsTests {
    /// The `Authorization` header `credentials` put on a request now.
    func header(_ credentials: HTTPClientCredentials) throws -> String? {
        var request = HTTPClientRequest(url: "https://127.0.0.1/metrics")
        try credentials.authorize(&request)
        return request.headers.first(name: "Authorization")
    }

    @Test func rewrittenTokenFileIsUsedByTheNextRequest() throws {
        let directory = TemporaryDirectory()
        let token = directory.sub("token")
        try "first-token\n".write(toFile: token, atomically: true, encoding: .utf8)
        let credentials = HTTPClientCredentials(
            settings: HTTPClientSettings(authorization: .credentials(type: "Bearer", credentials: .file(token))),
            owner: "prometheus.scrape.nodes")
        #expect(try header(credentials) == "Bearer first-token")
        #expect(try header(credentials) == "Bearer first-token")
        // Rewritten in place, as an operator would.
        try Data("second-token-longer".utf8).write(to: URL(fileURLWithPath: token))
        #expect(try header(credentials) == "Bearer second-token-longer")
        // Replaced by a new file, as Kubernetes rotates a projected service-account token.
        try "third-token".write(toFile: token, atomically: true, encoding: .utf8)
        #expect(try header(credentials) == "Bearer third-token")
    }

    @Test func basicAuthPasswordFileIsReadAgainWhenItChanges() throws {
        let directory = TemporaryDirectory()
        let password = directory.sub("password")
        try "wrong\n".write(toFile: password, atomically: true, encoding: .utf8)
        let credentials = HTTPClientCredentials(
            settings: HTTPClientSettings(authorization: .basic(username: "scraper", password: .file(password))),
            owner: "prometheus.scrape.nodes")
        #expect(try header(credentials) == "Basic " + Data("scraper:wrong".utf8).base64EncodedString())
        try "right-password".write(toFile: password, atomically: true, encoding: .utf8)
        #expect(try header(credentials) == "Basic " + Data("scraper:right-password".utf8).base64EncodedString())
    }

    @Test func theSameTLSConfigurationComesBackUntilACertificateFileChanges() throws {
        let directory = TemporaryDirectory()
        let first = try TestCertificateAuthority(in: directory.sub("first"), name: "first CA")
        let second = try TestCertificateAuthority(in: directory.sub("second"), name: "second CA")
        let client = try first.issue("client")
        let caFile = directory.sub("ca.crt")
        try FileManager.default.copyItem(atPath: first.certificatePath, toPath: caFile)
        let credentials = HTTPClientCredentials(
            settings: HTTPClientSettings(
                tls: TLSSettings(
                    certificateAuthority: .file(caFile), certificate: .file(client.certificatePath),
                    key: .file(client.keyPath), minimumVersion: .tls13)),
            owner: "prometheus.scrape.nodes")
        let before = try #require(try credentials.tlsConfiguration())
        let again = try #require(try credentials.tlsConfiguration())
        #expect(before.bestEffortEquals(again))
        #expect(before.minimumTLSVersion == .tlsv13)
        #expect(before.certificateChain.count == 1)
        #expect(before.trustRoots == .certificates(try NIOSSLCertificate.fromPEMFile(first.certificatePath)))

        // The CA file is rotated: the next use trusts the new CA.
        try FileManager.default.removeItem(atPath: caFile)
        try FileManager.default.copyItem(atPath: second.certificatePath, toPath: caFile)
        let after = try #require(try credentials.tlsConfiguration())
        #expect(!after.bestEffortEquals(before))
        #expect(after.trustRoots == .certificates(try NIOSSLCertificate.fromPEMFile(second.certificatePath)))
        var request = HTTPClientRequest(url: "https://127.0.0.1/metrics")
        try credentials.authorize(&request)
        #expect(request.tlsConfiguration?.bestEffortEquals(after) == true)
    }

    @Test func anUnreadableFileIsAnErrorNamingTheFileAndTheOwner() throws {
        let directory = TemporaryDirectory()
        let missing = directory.sub("no-such-token")
        let credentials = HTTPClientCredentials(
            settings: HTTPClientSettings(authorization: .credentials(type: "Bearer", credentials: .file(missing))),
            owner: "prometheus.scrape.nodes")
        let error = try #require(throws: CredentialError.self) { try header(credentials) }
        #expect(error.owner == "prometheus.scrape.nodes")
        #expect(
            error.description
                == "prometheus.scrape.nodes: could not read credentials_file \(missing): No such file or directory")

        let caFile = directory.sub("missing-ca.crt")
        let tls = HTTPClientCredentials(
            settings: HTTPClientSettings(tls: TLSSettings(certificateAuthority: .file(caFile))),
            owner: "prometheus.scrape.secure")
        let tlsError = try #require(throws: CredentialError.self) { try tls.tlsConfiguration() }
        #expect(tlsError.description.hasPrefix("prometheus.scrape.secure: could not read ca_file \(caFile): "))

        // A file that is there but is not PEM: named too, its content not shown.
        try "not-a-certificate-but-a-secret".write(toFile: caFile, atomically: true, encoding: .utf8)
        let garbled = try #require(throws: CredentialError.self) { try tls.tlsConfiguration() }
        #expect(garbled.description.contains(caFile))
        #expect(!garbled.description.contains("not-a-certificate-but-a-secret"))
    }

    @Test func aFileThatBecomesReadableAgainIsUsedAgain() throws {
        let directory = TemporaryDirectory()
        let token = directory.sub("token")
        let credentials = HTTPClientCredentials(
            settings: HTTPClientSettings(authorization: .credentials(type: "Bearer", credentials: .file(token))),
            owner: "prometheus.scrape.nodes")
        #expect(throws: CredentialError.self) { try header(credentials) }
        try "late".write(toFile: token, atomically: true, encoding: .utf8)
        #expect(try header(credentials) == "Bearer late")
    }
}

@Suite struct SecretTests {
    @Test func aSecretNeverPrints() {
        let secret = Secret("hunter2")
        #expect("\(secret)" == "(secret)")
        #expect(String(reflecting: secret) == "(secret)")
        #expect(String(describing: SecretSource.inline(secret)) == "(secret)")
        #expect(String(describing: PEMSource.inline(Secret("-----BEGIN PRIVATE KEY-----hunter2"))) == "inline PEM")
    }

    @Test(arguments: [
        HTTPClientSettings(authorization: .basic(username: "scraper", password: .inline(Secret("hunter2")))),
        HTTPClientSettings(authorization: .credentials(type: "Bearer", credentials: .inline(Secret("hunter2")))),
        HTTPClientSettings(
            tls: TLSSettings(
                certificate: .inline(Secret("-----BEGIN CERTIFICATE-----")),
                key: .inline(Secret("-----BEGIN PRIVATE KEY-----hunter2")))),
    ])
    func settingsNeverPrintTheirSecrets(settings: HTTPClientSettings) {
        for text in [
            "\(settings)", String(reflecting: settings), "\(settings.authorization as Any)",
            String(reflecting: settings.tls as Any),
        ] {
            #expect(!text.contains("hunter2"), "\(text)")
        }
        var dumped = ""
        dump(settings, to: &dumped)
        #expect(!dumped.contains("hunter2"), "\(dumped)")
    }
}
