#!/usr/bin/env python3
"""The forwarder's memory during and after a receiver outage (issue 5's last benchmark).

agentd scrapes the synthetic load (bench/targets.py: 50 targets x 2,000 series at 1 s, i.e.
100,000 samples/s) and remote-writes to a real Prometheus 2.42 receiver. After a warm-up the
receiver is stopped for --outage seconds, then restarted on the same port and data directory.
Every --step seconds the script prints agentd's RSS (VmRSS), its WAL size and the samples
pending in memory (prometheus_remote_storage_samples_pending); at the end, the peak RSS
(VmHWM) and how long the backlog took to drain. The WAL is the buffer: memory should not grow
with the backlog.

    python3 bench/outage.py --agentd .build-release/release/agentd [--outage 600] [--after 180]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import versus  # noqa: E402  (shares the process and measurement helpers)


def receiver(procs, directory, port):
    # Restarted on the same port and data directory, so each start gets its own log.
    return versus.start_prometheus_receiver(procs, directory, port, directory + "/log-%d" % int(time.time()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--agentd", required=True)
    parser.add_argument("--outage", type=float, default=600)
    parser.add_argument("--warmup", type=float, default=30)
    parser.add_argument("--after", type=float, default=180)
    parser.add_argument("--step", type=float, default=30)
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--series", type=int, default=2000)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="agentd-outage-")
    procs = versus.Processes()
    try:
        load = versus.synthetic_load(procs, work, args.targets, args.series)
        port = versus.free_port()
        prometheus = receiver(procs, os.path.join(work, "receiver"), port)
        agent, agent_port, wal, _, metrics = versus.start_agent(
            procs, args, "agentd", load, port, work, "batch")
        versus.wait_http("http://127.0.0.1:%d/-/ready" % agent_port, 60)

        def sample(phase, started):
            rss = versus.status_kib(agent.pid, "VmRSS") / 1024
            pending = versus.metric_sum(metrics, ["prometheus_remote_storage_samples_pending"])
            sent = versus.metric_sum(metrics, ["prometheus_remote_storage_samples_total"])
            backlog = versus.metric_sum(metrics, ["agentd_remote_storage_wal_backlog_bytes"])
            print("%-9s t=%4.0fs  RSS %6.1f MiB  WAL %7.1f MiB  pending %8.0f  sent %10.0f  backlog %7.1f MiB" % (
                phase, time.time() - started, rss, versus.dir_bytes(wal) / 2**20, pending or 0, sent or 0,
                (backlog or 0) / 2**20), flush=True)
            return rss, backlog

        print("load: %s; outage %.0f s" % (load["description"], args.outage), flush=True)
        start = time.time()
        time.sleep(args.warmup)
        before, _ = sample("before", start)
        versus.Processes.stop(procs, prometheus)
        outage_start = time.time()
        peak_during = before
        while time.time() - outage_start < args.outage:
            time.sleep(min(args.step, args.outage - (time.time() - outage_start)))
            rss, _ = sample("outage", outage_start)
            peak_during = max(peak_during, rss)
        wal_at_end = versus.dir_bytes(wal) / 2**20
        prometheus = receiver(procs, os.path.join(work, "receiver"), port)
        recovery_start = time.time()
        drained = None
        while time.time() - recovery_start < args.after:
            time.sleep(5)
            rss, backlog = sample("recovery", recovery_start)
            # Caught up when what the forwarder has not read of the WAL is back to about one
            # second of scrapes (the send rate is no guide on a machine that cannot do much more
            # than the live rate).
            if drained is None and backlog is not None and backlog < 1 << 20:
                drained = time.time() - recovery_start
        after, _ = sample("after", start)
        hwm = versus.status_kib(agent.pid, "VmHWM") / 1024
        print()
        print("| phase | agentd RSS |")
        print("|---|---|")
        print("| before the outage | %.1f MiB |" % before)
        print("| peak during the %.0f s outage | %.1f MiB (WAL grew to %.1f MiB) |" % (args.outage, peak_during, wal_at_end))
        print("| %.0f s after the receiver returned | %.1f MiB |" % (args.after, after))
        print("| peak over the whole run (VmHWM) | %.1f MiB |" % hwm)
        print("| backlog drained after | %s |" % ("%.0f s" % drained if drained is not None else "not within the window"))
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
