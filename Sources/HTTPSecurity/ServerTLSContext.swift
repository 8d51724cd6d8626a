import NIOSSL
import Synchronization

/// The `NIOSSLContext` a TLS server hands each new connection: made from ``ServerTLSSettings``,
/// and made again when one of its files changes, so a renewed certificate serves the next
/// connection without a restart. A change that does not load (a half-written key) keeps the
/// last good context and is reported once per change through `onReloadFailure`.
public final class ServerTLSContext: Sendable {
    public let settings: ServerTLSSettings
    private let owner: String
    private let files: [String]
    private let onReloadFailure: @Sendable (CredentialError) -> Void

    private struct Loaded {
        var stamps: [FileStamp?]
        var context: NIOSSLContext
    }
    private let loaded: Mutex<Loaded>

    /// Loads the files now: a server that cannot present its certificate does not start.
    public init(
        settings: ServerTLSSettings, owner: String,
        onReloadFailure: @escaping @Sendable (CredentialError) -> Void = { _ in }
    ) throws(CredentialError) {
        self.settings = settings
        self.owner = owner
        self.onReloadFailure = onReloadFailure
        var files: [String] = []
        for source in [settings.certificate, settings.key, settings.clientCertificateAuthority] {
            if case .file(let path)? = source { files.append(path) }
        }
        self.files = files
        let stamps = files.map(FileStamp.of)
        loaded = Mutex(Loaded(stamps: stamps, context: try Self.load(settings, owner: owner)))
    }

    /// The context for a new connection.
    public func current() -> NIOSSLContext {
        let stamps = files.map(FileStamp.of)
        var failure: CredentialError?
        let context = loaded.withLock { loaded in
            guard loaded.stamps != stamps else { return loaded.context }
            // Tried once per change: a broken file is not read again on every connection.
            loaded.stamps = stamps
            switch Result(catching: { () throws(CredentialError) in try Self.load(settings, owner: owner) }) {
            case .success(let context): loaded.context = context
            case .failure(let error): failure = error
            }
            return loaded.context
        }
        if let failure { onReloadFailure(failure) }
        return context
    }

    private static func load(_ settings: ServerTLSSettings, owner: String) throws(CredentialError) -> NIOSSLContext {
        let material = TLSMaterial(owner: owner)
        let chain = try material.certificates(
            settings.certificate, attribute: settings.certificate.attribute(file: "cert_file", pem: "cert_pem"))
        let key = try material.privateKey(
            settings.key, attribute: settings.key.attribute(file: "key_file", pem: "key_pem"))
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = settings.minimumVersion.nio
        if let authority = settings.clientCertificateAuthority {
            configuration.trustRoots = .certificates(
                try material.certificates(
                    authority, attribute: authority.attribute(file: "client_ca_file", pem: "client_ca")))
        }
        switch settings.clientAuthentication {
        case .none: configuration.certificateVerification = .none
        case .verifyIfGiven: configuration.certificateVerification = .optionalVerification
        case .requireAndVerify: configuration.certificateVerification = .noHostnameVerification
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw material.error("the certificate and key do not make a TLS context: \(error)")
        }
    }
}
