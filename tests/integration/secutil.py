"""secutil: helpers shared by the security tests (test_security, test_tls, test_sasl,
test_gssapi, cluster_security): a kazoo call's outcome by name, one server's rows, and the
side-by-side verdict."""

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


def collect(server, checks):
    """Start @server, run checks(rec) (rec(label, value) records a row), stop it; returns the
    rows, each logged."""
    rows = []
    server.start()
    try:
        checks(lambda label, value: rows.append((label, value)))
    finally:
        server.stop()
    for label, value in rows:
        zkt.log("  %s %s = %r" % (server.kind, label, value))
    return rows


def fail_on_diffs(results):
    """Log every difference of results ({kind: [(label, value)]}) from Apache ZooKeeper's and
    fail if there is one."""
    diffs = zkt.compare_results(results)
    for d in diffs:
        zkt.log("DIFF " + d)
    if diffs:
        raise zkt.Fail("%d differences from Apache ZooKeeper" % len(diffs))
