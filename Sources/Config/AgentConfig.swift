import Glibc
import HTTPSecurity

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An evaluated agentd configuration in the Alloy syntax: the components it declares, typed,
/// with their references resolved.
public struct AgentConfig: Sendable {
    public var scrapes: [ScrapeComponent] = []
    public var remoteWrites: [RemoteWriteComponent] = []
    public var relabels: [RelabelComponent] = []
    public var prometheusRelabels: [PrometheusRelabelComponent] = []
    public var files: [DiscoveryFileComponent] = []
    public var dnsDiscoveries: [DiscoveryDNSComponent] = []
    public var httpDiscoveries: [DiscoveryHTTPComponent] = []
    public var dockerDiscoveries: [DiscoveryDockerComponent] = []
    public var logging = LoggingOptions()
    /// The top-level `http { tls { … } }` block: TLS for the agent's own server; nil serves plain HTTP.
    public var serverTLS: ServerTLSSettings?
    /// The components in the order they were evaluated: every component after those it uses.
    public var evaluationOrder: [ComponentID] = []
    /// Every component's evaluated arguments and references, for the web UI.
    public var declarations: [ComponentID: ComponentDeclaration] = [:]

    /// The top-level `logging` block.
    public struct LoggingOptions: Sendable, Hashable {
        public var level = "info"
        public var format = "logfmt"

        public init() {}
    }

    public init() {}

    /// Reads and evaluates the file at `path`; errors (a `ConfigFileError` or a `Diagnostic`)
    /// name the path as given.
    public static func load(path: String, context: EvaluationContext = .current()) throws -> AgentConfig {
        try parse(source: try ConfigFileError.read(path), filename: path, context: context)
    }

    /// Parses and evaluates `source`; `filename` is used in error messages.
    public static func parse(
        source: String, filename: String = "config.alloy", context: EvaluationContext = .current()
    ) throws(Diagnostic) -> AgentConfig {
        let file = try Parser.parse(source: source, filename: filename)
        var graph = ComponentGraph(filename: filename)
        var config = AgentConfig()
        var evaluator = Evaluator(filename: filename, context: context)
        var sawHTTP = false
        for statement in file.body {
            switch statement {
            case .attribute(let attribute):
                throw evaluator.error(
                    "unexpected attribute \"\(attribute.name)\" at the top level; expected a component block",
                    at: attribute.position)
            case .block(let block) where block.name == "logging":
                let decoder = try BlockDecoder(
                    block, title: "logging", schema: BlockSchema(attributes: ["level", "format"]), evaluator: evaluator)
                config.logging.level = try decoder.string("level", default: config.logging.level)
                config.logging.format = try decoder.string("format", default: config.logging.format)
            case .block(let block) where block.name == "http":
                if config.serverTLS != nil || sawHTTP {
                    throw evaluator.error("block \"http\" may appear only once", at: block.position)
                }
                sawHTTP = true
                let decoder = try BlockDecoder(
                    block, title: "http", schema: HTTPServerBlock.schema, evaluator: evaluator)
                config.serverTLS = try HTTPServerBlock.decode(decoder)
            case .block(let block):
                try graph.add(block)
            }
        }

        for (id, block) in try graph.sorted() {
            let title = "\(id.name) \"\(id.label)\""
            switch id.name {
            case "prometheus.scrape":
                let decoder = try BlockDecoder(
                    block, title: title, schema: ScrapeComponent.schema, evaluator: evaluator)
                config.scrapes.append(try ScrapeComponent(id: id, decoder: decoder))
            case "prometheus.remote_write":
                let decoder = try BlockDecoder(
                    block, title: title, schema: RemoteWriteComponent.schema, evaluator: evaluator)
                config.remoteWrites.append(try RemoteWriteComponent(id: id, decoder: decoder))
                evaluator.define(id.path, .object(["receiver": .capsule(.receiver(id))]))
            case "discovery.relabel":
                let decoder = try BlockDecoder(
                    block, title: title, schema: RelabelComponent.schema, evaluator: evaluator)
                let component = try RelabelComponent(id: id, decoder: decoder)
                config.relabels.append(component)
                evaluator.define(id.path, .object(["output": Self.value(of: component.output)]))
            case "prometheus.relabel":
                let decoder = try BlockDecoder(
                    block, title: title, schema: PrometheusRelabelComponent.schema, evaluator: evaluator)
                config.prometheusRelabels.append(try PrometheusRelabelComponent(id: id, decoder: decoder))
                evaluator.define(id.path, .object(["receiver": .capsule(.receiver(id))]))
            case "discovery.file":
                let decoder = try BlockDecoder(
                    block, title: title, schema: DiscoveryFileComponent.schema, evaluator: evaluator)
                config.files.append(try DiscoveryFileComponent(id: id, decoder: decoder))
                evaluator.define(id.path, .object(["targets": .capsule(.targets(.file(id)))]))
            case "discovery.dns":
                let decoder = try BlockDecoder(
                    block, title: title, schema: DiscoveryDNSComponent.schema, evaluator: evaluator)
                config.dnsDiscoveries.append(try DiscoveryDNSComponent(id: id, decoder: decoder))
                evaluator.define(id.path, .object(["targets": .capsule(.targets(.discovered(id)))]))
            case "discovery.http":
                let decoder = try BlockDecoder(
                    block, title: title, schema: DiscoveryHTTPComponent.schema, evaluator: evaluator)
                config.httpDiscoveries.append(try DiscoveryHTTPComponent(id: id, decoder: decoder))
                evaluator.define(id.path, .object(["targets": .capsule(.targets(.discovered(id)))]))
            case "discovery.docker":
                let decoder = try BlockDecoder(
                    block, title: title, schema: DiscoveryDockerComponent.schema, evaluator: evaluator)
                config.dockerDiscoveries.append(try DiscoveryDockerComponent(id: id, decoder: decoder))
                evaluator.define(id.path, .object(["targets": .capsule(.targets(.discovered(id)))]))
            default:
                preconditionFailure("ComponentGraph admitted unsupported component \(id.name)")
            }
            config.declarations[id] = ComponentDeclaration(
                id: id, block: block, evaluator: evaluator, declared: Set(config.evaluationOrder))
            config.evaluationOrder.append(id)
        }
        return config
    }

    /// Static targets become an ordinary list value (so expressions can use them); dynamic
    /// ones stay opaque.
    private static func value(of source: TargetsSource) -> Value {
        guard case .static(let targets) = source else { return .capsule(.targets(source)) }
        return .array(targets.map { .object($0.mapValues(Value.string)) })
    }

    /// The scrape component with this label, if any.
    public func scrape(_ label: String) -> ScrapeComponent? {
        scrapes.first { $0.id.label == label }
    }

    /// The remote-write component with this ID, if any.
    public func remoteWrite(_ id: ComponentID) -> RemoteWriteComponent? {
        remoteWrites.first { $0.id == id }
    }
}

/// A configuration file that could not be read at all, and why.
public struct ConfigFileError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String

    public var description: String { "\(path): cannot read the configuration file: \(reason)" }

    /// The text of the file at `path`.
    public static func read(_ path: String) throws(ConfigFileError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ConfigFileError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        if fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
            throw ConfigFileError(path: path, reason: "it is a directory")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw ConfigFileError(path: path, reason: String(cString: strerror(errno))) }
            if count == 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(contentsOf: chunk[..<count])
        }
    }
}
