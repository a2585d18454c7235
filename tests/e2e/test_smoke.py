"""Smoke test: a 3-validator network produces blocks by more than one author and finalizes them."""
from __future__ import annotations

import time

from verity.localnet import rpc

AURA_ENGINE = "61757261"  # b"aura"
PRE_RUNTIME = "06"


def decode_compact(data: bytes, pos: int = 0) -> tuple[int, int]:
    """SCALE compact integer at `pos`: (value, next position)."""
    mode = data[pos] & 0b11
    if mode == 0:
        return data[pos] >> 2, pos + 1
    if mode == 1:
        return int.from_bytes(data[pos:pos + 2], "little") >> 2, pos + 2
    if mode == 2:
        return int.from_bytes(data[pos:pos + 4], "little") >> 2, pos + 4
    length = (data[pos] >> 2) + 4
    return int.from_bytes(data[pos + 1:pos + 1 + length], "little"), pos + 1 + length


def aura_authorities(url: str, at: str) -> list[str]:
    raw = bytes.fromhex(rpc(url, "state_call", ["AuraApi_authorities", "0x", at])[2:])
    count, pos = decode_compact(raw)
    return [raw[pos + 32 * i: pos + 32 * (i + 1)].hex() for i in range(count)]


def aura_slot(header: dict) -> int:
    for item in header["digest"]["logs"]:
        body = item[2:]
        if body.startswith(PRE_RUNTIME + AURA_ENGINE):
            payload = bytes.fromhex(body[len(PRE_RUNTIME + AURA_ENGINE):])
            length, pos = decode_compact(payload)
            assert length == 8
            return int.from_bytes(payload[pos:pos + 8], "little")
    raise AssertionError(f"no Aura pre-runtime digest in block {header['number']}")


def block_author(url: str, number: int) -> str:
    block_hash = rpc(url, "chain_getBlockHash", [number])
    header = rpc(url, "chain_getHeader", [block_hash])
    authorities = aura_authorities(url, block_hash)
    return authorities[aura_slot(header) % len(authorities)]


def finalized_number(url: str) -> int:
    return int(rpc(url, "chain_getHeader", [rpc(url, "chain_getFinalizedHead")])["number"], 16)


def test_three_validators_author_and_finalize(network):
    url = network.nodes[0].rpc_url
    deadline = time.monotonic() + 180
    authors: set[str] = set()
    finalized = 0
    checked = 0
    while time.monotonic() < deadline:
        network.check_alive()
        finalized = finalized_number(url)
        # The session network may be hundreds of blocks old when this runs (random order): the
        # node keeps the state of the last 256 blocks only, so look at the recent ones.
        checked = max(checked, finalized - 64)
        for number in range(checked + 1, finalized + 1):
            authors.add(block_author(url, number))
        checked = max(checked, finalized)
        if len(authors) >= 2 and finalized >= 3:
            break
        time.sleep(1)
    print(f"finalized #{finalized} by {len(authors)} distinct authors")
    assert finalized >= 3, f"only #{finalized} finalized"
    assert len(authors) >= 2, f"all finalized blocks by one author: {authors}"

    # Every node sees its two peers and is not syncing.
    for node in network.nodes:
        health = rpc(node.rpc_url, "system_health")
        assert health["peers"] == len(network.nodes) - 1, (node.name, health)
        assert health["isSyncing"] is False, (node.name, health)

    # All nodes agree on the finalized chain.
    target = min(finalized_number(n.rpc_url) for n in network.nodes)
    hashes = {rpc(n.rpc_url, "chain_getBlockHash", [target]) for n in network.nodes}
    assert len(hashes) == 1, f"nodes disagree at finalized #{target}: {hashes}"


def test_chain_identity_and_runtime(network):
    url = network.nodes[0].rpc_url
    assert rpc(url, "system_chain") == "Verity Local Testnet"
    version = rpc(url, "state_getRuntimeVersion")
    assert version["specName"] == "verity"
    props = rpc(url, "system_properties")
    assert props["tokenSymbol"] == "VRT" and props["tokenDecimals"] == 12
    # Three validators, each with Aura keys.
    head = rpc(url, "chain_getFinalizedHead")
    assert len(aura_authorities(url, head)) == 3


def test_bad_rpc_parameters_are_errors(network):
    url = network.nodes[0].rpc_url
    try:
        rpc(url, "chain_getHeader", ["0xnothex"])
    except RuntimeError as err:
        assert "chain_getHeader" in str(err)
    else:
        raise AssertionError("malformed hash was accepted")
    # The node is still fine afterwards.
    assert rpc(url, "system_health")["peers"] == 2
