import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Who a test is when it speaks TLS: the CA it trusts, and the client certificate it presents,
/// if any.
public struct TestClientIdentity: Sendable {
    public var certificateAuthority: String
    public var certificate: String?
    public var key: String?

    public init(certificateAuthority: String, certificate: String? = nil, key: String? = nil) {
        self.certificateAuthority = certificateAuthority
        self.certificate = certificate
        self.key = key
    }

    /// Trusts `authority` and presents `issued`.
    public init(trusting authority: TestCertificateAuthority, presenting issued: TestCertificateAuthority.Issued?) {
        self.init(
            certificateAuthority: authority.certificatePath, certificate: issued?.certificatePath, key: issued?.keyPath)
    }

    var tlsConfiguration: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(certificateAuthority)
        if let certificate, let key {
            configuration.certificateChain =
                (try? NIOSSLCertificate.fromPEMFile(certificate))?.map { .certificate($0) } ?? []
            configuration.privateKey = (try? NIOSSLPrivateKey(file: key, format: .pem)).map { .privateKey($0) }
        }
        return configuration
    }
}

/// One HTTPS exchange as `identity`: the status and the body as text; nil when it cannot
/// connect or the handshake fails.
public func httpsRequest(
    _ method: String, _ url: String, identity: TestClientIdentity, body: String? = nil, timeout: Duration = .seconds(5)
) async -> (status: Int, body: String)? {
    var request = HTTPClientRequest(url: url)
    request.method = HTTPMethod(rawValue: method)
    request.tlsConfiguration = identity.tlsConfiguration
    if let body { request.body = .bytes(ByteBuffer(string: body)) }
    do {
        let response = try await HTTPClient.shared.execute(request, timeout: .nanoseconds(Int64(timeout.nanoseconds)))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    } catch {
        return nil
    }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
