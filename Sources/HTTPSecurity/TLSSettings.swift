/// A `tls_config` block of a client (scrape, remote write) or the cluster's TLS flags: whom to
/// trust, what to present, what name to expect. Alloy's attribute names and defaults.
public struct TLSSettings: Sendable, Hashable {
    /// `ca_file` / `ca_pem`: the roots that sign the server's certificate; the system's roots when nil.
    public var certificateAuthority: PEMSource?
    /// `cert_file` / `cert_pem`: the client certificate (chain) presented for mutual TLS.
    public var certificate: PEMSource?
    /// `key_file` / `key_pem`: the client certificate's private key.
    public var key: PEMSource?
    /// `server_name`: the name sent in SNI and verified in the server's certificate, instead of the
    /// host of the URL.
    public var serverName: String?
    /// `insecure_skip_verify`: accept any server certificate.
    public var insecureSkipVerify = false
    /// `min_version`: the oldest protocol version offered; TLS 1.2 by default, as in Alloy.
    public var minimumVersion: TLSProtocolVersion = .tls12

    public init(
        certificateAuthority: PEMSource? = nil, certificate: PEMSource? = nil, key: PEMSource? = nil,
        serverName: String? = nil, insecureSkipVerify: Bool = false, minimumVersion: TLSProtocolVersion = .tls12
    ) {
        self.certificateAuthority = certificateAuthority
        self.certificate = certificate
        self.key = key
        self.serverName = serverName
        self.insecureSkipVerify = insecureSkipVerify
        self.minimumVersion = minimumVersion
    }
}

/// A protocol version as the configuration names it (`"TLS12"`).
public enum TLSProtocolVersion: String, Sendable, Hashable, CaseIterable {
    case tls10 = "TLS10"
    case tls11 = "TLS11"
    case tls12 = "TLS12"
    case tls13 = "TLS13"
}
