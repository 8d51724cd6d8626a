extension DockerDiscovery {
    static let prefix = "__meta_docker_"
    public static let containerIDLabel = prefix + "container_id"
    public static let containerNameLabel = prefix + "container_name"
    public static let containerNetworkModeLabel = prefix + "container_network_mode"
    public static let containerLabelPrefix = prefix + "container_label_"
    public static let networkIPLabel = prefix + "network_ip"
    public static let networkIDLabel = prefix + "network_id"
    public static let networkNameLabel = prefix + "network_name"
    public static let networkScopeLabel = prefix + "network_scope"
    public static let networkInternalLabel = prefix + "network_internal"
    public static let networkIngressLabel = prefix + "network_ingress"
    public static let networkLabelPrefix = prefix + "network_label_"
    public static let portPrivateLabel = prefix + "port_private"
    public static let portPublicLabel = prefix + "port_public"
    public static let portPublicIPLabel = prefix + "port_public_ip"

    /// The targets of a container list and the engine's networks, as Prometheus's `docker`
    /// discovery (`discovery/moby/docker.go`) makes them:
    ///
    /// - A container without a name gives nothing. One without networks whose network mode is
    ///   `container:ID` uses the networks of that container (following such links).
    /// - With `matchFirstNetwork` and several networks, only the first by name counts.
    /// - Each network gives one target per TCP port (`IP:private port`, with the public port and
    ///   IP when published), or, with no TCP port, one target at `IP:port` (the configured port)
    ///   — or at `hostNetworkingHost` alone for a container in `host` network mode.
    ///
    /// Every target carries the container's labels (`__meta_docker_container_*`) and those of
    /// its network (`__meta_docker_network_*`, when the engine lists it).
    public func targets(containers: [DockerContainer], networks: [DockerNetwork]) -> [[String: String]] {
        var networkLabels: [String: [String: String]] = [:]
        for network in networks {
            var labels = [
                Self.networkIDLabel: network.id, Self.networkNameLabel: network.name,
                Self.networkScopeLabel: network.scope, Self.networkInternalLabel: String(network.isInternal),
                Self.networkIngressLabel: String(network.isIngress),
            ]
            for (name, value) in network.labels { labels[Self.networkLabelPrefix + Self.sanitized(name)] = value }
            networkLabels[network.id] = labels
        }
        let byID = Dictionary(containers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

        var targets: [[String: String]] = []
        for container in containers {
            guard let name = container.names.first else { continue }
            var common = [
                Self.containerIDLabel: container.id, Self.containerNameLabel: name,
                Self.containerNetworkModeLabel: container.networkMode,
            ]
            for (label, value) in container.labels { common[Self.containerLabelPrefix + Self.sanitized(label)] = value }

            var attached = container.networks.compactMapValues { $0 }
            var mode = container.networkMode
            var followed: Set<String> = [container.id]
            while attached.isEmpty, mode.hasPrefix("container:") {
                let linked = String(mode.dropFirst("container:".count))
                guard let other = byID[linked], followed.insert(linked).inserted else { break }
                attached = other.networks.compactMapValues { $0 }
                mode = other.networkMode
            }
            var names = attached.keys.sorted()
            if matchFirstNetwork, let first = names.first { names = [first] }

            for networkName in names {
                guard let network = attached[networkName] else { continue }
                var base = common
                base[Self.networkIPLabel] = network.ipAddress
                base.merge(networkLabels[network.networkID] ?? [:]) { _, network in network }
                let ports = container.ports.filter { $0.type == "tcp" }
                for port in ports {
                    var labels = base
                    labels[Self.portPrivateLabel] = String(port.privatePort)
                    if port.publicPort > 0 {
                        labels[Self.portPublicLabel] = String(port.publicPort)
                        labels[Self.portPublicIPLabel] = port.ip
                    }
                    labels["__address__"] = Self.joinHostPort(network.ipAddress, port.privatePort)
                    targets.append(labels)
                }
                if ports.isEmpty {
                    // Containers in host network mode list no ports: they only come here.
                    var labels = base
                    labels["__address__"] =
                        container.networkMode == "host"
                        ? hostNetworkingHost : Self.joinHostPort(network.ipAddress, port)
                    targets.append(labels)
                }
            }
        }
        return targets
    }

    /// A label name from a Docker label's: every character but `[a-zA-Z0-9_]` becomes `_`
    /// (Prometheus's `strutil.SanitizeLabelName`).
    static func sanitized(_ name: String) -> String {
        String(
            name.unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", "_": Character(scalar)
                default: "_"
                }
            })
    }

    /// `host:port`, with brackets around an IPv6 address.
    static func joinHostPort(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
