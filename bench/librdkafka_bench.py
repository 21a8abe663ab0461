#!/usr/bin/python3
"""librdkafka (confluent-kafka) load generator for bench/run.ts.

usage: librdkafka_bench.py produce <bootstrap> <topic> <count> <size> <acks>
       librdkafka_bench.py consume <bootstrap> <topic> <count>
Prints one JSON line with the figures.
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer


def produce(bootstrap, topic, count, size, acks):
    p = Producer({
        "bootstrap.servers": bootstrap,
        "acks": acks,
        "linger.ms": 5,
        "batch.size": 1048576,
        "queue.buffering.max.messages": 1000000,
        "queue.buffering.max.kbytes": 1048576,
        "enable.idempotence": acks == "all",
    })
    payload = b"x" * size
    lat = []
    errors = [0]

    def cb(err, _msg, sent):
        if err is not None:
            errors[0] += 1
        else:
            lat.append(time.perf_counter() - sent)

    start = time.perf_counter()
    for _ in range(count):
        sent = time.perf_counter()
        while True:
            try:
                p.produce(topic, payload, on_delivery=lambda e, m, s=sent: cb(e, m, s))
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)
    p.flush(120)
    elapsed = time.perf_counter() - start
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else None
    print(json.dumps({"seconds": elapsed, "delivered": len(lat), "errors": errors[0],
                      "p50_ms": pct(0.50), "p99_ms": pct(0.99)}))


def consume(bootstrap, topic, count):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-%d" % time.time_ns(),
                  "auto.offset.reset": "earliest", "enable.auto.commit": False, "fetch.max.bytes": 52428800})
    c.subscribe([topic])
    got = 0
    nbytes = 0
    start = None
    deadline = time.time() + 120
    while got < count and time.time() < deadline:
        msgs = c.consume(10000, 0.5)
        for m in msgs:
            if m.error():
                continue
            if start is None:
                start = time.perf_counter()
            got += 1
            nbytes += len(m.value())
    elapsed = time.perf_counter() - (start or time.perf_counter())
    c.close()
    print(json.dumps({"seconds": elapsed, "messages": got, "bytes": nbytes}))


if __name__ == "__main__":
    if sys.argv[1] == "produce":
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    else:
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]))
