import AsyncHTTPClient
import NIOHTTP1
import NIOSSL
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The TLS configuration and `Authorization` header one set of ``HTTPClientSettings`` stands for
/// now. Files are stat'ed on every use and read again when one changed, so a renewed
/// certificate or a rotated token is used by the next request, without a restart. While nothing
/// changes the same `TLSConfiguration` value comes back, so the HTTP client keeps its
/// connections and its TLS context.
public final class HTTPClientCredentials: Sendable {
    public let settings: HTTPClientSettings
    /// Who uses them, for error messages: `prometheus.scrape.nodes`.
    public let owner: String

    private struct Loaded {
        var stamps: [FileStamp?]
        var tls: TLSConfiguration?
        var authorization: String?
    }

    private let files: [String]
    private let loaded = Mutex<Loaded?>(nil)

    public init(settings: HTTPClientSettings, owner: String) {
        self.settings = settings
        self.owner = owner
        var files: [String] = []
        for source in [settings.tls?.certificateAuthority, settings.tls?.certificate, settings.tls?.key] {
            if case .file(let path) = source { files.append(path) }
        }
        switch settings.authorization {
        case .basic(_, .file(let path)?), .credentials(_, .file(let path)): files.append(path)
        default: break
        }
        self.files = files
    }

    /// Puts the current TLS configuration and credentials on `request`.
    public func authorize(_ request: inout HTTPClientRequest) throws(CredentialError) {
        let current = try self.current()
        if let tls = current.tls { request.tlsConfiguration = tls }
        if let authorization = current.authorization {
            request.headers.replaceOrAdd(name: "Authorization", value: authorization)
        }
    }

    /// The TLS configuration in force; nil without a `tls_config` (the system's roots).
    public func tlsConfiguration() throws(CredentialError) -> TLSConfiguration? { try current().tls }

    /// The `Authorization` header's value; nil without credentials.
    public func authorizationHeader() throws(CredentialError) -> String? { try current().authorization }

    private func current() throws(CredentialError) -> Loaded {
        let stamps = files.map(FileStamp.of)
        let result: Result<Loaded, CredentialError> = loaded.withLock { loaded in
            if let cached = loaded, cached.stamps == stamps { return .success(cached) }
            let result = Result { () throws(CredentialError) -> Loaded in try self.load(stamps: stamps) }
            if case .success(let fresh) = result { loaded = fresh }
            return result
        }
        return try result.get()
    }

    private func load(stamps: [FileStamp?]) throws(CredentialError) -> Loaded {
        var tls: TLSConfiguration?
        if let settings = settings.tls {
            tls = try TLSMaterial(owner: owner).clientConfiguration(settings)
        }
        var authorization: String?
        switch settings.authorization {
        case .basic(let username, let password):
            let secret = try password.map { source throws(CredentialError) in
                try TLSMaterial(owner: owner).secret(source, attribute: "password")
            }
            let pair = "\(username):\(secret ?? "")"
            authorization = "Basic \(Data(pair.utf8).base64EncodedString())"
        case .credentials(let type, let source):
            let secret = try TLSMaterial(owner: owner).secret(source, attribute: "credentials")
            authorization = "\(type) \(secret)"
        case nil:
            break
        }
        return Loaded(stamps: stamps, tls: tls, authorization: authorization)
    }
}
