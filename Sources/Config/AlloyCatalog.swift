/// What Grafana Alloy has that agentd does not (yet), so errors can say so instead of
/// calling a valid Alloy configuration misspelt.
enum AlloyCatalog {
    /// Components agentd evaluates.
    static let supportedComponents = [
        "discovery.dns", "discovery.docker", "discovery.file", "discovery.http", "discovery.relabel",
        "prometheus.relabel", "prometheus.remote_write", "prometheus.scrape",
    ]

    /// Alloy components by name (not exhaustive for the families listed in `families`).
    static let components: Set<String> = [
        "discovery.azure", "discovery.consul", "discovery.consulagent", "discovery.digitalocean", "discovery.dns",
        "discovery.docker", "discovery.dockerswarm", "discovery.ec2", "discovery.eureka", "discovery.gce",
        "discovery.hetzner", "discovery.http", "discovery.ionos", "discovery.kubelet", "discovery.kubernetes",
        "discovery.kuma", "discovery.lightsail", "discovery.linode", "discovery.marathon", "discovery.nerve",
        "discovery.nomad", "discovery.openstack", "discovery.ovhcloud", "discovery.process", "discovery.puppetdb",
        "discovery.scaleway", "discovery.serverset", "discovery.triton", "discovery.uyuni",
        "prometheus.receive_http", "prometheus.relabel", "prometheus.write.queue", "prometheus.echo",
        "prometheus.operator.podmonitors", "prometheus.operator.probes", "prometheus.operator.servicemonitors",
        "prometheus.operator.scrapeconfigs", "local.file", "local.file_match", "remote.http", "remote.s3",
        "remote.vault", "remote.kubernetes.configmap", "remote.kubernetes.secret", "mimir.rules.kubernetes",
        "faro.receiver", "beyla.ebpf", "import.file", "import.git", "import.http", "import.string", "declare",
        "argument", "export", "foreach", "livedebugging", "remotecfg", "tracing", "http",
    ]

    /// Name prefixes of large Alloy component families.
    static let families = ["prometheus.exporter.", "otelcol.", "loki.", "pyroscope.", "database_observability."]

    static func isAlloyComponent(_ name: String) -> Bool {
        components.contains(name) || families.contains { name.hasPrefix($0) }
    }
}

/// The attributes and blocks a block accepts, and those Alloy accepts there that agentd
/// does not handle yet.
struct BlockSchema: Sendable {
    var attributes: Set<String>
    var blocks: Set<String> = []
    var required: [String] = []
    var alloyOnlyAttributes: Set<String> = []
    var alloyOnlyBlocks: Set<String> = []
}
