#!/usr/bin/env python3
"""A fleet of real agentd processes across real network hops, put through rollouts, scaling,
crashes, partitions, packet loss, pauses and clock skew, and judged at the receiver.

    python3 bench/fleet.py --agentd BIN [--scenarios rolling,scale,crash,partition,loss,pause,skew,disk,large]
        [--short] [--targets-kind node|synthetic] [--targets N] [--work DIR] [--json FILE]
        [--deadline SECONDS] [--agent-flags "--log.level=debug ..."]

The bed (root only): a hub network namespace holding a Linux bridge; every agent, the receiver
(Prometheus 2.42 with --web.enable-remote-write-receiver) and the targets (real
prometheus-node-exporters, or bench/targets.py for hundreds) run in network namespaces of their
own, each joined to the bridge by a veth pair, with addresses of a random 10.199.X.0/24. This
script reaches them through one more veth pair from the root namespace (X.1). Faults are made
inside an agent's namespace: partitions with `iptables -j DROP` on the peers' addresses, random
loss with `iptables -m statistic --mode random --probability P -j DROP`, pauses with SIGSTOP and
SIGCONT, clock skew by starting agentd under Debian's faketime. Every process is started with
`ip netns exec` (which execs: the PID is the program's) and stopped by that PID; the namespaces
are deleted at the end, and --deadline bounds the whole run.

Judged at the receiver, slot by slot: each target's `up` samples (one per scrape, whether the
scrape succeeded or not; each member tags its own with the external label scraped_by) are put in
1 s slots by the target's phase (its timestamps mod 1 s). A slot of the scenario's window with no
sample is missed; one with samples of two members is doubled (a result with misses lists every
sample within three slots of them, by member: `samples_near_missed`). Then every killed member is started
again so it forwards what it appended, every member is stopped with SIGTERM once its queue is
empty, and every `up` sample each WAL holds (`agentd replay --format json`) is looked for at the
receiver: "lost" counts those missing.

Scenarios (the --short versions are what `swift test`'s FleetTests runs in CI):
  rolling    SIGTERM and restart every member of 5 (short: 3), one after another
  scale      3 -> 10 -> 3 members, one at a time and four at once (short: 3 -> 5 -> 3, one and two)
  crash      SIGKILL one member, then two at once, of 5 (short: one of 3)
  partition  cut one member of 5 (short: 3) off from the others for 30 s (short: 10 s), heal; then the
             asymmetric case: one member drops what another sends it, for as long
  loss       10 % random loss on every host's input for 5 minutes, 5 members
  pause      SIGSTOP one member of 5 for 5 s, then SIGCONT
  skew       one member of 3 started with its clock +1 s, -1 s, +3 s, -3 s off
  disk       a rolling restart of 3 while every member's fdatasync is held 1.5 s for 3 s of every 10
  large      30 members, 500 synthetic targets: convergence after a join, gossip bytes per member
             per second, CPU and RSS per idle member

Prints one JSON line per scenario and a Markdown table at the end (--json writes the list).
"""
import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import versus  # noqa: E402  (its process, HTTP and /proc helpers)
from hashring import HashRing  # noqa: E402  (the ring computed without agentd: the oracle of `scale`)
from versus import cpu_seconds, http_get, metric_in, status_kib, wait_http  # noqa: E402
IP = "/usr/sbin/ip"
IPTABLES = "/usr/sbin/iptables"
AGENT_PORT = 12345
RECEIVER_PORT = 9090
INTERVAL = 1.0


def log(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


def run(argv, check=True, timeout=30):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv), result.stderr.strip() or result.stdout.strip()))
    return result.stdout


def http_json(url, timeout=3):
    try:
        return json.loads(http_get(url, timeout))
    except Exception:
        return None


def wait_until(check, seconds, every=0.25):
    """Polls `check` until it returns a true value or `seconds` pass; returns its last value."""
    deadline = time.time() + seconds
    while True:
        value = check()
        if value or time.time() > deadline:
            return value
        time.sleep(every)


# The kernel keeps one ARP table for all network namespaces, and its gc_thresh3 (1024 by default)
# caps the entries of all of them together: 30 agents that all talk to each other pass it, and then
# new neighbours fail ("neighbour: arp_cache: neighbor table overflow!" in dmesg, connects fail with
# EHOSTUNREACH, probes time out). The bed raises the limits while it runs, as a host running that
# many network namespaces (a Kubernetes node) is configured to.
NEIGHBOUR_LIMITS = {"gc_thresh1": 4096, "gc_thresh2": 8192, "gc_thresh3": 16384}
NEIGHBOUR_SYSCTL = "/proc/sys/net/ipv4/neigh/default/"


def neighbour_limit(name, value=None):
    """Reads one of the kernel's neighbour-table limits, or sets it to `value`."""
    with open(NEIGHBOUR_SYSCTL + name, "r" if value is None else "w") as f:
        return int(f.read()) if value is None else f.write(str(value))


class Network:
    """The hub namespace with its bridge, the hosts' namespaces, and the root namespace's way in."""

    def __init__(self):
        self.neighbour_limits = {}
        try:
            for name, wanted in NEIGHBOUR_LIMITS.items():
                current = neighbour_limit(name)
                if current < wanted:
                    self.neighbour_limits[name] = current
            # Raised from the largest down and restored the other way round.
            for name in sorted(self.neighbour_limits, reverse=True):
                neighbour_limit(name, NEIGHBOUR_LIMITS[name])
        except OSError as error:
            log("cannot raise the neighbour-table limits (%s): more than about 30 hosts will see "
                "'neighbor table overflow'" % error)
        self.tag = "%04x" % random.randrange(0x10000)
        self.subnet = "10.199.%d" % random.randrange(256)
        self.hub = "agf%s-hub" % self.tag
        self.hosts = {}
        self.root_link = "agf%sr" % self.tag
        run([IP, "netns", "add", self.hub])
        try:
            run([IP, "-n", self.hub, "link", "set", "lo", "up"])
            run([IP, "-n", self.hub, "link", "add", "br0", "type", "bridge"])
            run([IP, "-n", self.hub, "link", "set", "br0", "up"])
            run([IP, "link", "add", self.root_link, "type", "veth", "peer", "name", "root", "netns", self.hub])
            run([IP, "-n", self.hub, "link", "set", "root", "master", "br0", "up"])
            run([IP, "addr", "add", self.subnet + ".1/24", "dev", self.root_link])
            run([IP, "link", "set", self.root_link, "up"])
        except Exception:
            self.remove()
            raise

    def add_host(self, name, last_octet):
        """A namespace joined to the bridge, with address subnet.last_octet; returns (namespace, address)."""
        namespace = "agf%s-%s" % (self.tag, name)
        address = "%s.%d" % (self.subnet, last_octet)
        port = "p%d" % last_octet
        run([IP, "netns", "add", namespace])
        self.hosts[name] = (namespace, address)
        run([IP, "-n", namespace, "link", "set", "lo", "up"])
        run([IP, "-n", self.hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", namespace])
        run([IP, "-n", self.hub, "link", "set", port, "master", "br0", "up"])
        run([IP, "-n", namespace, "addr", "add", address + "/24", "dev", "eth0"])
        run([IP, "-n", namespace, "link", "set", "eth0", "up"])
        return namespace, address

    def iptables(self, name, rule):
        run([IP, "netns", "exec", self.hosts[name][0], IPTABLES] + rule)

    def remove_host(self, name):
        namespace, _ = self.hosts.pop(name)
        run([IP, "netns", "delete", namespace], check=False)

    def flush(self, name):
        self.iptables(name, ["-F", "INPUT"])
        self.iptables(name, ["-F", "OUTPUT"])

    def remove(self):
        for namespace, _ in self.hosts.values():
            run([IP, "netns", "delete", namespace], check=False)
        run([IP, "netns", "delete", self.hub], check=False)
        run([IP, "link", "delete", self.root_link], check=False)
        for name in sorted(self.neighbour_limits):
            neighbour_limit(name, self.neighbour_limits[name])
        self.neighbour_limits = {}


class Processes(versus.Processes):
    """Children started in a namespace with `ip netns exec` (which execs: the PID is the program's)."""

    def start(self, namespace, argv, log_path, environment=None):
        env = dict(os.environ, **(environment or {}))
        process = subprocess.Popen([IP, "netns", "exec", namespace] + argv, stdout=open(log_path, "a"),
                                   stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self.started.append(process)
        return process

    def stop_all(self):
        for process in reversed(self.started):
            if process.poll() is None:
                # A launcher (faketime) does not pass signals on: its child goes first.
                for child in run(["pgrep", "-P", str(process.pid)], check=False).split():
                    try:
                        os.kill(int(child), signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    os.kill(process.pid, signal.SIGCONT)
                except OSError:
                    pass
                process.kill()
                process.wait()


class Agent:
    def __init__(self, bed, name, octet, launcher=None, environment=None):
        self.bed = bed
        self.name = name
        self.namespace, self.address = bed.network.add_host(name, octet)
        self.url = "http://%s:%d" % (self.address, AGENT_PORT)
        self.storage = os.path.join(bed.work, name)
        self.launcher = launcher or []
        self.environment = environment
        self.process = None

    def start(self, join):
        os.makedirs(self.storage, exist_ok=True)
        argv = self.launcher + [
            self.bed.agentd, "run", self.bed.config, "--server.http.listen-addr=%s:%d" % (self.address, AGENT_PORT),
            "--storage.path=" + self.storage, "--cluster.enabled=true", "--cluster.node-name=" + self.name,
            "--cluster.join-addresses=" + ",".join("%s:%d" % (a, AGENT_PORT) for a in join),
        ] + self.bed.agent_flags
        self.process = self.bed.processes.start(self.namespace, argv, self.storage + ".log", self.environment)
        if not wait_until(lambda: self.get("/-/ready") is not None, 30):
            raise RuntimeError("%s did not become ready; see %s.log" % (self.name, self.storage))

    @property
    def pid(self):
        """The agent's own PID (under faketime, the child faketime started)."""
        if not self.launcher:
            return self.process.pid
        children = run(["pgrep", "-P", str(self.process.pid)], check=False).split()
        return int(children[0]) if children else self.process.pid

    def running(self):
        return self.process is not None and self.process.poll() is None

    def get(self, path):
        try:
            return http_get(self.url + path, timeout=3)
        except Exception:
            return None

    def participants(self):
        peers = http_json(self.url + "/api/v0/web/peers") or []
        return {p["name"] for p in peers if p.get("state") == "participant"}

    def by_instance(self, field):
        """instance -> `field` of each target of `/api/v0/targets` ("owner", "ownerKey"), as this
        member sees it; None when it does not answer."""
        body = http_json(self.url + "/api/v0/targets")
        if body is None:
            return None
        return {t["labels"].get("instance", ""): t.get(field) for t in body.get("targets", [])}

    def owners(self):
        """instance -> owner, as this member sees it; None when it does not answer."""
        return self.by_instance("owner")

    def stop(self):
        """SIGTERM to agentd itself (a launcher such as faketime does not pass signals on); SIGKILL
        after 20 s. Returns the exit status."""
        if not self.launcher:
            return self.bed.processes.stop(self.process, grace=20)
        pid = self.pid
        try:
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGTERM)
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            self.process.wait()
        except OSError:
            self.process.wait(5)
        return self.process.returncode

    def kill(self):
        os.kill(self.pid, signal.SIGKILL)
        if self.launcher:
            self.process.kill()
        self.process.wait()

    def history(self, member=None):
        argv = [self.bed.agentd, "ownership-history", "--storage.path=" + self.storage, "--format=json"]
        if member:
            argv.append("--member=" + member)
        try:
            return json.loads(run(argv, timeout=60) or "[]")
        except Exception as error:
            log("ownership-history on %s failed: %s" % (self.name, error))
            return []

    def wal_up_samples(self):
        """(instance, timestamp) of every `up` sample this member's WAL holds (no staleness markers)."""
        output = run([self.bed.agentd, "replay", "--since=6h", "--storage.path=" + self.storage, "--format=json",
                      "--match={__name__=\"up\"}"], timeout=120)
        samples = set()
        for line in output.splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            if record.get("stale"):
                continue  # a staleness marker: the query API does not return them
            labels = record.get("labels", {})
            samples.add((labels.get("instance", ""), int(record["timestamp"])))
        return samples


class BedError(RuntimeError):
    """The bed itself (its network, receiver or targets) did not come up: nothing of agentd ran yet."""


def receiver_diagnosis(process, namespace, url, log_path):
    """Why a receiver does not answer: whether it exited, whether it answers from inside its own
    namespace (then the path from the root namespace is what fails), the route to it, and its log's end."""
    if process.poll() is not None:
        state = "exited with status %d" % process.returncode
    else:
        probe = run([IP, "netns", "exec", namespace, sys.executable, "-c",
                     "import urllib.request\ntry: print(urllib.request.urlopen(%r, timeout=2).status)\n"
                     "except Exception as e: print(e)" % (url + "/-/ready")],
                    check=False, timeout=10).strip()
        state = "running; from its own namespace /-/ready answers %s" % (probe or "nothing")
    route = " ".join(run([IP, "route", "get", url.split("//")[1].split(":")[0]], check=False).split())
    try:
        with open(log_path, errors="replace") as f:
            tail = "".join(f.readlines()[-12:]).strip()
    except OSError as error:
        tail = str(error)
    return "%s; route from the root namespace: %s; log %s ends:\n%s" % (state, route, log_path, tail)


class Bed:
    """The network, the receiver, the targets, and the agents of the scenario being run."""

    def __init__(self, args):
        self.agentd = os.path.abspath(args.agentd)
        self.interval = args.interval
        self.agent_flags = args.agent_flags.split()
        self.work = args.work
        self.processes = Processes()
        self.network = Network()
        self.octets = iter(range(10, 250))
        self.agents = {}
        try:
            self._start_receiver()
            self._start_targets(args.targets_kind, args.targets)
        except Exception:
            self.close()
            raise

    def _start_receiver(self):
        namespace, address = self.network.add_host("receiver", 2)
        directory = os.path.join(self.work, "receiver")
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 15s\n")
        process = self.processes.start(namespace, [
            "prometheus", "--config.file=" + directory + "/prometheus.yml", "--storage.tsdb.path=" + directory + "/data",
            "--web.listen-address=%s:%d" % (address, RECEIVER_PORT), "--web.enable-remote-write-receiver",
            "--storage.tsdb.retention.time=1d",
        ], directory + ".log")
        self.receiver = "http://%s:%d" % (address, RECEIVER_PORT)

        def answers():
            try:
                http_get(self.receiver + "/-/ready", timeout=2)
                return True
            except Exception:
                return False
        if not wait_until(lambda: process.poll() is not None or answers(), 60) or process.poll() is not None:
            raise BedError("the receiver %s is not ready: %s" % (
                self.receiver, receiver_diagnosis(process, namespace, self.receiver, directory + ".log")))

    def _start_targets(self, kind, count):
        namespace, address = self.network.add_host("targets", 3)
        self.targets = []
        if kind == "node":
            for index in range(count):
                port = 9100 + index
                self.processes.start(namespace, [
                    "prometheus-node-exporter", "--web.listen-address=%s:%d" % (address, port),
                    "--no-collector.systemd",
                ], os.path.join(self.work, "node-exporter-%d.log" % index))
                self.targets.append("%s:%d" % (address, port))
        else:
            ready = os.path.join(self.work, "targets.ready")
            self.processes.start(namespace, [
                sys.executable, os.path.join(HERE, "targets.py"), "--address", address, "--port", "20000",
                "--targets", str(count), "--series", "20", "--ready-file", ready,
            ], os.path.join(self.work, "targets.log"))
            if not wait_until(lambda: os.path.exists(ready), 60):
                raise BedError("the synthetic targets did not start; see %s" % os.path.join(self.work, "targets.log"))
            self.targets = ["%s:%d" % (address, 20000 + index) for index in range(count)]
        for target in self.targets:
            try:
                wait_http("http://%s/metrics" % target, 30)
            except RuntimeError as error:
                raise BedError(str(error))
        self.config = os.path.join(self.work, "config.alloy")
        with open(self.config, "w") as f:
            f.write(config_text(self.targets, self.receiver + "/api/v1/write", self.interval))

    def new_agent(self, name, **options):
        agent = Agent(self, name, next(self.octets), **options)
        self.agents[name] = agent
        return agent

    def running(self):
        return [a for a in self.agents.values() if a.running()]

    def start(self, agents):
        """Starts `agents`. Every member's join addresses are every address of the scenario's
        fleet, running or not yet (as one DNS name standing for the fleet would give)."""
        for agent in agents:
            agent.start(self.addresses())

    def addresses(self):
        return [a.address for a in self.agents.values()]

    def restart_each(self, agents):
        """SIGTERM, start again and wait until the fleet agrees, one member after another; returns
        each restart's member, exit status and seconds."""
        restarts = []
        for agent in agents:
            began = time.time()
            status = agent.stop()
            agent.start(self.addresses())
            self.converge()
            restarts.append({"member": agent.name, "exit": status, "seconds": round(time.time() - began, 1)})
        return restarts

    def agreement(self, members=None):
        """The owner map when every running member (or `members`) sees exactly them as
        participants and the same owner for every target, all of them among them; else None."""
        members = members if members is not None else self.running()
        names = {a.name for a in members}
        maps = []
        for agent in members:
            if agent.participants() != names:
                return None
            owners = agent.owners()
            if owners is None or len(owners) != len(self.targets) or not set(owners.values()) <= names:
                return None
            maps.append(owners)
        return maps[0] if maps and all(m == maps[0] for m in maps) else None

    def start_settled(self, agents):
        """Starts `agents`, waits until they agree and the receiver holds a sample of every target
        from after that; returns the start of the scenario's window."""
        self.start(agents)
        self.converge(seconds=180 if len(agents) > 10 else 60)
        start = time.time() + 1
        self.wait_delivered(start + 1)
        return start

    def converge(self, seconds=60, members=None):
        """Waits for agreement; returns (owner map, seconds it took)."""
        start = time.time()
        owners = wait_until(lambda: self.agreement(members), seconds)
        if not owners:
            raise RuntimeError("the fleet did not agree within %d s: %s" % (seconds, self.describe()))
        return owners, time.time() - start

    def describe(self):
        return "; ".join("%s sees %s" % (a.name, sorted(a.participants())) for a in self.running())

    def up_samples(self, since):
        """instance -> [(timestamp ms, scraped_by)] of every `up` sample at the receiver since `since`."""
        # Evaluated a minute ahead: a member whose clock runs ahead stamps its samples in the future.
        window = int(time.time() - since) + 65
        url = "%s/api/v1/query?query=%s&time=%f" % (
            self.receiver, urllib.request.quote('up{job="fleet"}[%ds]' % window), time.time() + 60)
        body = http_json(url, timeout=30) or {}
        samples = {}
        for series in body.get("data", {}).get("result", []):
            instance = series["metric"].get("instance", "")
            member = series["metric"].get("scraped_by", "")
            for timestamp, _ in series.get("values", []):
                samples.setdefault(instance, []).append((int(round(float(timestamp) * 1000)), member))
        return samples

    def wait_delivered(self, through, seconds=60):
        """Waits until the receiver holds a sample of every target at or after time `through`."""
        def delivered():
            samples = self.up_samples(through - 120)
            return all(any(t >= through * 1000 for t, _ in samples.get(target, [])) for target in self.targets)
        if not wait_until(delivered, seconds, every=0.5):
            raise RuntimeError("the receiver has no sample after %.0f of some target" % through)

    def slots(self, start, end):
        """Missed and doubled slots in [start, end] (seconds), per target, once the receiver holds
        a sample of every target from after `end`."""
        self.wait_delivered(end + 1)
        report = {"missed": {}, "doubled": {}, "near_missed": {}}
        samples = self.up_samples(start - 30)
        for target in self.targets:
            points = samples.get(target, [])
            if not points:
                report["missed"][target] = list(range(0, int(end - start), self.interval))
                continue
            # The slot's phase: the commonest timestamp offset within the second (a member's
            # scrapes start on the target's slot; a late one still rounds to its own slot).
            width = self.interval * 1000
            phase = statistics.mode(t % width for t, _ in points)
            by_slot = {}
            for timestamp, member in points:
                by_slot.setdefault(int(round((timestamp - phase) / width)), []).append(member)
            first = int(round((start * 1000 - phase) / width))
            last = int(round((end * 1000 - phase) / width))
            missed = [slot for slot in range(first, last + 1) if slot not in by_slot]
            doubled = [slot for slot in range(first, last + 1) if len(by_slot.get(slot, [])) > 1]
            if missed:
                # When, as seconds after the window's start (the events' logs tell what happened).
                report["missed"][target] = [round((slot * width + phase) / 1000.0 - start, 1) for slot in missed]
                # And every sample within three slots of a missed one, by member: a late scrape
                # shows as a missed slot beside a doubled one, a gap in ownership as no sample.
                near = sorted((t, m) for t, m in points
                              if any(abs((t - phase) / width - slot) <= 3 for slot in missed))
                report["near_missed"][target] = [[round(t / 1000.0 - start, 3), m] for t, m in near]
            if doubled:
                report["doubled"][target] = len(doubled)
        return report

    def finish(self):
        """Starts every stopped member again so it forwards what it appended, waits until every
        member has read its WAL to the end with nothing unacknowledged, stops them all, and counts the `up`
        samples of each WAL that are not at the receiver."""
        for agent in self.agents.values():
            if agent.process is not None and not agent.running():
                # Under its own launcher still: a skewed member restarted with the true time would
                # stamp samples behind its last ones, which the receiver refuses as out of order.
                agent.start(self.addresses())

        caught_up = set()

        def drained():
            # Every member has been seen with its WAL read to the end and no sample unacknowledged
            # (each at its own moment: with 30 members scraping, some queue always holds a batch).
            for agent in self.running():
                if agent.name in caught_up:
                    continue
                text = agent.get("/metrics")
                pending = metric_in(text, ["prometheus_remote_storage_samples_pending"])
                backlog = metric_in(text, ["agentd_remote_storage_wal_backlog_bytes"])
                if pending == 0 and backlog == 0:
                    caught_up.add(agent.name)
            return all(agent.name in caught_up for agent in self.running())
        drained_in_time = wait_until(drained, 120, every=0.5)
        for agent in self.running():
            agent.stop()
        received = {}
        for instance, points in self.up_samples(time.time() - 3 * 3600).items():
            for timestamp, member in points:
                received.setdefault(member, set()).add((instance, timestamp))
        lost = {}
        for agent in self.agents.values():
            if agent.process is None:
                continue
            missing = agent.wal_up_samples() - received.get(agent.name, set())
            if missing:
                lost[agent.name] = len(missing)
        return {"lost": sum(lost.values()), "lost_by_member": lost, "drained": bool(drained_in_time)}

    def reset(self):
        """Stops every agent (SIGKILL: the scenario's figures are taken) and deletes their
        namespaces, so the next round can use the names again."""
        for agent in self.agents.values():
            if agent.running():
                try:
                    os.kill(agent.pid, signal.SIGCONT)
                except OSError:
                    pass
                agent.kill()
            self.network.remove_host(agent.name)
        self.agents = {}

    def close(self):
        self.processes.stop_all()
        self.network.remove()


def config_text(targets, receiver, interval):
    listed = "\n".join('\t\t{"__address__" = "%s"},' % target for target in targets)
    return """prometheus.scrape "fleet" {
\ttargets = [
%s
\t]
\tforward_to      = [prometheus.remote_write.default.receiver]
\tjob_name        = "fleet"
\tscrape_interval = "%ds"
\tscrape_timeout  = "%dms"

\tclustering {
\t\tenabled = true
\t}
}

prometheus.remote_write "default" {
\texternal_labels = {
\t\tscraped_by = constants.node_name,
\t}

\tendpoint {
\t\turl = "%s"
\t\tqueue_config {
\t\t\tbatch_send_deadline = "200ms"
\t\t}
\t}
}
""" % (listed, interval, interval * 800, receiver)


def moved(before, after):
    return sum(1 for target, owner in after.items() if before.get(target) != owner)


def summarize(name, bed, start, end, extra):
    slots = bed.slots(start, end)
    result = {
        "scenario": name,
        "targets": len(bed.targets),
        "missed_slots": sum(len(v) for v in slots["missed"].values()),
        "doubled_slots": sum(slots["doubled"].values()),
        "missed_by_target": slots["missed"],
        "doubled_by_target": slots["doubled"],
        "samples_near_missed": slots["near_missed"],
        "window_seconds": round(end - start, 1),
    }
    result.update(extra)
    return result


def scenario_rolling(bed, short):
    count = 3 if short else 5
    agents = [bed.new_agent("agentd-%d" % i) for i in range(1, count + 1)]
    start = bed.start_settled(agents)
    restarts = bed.restart_each(agents)
    end = time.time()
    bed.wait_delivered(end + 1)
    result = summarize("rolling restart", bed, start, end, {
        "members": count, "restarts": restarts,
        "note": "SIGTERM, start again, wait until every member agrees on the owners; one after another",
    })
    return result, True


def scenario_scale(bed, short):
    steps = [1, 2, -1, -2] if short else [1, 1, 1, 4, -1, -1, -1, -4]
    most = 3 + max(sum(steps[:i + 1]) for i in range(len(steps)))
    agents = [bed.new_agent("agentd-%d" % i) for i in range(1, most + 1)]
    bed.start(agents[:3])
    owners, _ = bed.converge()
    keys = agents[0].by_instance("ownerKey")
    start = time.time() + 1
    bed.wait_delivered(start + 1)
    changes = []
    off_ring = []
    serial = 3
    for step in steps:
        members_before = len(bed.running())
        if step > 0:
            bed.start(agents[serial:serial + step])
            serial += step
        else:
            leaving = bed.running()[step:]
            for agent in leaving:
                agent.process.send_signal(signal.SIGTERM)
            for agent in leaving:
                agent.stop()
        after, seconds = bed.converge()
        members_after = len(bed.running())
        ideal = len(bed.targets) * abs(step) / max(members_before, members_after)
        # Which member must own each target: the ring of the running members, computed here.
        ring = HashRing(a.name for a in bed.running())
        expected = {target: ring.owner(keys[target]) for target in after}
        off_ring += ["%s: %s, the ring's %s (%d members)" % (target, after[target], expected[target], members_after)
                     for target in sorted(after) if after[target] != expected[target]]
        changes.append({"from": members_before, "to": members_after, "moved": moved(owners, after),
                        "ring_moved": moved(owners, expected), "ideal": round(ideal, 1),
                        "converged_seconds": round(seconds, 1)})
        owners = after
    end = time.time()
    bed.wait_delivered(end + 1)
    return summarize("scale out and in", bed, start, end, {
        "members": "3→%d→3" % max(c["to"] for c in changes), "changes": changes,
        "moved": sum(c["moved"] for c in changes), "ideal_moved": round(sum(c["ideal"] for c in changes), 1),
        "off_ring": off_ring,
    }), not off_ring


def scenario_crash(bed, short):
    count = 3 if short else 5
    agents = [bed.new_agent("agentd-%d" % i) for i in range(1, count + 1)]
    bed.start(agents)
    owners, _ = bed.converge()
    start = time.time() + 1
    bed.wait_delivered(start + 1)
    events = []
    orphaned = {}  # victim -> the targets it owned when it was killed
    for victims in ([agents[-1]], agents[-3:-1]) if not short else ([agents[-1]],):
        for victim in victims:
            victim.kill()
            orphaned[victim.name] = {t for t, owner in owners.items() if owner == victim.name}
        after, detection = bed.converge(seconds=60)
        events.append({"killed": [v.name for v in victims], "detection_seconds": round(detection, 1),
                       "moved": moved(owners, after)})
        bed.wait_delivered(time.time() + 1)
        owners = after
    end = time.time()
    bed.wait_delivered(end + 1)
    result = summarize("crash (SIGKILL)", bed, start, end, {"members": count, "events": events})
    # The gap of each moved target is at most the detection time (in slots, plus the slot in flight).
    allowed = sum(int(e["detection_seconds"] / INTERVAL) + 2 for e in events)
    over = {t: n for t, n in result["missed_by_target"].items() if len(n) > allowed}
    result["gap_over_detection"] = over
    result["detection_seconds"] = max(e["detection_seconds"] for e in events)
    # Every move is explained on a survivor: each target a victim owned has a member_dead change.
    survivor = next(a for a in agents if a.running())
    unexplained = []
    for victim, targets in orphaned.items():
        history = survivor.history(victim)
        dead = {h.get("target") for h in history if h.get("cause") == "member_dead"}
        unexplained += ["%s of %s" % (t, victim) for t in sorted(targets - dead)]
    result["unexplained"] = unexplained
    return result, not over and not unexplained and result["doubled_slots"] == 0


def scenario_partition(bed, short):
    count = 3 if short else 5
    cut_seconds = 10 if short else 30
    agents = [bed.new_agent("agentd-%d" % i) for i in range(1, count + 1)]
    start = bed.start_settled(agents)
    cases = []
    for case in ("symmetric", "asymmetric"):
        isolated, others = agents[0], agents[1:]
        began = time.time()
        if case == "symmetric":
            for other in others:
                bed.network.iptables(isolated.name, ["-A", "INPUT", "-s", other.address, "-j", "DROP"])
                bed.network.iptables(isolated.name, ["-A", "OUTPUT", "-d", other.address, "-j", "DROP"])
        else:
            # agentd-2 drops everything agentd-1 sends it: agentd-1 hears agentd-2, not the reverse.
            bed.network.iptables(others[0].name, ["-A", "INPUT", "-s", isolated.address, "-j", "DROP"])
        time.sleep(cut_seconds)  # the fault's duration: what is measured is what happens meanwhile
        split = {a.name: sorted(a.participants()) for a in agents}
        healed = time.time()
        bed.network.flush(isolated.name)
        bed.network.flush(others[0].name)
        _, convergence = bed.converge(seconds=90)
        bed.wait_delivered(time.time() + 1)
        window = bed.slots(began, time.time())
        cases.append({
            "case": case, "cut_seconds": round(healed - began, 1), "views_during": split,
            "converged_after_heal_seconds": round(convergence, 1),
            "doubled_slots": sum(window["doubled"].values()),
            "missed_slots": sum(len(v) for v in window["missed"].values()), "missed_at": window["missed"],
        })
    end = time.time()
    result = summarize("partition", bed, start, end, {"members": count, "cases": cases})
    result["convergence_seconds"] = max(c["converged_after_heal_seconds"] for c in cases)
    return result, False


def scenario_loss(bed, short):
    count = 5
    minutes = 1 if short else 5
    agents = [bed.new_agent("agentd-%d" % i) for i in range(1, count + 1)]
    start = bed.start_settled(agents)
    hosts = [a.name for a in agents] + ["receiver", "targets"]
    for host in hosts:
        bed.network.iptables(host, ["-A", "INPUT", "-m", "statistic", "--mode", "random", "--probability", "0.1",
                                    "-j", "DROP"])
    time.sleep(minutes * 60)  # the fault's duration
    views = {a.name: sorted(a.participants()) for a in agents}
    for host in hosts:
        bed.network.flush(host)
    end = time.time()
    bed.wait_delivered(end + 1)
    deaths = []
    for agent in agents:
        deaths += ["%s: %s" % (agent.name, h.get("detail")) for h in agent.history() if h.get("cause") == "member_dead"]
    result = summarize("10 % packet loss", bed, start, end, {
        "members": count, "loss_minutes": minutes, "declared_dead": sorted(set(deaths)), "views_at_end": views,
    })
    return result, not deaths and result["missed_slots"] == 0 and result["doubled_slots"] == 0


def scenario_pause(bed, short):
    count = 5
    agents = [bed.new_agent("agentd-%d" % i) for i in range(1, count + 1)]
    start = bed.start_settled(agents)
    paused = agents[0]
    os.kill(paused.pid, signal.SIGSTOP)
    seen = {}
    began = time.time()
    while time.time() - began < 5:
        for other in agents[1:]:
            peers = http_json(other.url + "/api/v0/web/peers") or []
            for peer in peers:
                if peer["name"] == paused.name:
                    seen.setdefault(peer["state"], round(time.time() - began, 1))
        time.sleep(0.2)
    os.kill(paused.pid, signal.SIGCONT)
    _, convergence = bed.converge(seconds=60)
    end = time.time() + 5
    bed.wait_delivered(end + 1)
    deaths = [h.get("detail") for h in agents[1].history(paused.name) if h.get("cause") == "member_dead"]
    result = summarize("pause (SIGSTOP 5 s)", bed, start, end, {
        "members": count, "states_seen": seen, "declared_dead": sorted(set(deaths)),
        "converged_after_resume_seconds": round(convergence, 1),
    })
    return result, False


def scenario_skew(bed, short):
    results = []
    for offset in ("+1", "-1", "+3", "-3"):
        agents = [bed.new_agent("agentd-%d" % i) for i in range(1, 3)]
        skewed = bed.new_agent("agentd-skew%s" % offset.replace("+", "p").replace("-", "m"),
                               launcher=["faketime", "-f", "%ss" % offset],
                               environment={"FAKETIME_DONT_FAKE_MONOTONIC": "1"})
        bed.start(agents + [skewed])
        bed.converge()
        start = time.time() + 1
        bed.wait_delivered(start + 1)
        # A hand-off in each direction: the skewed member leaves and comes back.
        skewed.stop()
        bed.converge(members=agents)
        skewed.start(bed.addresses())
        bed.converge()
        end = time.time() + 3
        bed.wait_delivered(end + 1)
        warned = any("A peer's clock is off" in open(a.storage + ".log").read() for a in agents)
        result = summarize("clock skew %s s" % offset, bed, start, end, {"members": 3, "warned": warned})
        result.update(bed.finish())
        results.append(result)
        bed.reset()
    return results, False


STALL_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* fdatasync, held first for as many seconds as the file named by AGENTD_FLEET_STALL says, while
   that file exists. */
int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    const char *path = getenv("AGENTD_FLEET_STALL");
    FILE *control = path ? fopen(path, "r") : NULL;
    if (control) {
        double seconds = 0;
        if (fscanf(control, "%lf", &seconds) == 1 && seconds > 0) {
            struct timespec pause = {(time_t)seconds, (long)((seconds - (long)seconds) * 1e9)};
            nanosleep(&pause, NULL);
        }
        fclose(control);
    }
    return real(fd);
}
"""


def stall_shim(work):
    """Builds the fdatasync shim (LD_PRELOAD) with the C compiler there is (the Swift toolchain
    has clang); returns its path."""
    swift = shutil.which("swift")
    toolchain = os.path.join(os.path.dirname(os.path.realpath(swift)), "clang") if swift else None
    compiler = shutil.which("cc") or shutil.which("clang") or (toolchain if toolchain and os.path.exists(toolchain) else None)
    if not compiler:
        raise RuntimeError("the disk scenario builds an fdatasync shim: it needs cc, or clang (the Swift toolchain's)")
    source, library = os.path.join(work, "stall.c"), os.path.join(work, "stall.so")
    with open(source, "w") as f:
        f.write(STALL_SHIM)
    run([compiler, "-shared", "-fPIC", "-O2", "-o", library, source, "-ldl"], timeout=60)
    return library


def scenario_disk(bed, short):
    """A rolling restart of 3 members while every member's fdatasync is held 1.5 s, for 3 s of
    every 10 (an LD_PRELOAD shim): a disk that stalls must cost no slot, neither by delaying
    scrapes nor by delaying the ownership view of a member that joins."""
    control = os.path.join(bed.work, "stall")
    environment = {"LD_PRELOAD": stall_shim(bed.work), "AGENTD_FLEET_STALL": control}
    agents = [bed.new_agent("agentd-%d" % i, environment=environment) for i in range(1, 4)]
    start = bed.start_settled(agents)
    stop = threading.Event()
    stalls = []

    def stall():
        while not stop.wait(7):
            with open(control + ".tmp", "w") as f:
                f.write("1.5")
            os.rename(control + ".tmp", control)
            stalls.append(round(time.time() - start, 1))
            stop.wait(3)
            os.unlink(control)
    stalling = threading.Thread(target=stall, daemon=True)
    stalling.start()
    try:
        restarts = bed.restart_each(agents)
        end = time.time() + 10
        bed.wait_delivered(end + 1)
    finally:
        stop.set()
        stalling.join()
    behind = sum(open(a.storage + ".log").read().count("Scrape loop fell behind") for a in agents)
    result = summarize("stalled disk (fdatasync held 1.5 s, 3 s of every 10)", bed, start, end, {
        "members": 3, "restarts": restarts, "stalls_began_at": stalls, "loops_fell_behind": behind,
        "note": "rolling restart of every member while the disk stalls",
    })
    return result, True


def scenario_large(bed, short):
    """30 members and 500 targets on the 2 cores: what a member costs, how much it gossips, and
    how long a join takes to agree. A fleet that does not agree is reported, not failed: the
    suspicions it raised say why."""
    count = 30
    agents = [bed.new_agent("agentd-%d" % i) for i in range(1, count + 1)]
    joiner = bed.new_agent("agentd-%d" % (count + 1))
    launched = time.time()
    bed.start(agents)
    agreed = wait_until(lambda: bed.agreement(), 180)
    formed = round(time.time() - launched, 1) if agreed else None

    def sample():
        return {a.name: (cpu_seconds(a.pid), metric_in(a.get("/metrics"), ["cluster_transport_tx_bytes_total"]),
                         suspicions(a)) for a in agents}
    before = sample()
    began = time.time()
    time.sleep(60)  # the measurement window: steady gossip, probes and scrapes
    after = sample()
    elapsed = time.time() - began
    cpu = [(after[n][0] - before[n][0]) / elapsed for n in before]
    gossip = [((after[n][1] or 0) - (before[n][1] or 0)) / elapsed for n in before]
    suspected = sum(after[n][2] - before[n][2] for n in before)
    rss = [status_kib(a.pid, "VmRSS") / 1024 for a in agents]
    joined = time.time()
    bed.start([joiner])
    agreed = wait_until(lambda: bed.agreement(), 120)
    convergence = round(time.time() - joined, 1) if agreed else None
    end = time.time()
    figures = {
        "members": count, "formed_seconds": formed, "join_convergence_seconds": convergence,
        "suspicions_per_minute": round(suspected * 60 / elapsed, 1),
        "gossip_bytes_per_member_per_second": round(statistics.median(gossip)),
        "cpu_cores_per_member": round(statistics.median(cpu), 4),
        "rss_mib_per_member": round(statistics.median(rss), 1),
    }
    name = "30 members, 500 targets at %d s" % bed.interval
    try:
        result = summarize(name, bed, began, end, figures)
    except RuntimeError as error:
        # Slots cannot be judged when the receiver lacks samples: say so, keep the figures.
        result = dict(figures, scenario=name, targets=len(bed.targets), missed_slots="n/a",
                      doubled_slots="n/a", delivery=str(error))
    return result, False


def suspicions(agent):
    """How many times this member has logged a peer (or itself) becoming suspect."""
    with open(agent.storage + ".log", errors="replace") as f:
        return sum(1 for line in f if "cluster.state=suspect" in line)


SCENARIOS = {
    "rolling": scenario_rolling, "scale": scenario_scale, "crash": scenario_crash,
    "partition": scenario_partition, "loss": scenario_loss, "pause": scenario_pause,
    "skew": scenario_skew, "large": scenario_large, "disk": scenario_disk,
}


def table(results):
    lines = [
        "| scenario | members | targets | missed slots | doubled slots | detection / convergence | lost at the receiver | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append("| %s | | | | | | | failed: %s |" % (r["scenario"], r["error"]))
            continue
        timing = ""
        if "detection_seconds" in r:
            timing = "detected in %.1f s" % r["detection_seconds"]
        if "convergence_seconds" in r:
            timing = "one owner %.1f s after the heal" % r["convergence_seconds"]
        if "join_convergence_seconds" in r:
            timing = ("a join agreed in %.1f s" % r["join_convergence_seconds"] if r["join_convergence_seconds"]
                      else "a join did not agree within 120 s")
        if "converged_after_resume_seconds" in r:
            timing = "agreed %.1f s after SIGCONT" % r["converged_after_resume_seconds"]
        notes = []
        if "moved" in r:
            notes.append("moved %d targets (ideal %.1f)" % (r["moved"], r["ideal_moved"]))
        if "off_ring" in r:
            notes.append("owners off the ring: %d" % len(r["off_ring"]))
        if "cases" in r:
            notes += ["%s: %d doubled, %d missed" % (c["case"], c["doubled_slots"], c["missed_slots"]) for c in r["cases"]]
        if "declared_dead" in r:
            notes.append("declared dead: %s" % (", ".join(r["declared_dead"]) or "none"))
        if "states_seen" in r:
            notes.append("states seen by a peer: %s" % r["states_seen"])
        if "warned" in r:
            notes.append("skew warning: %s" % ("yes" if r["warned"] else "no"))
        if "gossip_bytes_per_member_per_second" in r:
            notes.append("per member: %d gossip B/s, %.3f cores, %.0f MiB RSS; %.1f suspicions a minute in the fleet" % (
                r["gossip_bytes_per_member_per_second"], r["cpu_cores_per_member"], r["rss_mib_per_member"],
                r["suspicions_per_minute"]))
        if "stalls_began_at" in r:
            notes.append("%d stalls; loops that fell behind: %d" % (len(r["stalls_began_at"]), r["loops_fell_behind"]))
        if "delivery" in r:
            notes.append("slots not judged: " + r["delivery"])
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["scenario"], r["members"], r["targets"], r["missed_slots"], r["doubled_slots"], timing,
            r.get("lost", "n/a"), "; ".join(notes)))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agentd", required=True)
    parser.add_argument("--scenarios", default="rolling,scale,crash,partition,loss,pause,skew,disk,large")
    parser.add_argument("--short", action="store_true", help="the bounded versions CI runs")
    parser.add_argument("--targets-kind", choices=["node", "synthetic"], default="node")
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--work", default="/tmp/agentd-fleet")
    parser.add_argument("--agent-flags", default="", help="more flags for every agent, e.g. --log.level=debug")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--deadline", type=float, default=3600, help="stop everything after this many seconds")
    parser.add_argument("--large-interval", type=int, default=15,
                        help="scrape interval (seconds) of the 500 targets of the 30-member scenario")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("fleet.py needs root (network namespaces, iptables)")
    for tool in (IP, IPTABLES):
        if not os.path.exists(tool):
            sys.exit("missing %s" % tool)

    def expire(*_):
        raise TimeoutError("--deadline of %.0f s reached" % args.deadline)
    signal.signal(signal.SIGALRM, expire)
    signal.signal(signal.SIGTERM, expire)
    signal.alarm(int(args.deadline))

    results = []
    for name in args.scenarios.split(","):
        kind, count, interval = args.targets_kind, args.targets, 1
        if name == "large":
            # The scenario is about the cluster's own cost: its 500 targets are scraped every 15 s
            # by default (--large-interval), not 500 times a second on the 2 cores.
            kind, count, interval = "synthetic", 500, args.large_interval
        work = os.path.join(args.work, name)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        scenario_args = argparse.Namespace(
            **dict(vars(args), work=work, targets_kind=kind, targets=count, interval=interval))
        log("%s: building the bed (%d %s targets)" % (name, count, kind))
        bed = None
        not_built = []
        try:
            # A bed that does not come up (no agentd has run yet) is built once more, afresh, on
            # another subnet; the first failure stays in the result.
            for attempt in range(2):
                try:
                    bed = Bed(scenario_args)
                    break
                except BedError as error:
                    if attempt == 1:
                        raise
                    not_built.append(str(error))
                    log("%s: the bed did not come up (%s); building it again" % (name, error))
                    shutil.rmtree(work, ignore_errors=True)
                    os.makedirs(work)
            outcome, _ = SCENARIOS[name](bed, args.short)
            for result in outcome if isinstance(outcome, list) else [outcome]:
                if "lost" not in result:
                    result.update(bed.finish())
                if not_built:
                    result["bed_not_built"] = not_built
                results.append(result)
                print(json.dumps(result), flush=True)
        except Exception as error:
            results.append({"scenario": name, "error": "%s: %s" % (type(error).__name__, error)})
            print(json.dumps(results[-1]), flush=True)
        finally:
            if bed is not None:
                bed.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print()
    print(table(results))


if __name__ == "__main__":
    main()
