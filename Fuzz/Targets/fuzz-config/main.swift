import Config
import FuzzSupport

// The Alloy configuration language: lexer, parser, evaluator and the components' decoders (and,
// through `discovery.relabel`, relabelling of static targets) on any bytes read as a file. A
// configuration either loads or fails with a diagnostic naming a place in it; nothing traps. What
// parses, `agentd fmt` formats, and formatting that again changes nothing.

/// A fixed outside world, so that an input replays the same way everywhere.
let context = EvaluationContext(
    hostname: "fuzz-host", nodeName: "fuzz-node", os: "linux", arch: "amd64",
    environment: ["HOME": "/root", "TARGET": "127.0.0.1:9100", "EMPTY": ""])

func testOneInput(_ input: UnsafeRawBufferPointer) {
    let source = String(decoding: input, as: UTF8.self)
    if let formatted = try? AlloyFormatter.format(source, filename: "fuzz.alloy") {
        let again = try? AlloyFormatter.format(formatted, filename: "fuzz.alloy")
        fuzzCheck(again == formatted, "agentd fmt's output formats to itself, not to \(String(describing: again))")
    }
    do {
        let config = try AgentConfig.parse(source: source, filename: "fuzz.alloy", context: context)
        let components = [
            config.scrapes.count, config.remoteWrites.count, config.relabels.count, config.prometheusRelabels.count,
            config.files.count, config.dnsDiscoveries.count, config.httpDiscoveries.count,
            config.dockerDiscoveries.count,
        ]
        fuzzCheck(
            config.evaluationOrder.count == components.reduce(0, +), "every evaluated component is in the configuration"
        )
    } catch {
        let lines = 1 + input.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        fuzzCheck(
            error.position.line >= 0 && error.position.line <= lines,
            "diagnostic \(error) points past the \(lines) lines of the input")
    }
}

/// libFuzzer's entry point (its own `main`, linked in but not used, refers to it).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    testOneInput(fuzzInput(data, size))
    return 0
}

FuzzDriver.run(seeds: { [] }, fuzzOneInput)
