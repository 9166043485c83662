# Ensemble tests (issue 3): 3- to 5-node clusters of zkfsd and Apache ZooKeeper on loopback
# addresses 127.0.0.11-15, ports 22050-22052 (22060 forwarded for raw clients); partitions with
# nftables (table `zkt`). They take a lock, so they run one at a time even under make -j.
INTEGRATION_TESTS += \
	tests/integration/test_cluster_failover.sh \
	tests/integration/test_cluster_partition.sh \
	tests/integration/test_cluster_rolling.sh \
	tests/integration/test_cluster_reconfig.sh \
	tests/integration/test_cluster_semantics.sh \
	tests/integration/test_cluster_security.sh \
	tests/integration/test_cluster_tls.sh
EXTRA_DIST += tests/integration/cluster.sh tests/integration/cluster_client.py \
	tests/integration/cluster_security.py tests/integration/security_lib.sh
