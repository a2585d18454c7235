"""Fixtures of the end-to-end suite: a real local network of verity-node processes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from verity import localnet

ROOT = Path(__file__).resolve().parents[2]

# Each test network runs on ports chosen when it starts, all free then (localnet.free_offset), so
# a developer's running network, another test run and the suite coexist. VERITY_TEST_PORT_OFFSET
# pins the first network's offset instead (the others follow it by 1000 and 2000).
PINNED_OFFSET = os.environ.get("VERITY_TEST_PORT_OFFSET")


def port_offset(shift: int) -> int | None:
    return int(PINNED_OFFSET) + shift if PINNED_OFFSET else None


def node_binary() -> Path:
    default = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/verity/target")) / "release/verity-node"
    return Path(os.environ.get("VERITY_NODE_BIN", default))


def export_chain_spec(name: str, path: Path) -> Path:
    """The raw chain spec of `name` (`dev`, `local`) as the node exports it, written to `path`."""
    made = subprocess.run([str(node_binary()), "export-chain-spec", "--chain", name, "--raw"],
                          capture_output=True, timeout=120)
    assert made.returncode == 0, made.stderr.decode()
    path.write_bytes(made.stdout)
    return path


@pytest.fixture(scope="session")
def network(tmp_path_factory):
    """The 3-validator network of zombienet/local-3.toml; every process is stopped afterwards,
    also when a test fails."""
    # VERITY_E2E_NODE_ARGS: extra flags for every node of this network, e.g. "-ltxpool=debug".
    extra = os.environ.get("VERITY_E2E_NODE_ARGS", "").split()
    overrides = {name: (node_binary(), extra) for name in ("alice", "bob", "charlie")} if extra else {}
    # This network lives for the whole suite (30 minutes, ~300 blocks) and its tests read the
    # state of old blocks (a request's block, genesis) whenever the random order runs them: its
    # nodes keep every canonical state instead of the last 256 blocks'.
    net = localnet.LocalNet(node_binary(), localnet.DEFAULT_NETWORK,
                            workdir=tmp_path_factory.mktemp("localnet"), port_offset=port_offset(0),
                            extra_args=["--state-pruning", "archive-canonical"],
                            node_overrides=overrides)
    net.start()
    # Every test finds the network connected (a test that ran first once saw 0 peers).
    net.wait_connected()
    try:
        yield net
    finally:
        try:
            SLOT_REPORT.append(slot_report(net))
        except Exception as e:  # the report must not hide the suite's own outcome
            SLOT_REPORT.append(f"block intervals of the shared network: not measured ({e})")
        net.stop()
        for node in net.nodes:
            assert node.process.poll() is not None, f"{node.name} still running after stop()"


# Printed at the end of the run (issue 17: no missed slots during the suite).
SLOT_REPORT: list[str] = []


def slot_report(net) -> str:
    """The shared network's block intervals over the whole suite, from the blocks' timestamps:
    a slot without a block shows as an interval of two slots or more."""
    from verity import chain
    substrate = chain.connect(net.nodes[0].ws_url)
    slot = chain.block_seconds(substrate)
    best = chain.best_number(substrate)
    stamps = [chain.block_timestamp(substrate, n) for n in range(1, best + 1)]
    intervals = [b - a for a, b in zip(stamps, stamps[1:])]
    missed = sum(round(i / slot) - 1 for i in intervals if i > 1.5 * slot)
    return (f"shared network: {best} blocks of {slot:g} s over {stamps[-1] - stamps[0]:.0f} s, "
            f"{missed} missed slot(s), longest interval {max(intervals, default=0):g} s")


def pytest_terminal_summary(terminalreporter):
    for line in SLOT_REPORT:
        terminalreporter.write_line(f"[slots] {line}")


@pytest.fixture(scope="module")
def fault_network(tmp_path_factory):
    """A separate 3-validator network for the fault scenarios (they kill nodes)."""
    net = localnet.LocalNet(node_binary(), localnet.DEFAULT_NETWORK,
                            workdir=tmp_path_factory.mktemp("faultnet"), port_offset=port_offset(1000))
    net.start()
    try:
        yield net
    finally:
        net.stop()


def faulty_node_binary() -> Path:
    """The fault-injection build (`--features fault-injection`) that scripts/test.sh makes."""
    return Path(os.environ.get("VERITY_FAULTY_NODE_BIN", node_binary().with_name("verity-node-faulty")))


@pytest.fixture(scope="session")
def faulty_binary() -> Path:
    """The fault-injection build, which scripts/test.sh makes."""
    faulty = faulty_node_binary()
    if not faulty.is_file():
        pytest.fail(f"{faulty} is missing: scripts/test.sh builds it (cargo build -p verity-node --features fault-injection)")
    return faulty


@pytest.fixture(scope="module")
def network5(tmp_path_factory):
    """The 5-validator network of zombienet/local-5.toml in which Eve is byzantine: she runs
    the fault-injection build with --fault-corrupt-outputs."""
    faulty = faulty_node_binary()
    if not faulty.is_file():
        pytest.fail(f"{faulty} is missing: scripts/test.sh builds it (cargo build -p verity-node --features fault-injection)")
    net = localnet.LocalNet(node_binary(), ROOT / "zombienet" / "local-5.toml",
                            workdir=tmp_path_factory.mktemp("net5"), port_offset=port_offset(2000),
                            node_overrides={"eve": (faulty, ["--fault-corrupt-outputs"])})
    net.start()
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> Path:
    """The models of scripts/gen_models.py (VERITY_TEST_MODELS if it holds them)."""
    given = os.environ.get("VERITY_TEST_MODELS")
    if given and (Path(given) / "linear.onnx").is_file():
        return Path(given)
    out = tmp_path_factory.mktemp("models")
    subprocess.run([sys.executable, str(ROOT / "scripts/gen_models.py"), str(out)], check=True)
    return out


def eth_rpc_binary() -> Path:
    """The eth-rpc adapter (vendor/pallet-revive-eth-rpc) that scripts/build.sh builds."""
    return Path(os.environ.get("VERITY_ETH_RPC_BIN", node_binary().with_name("eth-rpc")))


@pytest.fixture(scope="module")
def eth_rpc(network, tmp_path_factory):
    """The Ethereum JSON-RPC adapter in front of the first node of `network`; stopped afterwards."""
    adapter = localnet.EthRpc(eth_rpc_binary(), network.nodes[0].ws_url, localnet.free_port(),
                              tmp_path_factory.mktemp("eth-rpc") / "eth-rpc.log")
    adapter.start()
    try:
        yield adapter
    finally:
        adapter.stop()
        assert adapter.process.poll() is not None, "eth-rpc still running after stop()"
