"""kazoo's recipes (what applications actually run) against Apache ZooKeeper and zkfsd: counter,
lock, leader election, queue, double barrier, children and data watches.  Each recipe's outcome
is deterministic (a final count, mutual exclusion held, every item consumed once, the sequence of
states a watch saw): each is asserted on every server, and must also be the same on both.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402
from zkt import check, wait_for  # noqa: E402

CLIENTS = 4


def run_threads(fn, n):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except Exception as e:  # noqa: B902 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=wrap, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        check(not t.is_alive(), "a recipe thread is still running after 60 s")
    check(not errors, "recipe threads failed: %r" % errors[:3])


def counter(clients, rec):
    def bump(i):
        c = clients[i].Counter("/recipes/counter")
        for _ in range(25):
            c += 1
    run_threads(bump, CLIENTS)
    value = clients[0].Counter("/recipes/counter").value
    check(value == 25 * CLIENTS, "counter ended at %r after %d increments" % (value, 25 * CLIENTS))
    rec("counter", value)


def lock(clients, rec):
    state = {"holder": None, "overlaps": 0, "rounds": 0}
    guard = threading.Lock()

    def work(i):
        lk = clients[i].Lock("/recipes/lock", "c%d" % i)
        for _ in range(5):
            with lk:
                with guard:
                    if state["holder"] is not None:
                        state["overlaps"] += 1
                    state["holder"] = i
                lk.client.get_children("/recipes/lock")
                with guard:
                    state["holder"] = None
                    state["rounds"] += 1
    run_threads(work, CLIENTS)
    left = clients[0].get_children("/recipes/lock")
    check(state["overlaps"] == 0, "the lock was held by two clients at once %d times"
          % state["overlaps"])
    check(state["rounds"] == 5 * CLIENTS, "%d lock rounds of %d" % (state["rounds"], 5 * CLIENTS))
    check(left == [], "lock nodes left after every holder released: %r" % left)
    rec("lock", (state["overlaps"], state["rounds"], left))


def election(clients, rec):
    leaders = []
    guard = threading.Lock()

    def run(i):
        def lead():
            with guard:
                leaders.append(i)
        clients[i].Election("/recipes/election", "c%d" % i).run(lead)
    run_threads(run, CLIENTS)
    left = clients[0].get_children("/recipes/election")
    check(sorted(leaders) == list(range(CLIENTS)), "leaders %r: each client must lead once"
          % leaders)
    check(left == [], "election nodes left after every leader returned: %r" % left)
    rec("election", (sorted(leaders), left))


def queue(clients, rec):
    q = clients[0].LockingQueue("/recipes/queue")
    for n in range(20):
        q.put(b"item-%02d" % n)
    got = []
    per_consumer = [[], []]
    guard = threading.Lock()

    def consume(i):
        cq = clients[i].LockingQueue("/recipes/queue")
        while True:
            item = cq.get(timeout=0.5)
            if item is None:
                return
            with guard:
                got.append(item)
                per_consumer[i].append(item)
            cq.consume()
    run_threads(consume, 2)
    items = [b"item-%02d" % n for n in range(20)]
    check(sorted(got) == items, "queue items consumed: %r (want each of 20 once)" % got)
    # get() takes the oldest item no other consumer holds, so each consumer sees queue order.
    for mine in per_consumer:
        check(mine == sorted(mine), "a consumer got items out of queue order: %r" % mine)
    rec("queue", (sorted(got) == items, len(got)))


def barrier(clients, rec):
    order = []
    guard = threading.Lock()
    # kazoo 2.8's leave() deletes the barrier's ready node, so a member that leaves while
    # another is still between creating its node and watching ready strands that one in
    # enter() (seen against Apache ZooKeeper under load). The members wait for each other
    # before leaving; what enter() guarantees is checked by counting the members present
    # when each one passes it.
    all_in = threading.Barrier(3, timeout=60)

    def member(i):
        b = clients[i].DoubleBarrier("/recipes/barrier", 3, "c%d" % i)
        b.enter()
        present = [c for c in clients[i].get_children("/recipes/barrier") if c != "ready"]
        check(len(present) == 3, "member %d passed enter() with %d of 3 members present: %r"
              % (i, len(present), present))
        with guard:
            order.append("in")
        all_in.wait()
        b.leave()
        with guard:
            order.append("out")
    run_threads(member, 3)
    check(order == ["in"] * 3 + ["out"] * 3, "double barrier order %r" % order)
    rec("double-barrier", order)


def watches(clients, rec):
    k, other = clients[0], clients[1]
    k.ensure_path("/recipes/cw")
    seen_children, seen_data = [], []
    k.ChildrenWatch("/recipes/cw", lambda kids: seen_children.append(sorted(kids)))
    k.DataWatch("/recipes/cw", lambda data, stat: seen_data.append(
        (data, stat.version if stat else None)))
    wait_for(lambda: seen_children and seen_data, 10, "the first watch callbacks")
    for n in range(3):
        other.create("/recipes/cw/k%d" % n, b"")
        wait_for(lambda: len(seen_children) >= n + 2, 10, "ChildrenWatch after create %d" % n)
        other.set("/recipes/cw", b"v%d" % n)
        wait_for(lambda: len(seen_data) >= n + 2, 10, "DataWatch after set %d" % n)
    want_kids = [["k%d" % j for j in range(n)] for n in range(4)]
    check(seen_children == want_kids, "ChildrenWatch saw %r, want %r" % (seen_children, want_kids))
    want_data = [(b"", 0)] + [(b"v%d" % n, n + 1) for n in range(3)]
    check(seen_data == want_data, "DataWatch saw %r, want %r" % (seen_data, want_data))
    rec("children-watch", seen_children)
    rec("data-watch", seen_data)


def sequential(clients, rec):
    """Concurrent sequential creates under one parent get unique, gap-free numbers."""
    clients[0].ensure_path("/recipes/seq")
    names = []
    guard = threading.Lock()

    def create(i):
        for _ in range(25):
            path = clients[i].create("/recipes/seq/n-", b"%d" % i, sequence=True)
            with guard:
                names.append(path)
    run_threads(create, CLIENTS)
    numbers = sorted(int(p.rsplit("-", 1)[1]) for p in names)
    check(numbers == list(range(25 * CLIENTS)), "sequence numbers with gaps or repeats: %r"
          % [n for i, n in enumerate(numbers) if n != i][:5])
    check(len(set(names)) == len(names), "a sequential name was given twice")
    rec("sequential", (numbers == list(range(25 * CLIENTS)), len(set(names))))


def recipes(server, rec):
    clients = [zkt.kazoo_client(server) for _ in range(CLIENTS)]
    try:
        clients[0].ensure_path("/recipes")
        for part in (counter, lock, election, queue, barrier, watches, sequential):
            part(clients, rec)
    finally:
        for c in clients:
            c.stop()
            c.close()


if __name__ == "__main__":
    zkt.run_kinds("test_recipes", recipes)
