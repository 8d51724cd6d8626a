import HTTPSecurity

/// The HTTP client attributes and blocks Alloy shares between `prometheus.scrape` and a
/// remote-write `endpoint`: `tls_config`, `basic_auth`, `authorization`, `bearer_token`,
/// `bearer_token_file`, `follow_redirects`, `enable_http2`, `proxy_url`. `oauth2` stays refused:
/// no OAuth 2.0 server runs here to prove it against.
enum HTTPClientBlocks {
    static let attributes: Set<String> = [
        "bearer_token", "bearer_token_file", "follow_redirects", "enable_http2", "proxy_url",
    ]
    static let blocks: Set<String> = ["tls_config", "basic_auth", "authorization"]
    /// Alloy's client attributes agentd refuses with a message saying so.
    static let alloyOnlyAttributes: Set<String> = [
        "no_proxy", "proxy_from_environment", "proxy_connect_header",
    ]
    static let alloyOnlyBlocks: Set<String> = ["oauth2"]

    static let tlsSchema = BlockSchema(
        attributes: [
            "ca_file", "ca_pem", "cert_file", "cert_pem", "key_file", "key_pem", "server_name",
            "insecure_skip_verify", "min_version",
        ])
    static let basicAuthSchema = BlockSchema(
        attributes: ["username", "password", "password_file"], required: ["username"])
    static let authorizationSchema = BlockSchema(attributes: ["type", "credentials", "credentials_file"])

    /// Decodes the client settings of the block `decoder` reads.
    static func decode(_ decoder: BlockDecoder) throws(Diagnostic) -> HTTPClientSettings {
        var settings = HTTPClientSettings()
        let evaluator = decoder.evaluator
        settings.followRedirects = try decoder.bool("follow_redirects", default: true)
        settings.enableHTTP2 = try decoder.bool("enable_http2", default: true)
        if let (value, position) = try decoder.value("proxy_url") {
            guard case .string(let url) = value, HTTPClientPool.Proxy(url: url) != nil else {
                throw decoder.error(
                    "attribute \"proxy_url\" of \(decoder.title) must be an http:// URL with a host", at: position)
            }
            settings.proxyURL = url
        }

        var chosen: [(name: String, position: SourcePosition)] = []
        if let (token, position) = try secretOrFile(decoder, inline: "bearer_token", file: "bearer_token_file") {
            settings.authorization = .credentials(type: "Bearer", credentials: token)
            chosen.append(("bearer_token", position))
        }
        if let block = try decoder.optionalBlock("basic_auth") {
            let auth = try BlockDecoder(block, title: "basic_auth", schema: basicAuthSchema, evaluator: evaluator)
            let password = try secretOrFile(auth, inline: "password", file: "password_file")
            settings.authorization = .basic(username: try auth.string("username", default: ""), password: password?.0)
            chosen.append(("basic_auth", block.position))
        }
        if let block = try decoder.optionalBlock("authorization") {
            let auth = try BlockDecoder(
                block, title: "authorization", schema: authorizationSchema, evaluator: evaluator)
            let type = try auth.string("type", default: "Bearer")
            if type.lowercased() == "basic" {
                throw auth.error(
                    "authorization type \"Basic\" is not allowed in authorization; use basic_auth", at: block.position)
            }
            guard let (credentials, _) = try secretOrFile(auth, inline: "credentials", file: "credentials_file") else {
                throw auth.error(
                    "authorization in \(decoder.title) needs credentials or credentials_file", at: block.position)
            }
            settings.authorization = .credentials(type: type, credentials: credentials)
            chosen.append(("authorization", block.position))
        }
        if chosen.count > 1 {
            let names = chosen.map(\.name).joined(separator: ", ")
            throw decoder.error(
                "at most one of basic_auth, authorization and bearer_token(_file) may be set in \(decoder.title), found \(names)",
                at: chosen[1].position)
        }

        if let block = try decoder.optionalBlock("tls_config") {
            settings.tls = try tls(BlockDecoder(block, title: "tls_config", schema: tlsSchema, evaluator: evaluator))
        }
        return settings
    }

    private static func tls(_ decoder: BlockDecoder) throws(Diagnostic) -> TLSSettings {
        var tls = TLSSettings()
        tls.certificateAuthority = try pem(decoder, file: "ca_file", inline: "ca_pem")
        tls.certificate = try pem(decoder, file: "cert_file", inline: "cert_pem")
        tls.key = try pem(decoder, file: "key_file", inline: "key_pem")
        if (tls.certificate == nil) != (tls.key == nil) {
            throw decoder.error(
                "tls_config needs both a certificate (cert_file or cert_pem) and its key (key_file or key_pem), or neither",
                at: decoder.block.position)
        }
        tls.serverName = try decoder.optionalString("server_name")
        tls.insecureSkipVerify = try decoder.bool("insecure_skip_verify", default: false)
        tls.minimumVersion = try minimumVersion(decoder) ?? tls.minimumVersion
        return tls
    }

    /// `min_version`: `"TLS10"` to `"TLS13"`.
    static func minimumVersion(_ decoder: BlockDecoder) throws(Diagnostic) -> TLSProtocolVersion? {
        guard let (value, position) = try decoder.value("min_version") else { return nil }
        guard case .string(let text) = value, let version = TLSProtocolVersion(rawValue: text) else {
            let known = TLSProtocolVersion.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw decoder.error("attribute \"min_version\" of \(decoder.title) must be one of \(known)", at: position)
        }
        return version
    }

    /// `inline` or `file`, not both.
    private static func secretOrFile(_ decoder: BlockDecoder, inline: String, file: String) throws(Diagnostic)
        -> (SecretSource, SourcePosition)?
    {
        let secret = try decoder.value(inline)
        let path = try decoder.value(file)
        switch (secret, path) {
        case (nil, nil):
            return nil
        case (let (value, position)?, nil):
            guard case .string(let text) = value else {
                throw decoder.error(
                    "attribute \"\(inline)\" of \(decoder.title) must be a string, not a \(value.typeName)",
                    at: position)
            }
            return (.inline(Secret(text)), position)
        case (nil, let (value, position)?):
            guard case .string(let text) = value, !text.isEmpty else {
                throw decoder.error("attribute \"\(file)\" of \(decoder.title) must be a file path", at: position)
            }
            return (.file(text), position)
        case (_?, let (_, position)?):
            throw decoder.error("at most one of \(inline) and \(file) may be set in \(decoder.title)", at: position)
        }
    }

    /// PEM from the attribute `file` (a path) or `inline` (the text, a secret), not both.
    static func pem(_ decoder: BlockDecoder, file: String, inline: String) throws(Diagnostic) -> PEMSource? {
        let text = try decoder.value(inline)
        let path = try decoder.optionalString(file)
        switch (text, path) {
        case (nil, nil):
            return nil
        case (nil, let path?):
            return .file(path)
        case (let (value, position)?, nil):
            guard case .string(let pem) = value else {
                throw decoder.error("attribute \"\(inline)\" of \(decoder.title) must be a string", at: position)
            }
            return .inline(Secret(pem))
        case (let (_, position)?, _?):
            throw decoder.error("at most one of \(file) and \(inline) may be set in \(decoder.title)", at: position)
        }
    }
}
