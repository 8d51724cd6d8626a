import HTTPSecurity

/// `--cluster.enable-tls` and its paths, as the two sides of a connection between members use
/// them: the server presents the member's certificate and verifies a client certificate against
/// the CA when one is offered (the UI and the API stay open to a browser without one; gossip
/// insists on it); the client presents the same certificate and trusts only the CA.
struct ClusterTLS: Sendable {
    let server: ServerTLSSettings
    let client: HTTPClientSettings

    /// nil when TLS is off; an error naming the missing flag when it is on but incomplete.
    init?(_ options: AgentOptions.ClusterOptions) throws {
        guard options.enableTLS else { return nil }
        func required(_ value: String?, _ flag: String) throws -> String {
            guard let value, !value.isEmpty else { throw AgentError("--cluster.enable-tls needs \(flag)") }
            return value
        }
        let authority = PEMSource.file(try required(options.tlsCAPath, "--cluster.tls-ca-path"))
        let certificate = PEMSource.file(try required(options.tlsCertPath, "--cluster.tls-cert-path"))
        let key = PEMSource.file(try required(options.tlsKeyPath, "--cluster.tls-key-path"))
        server = ServerTLSSettings(
            certificate: certificate, key: key, clientCertificateAuthority: authority,
            clientAuthentication: .verifyIfGiven)
        client = HTTPClientSettings(
            tls: TLSSettings(
                certificateAuthority: authority, certificate: certificate, key: key,
                serverName: options.tlsServerName.flatMap { $0.isEmpty ? nil : $0 }),
            // Gossip goes to the member named, never elsewhere.
            followRedirects: false)
    }
}
