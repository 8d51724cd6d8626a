import Agent
import ArgumentParser
import Config
import Events
import Foundation
import HTTPSecurity
import Projections
import RemoteWrite
import Scrape

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a window of the WAL: print it, or send it to a remote-write URL.")

    @Option(help: "Start of the window: a duration back from now (2h) or an RFC 3339 time.")
    var since: String

    @Option(help: "End of the window (default: now).")
    var until: String?

    @Option(help: "Only series matching this selector, e.g. '{job=\"node\"}' (repeatable).")
    var match: [String] = []

    @Option(
        help: """
            Only samples whose forward_to path reaches this prometheus.remote_write component (its label, \
            e.g. a, or prometheus.remote_write.a); samples written before routes were recorded count as \
            reaching every one. Without --endpoint, replay shows samples as the WAL holds them: as the graph \
            delivered them (after prometheus.relabel), before any endpoint's write_relabel_config.
            """)
    var receiver: String?

    @Option(
        help: """
            With --config: show the samples as this remote-write endpoint (its name or URL) is sent them: \
            those its component's forward_to paths carry, after its write_relabel_config (--match still \
            selects by the labels the WAL holds).
            """)
    var endpoint: String?

    @Option(
        help: """
            Send the window to this Prometheus remote-write URL instead of printing it; with --config, \
            an endpoint's name or URL, which is sent what its forward_to paths route to it (unless --receiver), \
            after its write_relabel_config.
            """)
    var to: String?

    @Option(
        help: """
            With --to: the agent's configuration file; the endpoint named by --to (its name or URL) \
            brings its tls_config, credentials and headers.
            """)
    var config: String?

    @Option(help: "json (one object per sample) or text (Prometheus text, with timestamps).")
    var format: String = "text"

    @Option(name: .customLong("storage.path"), help: "The agent's storage path.")
    var storagePath = "data-agentd"

    func run() async throws {
        do {
            var window = ReplayWindow(
                since: try parseTimeArgument(since, parameter: "--since"),
                until: try until.map { try parseTimeArgument($0, parameter: "--until") },
                selectors: try match.map { try SeriesSelector($0) },
                receiver: receiver.map { $0.hasPrefix("prometheus.remote_write.") ? String($0.dropFirst(24)) : $0 })
            let paths = StoragePaths(storagePath)
            let store = try? paths.catchUpIndex()
            if let endpoint {
                guard to == nil else { throw AgentError("--endpoint shows what an endpoint is sent; --to sends it") }
                guard config != nil else { throw AgentError("--endpoint needs --config, the agent's configuration") }
                let configured = try replayEndpoint(endpoint)
                if window.receiver == nil { window.receiver = configured.component }
                window.relabel = writeRelabelling(configured.writeRelabelRules)
            }
            if let to {
                let configured = try replayEndpoint(to)
                // A configured endpoint gets what its forwarder would send, unless --receiver says otherwise.
                if window.receiver == nil { window.receiver = configured.component }
                window.relabel = writeRelabelling(configured.writeRelabelRules)
                let report: RemoteWriteReplay.Report
                do {
                    let scale = WALProgressScale(
                        directory: paths.wal, segments: try window.segments(walDirectory: paths.wal, store: store))
                    let meter = ProgressMeter(title: "replay", total: scale.total)
                    report = try await RemoteWriteReplay.send(
                        window: window, walDirectory: paths.wal, store: store, to: configured.endpoint,
                        owner: configured.owner
                    ) { meter.update(scale.bytes(before: $0)) }
                    meter.finish()
                } catch let error as CredentialError {
                    throw AgentError("\(error)")
                }
                print(report.summary)
                if report.rejectedSamples > 0 { throw ExitCode(1) }
                return
            }
            guard format == "json" || format == "text" else { throw AgentError("--format must be json or text") }
            var output = BufferedOutput()
            // The labels part of a line, formatted once per series.
            var prefixes: [Int: String] = [:]
            let problems = try window.forEachSample(walDirectory: paths.wal, store: store) { sample in
                let prefix =
                    prefixes[sample.series]
                    ?? {
                        let made = format == "json" ? jsonPrefix(sample.labels) : "\(sample.labels) "
                        prefixes[sample.series] = made
                        return made
                    }()
                output.write(prefix)
                output.write(format == "json" ? jsonRest(sample) : textRest(sample))
            }
            output.flush()
            for problem in problems { FileHandle.standardError.write(Data("agentd: WAL damage at \(problem)\n".utf8)) }
        } catch let error as AgentError {
            FileHandle.standardError.write(Data("agentd: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as SelectorError {
            FileHandle.standardError.write(Data("agentd: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

extension ReplayCommand {
    /// An endpoint `--to` or `--endpoint` names.
    struct ConfiguredEndpoint {
        var endpoint: RemoteWriteEndpoint
        /// Who owns it, for credential errors (nil for a plain URL).
        var owner: String?
        /// The label of its `prometheus.remote_write` component (nil for a plain URL).
        var component: String?
        /// Its `write_relabel_config`.
        var writeRelabelRules: [RelabelRule] = []
    }

    /// The endpoint `name` names: a plain URL, or with `--config` the configured endpoint whose
    /// name or URL it is, with its settings and write relabelling.
    func replayEndpoint(_ name: String) throws -> ConfiguredEndpoint {
        guard let config else {
            return ConfiguredEndpoint(
                endpoint: RemoteWriteEndpoint(name: "replay", url: name, userAgent: "agentd/0.1.0"))
        }
        let loaded: AgentConfig
        do {
            loaded = try AgentConfig.load(path: config)
        } catch {
            throw AgentError("\(error)")
        }
        let all = loaded.remoteWrites.flatMap { component in component.endpoints.map { (component.id, $0) } }
        guard let (component, endpoint) = all.first(where: { $0.1.name == name || $0.1.url == name }) else {
            let names = all.map(\.1.name).joined(separator: ", ")
            throw AgentError(
                "\(config) has no remote-write endpoint named \(name) or with that URL (endpoints: \(names))")
        }
        return ConfiguredEndpoint(
            endpoint: RemoteWriteEndpoint(
                name: endpoint.name, url: endpoint.url, headers: endpoint.headers, http: endpoint.http,
                userAgent: "agentd/0.1.0", remoteTimeout: endpoint.remoteTimeout,
                retryOnHTTP429: endpoint.queue.retryOnHTTP429, minBackoff: endpoint.queue.minBackoff,
                maxBackoff: endpoint.queue.maxBackoff),
            owner: "\(component) endpoint \(endpoint.name)", component: component.label,
            writeRelabelRules: endpoint.writeRelabelRules)
    }
}

private func formatValue(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value == .infinity { return "+Inf" }
    if value == -.infinity { return "-Inf" }
    return "\(value)"
}

/// `{"labels":{…},` — the start of a JSON line.
private func jsonPrefix(_ labels: Labels) -> String {
    let pairs = labels.map { "\(jsonString($0.name)):\(jsonString($0.value))" }.joined(separator: ",")
    return "{\"labels\":{\(pairs)},"
}

private func jsonRest(_ sample: ReplayedSample) -> String {
    let stale = SampleBatch.isStaleMarker(sample.value) ? ",\"stale\":true" : ""
    return "\"timestamp\":\(sample.timestamp),\"value\":\"\(formatValue(sample.value))\"\(stale)}\n"
}

private func textRest(_ sample: ReplayedSample) -> String {
    "\(formatValue(sample.value)) \(sample.timestamp)\n"
}

/// Stdout with a large buffer: printing a replay line by line would cost a system call each.
/// The first line goes out at once, so whoever waits sees the replay start.
struct BufferedOutput {
    private var buffer: [UInt8] = []
    private var started = false

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count > 1 << 16 || (!started && buffer.last == UInt8(ascii: "\n")) {
            started = true
            flush()
        }
    }

    mutating func flush() {
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
