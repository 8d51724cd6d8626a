#!/usr/bin/env python3
"""Instructions per sample of each hot-path stage, counted by callgrind.

    python3 bench/callgrind.py --bench .build-release/release/agentd-bench [--valgrind PATH]
        [--low 50] [--high 250] [--series 2000] [--stages scrape,append,handoff,encode]

Runs `agentd-bench stages --stage S --iterations N` under `valgrind --tool=callgrind` twice per
stage (scrape, append, handoff, encode), with N = --low and N = --high, and prints

    (instructions at high - instructions at low) / ((high - low) * series)

so the set-up both runs share (building the body, the targets, the WAL, the warm-up pass) cancels
out and what is left is the stage's own count per sample. Unlike CPU time, the count does not move
with the machine's load: a change of a few percent between two builds is a real change.

valgrind 3.19 (Debian 12's) stops on agentd's Swift 6.3 binaries ("the 'impossible' happened").
When the valgrind on PATH is older than 3.20 and no --valgrind is given, the script fetches
Debian 13's valgrind package with `apt-get download` (a temporary sources list; nothing is
installed) and unpacks it under ~/.cache/agentd-valgrind.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

CACHE = os.path.expanduser("~/.cache/agentd-valgrind")
STAGES = [
    ("scrape", "scrape (parse, series cache, batch)"),
    ("append", "append (WAL record, lz4, write; no fsync)"),
    ("handoff", "handoff (to the shards, batched, settled)"),
    ("encode", "encode (protobuf, snappy)"),
]


def version(valgrind, env=None):
    try:
        out = subprocess.run([valgrind, "--version"], capture_output=True, text=True, env=env, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"valgrind-(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else None


def choose_valgrind(explicit):
    """The valgrind to run and its environment: `explicit` when given, else PATH's when it is 3.20 or
    later, else Debian 13's, unpacked (valgrind 3.19 stops on agentd's binaries). Returns
    (path, env, version); version is None when the chosen one does not answer."""
    valgrind = explicit or shutil.which("valgrind")
    found = version(valgrind) if valgrind else None
    if not explicit and (found is None or found < (3, 20)):
        valgrind, env = unpacked_valgrind()
        return valgrind, env, version(valgrind, env)
    return valgrind, None, found


def unpacked_valgrind():
    """valgrind.bin and its environment from the unpacked Debian 13 package, fetched if needed."""
    binary = os.path.join(CACHE, "usr/bin/valgrind.bin")
    env = dict(os.environ, VALGRIND_LIB=os.path.join(CACHE, "usr/libexec/valgrind"))
    if os.path.exists(binary):
        return binary, env
    work = tempfile.mkdtemp(prefix="agentd-valgrind.")
    try:
        lists = os.path.join(work, "lists")
        os.makedirs(os.path.join(lists, "partial"))
        sources = os.path.join(work, "sources.list")
        with open(sources, "w") as f:
            f.write("deb http://deb.debian.org/debian trixie main\n")
        options = ["-o", "Dir::Etc::sourcelist=" + sources, "-o", "Dir::Etc::sourceparts=-",
                   "-o", "Dir::State::Lists=" + lists, "-o", "APT::Sandbox::User=root"]
        print("fetching Debian 13's valgrind (apt-get download into %s) ..." % CACHE, flush=True)
        subprocess.run(["apt-get", "update", "-qq"] + options, check=True, timeout=600,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "download", "-qq"] + options + ["valgrind"], check=True, timeout=600,
                       cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        package = glob.glob(os.path.join(work, "valgrind_*.deb"))
        if not package:
            sys.exit("callgrind.py: apt-get download valgrind gave no package")
        os.makedirs(CACHE, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", package[0], CACHE], check=True, timeout=120)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return binary, env


def instructions(valgrind, env, bench, stage, iterations, series, work):
    out = os.path.join(work, "callgrind.%s.%d" % (stage, iterations))
    # Swift seeds its hashing at random per process, which moves the set-up's count by tens of
    # millions of instructions from run to run; a fixed seed makes runs repeat.
    env = dict(env or os.environ, SWIFT_DETERMINISTIC_HASHING="1")
    argv = [valgrind, "--tool=callgrind", "--callgrind-out-file=" + out, bench, "stages", "--stage", stage,
            "--iterations", str(iterations), "--series", str(series)]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800)
    match = re.search(r"Collected\s*:\s*(\d+)", result.stderr)
    if result.returncode != 0 or not match:
        sys.exit("callgrind.py: %s failed (exit %d):\n%s" % (" ".join(argv), result.returncode,
                                                           result.stderr[-2000:]))
    return int(match.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True, help="the agentd-bench binary (a release build)")
    parser.add_argument("--valgrind", help="a valgrind of 3.20 or later (default: PATH's, else Debian 13's)")
    parser.add_argument("--low", type=int, default=50)
    parser.add_argument("--high", type=int, default=250)
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--stages", default=",".join(stage for stage, _ in STAGES),
                        help="comma-separated, of: " + ", ".join(stage for stage, _ in STAGES))
    args = parser.parse_args()
    if args.high <= args.low:
        sys.exit("callgrind.py: --high must be above --low")
    chosen = args.stages.split(",")
    unknown = [stage for stage in chosen if stage not in dict(STAGES)]
    if unknown:
        sys.exit("callgrind.py: unknown stage %s (stages: %s)" % (", ".join(unknown), ", ".join(dict(STAGES))))

    valgrind, env, found = choose_valgrind(args.valgrind)
    if found is None:
        sys.exit("callgrind.py: no working valgrind (%s)" % valgrind)
    print("valgrind %d.%d, callgrind; %s; iterations %d and %d of %d series" %
          (found[0], found[1], args.bench, args.low, args.high, args.series), flush=True)
    work = tempfile.mkdtemp(prefix="agentd-callgrind.")
    try:
        for stage, description in STAGES:
            if stage not in chosen:
                continue
            low = instructions(valgrind, env, args.bench, stage, args.low, args.series, work)
            high = instructions(valgrind, env, args.bench, stage, args.high, args.series, work)
            per_sample = (high - low) / ((args.high - args.low) * args.series)
            print("%-45s %8.1f instructions per sample" % (description + ":", per_sample), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
