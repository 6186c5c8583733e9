"""A registration whose commit is cut off by the primary's death: settled by its request_id.

Both standbys' WAL receivers are paused (SIGSTOP), so the primary holds the commit of a
registration waiting for a synchronous standby: the row is in the primary's WAL, not
acknowledged. The primary's process tree is then SIGKILLed. The client gets UNAVAILABLE
and cannot know whether the account exists; it repeats the call with the same request_id
until it is answered. Whichever way the commit went, exactly one account exists for the
request, on every node, and it is the one the answer names.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import grpc
import psycopg
import pytest
from fitness.user.v1 import user_service_pb2 as upb
from fitness.user.v1 import user_service_pb2_grpc as upb_grpc

from deploy.pg_formation import Formation, wait_for
from services.common.trust import GATEWAY, USER
from tests.helpers import KeyFiles, ServiceCerts, address, channel_as, start_user_server
from tests.integration.pg_cluster import walreceivers

REQUEST_ID = "cut-off-1"
DEADLINE = 60.0  # bound of the retries: a run that does not get there fails
pytestmark = pytest.mark.timeout(300)


def _waiting_for_a_standby(node_url: str) -> bool:
    with psycopg.connect(node_url, connect_timeout=2) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
        ).fetchone()
    return row is not None and row[0] > 0


def _accounts_of_the_request(node_url: str) -> list[str]:
    with psycopg.connect(node_url, connect_timeout=2) as conn:
        rows = conn.execute("SELECT user_id FROM users WHERE request_id = %s", (REQUEST_ID,))
        return [str(row[0]) for row in rows]


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        os.kill(pid, signum)


async def _register_through_the_cut(
    formation: Formation, keys: KeyFiles, certs: ServiceCerts
) -> tuple[grpc.StatusCode, str, str]:
    """The first call's status, the answered user_id and the old primary's name."""
    server = await start_user_server(formation.url("users"), keys, certs=certs)
    channel = channel_as(certs, GATEWAY, USER, address(server))
    stub = upb_grpc.UserServiceStub(channel)
    request = upb.RegisterUserRequest(
        request_id=REQUEST_ID, username="cut", email="cut@example.com", password="long-password"
    )
    primary = formation.primary()
    standbys = [name for name in formation.nodes if name != primary]
    paused = [pid for name in standbys for pid in walreceivers(formation, name)]
    assert len(paused) == len(standbys)
    try:
        _signal_all(paused, signal.SIGSTOP)
        first = asyncio.ensure_future(stub.RegisterUser(request, timeout=DEADLINE))
        node = formation.node_url(primary)
        await asyncio.to_thread(wait_for, lambda: _waiting_for_a_standby(node), 30, "SyncRep")
        formation.kill(primary)
    finally:
        _signal_all(paused, signal.SIGCONT)
    with pytest.raises(grpc.aio.AioRpcError) as cut:
        await first
    await asyncio.to_thread(formation.wait_primary, primary)
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            reply = await stub.RegisterUser(request, timeout=5)
            break
        except grpc.aio.AioRpcError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)  # the client's pause before its next repeat
    await channel.close()
    await server.stop(0)
    return cut.value.code(), reply.user.user_id, primary


def test_a_registration_cut_off_at_commit_exists_once_when_repeated_with_its_request_id(
    pg_formation: Formation, jwt_keys: KeyFiles, service_certs: ServiceCerts
) -> None:
    code, user_id, old_primary = asyncio.run(
        _register_through_the_cut(pg_formation, jwt_keys, service_certs)
    )
    assert code == grpc.StatusCode.UNAVAILABLE  # indeterminate, and said to be retryable
    new_primary = pg_formation.primary()
    assert _accounts_of_the_request(pg_formation.node_url(new_primary)) == [user_id]
    pg_formation.restart(old_primary)
    # Had the first attempt's row (another user_id) stayed in the old primary's WAL alone,
    # its rewind took it away: the rejoined node holds the one account too.
    rejoined = pg_formation.node_url(old_primary)

    def agrees() -> bool:
        try:
            return _accounts_of_the_request(rejoined) == [user_id]
        except psycopg.OperationalError:  # still starting as a standby
            return False

    wait_for(agrees, 30, "the rejoined node agreeing")
