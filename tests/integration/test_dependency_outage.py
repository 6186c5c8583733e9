"""An instance whose dependency is down says so, and its callers keep its breaker closed.

During a database failover every user instance answers UNAVAILABLE at once; counting
those answers opened every breaker, and the breakers then outlasted the failover by
their reset timeout. Here the activity service's dependency (the user service, for the
body weight) is a closed port: the activity instance answers, so it stays in the pool.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from fitness.activity.v1 import activity_service_pb2 as activity_pb

from deploy.local import free_port
from services.common.trust import ACTIVITY, GATEWAY
from services.common.upstream import ActivityRpc, PoolSettings, UpstreamPool, connector
from services.common.upstream.errors import UpstreamError
from services.common.upstream.rpcs import ACTIVITY_SERVICE
from tests.helpers import ServiceCerts, address, start_activity_server


async def test_answers_about_a_dead_dependency_do_not_open_the_instances_breaker(
    tmp_path: Path, service_certs: ServiceCerts
) -> None:
    nobody = f"127.0.0.1:{free_port()}"  # the user service the activity service would ask
    activity = await start_activity_server(
        f"sqlite:///{tmp_path / 'a.db'}", [nobody], certs=service_certs
    )
    settings = PoolSettings(call_timeout=5.0, fail_max=2)
    pool = UpstreamPool(
        ACTIVITY_SERVICE.full_name,
        [address(activity)],
        settings,
        connect=connector(service_certs.of(GATEWAY), ACTIVITY),
    )
    try:
        for n in range(settings.fail_max + 2):
            request = activity_pb.StartWorkoutSessionRequest(
                request_id=f"start-{n}", user_id="u1", workout_type="running"
            )
            with pytest.raises(UpstreamError) as failed:
                await pool.call(ActivityRpc.StartWorkoutSession, request)
            assert failed.value.code == grpc.StatusCode.UNAVAILABLE
        assert [i.breaker.state for i in pool.instances] == ["closed"]
    finally:
        await pool.close()
        await activity.stop(grace=0)
