import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Primitives
import Synchronization

/// `agentd-bench targets --port P --targets N --series S [--ready-file F]`: bench/targets.py's
/// synthetic targets served from Swift, for loads that one Python process cannot serve (past about
/// 500,000 samples a second it could not send 300 bodies of 183 KB a second within a 900 ms
/// timeout, docs/performance.md).
///
/// The same exposition as bench/targets.py: the same families, label sets, HELP/TYPE lines and
/// value shapes (40 % constant gauges, 30 % integer counters, 20 % float counters, 10 % gauges
/// that take a new random value every second), each line `name{labels} value`. Target `i` listens
/// on 127.0.0.1:`P + i`; its body is rendered at most once a second, on the first request of
/// that second, and served from memory (a `ByteBuffer` every response shares, never copied).
/// Connections stay open between requests (HTTP/1.1 keep-alive). Every 10 s it prints how many
/// requests and bytes it has served.
func runTargets(arguments: [String]) throws {
    var port = 0
    var targets = 50
    var series = 2000
    var readyFile: String?
    var index = 0
    func value(_ name: String) -> String {
        guard index + 1 < arguments.count else {
            print("targets: \(name) needs a value")
            exit(2)
        }
        index += 2
        return arguments[index - 1]
    }
    func number(_ name: String) -> Int {
        let text = value(name)
        guard let number = Int(text), number > 0 else {
            print("targets: \(name) needs a positive number, not \(text)")
            exit(2)
        }
        return number
    }
    while index < arguments.count {
        switch arguments[index] {
        case "--port": port = number("--port")
        case "--targets": targets = number("--targets")
        case "--series": series = number("--series")
        case "--ready-file": readyFile = value("--ready-file")
        default:
            print(
                "targets: unknown argument \(arguments[index]) "
                    + "(usage: agentd-bench targets --port P [--targets N] [--series S] [--ready-file F])")
            exit(2)
        }
    }
    guard port > 0, port + targets - 1 <= 65535 else {
        print("targets: --port P is required, and P + N - 1 must be a port number")
        exit(2)
    }

    let layout = SyntheticLayout(series: series)
    let counters = TargetCounters()
    let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
    for offset in 0..<targets {
        let target = ServedTarget(index: offset, layout: layout)
        _ = try bindLocalHTTPServer(group: group, port: port + offset) {
            TargetHandler(target: target, counters: counters)
        }
    }
    let size = ServedTarget(index: 0, layout: layout).current().readableBytes
    say(
        "serving \(targets) targets × \(series) series (\(size) bytes a body) on 127.0.0.1:\(port)-\(port + targets - 1)"
    )
    if let readyFile {
        try Data("ready\n".utf8).write(to: URL(fileURLWithPath: readyFile))
    }
    while true {
        sleep(10)
        let megabytes = Double(counters.bytes.load(ordering: .relaxed)) / 1e6
        say("served \(counters.requests.load(ordering: .relaxed)) requests, \((megabytes * 10).rounded() / 10) MB")
    }
}

/// One line on standard output, unbuffered (the log a benchmark script reads while it runs).
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

final class TargetCounters: Sendable {
    let requests = Atomic<Int>(0)
    let bytes = Atomic<Int>(0)
}

/// The series every target exposes, as bench/targets.py lays them out: `series / 20` families
/// (at least one), series `i` in family `i % families`; a family's name ends in `_total` when it
/// is a counter, and its series differ in `method`, `route` and `status`.
struct SyntheticLayout: Sendable {
    enum Shape: UInt8, Sendable {
        case constant, integerCounter, floatCounter, randomGauge
    }

    /// `name{labels} ` of each series.
    let prefixes: [[UInt8]]
    let shapes: [Shape]
    /// The series of each family, in order.
    let members: [[Int]]
    /// The `# HELP` and `# TYPE` lines of each family.
    let headers: [[UInt8]]

    init(series: Int) {
        let methods = ["GET", "POST", "PUT", "DELETE"]
        let statuses = ["200", "201", "404", "500", "503"]
        let families = max(1, series / 20)
        var prefixes: [[UInt8]] = []
        var shapes: [Shape] = []
        var members = [[Int]](repeating: [], count: families)
        var headers = [[UInt8]](repeating: [], count: families)
        for index in 0..<series {
            let family = index % families
            let member = index / families
            let kind = (family * 7) % 10
            let name = "app_requests_family_\(family)" + (4 <= kind && kind < 9 ? "_total" : "")
            if headers[family].isEmpty {
                let type = kind < 4 || kind == 9 ? "gauge" : "counter"
                headers[family] = Array(
                    "# HELP \(name) Synthetic series for agent benchmarks.\n# TYPE \(name) \(type)\n".utf8)
            }
            let labels =
                "{method=\"\(methods[member % 4])\",route=\"/api/v1/items/\(member)\",status=\"\(statuses[member % 5])\"}"
            prefixes.append(Array((name + labels + " ").utf8))
            shapes.append(kind < 4 ? .constant : kind < 7 ? .integerCounter : kind < 9 ? .floatCounter : .randomGauge)
            members[family].append(index)
        }
        self.prefixes = prefixes
        self.shapes = shapes
        self.members = members
        self.headers = headers
    }

    /// Each series' value at the start: `index % 1000 + target`.
    func initialValues(target: Int) -> [Double] {
        (0..<shapes.count).map { Double($0 % 1000 + target) }
    }

    /// Moves `values` on by one second: counters grow, random gauges take a new value.
    func advance(_ values: inout [Double], using random: inout SplitMix64) {
        for index in values.indices {
            switch shapes[index] {
            case .constant: break
            case .integerCounter: values[index] += Double(UInt64.random(in: 0..<40, using: &random))
            case .floatCounter: values[index] += Double(UInt64.random(in: 0..<1500, using: &random)) / 100
            case .randomGauge:
                values[index] = Double(UInt64.random(in: 0..<1_000_000_000, using: &random)) / 1024
            }
        }
    }

    /// The exposition of `values`: each family's `# HELP` and `# TYPE` lines, then its series.
    func render(_ values: [Double], into body: inout ByteBuffer) {
        body.reserveCapacity(body.writerIndex + prefixes.count * 80)
        for (family, members) in members.enumerated() {
            body.writeBytes(headers[family])
            for index in members {
                body.writeBytes(prefixes[index])
                body.writeString(values[index].description)
                body.writeInteger(UInt8(ascii: "\n"))
            }
        }
    }
}

/// One target's values and its body of the current second.
final class ServedTarget: Sendable {
    private struct State {
        var values: [Double]
        /// Seeded per target, so every run serves the same values.
        var random: SplitMix64
        var second: Int = -1
        var body = ByteBuffer()
    }

    private let layout: SyntheticLayout
    private let state: Mutex<State>

    init(index: Int, layout: SyntheticLayout) {
        self.layout = layout
        self.state = Mutex(State(values: layout.initialValues(target: index), random: SplitMix64(seed: UInt64(index))))
    }

    /// The body of the current wall-clock second, rendered now if this is its first request.
    func current() -> ByteBuffer {
        let second = Int(Date().timeIntervalSince1970)
        return state.withLock { state in
            if state.second != second {
                render(&state)
                state.second = second
            }
            return state.body
        }
    }

    private func render(_ state: inout State) {
        layout.advance(&state.values, using: &state.random)
        var body = ByteBuffer()
        body.reserveCapacity(state.body.readableBytes)
        layout.render(state.values, into: &body)
        state.body = body
    }
}

/// Answers every request with its target's current body.
private final class TargetHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let target: ServedTarget
    let counters: TargetCounters

    init(target: ServedTarget, counters: TargetCounters) {
        self.target = target
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let body = target.current()
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        counters.requests.add(1, ordering: .relaxed)
        counters.bytes.add(body.readableBytes, ordering: .relaxed)
    }
}
