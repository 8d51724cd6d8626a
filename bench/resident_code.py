#!/usr/bin/env python3
"""Which modules' code an agent's resident `.text` pages hold.

    python3 bench/resident_code.py --agentd .build-release/release/agentd [--config FILE] [--settle 10] [--cold]

Starts `agentd run` (by default idle: a scrape job without targets and one `remote_write` to a
closed port, in a temporary storage folder), waits --settle seconds, reads its RSS (anonymous and
file-backed, `/proc/PID/status`) and which pages of the binary's `.text` are resident
(`/proc/PID/pagemap`), stops the agent by its PID, and splits
each resident page's 4,096 bytes among the symbols that lie in it (`nm -S`): by the module a
Swift symbol's mangled name starts with, the standard library, BoringSSL, the runtime, other C and
C++, and bytes in no symbol (padding, and the compiler's unnamed functions). A page is resident
when the agent ran code on it or the kernel mapped it around a page that was (fault-around), so
this says where the resident code lies, not what ran. Which neighbours are mapped depends on what
the page cache holds and in what folio sizes, so compare builds with --cold (the page cache dropped
before the start, as `bench/versus.py --cold` does): with their pages cached as the writes left
them, two byte-identical copies of one binary, one written by the linker and one by `cp`, read
0.8 MiB apart, and 0.07 apart cold.

Needs root (pagemap's present bits) and a binary with its symbol table (release builds keep it).
"""

import argparse
import bisect
import collections
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from versus import drop_page_cache  # noqa: E402

PAGE = 4096
IDLE_CONFIG = """prometheus.scrape "idle" {
  targets = []
  forward_to = [prometheus.remote_write.default.receiver]
  job_name = "idle"
  scrape_interval = "10s"
}

prometheus.remote_write "default" {
  endpoint {
    url = "http://127.0.0.1:9/api/v1/write"
  }
}
"""


def text_section(binary):
    """(address, size) of the binary's `.text`."""
    out = subprocess.run(["readelf", "-S", "-W", binary], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        match = re.match(r"\s*\[\s*\d+\]\s+\.text\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if match:
            return int(match.group(1), 16), int(match.group(2), 16)
    sys.exit("%s has no .text section" % binary)


def code_symbols(binary):
    """(address, size, name) of every code symbol, by address."""
    out = subprocess.run(["nm", "-n", "--defined-only", "-S", binary], capture_output=True, text=True,
                         check=True).stdout
    symbols = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in ("t", "T", "w", "W"):
            symbols.append((int(parts[0], 16), int(parts[1], 16), parts[3]))
    if not symbols:
        sys.exit("%s has no symbol table" % binary)
    symbols.sort()
    return symbols


def module(name):
    """The module a symbol belongs to, as far as its name says."""
    if name.startswith(("CCryptoBoringSSL", "CNIOBoringSSL")):
        return "BoringSSL (C)"
    if name.startswith(("swift_", "_swift")):
        return "Swift runtime (C, C++)"
    match = re.match(r"\$s(\d+)([A-Za-z_][A-Za-z0-9_]*)", name)
    if match:
        return match.group(2)[:int(match.group(1))]
    if name.startswith("$s"):
        return "Swift standard library"
    return "C++ (other)" if name.startswith("_Z") else "C (other)"


def resident_pages(pid, start, size):
    """Page numbers of [start, start + size) that are present in `pid`'s page table."""
    first, last = start // PAGE, (start + size - 1) // PAGE
    with open("/proc/%d/pagemap" % pid, "rb") as pagemap:
        pagemap.seek(first * 8)
        entries = pagemap.read((last - first + 1) * 8)
    return [first + index for index in range(last - first + 1)
            if struct.unpack_from("<Q", entries, index * 8)[0] >> 63]


def process_memory(pid):
    """VmRSS, RssAnon and RssFile of `pid`, in MiB."""
    memory = {}
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                memory[key] = int(value.split()[0]) / 1024
    return memory


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agentd", required=True, help="the agentd binary (with its symbol table)")
    parser.add_argument("--config", help="the configuration to run (default: idle)")
    parser.add_argument("--settle", type=float, default=10, help="seconds between the start and the reading")
    parser.add_argument("--cold", action="store_true", help="drop the page cache before the start (root)")
    args = parser.parse_args()

    start, size = text_section(args.agentd)
    symbols = code_symbols(args.agentd)
    addresses = [symbol[0] for symbol in symbols]
    work = tempfile.mkdtemp(prefix="agentd-resident-")
    try:
        config = args.config
        if not config:
            config = os.path.join(work, "idle.alloy")
            with open(config, "w") as f:
                f.write(IDLE_CONFIG)
        log_path = os.path.join(work, "log")
        # After readelf and nm have read the binary, so that the agent's start is what brings it in.
        if args.cold:
            drop_page_cache()
        with open(log_path, "w") as log:
            agent = subprocess.Popen([args.agentd, "run", config, "--server.http.listen-addr=127.0.0.1:0",
                                      "--storage.path=" + os.path.join(work, "data")],
                                     stdout=subprocess.DEVNULL, stderr=log)
        try:
            time.sleep(args.settle)
            if agent.poll() is not None:
                with open(log_path) as log:
                    sys.exit("agentd exited with %d:\n%s" % (agent.returncode, log.read()))
            pages = resident_pages(agent.pid, start, size)
            memory = process_memory(agent.pid)
        finally:
            agent.kill()
            agent.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    bytes_by_module = collections.Counter()
    for page in pages:
        low, high = page * PAGE, (page + 1) * PAGE
        index = max(0, bisect.bisect_right(addresses, low) - 1)
        covered = 0
        while index < len(symbols) and symbols[index][0] < high:
            address, length, name = symbols[index]
            overlap = min(address + max(length, 1), high) - max(address, low)
            if overlap > 0:
                bytes_by_module[module(name)] += overlap
                covered += overlap
            index += 1
        bytes_by_module["(in no symbol)"] += max(0, PAGE - covered)

    total = sum(bytes_by_module.values())
    print("RSS %.1f MiB: %.1f anonymous, %.1f file-backed (/proc/PID/status)"
          % (memory["VmRSS"], memory["RssAnon"], memory["RssFile"]))
    print("resident .text: %d of %d pages (%.1f of %.1f MiB)"
          % (len(pages), size // PAGE, len(pages) * PAGE / 2**20, size / 2**20))
    print("| module | MiB | share |")
    print("|---|---|---|")
    for name, count in bytes_by_module.most_common():
        if count >= 0.005 * total:
            print("| %s | %.2f | %.1f %% |" % (name, count / 2**20, 100 * count / total))
    rest = sum(count for count in bytes_by_module.values() if count < 0.005 * total)
    print("| the rest (each under 0.5 %%) | %.2f | %.1f %% |" % (rest / 2**20, 100 * rest / total))


if __name__ == "__main__":
    main()
