#!/usr/bin/env python3
"""Writes link/agentd.order: the functions a running agentd executes, for the linker to put together.

    python3 bench/link_order.py --agentd .build-release/release/agentd \
        --bench .build-release/release/agentd-bench [--out link/agentd.order] [--samples 400000]

A release agentd is linked by lld with `--symbol-ordering-file link/agentd.order` (Package.swift):
the functions named there are laid out first, in that order, and everything else after them. The
kernel maps an executable's code in by the page and fault-around brings in the pages beside a
touched one, so code that runs, scattered among 30 MB of code that never does, keeps most of the
text resident; put together, it fits in a few megabytes (docs/performance.md, "Code layout" and
"A section per function"). lld moves whole input sections, so the list works function by function
only in a build whose modules have a section per function (`scripts/build-release.sh`).

How the list is made: three runs of agentd under `valgrind --tool=callgrind` (a copy with the
debug sections stripped: valgrind 3.19 gives up on agentd's, and callgrind needs only the
symbols), each stopped with SIGTERM, after which callgrind writes the instructions executed at
each instruction address (--dump-instr=yes):
- clustered: two members in one cluster scrape 8 targets of 2,000 series (`agentd-bench
  targets`) every second and remote-write to `agentd-bench sink`; the profiled one joins the
  other, which runs as it is, so that it gossips, owns its share and hands targets over as members
  do; until it has appended --samples samples;
- node: one agent scraping two real node exporters every second, until it has appended 30,000;
- idle: `bench/resident_code.py`'s idle agent (no targets, a remote write to a closed port), 15 s.
Every address is mapped to the code symbol it falls in (`nm -n -S` of the binary, rather than
taking callgrind's function names, which are demangled for C++ and say nothing of code that lies
in no symbol); the list is the symbols of all three runs, sorted by name.

Run it again after a change that adds or renames much of the hot path; a stale list still links
(names no longer in the binary are skipped) and only lays the new code out where it falls.
"""

import argparse
import bisect
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from callgrind import choose_valgrind  # noqa: E402
from resident_code import IDLE_CONFIG  # noqa: E402
from versus import Processes, free_port, free_port_range, metric_sum, wait_http  # noqa: E402

TARGETS = 8
SERIES = 2000
NODE_EXPORTERS = 2
NODE_SAMPLES = 30000
IDLE_SECONDS = 15


def config(path, target_ports, sink_port, clustered):
    """A scrape of 127.0.0.1's `target_ports` every second (clustered or not) into the sink."""
    with open(path, "w") as f:
        f.write('prometheus.scrape "layout" {\n  targets = [\n')
        for port in target_ports:
            f.write('    {"__address__" = "127.0.0.1:%d"},\n' % port)
        f.write('  ]\n  forward_to = [prometheus.remote_write.sink.receiver]\n')
        if clustered:
            f.write('  clustering {\n    enabled = true\n  }\n')
        f.write('  scrape_interval = "1s"\n  scrape_timeout = "900ms"\n}\n\n')
        f.write('prometheus.remote_write "sink" {\n  endpoint {\n'
                '    url = "http://127.0.0.1:%d/api/v1/write"\n  }\n}\n' % sink_port)


def executed_addresses(profile):
    """{instruction address: instructions executed there} from a callgrind profile written with
    --dump-instr=yes. A cost line is its positions (those the `positions:` header names; the
    address first, absolute as 0x..., or relative to the last one as +N, -N, or * for the same)
    and then its costs (`events:`, here Ir alone). The line after a `calls=` line is the call's
    inclusive cost, at the call instruction: the address counts as executed, the cost does not."""
    executed = collections.Counter()
    positions, last, call_cost, total = 1, 0, False, None
    with open(profile, errors="replace") as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
                continue
            if line.startswith("positions:"):
                positions = len(line.split()) - 1
                continue
            if line.startswith("calls="):
                call_cost = True
                continue
            if not line[:1] or line[:1] not in "0123456789+-*":
                continue
            fields = line.split()
            address = fields[0]
            if address.startswith("0x"):
                last = int(address, 16)
            elif address[0] in "+-":
                last += int(address)
            elif address != "*":
                last = int(address)
            cost = int(fields[positions]) if len(fields) > positions and fields[positions].isdigit() else 0
            executed[last] += 0 if call_cost else cost
            call_cost = False
    # Every instruction is some address's own cost exactly once: the sum is the profile's total.
    if total is not None and sum(executed.values()) != total:
        sys.exit("link_order.py: read %d instructions from %s, which says %d" % (
            sum(executed.values()), profile, total))
    return executed


def code_symbols(binary):
    """The binary's code symbols as sorted (address, size, name)."""
    listing = subprocess.run(["nm", "--defined-only", "-n", "-S", binary], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    symbols = []
    for line in listing:
        fields = line.split(" ", 3)
        if len(fields) == 4 and fields[2] in "tTwW":
            symbols.append((int(fields[0], 16), int(fields[1], 16), fields[3]))
    return symbols


def functions_run(executed, symbols):
    """{symbol name: instructions} for every symbol an executed address falls in, and the executed
    addresses of the binary's code that fall in no symbol."""
    starts = [address for address, _, _ in symbols]
    counts, unnamed = collections.Counter(), 0
    for address, instructions in executed.items():
        index = bisect.bisect_right(starts, address) - 1
        if index < 0 or address >= symbols[-1][0] + symbols[-1][1]:
            continue  # the loader's, libc's, the vDSO's
        start, size, name = symbols[index]
        if address < start + max(size, 1):
            counts[name] += instructions
        else:
            unnamed += 1
    return counts, unnamed


def wait_appended(metrics, samples, process, log):
    """Until the agent at `metrics` has appended `samples` samples (20 minutes at most)."""
    deadline = time.time() + 1200
    while (metric_sum(metrics, ["prometheus_agent_samples_appended_total"]) or 0) < samples:
        if process.poll() is not None or time.time() > deadline:
            sys.exit("link_order.py: the profiled agentd %s; see %s" % (
                "exited" if process.poll() is not None else "appended too little in 20 minutes", log))
        time.sleep(2)


def start_profiled(procs, profiled_argv, folder, path, env, flags=()):
    """`agentd run path` under the profiler, its storage and log in `folder`; returns the process,
    its /metrics URL (answering) and its log's path."""
    port = free_port()
    log = os.path.join(folder, "profiled.log")
    process = procs.start(profiled_argv + ["run", path, "--server.http.listen-addr=127.0.0.1:%d" % port,
                                           "--storage.path=" + os.path.join(folder, "data")] + list(flags),
                          log, env=env)
    metrics = "http://127.0.0.1:%d/metrics" % port
    wait_http(metrics, 300)
    return process, metrics, log


def clustered_run(args, procs, folder, profiled_argv, env, sink_port):
    """A member of a two-member cluster scraping its share of 8 targets of 2,000 series every second,
    until it has appended --samples samples; the other member runs as it is, so that the profiled
    one gossips, owns its share and hands targets over as members do."""
    target_port = free_port_range(TARGETS)
    targets = procs.start([args.bench, "targets", "--port", str(target_port), "--targets", str(TARGETS),
                           "--series", str(SERIES)], os.path.join(folder, "targets.log"))
    wait_http("http://127.0.0.1:%d/metrics" % target_port, 60)
    path = os.path.join(folder, "config.alloy")
    config(path, range(target_port, target_port + TARGETS), sink_port, clustered=True)
    peer_port = free_port()
    peer = procs.start([args.agentd, "run", path, "--server.http.listen-addr=127.0.0.1:%d" % peer_port,
                        "--storage.path=" + os.path.join(folder, "peer"), "--cluster.enabled=true",
                        "--cluster.node-name=peer"], os.path.join(folder, "peer.log"))
    wait_http("http://127.0.0.1:%d/-/ready" % peer_port, 60)
    profiled, metrics, log = start_profiled(
        procs, profiled_argv, folder, path, env,
        ["--cluster.enabled=true", "--cluster.node-name=profiled", "--cluster.join-addresses=127.0.0.1:%d" % peer_port])
    wait_appended(metrics, args.samples, profiled, log)
    procs.stop(profiled, grace=300)
    procs.stop(peer)
    procs.stop(targets)


def node_run(args, procs, folder, profiled_argv, env, sink_port):
    """One agent, no cluster, scraping two real node exporters (`prometheus-node-exporter`) every
    second: the text format as Go's client writes it (help, types, summaries, histograms)."""
    ports = []
    exporters = []
    for index in range(NODE_EXPORTERS):
        port = free_port()
        exporters.append(procs.start(["prometheus-node-exporter", "--web.listen-address=127.0.0.1:%d" % port],
                                     os.path.join(folder, "node-exporter-%d.log" % index)))
        ports.append(port)
    for port in ports:
        wait_http("http://127.0.0.1:%d/metrics" % port, 60)
    path = os.path.join(folder, "config.alloy")
    config(path, ports, sink_port, clustered=False)
    profiled, metrics, log = start_profiled(procs, profiled_argv, folder, path, env)
    wait_appended(metrics, NODE_SAMPLES, profiled, log)
    procs.stop(profiled, grace=300)
    for exporter in exporters:
        procs.stop(exporter)


def idle_run(args, procs, folder, profiled_argv, env, sink_port):
    """An agent with a scrape job without targets and a remote write to a closed port, as
    `bench/resident_code.py` starts it, for IDLE_SECONDS after it answers."""
    path = os.path.join(folder, "config.alloy")
    with open(path, "w") as f:
        f.write(IDLE_CONFIG)
    profiled, _, _ = start_profiled(procs, profiled_argv, folder, path, env)
    time.sleep(IDLE_SECONDS)
    procs.stop(profiled, grace=300)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agentd", required=True, help="a release agentd")
    parser.add_argument("--bench", required=True, help="a release agentd-bench (targets and sink)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "link",
                                                      "agentd.order"))
    parser.add_argument("--samples", type=int, default=400000,
                        help="samples the profiled member appends before both stop")
    parser.add_argument("--valgrind", help="a valgrind (default: PATH's if 3.20 or later, else Debian 13's)")
    args = parser.parse_args()

    valgrind, env, found = choose_valgrind(args.valgrind)
    if found is None:
        sys.exit("link_order.py: no working valgrind (%s)" % valgrind)
    header = subprocess.run(["readelf", "-h", args.agentd], capture_output=True, text=True).stdout
    if "EXEC" not in header:
        sys.exit("link_order.py: %s is not a position-dependent executable (AGENTD_PIE=1?): callgrind's "
                 "addresses would not be nm's" % args.agentd)
    work = tempfile.mkdtemp(prefix="agentd-layout.")
    procs = Processes()
    try:
        stripped = os.path.join(work, "agentd")
        subprocess.run(["objcopy", "--strip-debug", args.agentd, stripped], check=True)
        profiler = [valgrind, "--tool=callgrind", "--dump-instr=yes", "--dump-line=no"]
        sink_port = free_port()
        procs.start([args.bench, "sink", "--port", str(sink_port)], os.path.join(work, "sink.log"))
        wait_http("http://127.0.0.1:%d/metrics" % sink_port, 60)

        executed = collections.Counter()
        runs = [("clustered", clustered_run), ("node", node_run), ("idle", idle_run)]
        for name, run in runs:
            folder = os.path.join(work, name)
            os.makedirs(folder)
            profile = os.path.join(folder, "callgrind.out")
            argv = profiler + ["--callgrind-out-file=" + profile, stripped]
            print("profiling the %s run under callgrind ..." % name, flush=True)
            run(args, procs, folder, argv, env, sink_port)
            if not os.path.exists(profile):
                sys.exit("link_order.py: callgrind wrote no profile; see %s" % folder)
            executed.update(executed_addresses(profile))

        symbols = code_symbols(args.agentd)
        counts, unnamed = functions_run(executed, symbols)
        # By name, which groups a module's functions and a type's (Swift's mangling starts with the
        # module, then the type), and keeps the list's diff small when it is made again. Hottest
        # first was no faster (docs/performance.md, "Code layout").
        order = sorted(counts)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write("\n".join(order) + "\n")
        sizes = {name: size for _, size, name in symbols}
        print("%d functions ran: %.2f MB of the binary's %.2f MB of code (%d instruction addresses)"
              % (len(order), sum(sizes[name] for name in order) / 1e6, sum(sizes.values()) / 1e6, len(executed)))
        print("%d executed addresses of the binary's code are in no symbol (small private functions the "
              "compiler emits unnamed, .L__unnamed_N: no order can name them; link/private-text.ld "
              "gathers them)" % unnamed)
        print("wrote " + os.path.abspath(args.out))
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
