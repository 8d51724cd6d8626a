// agentd's benchmarks. Not tests: they print figures and never fail on a timing.
//
//     swift run -c release agentd-bench wal [--captures DIR]
//     (or: bash scripts/bench.sh wal|parse|cluster|replay|versus)
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard let which = arguments.first else {
    print("usage: agentd-bench wal|parse|cluster|replay|delivery|stages|sink|targets [options]")
    exit(2)
}
let rest = Array(arguments.dropFirst())
switch which {
case "wal":
    try runWALBenchmark(arguments: rest)
case "parse":
    runParseBenchmark(arguments: rest)
case "cluster":
    runClusterBenchmark(arguments: rest)
case "replay":
    try await runReplayBenchmark(arguments: rest)
case "delivery":
    try runDeliveryBenchmark(arguments: rest)
case "stages":
    try await runStageBenchmark(arguments: rest)
case "sink":
    try runSink(arguments: rest)
case "targets":
    try runTargets(arguments: rest)
default:
    print("unknown benchmark \(which)")
    exit(2)
}
