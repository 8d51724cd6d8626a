import HTTPSecurity

/// The top-level `http` block: how the agent's own HTTP server (UI, API, gossip) serves. Of
/// Alloy's inner blocks, `tls` (certificate, key, client certificates, minimum version); `auth`
/// and Windows' certificate store are refused by name.
enum HTTPServerBlock {
    static let schema = BlockSchema(attributes: [], blocks: ["tls"], alloyOnlyBlocks: ["auth"])
    static let tlsSchema = BlockSchema(
        attributes: [
            "cert_file", "cert_pem", "key_file", "key_pem", "client_ca_file", "client_ca", "client_auth_type",
            "min_version",
        ],
        alloyOnlyAttributes: ["cipher_suites", "curve_preferences", "max_version"],
        alloyOnlyBlocks: ["windows_certificate_filter"])

    /// The server's TLS, or nil when the block has no `tls`.
    static func decode(_ decoder: BlockDecoder) throws(Diagnostic) -> ServerTLSSettings? {
        guard let block = try decoder.optionalBlock("tls") else { return nil }
        let tls = try BlockDecoder(block, title: "http tls", schema: tlsSchema, evaluator: decoder.evaluator)
        guard let certificate = try HTTPClientBlocks.pem(tls, file: "cert_file", inline: "cert_pem"),
            let key = try HTTPClientBlocks.pem(tls, file: "key_file", inline: "key_pem")
        else {
            throw tls.error(
                "the http tls block needs a certificate (cert_file or cert_pem) and its key (key_file or key_pem)",
                at: block.position)
        }
        var settings = ServerTLSSettings(certificate: certificate, key: key)
        settings.clientCertificateAuthority = try HTTPClientBlocks.pem(tls, file: "client_ca_file", inline: "client_ca")
        if let (value, position) = try tls.value("client_auth_type") {
            let known = ServerTLSSettings.ClientAuthentication.allCases.map { "\"\($0.rawValue)\"" }
            guard case .string(let text) = value, let type = ServerTLSSettings.ClientAuthentication(rawValue: text)
            else {
                throw tls.error(
                    "attribute \"client_auth_type\" of http tls must be one of \(known.joined(separator: ", ")) (agentd does not accept client certificates it cannot verify)",
                    at: position)
            }
            settings.clientAuthentication = type
        }
        if settings.clientAuthentication != .none, settings.clientCertificateAuthority == nil {
            throw tls.error(
                "client_auth_type \"\(settings.clientAuthentication.rawValue)\" needs client_ca_file or client_ca to verify against",
                at: block.position)
        }
        settings.minimumVersion = try HTTPClientBlocks.minimumVersion(tls) ?? settings.minimumVersion
        return settings
    }
}
