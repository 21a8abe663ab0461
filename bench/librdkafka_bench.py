#!/usr/bin/python3
"""librdkafka (confluent-kafka) load generator for bench/run.ts.

usage: librdkafka_bench.py produce <bootstrap> <topic> <count> <size> <acks> [warmup]
       librdkafka_bench.py consume <bootstrap> <topic> <count>
       librdkafka_bench.py dump <bootstrap> <topic>
Prints one JSON line with the figures.

The Python side is kept thin so that it measures the broker, not the interpreter: one delivery
callback set in the config (no closure per message), latency taken from the timestamp librdkafka
stamps on each message when it is produced, and poll() only every POLL_EVERY messages.
"""
import json
import resource
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

POLL_EVERY = 1000


def cpu_seconds():
    """CPU time of this process and librdkafka's threads so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def produce(bootstrap, topic, count, size, acks, warmup):
    lat = []
    errors = [0]

    def on_delivery(err, msg):
        if err is not None:
            errors[0] += 1
        else:
            # CreateTime in ms, stamped by librdkafka at produce(); resolution 1 ms.
            lat.append(time.time() * 1000 - msg.timestamp()[1])

    p = Producer({
        "bootstrap.servers": bootstrap,
        "acks": acks,
        "linger.ms": 5,
        "batch.size": 1048576,
        "queue.buffering.max.messages": 1000000,
        "queue.buffering.max.kbytes": 1048576,
        "enable.idempotence": acks == "all",
        "on_delivery": on_delivery,
    })
    payload = b"x" * size

    def send(n):
        produce_one = p.produce
        for i in range(n):
            while True:
                try:
                    produce_one(topic, payload)
                    break
                except BufferError:
                    p.poll(0.005)
            if i % POLL_EVERY == 0:
                p.poll(0)
        p.flush(120)

    # Warm-up: connection, metadata, topic creation and the broker's JIT, outside the timing.
    if warmup > 0:
        send(warmup)
    lat.clear()
    errors[0] = 0
    cpu0 = cpu_seconds()
    start = time.perf_counter()
    send(count)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu0
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else None
    print(json.dumps({"seconds": elapsed, "delivered": len(lat), "errors": errors[0],
                      "p50_ms": pct(0.50), "p99_ms": pct(0.99), "client_cores": cpu / elapsed}))


def consume(bootstrap, topic, count):
    """Reads `count` messages from the start; timed from assign() to the last message.

    assign() instead of a group subscription: a group join waits out the coordinator's initial
    rebalance delay, which would be measured as fetch time.
    """
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-%d" % time.time_ns(),
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "fetch.max.bytes": 52428800, "max.partition.fetch.bytes": 10485760})
    parts = sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)
    got = 0
    nbytes = 0
    cpu0 = cpu_seconds()
    start = time.perf_counter()
    c.assign([TopicPartition(topic, i, OFFSET_BEGINNING) for i in parts])
    deadline = time.time() + 120
    while got < count and time.time() < deadline:
        msgs = c.consume(10000, 0.5)
        for m in msgs:
            if m.error():
                continue
            got += 1
            nbytes += len(m.value())
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu0
    c.close()
    print(json.dumps({"seconds": elapsed, "messages": got, "bytes": nbytes, "client_cores": cpu / elapsed}))


def dump(bootstrap, topic):
    """Every value of every partition, from its start to its high watermark (a loss check)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-dump-%d" % time.time_ns(),
                  "enable.auto.commit": False})
    parts = sorted(c.list_topics(topic, timeout=30).topics[topic].partitions)
    ends = {}
    deadline = time.time() + 60
    for i in parts:
        while True:
            try:
                ends[i] = c.get_watermark_offsets(TopicPartition(topic, i), timeout=5)[1]
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
    c.assign([TopicPartition(topic, i, OFFSET_BEGINNING) for i in parts])
    values = []
    left = {i for i in parts if ends[i] > 0}
    while left and time.time() < deadline:
        for m in c.consume(10000, 0.5):
            if m.error():
                continue
            values.append(m.value().decode())
            if m.offset() + 1 >= ends[m.partition()]:
                left.discard(m.partition())
    c.close()
    print(json.dumps({"values": values, "complete": not left}))


if __name__ == "__main__":
    if sys.argv[1] == "produce":
        warmup = int(sys.argv[7]) if len(sys.argv) > 7 else 0
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], warmup)
    elif sys.argv[1] == "dump":
        dump(sys.argv[2], sys.argv[3])
    else:
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]))
