"""Start a local Verity network from a zombienet definition, without zombienet.

Reads the same TOML the zombienet CLI's native provider takes (zombienet/local-3.toml), starts one
`verity-node` process per node on loopback, and stops them all on exit, Ctrl-C or error. Used by
scripts/run-local.sh (`python -m verity.localnet`, foreground, until Ctrl-C) and by the
end-to-end tests (as a library, with ports shifted so that a running network and a test run do
not collide).

Standard library only (unlike verity.chain and verity.vtns, it needs neither numpy nor
substrate-interface).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

# The checkout this module lives in (python/src/verity/localnet.py): its zombienet/ definitions
# and scripts/demo.py. The package is installed editable (`pip install -e python/`), so this
# is the repository, not site-packages.
ROOT = Path(__file__).resolve().parents[3]
DEFAULT_NETWORK = ROOT / "zombienet" / "local-3.toml"
# Names that `verity-node --<name>` knows: each inserts that development account's session keys.
DEV_NAMES = {"alice", "bob", "charlie", "dave", "eve", "ferdie", "one", "two"}


def log(msg: str) -> None:
    print(f"[localnet] {msg}", file=sys.stderr, flush=True)


def rpc(url: str, method: str, params: list | None = None, timeout: float = 10.0):
    """One JSON-RPC call over HTTP; raises RuntimeError on a JSON-RPC error."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        reply = json.load(resp)
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def port_is_free(port: int) -> bool:
    """Whether a listener could bind 127.0.0.1:`port` now (sockets left in TIME_WAIT do not
    count: nodes bind with SO_REUSEADDR too)."""
    if not 0 < port < 65536:
        return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


# Linux hands out outgoing connections' ports from 32768 up: networks stay below.
EPHEMERAL_PORTS_START = 32768


def free_offset(base_ports: list[int], start: int = 1000, step: int = 10) -> int:
    """An offset at which every one of `base_ports` (shifted) is free now and below the
    ephemeral range, tried from a random start (system randomness: test seeds must not make
    two runs pick the same): test networks never collide with a running one."""
    import random
    stop = EPHEMERAL_PORTS_START - max(base_ports)
    span = max((stop - start) // step, 0)
    first = random.SystemRandom().randrange(span) if span else 0
    for i in range(span):
        offset = start + ((first + i) % span) * step
        if all(port_is_free(p + offset) for p in base_ports):
            return offset
    raise RuntimeError(f"no free offset for ports {base_ports} in [{start}, {stop})")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Node:
    name: str
    validator: bool
    rpc_port: int
    p2p_port: int
    prometheus_port: int
    args: list[str]
    base_path: Path
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)
    command: list[str] = field(default_factory=list, repr=False)
    peer_id: str = ""
    # What the running process was restarted with beyond `command` (binary, extra arguments).
    running_as: tuple[str, list[str]] | None = field(default=None, repr=False)

    @property
    def ports(self) -> list[int]:
        return [self.rpc_port, self.p2p_port, self.prometheus_port]

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.rpc_port}"


class EthRpc:
    """The Ethereum JSON-RPC adapter (`eth-rpc`, vendor/pallet-revive-eth-rpc) in front of one
    node: ethers, viem and other Ethereum tools talk to it on `url`. It keeps the receipts of the
    latest blocks in memory, so it works against pruned nodes."""

    def __init__(self, binary: Path, node_ws_url: str, port: int, log_path: Path):
        self.binary, self.node_ws_url, self.port, self.log_path = Path(binary), node_ws_url, port, log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        if not self.binary.exists():
            raise FileNotFoundError(f"{self.binary} not found: run ./scripts/build.sh first")
        if not port_is_free(self.port):
            raise RuntimeError(f"port {self.port} is in use: eth-rpc cannot listen there")
        cmd = [str(self.binary), "--node-rpc-url", self.node_ws_url, "--rpc-port", str(self.port),
               "--eth-pruning", "2048", "--rpc-cors", "all", "--no-prometheus"]
        with open(self.log_path, "ab") as logf:
            self.process = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"eth-rpc exited with {self.process.returncode}; log tail:\n{tail}")
            try:
                rpc(self.url, "eth_chainId", timeout=2)
                return
            except (urllib.error.URLError, OSError, RuntimeError):
                time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"eth-rpc did not answer on {self.url} within {timeout}s (log {self.log_path})")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class LocalNet:
    """A set of verity-node processes described by a zombienet TOML file."""

    def __init__(self, binary: Path, network_file: Path = DEFAULT_NETWORK, workdir: Path | None = None,
                 port_offset: int | None = 0, extra_args: list[str] | None = None,
                 node_overrides: dict[str, tuple[Path, list[str]]] | None = None):
        """`node_overrides`: per node name, another binary and extra arguments (the test suite's
        byzantine validator runs a fault-injection build). `port_offset=None`: an offset at
        which every port of the network is free now (`free_offset`)."""
        self.binary = Path(binary)
        self.node_overrides = node_overrides or {}
        spec = tomllib.loads(Path(network_file).read_text())
        chain = spec["relaychain"]
        self.chain = chain.get("chain", "local")
        self.workdir = Path(workdir or ROOT / ".local-net")
        default_args = list(chain.get("default_args", [])) + list(extra_args or [])
        if port_offset is None:
            port_offset = free_offset([e[k] for e in chain["nodes"]
                                       for k in ("rpc_port", "p2p_port", "prometheus_port")])
        self.port_offset = port_offset
        self.nodes: list[Node] = []
        for entry in chain["nodes"]:
            name = entry["name"]
            self.nodes.append(Node(
                name=name,
                validator=entry.get("validator", True),
                rpc_port=entry["rpc_port"] + port_offset,
                p2p_port=entry["p2p_port"] + port_offset,
                prometheus_port=entry["prometheus_port"] + port_offset,
                args=default_args + list(entry.get("args", [])),
                base_path=self.workdir / name,
                log_path=self.workdir / f"{name}.log",
            ))

    # -- lifecycle ---------------------------------------------------------------------------
    def _node_key(self, node: Node) -> str:
        """Writes a fresh libp2p key for `node` and returns its peer id."""
        key_file = node.base_path / "node-key"
        subprocess.run([str(self.binary), "key", "generate-node-key", "--file", str(key_file)],
                       check=True, capture_output=True)
        out = subprocess.run([str(self.binary), "key", "inspect-node-key", "--file", str(key_file)],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def start(self) -> None:
        if not self.binary.exists():
            raise FileNotFoundError(f"{self.binary} not found: run ./scripts/build.sh first")
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True)
        busy = [f"{n.name}:{p}" for n in self.nodes for p in n.ports if not port_is_free(p)]
        if busy:
            raise RuntimeError(f"ports in use (another network running?): {', '.join(busy)}")
        for node in self.nodes:
            node.base_path.mkdir(parents=True)
            node.peer_id = self._node_key(node)
        bootnode = self.nodes[0]
        boot_addr = f"/ip4/127.0.0.1/tcp/{bootnode.p2p_port}/p2p/{bootnode.peer_id}"
        try:
            for node in self.nodes:
                binary, override_args = self.node_overrides.get(node.name, (self.binary, []))
                cmd = [str(binary), "--chain", self.chain,
                       "--base-path", str(node.base_path),
                       "--node-key-file", str(node.base_path / "node-key"),
                       "--name", node.name,
                       "--rpc-port", str(node.rpc_port),
                       "--prometheus-port", str(node.prometheus_port),
                       "--listen-addr", f"/ip4/127.0.0.1/tcp/{node.p2p_port}"]
                if node.validator:
                    cmd.append(f"--{node.name}" if node.name in DEV_NAMES else "--validator")
                if node is not bootnode:
                    cmd += ["--bootnodes", boot_addr]
                cmd += node.args + list(override_args)
                node.command = cmd
                self._spawn(node)
            self.wait_rpc()
        except BaseException:
            self.stop()
            raise

    def _spawn(self, node: Node) -> None:
        logf = open(node.log_path, "ab")
        node.process = subprocess.Popen(node.command, stdout=logf, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        logf.close()

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def kill(self, name: str) -> None:
        """Kills a node abruptly (SIGKILL), as a crash would."""
        node = self.node(name)
        if node.process is not None and node.process.poll() is None:
            node.process.kill()
            node.process.wait()
        node.process = None
        node.running_as = None

    def restart(self, name: str, extra_args: list[str] | None = None, binary: Path | None = None) -> None:
        """Starts a killed node again with the same data, keys and ports (plus `extra_args`,
        and with another `binary` if given)."""
        node = self.node(name)
        command = node.command
        node.command = [str(binary or command[0])] + command[1:] + list(extra_args or [])
        self._spawn(node)
        node.command = command
        node.running_as = (str(binary), list(extra_args or [])) if binary or extra_args else None
        self.wait_rpc(nodes=[node])

    def restore(self) -> list[str]:
        """Restarts, as started, every node that was killed or restarted with another binary or
        arguments; returns their names."""
        restored = []
        for node in self.nodes:
            if node.process is None or node.running_as is not None:
                self.kill(node.name)
                self.restart(node.name)
                restored.append(node.name)
        return restored

    def wait_rpc(self, timeout: float = 60.0, nodes: list[Node] | None = None) -> None:
        deadline = time.monotonic() + timeout
        for node in nodes or self.nodes:
            while True:
                self.check_alive()
                try:
                    rpc(node.rpc_url, "system_health", timeout=2)
                    # The node we started answers, not a stale process on the same port.
                    peer = rpc(node.rpc_url, "system_localPeerId", timeout=2)
                    if node.peer_id and peer != node.peer_id:
                        raise RuntimeError(f"{node.name}: port {node.rpc_port} answers as {peer}, "
                                           f"not {node.peer_id}: another node holds it")
                    break
                except (urllib.error.URLError, ConnectionError, OSError):
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{node.name}: RPC not up after {timeout}s, see {node.log_path}")
                    time.sleep(0.5)

    def wait_connected(self, timeout: float = 60.0) -> None:
        """Waits until every node has every other node as a peer (`start` waits for the RPC
        only: the peers connect a few seconds later)."""
        deadline = time.monotonic() + timeout
        want = len(self.nodes) - 1
        for node in self.nodes:
            while (peers := rpc(node.rpc_url, "system_health", timeout=2)["peers"]) < want:
                self.check_alive()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{node.name}: {peers} peer(s) after {timeout}s, not {want}; see {node.log_path}")
                time.sleep(0.5)

    def check_alive(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is not None:
                tail = node.log_path.read_text(errors="replace")[-3000:] if node.log_path.exists() else ""
                raise RuntimeError(f"{node.name} exited with {node.process.returncode}; log tail:\n{tail}")

    def stop(self, timeout: float = 20.0) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()

    def __enter__(self) -> "LocalNet":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def describe(self) -> str:
        lines = []
        for node in self.nodes:
            lines.append(f"  {node.name:<8} rpc {node.rpc_url} (ws {node.ws_url})  "
                         f"p2p {node.p2p_port}  metrics http://127.0.0.1:{node.prometheus_port}/metrics  "
                         f"log {node.log_path}")
        return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", type=Path, default=DEFAULT_NETWORK, help="zombienet TOML file")
    parser.add_argument("--binary", type=Path,
                        default=Path(os.environ.get("VERITY_NODE_BIN", "target/release/verity-node")))
    parser.add_argument("--workdir", type=Path, default=ROOT / ".local-net",
                        help="chain data and logs (wiped at start)")
    parser.add_argument("--port-offset", type=int, default=0, help="added to every port in the file")
    parser.add_argument("--demo", nargs=2, metavar=("PYTHON", "MODELS_DIR"),
                        help="once up, run scripts/demo.py with this Python to register a demo model")
    parser.add_argument("--eth-rpc", type=Path, metavar="BINARY",
                        help="also start this eth-rpc adapter in front of the first node (port 8545 + offset)")
    args = parser.parse_args()

    net = LocalNet(args.binary, args.network, args.workdir, args.port_offset)
    stop = {"now": False}

    def on_signal(*_):
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log(f"starting {len(net.nodes)} nodes from {args.network}")
    net.start()
    log("network is up:\n" + net.describe())
    eth = None
    if args.eth_rpc:
        eth = EthRpc(args.eth_rpc, net.nodes[0].ws_url, 8545 + args.port_offset, net.workdir / "eth-rpc.log")
        try:
            eth.start()
            log(f"  eth-rpc  {eth.url} (chain id 424242; ethers, viem, cast)  log {eth.log_path}")
        except (OSError, RuntimeError) as e:
            log(f"eth-rpc did not start ({e}); the network keeps running without it")
            eth = None
    if args.demo:
        python, models = args.demo
        demo = subprocess.run([python, str(ROOT / "scripts" / "demo.py"), net.nodes[0].ws_url, models])
        if demo.returncode != 0:
            log("the demo model could not be set up (see above); the network keeps running")
    log("press Ctrl-C to stop every node")
    last = None
    try:
        while not stop["now"]:
            net.check_alive()
            try:
                best = int(rpc(net.nodes[0].rpc_url, "chain_getHeader")["number"], 16)
                fin_hash = rpc(net.nodes[0].rpc_url, "chain_getFinalizedHead")
                fin = int(rpc(net.nodes[0].rpc_url, "chain_getHeader", [fin_hash])["number"], 16)
                if (best, fin) != last:
                    log(f"best #{best}, finalized #{fin}")
                    last = (best, fin)
            except (urllib.error.URLError, OSError, RuntimeError):
                pass
            time.sleep(1)
    finally:
        log("stopping")
        if eth is not None:
            eth.stop()
        net.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
