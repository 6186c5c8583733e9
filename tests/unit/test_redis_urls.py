"""One URL chooses the Redis topology; scripts publish with the command that topology needs."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.realtime.redis_keys import LUA_HELPERS, for_server
from services.common.redis import cluster_seeds, command_client, is_cluster, publish_command


def test_a_redis_cluster_url_names_its_seed_nodes_and_credentials() -> None:
    seeds = cluster_seeds("redis-cluster://app:s%40cret@10.0.0.1:7000,redis-1.redis:7001/")
    assert seeds.nodes == (("10.0.0.1", 7000), ("redis-1.redis", 7001))
    assert (seeds.username, seeds.password) == ("app", "s@cret")


def test_a_plain_redis_url_is_one_node() -> None:
    assert not is_cluster("redis://127.0.0.1:6379/0")
    assert is_cluster("redis-cluster://127.0.0.1:7000")


@pytest.mark.parametrize("url", ["redis-cluster://", "redis-cluster://host", "redis-cluster://h:x"])
def test_a_cluster_url_without_a_usable_host_and_port_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        cluster_seeds(url)


def test_the_factory_builds_a_cluster_client_only_for_a_cluster_url() -> None:
    assert isinstance(
        command_client("redis-cluster://127.0.0.1:7000,127.0.0.1:7001", 1), RedisCluster
    )
    assert isinstance(command_client("redis://127.0.0.1:6379/0", 1), Redis)


def test_scripts_publish_sharded_on_a_cluster_and_classic_on_one_node() -> None:
    cluster = command_client("redis-cluster://127.0.0.1:7000", 1)
    single = command_client("redis://127.0.0.1:6379/0", 1)
    assert "redis.call('SPUBLISH'" in for_server(LUA_HELPERS, publish_command(cluster))
    assert "redis.call('PUBLISH'" in for_server(LUA_HELPERS, publish_command(single))
    assert "__PUBLISH__" not in for_server(LUA_HELPERS, publish_command(single))
