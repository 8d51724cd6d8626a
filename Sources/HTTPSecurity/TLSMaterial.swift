import NIOSSL

/// Turns PEM sources into NIOSSL's certificates and keys, with errors that name the attribute,
/// the file and the owner.
struct TLSMaterial {
    var owner: String

    func error(_ message: String) -> CredentialError { CredentialError(owner: owner, message: message) }

    /// The bytes of a source; `attribute` names it in errors (`ca_file`).
    func bytes(_ source: PEMSource, attribute: String) throws(CredentialError) -> [UInt8] {
        switch source {
        case .inline(let secret):
            return Array(secret.revealed.utf8)
        case .file(let path):
            switch FileReader.read(path) {
            case .success(let bytes): return bytes
            case .failure(let failure):
                throw error("could not read \(attribute) \(path): \(failure.reason)")
            }
        }
    }

    /// A password or token, trailing newline trimmed as Prometheus does for `*_file` secrets.
    func secret(_ source: SecretSource, attribute: String) throws(CredentialError) -> String {
        switch source {
        case .inline(let secret):
            return secret.revealed
        case .file(let path):
            switch FileReader.read(path) {
            case .success(let bytes):
                var text = String(decoding: bytes, as: UTF8.self)
                while text.last == "\n" || text.last == "\r" { text.removeLast() }
                return text
            case .failure(let failure):
                throw error("could not read \(attribute)_file \(path): \(failure.reason)")
            }
        }
    }

    func certificates(_ source: PEMSource, attribute: String) throws(CredentialError) -> [NIOSSLCertificate] {
        let bytes = try self.bytes(source, attribute: attribute)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw self.error("\(attribute) (\(source)) is not PEM certificates: \(error)")
        }
        guard !certificates.isEmpty else { throw self.error("\(attribute) (\(source)) holds no certificate") }
        return certificates
    }

    func privateKey(_ source: PEMSource, attribute: String) throws(CredentialError) -> NIOSSLPrivateKey {
        let bytes = try self.bytes(source, attribute: attribute)
        do {
            return try NIOSSLPrivateKey(bytes: bytes, format: .pem)
        } catch {
            // The key's bytes never reach the message.
            throw self.error("\(attribute) (\(source)) is not a PEM private key")
        }
    }

    /// A client configuration: trust `ca`, present `cert`/`key`, from `min_version` up.
    func clientConfiguration(_ settings: TLSSettings) throws(CredentialError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = settings.minimumVersion.nio
        if let authority = settings.certificateAuthority {
            configuration.trustRoots = .certificates(
                try certificates(authority, attribute: authority.attribute(file: "ca_file", pem: "ca_pem")))
        }
        switch (settings.certificate, settings.key) {
        case (let certificate?, let key?):
            configuration.certificateChain = try certificates(
                certificate, attribute: certificate.attribute(file: "cert_file", pem: "cert_pem")
            ).map { .certificate($0) }
            configuration.privateKey = .privateKey(
                try privateKey(key, attribute: key.attribute(file: "key_file", pem: "key_pem")))
        case (nil, nil):
            break
        default:
            throw error("a client certificate needs both cert_file (or cert_pem) and key_file (or key_pem)")
        }
        if settings.insecureSkipVerify { configuration.certificateVerification = .none }
        return configuration
    }
}

extension PEMSource {
    func attribute(file: String, pem: String) -> String {
        switch self {
        case .file: file
        case .inline: pem
        }
    }
}

extension TLSProtocolVersion {
    var nio: TLSVersion {
        switch self {
        case .tls10: .tlsv1
        case .tls11: .tlsv11
        case .tls12: .tlsv12
        case .tls13: .tlsv13
        }
    }
}
