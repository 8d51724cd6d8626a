/// TLS for a server: the certificate it presents and how it treats clients' certificates. Alloy's
/// `http { tls { … } }` names, which the cluster flags fill in too.
public struct ServerTLSSettings: Sendable, Hashable {
    /// `cert_file` / `cert_pem`.
    public var certificate: PEMSource
    /// `key_file` / `key_pem`.
    public var key: PEMSource
    /// `client_ca_file` / `client_ca`: the roots client certificates must chain to.
    public var clientCertificateAuthority: PEMSource?
    /// `client_auth_type`.
    public var clientAuthentication: ClientAuthentication
    /// `min_version`.
    public var minimumVersion: TLSProtocolVersion

    public init(
        certificate: PEMSource, key: PEMSource, clientCertificateAuthority: PEMSource? = nil,
        clientAuthentication: ClientAuthentication = .none, minimumVersion: TLSProtocolVersion = .tls12
    ) {
        self.certificate = certificate
        self.key = key
        self.clientCertificateAuthority = clientCertificateAuthority
        self.clientAuthentication = clientAuthentication
        self.minimumVersion = minimumVersion
    }

    /// What a client must present, as Go's `crypto/tls` (and so Alloy) names it. Go's
    /// `RequestClientCert` and `RequireAnyClientCert` accept certificates nobody verifies; agentd
    /// does not offer them.
    public enum ClientAuthentication: String, Sendable, Hashable, CaseIterable {
        case none = "NoClientCert"
        /// A certificate is optional; one that is presented must chain to the client CA.
        case verifyIfGiven = "VerifyClientCertIfGiven"
        /// Mutual TLS: every client presents a certificate that chains to the client CA.
        case requireAndVerify = "RequireAndVerifyClientCert"
    }
}
