# Ensemble tests (issue 3): 3- and 5-node clusters of zkfsd and Apache ZooKeeper on loopback
# addresses 127.0.0.11-15, ports 22050-22052; partitions with nftables (table `zkt`).
INTEGRATION_TESTS += \
	tests/integration/test_cluster_failover.sh \
	tests/integration/test_cluster_partition.sh
EXTRA_DIST += tests/integration/cluster.sh tests/integration/cluster_client.py
