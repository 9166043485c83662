"""secutil: helpers shared by the security tests (test_security, test_tls, test_sasl,
cluster_security): a kazoo call's outcome by name, and the side-by-side verdict."""

import zkt


def outcome(fn):
    """fn() with kazoo: "OK", or the name of the ZooKeeper error it raised (NoAuth...)."""
    from kazoo.exceptions import BadVersionError, NoAuthError
    try:
        fn()
        return "OK"
    except NoAuthError:
        return "NoAuth"
    except BadVersionError:
        return "BadVersion"


def fail_on_diffs(results):
    """Log every difference of results ({kind: [(label, value)]}) from Apache ZooKeeper's and
    fail if there is one."""
    diffs = zkt.compare_results(results)
    for d in diffs:
        zkt.log("DIFF " + d)
    if diffs:
        raise zkt.Fail("%d differences from Apache ZooKeeper" % len(diffs))
