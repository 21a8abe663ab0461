#!/usr/bin/python3
"""A consume-transform-produce worker with exactly-once semantics (librdkafka transactions).

Usage: eos_worker.py '<json arguments>'
  {bootstrap, input, output, group, transactional_id, batch, pause_s}
Reads `input` (read_committed) in group `group`, writes "out:<value>" with the same key to
`output` and commits the consumed offsets in the same transaction (send_offsets_to_transaction).
Prints JSON lines: {"event": "ready"}, {"event": "committed", "records": n, "total": t},
{"event": "aborted", "error": ...}, {"event": "fatal", "error": ...}; runs until stdin closes.
"""
import json
import select
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def stdin_closed():
    r, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(r) and sys.stdin.read(1) == ""


def main(a):
    consumer = Consumer({
        "bootstrap.servers": a["bootstrap"],
        "group.id": a["group"],
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    })
    producer = Producer({
        "bootstrap.servers": a["bootstrap"],
        "transactional.id": a["transactional_id"],
        "transaction.timeout.ms": 60000,
        "linger.ms": 5,
    })
    producer.init_transactions(60)
    consumer.subscribe([a["input"]])
    emit({"event": "ready"})
    total = 0
    while not stdin_closed():
        msgs = consumer.consume(num_messages=a.get("batch", 20), timeout=0.5)
        msgs = [m for m in msgs if m.error() is None]
        if not msgs:
            continue
        try:
            producer.begin_transaction()
            for m in msgs:
                producer.produce(a["output"], key=m.key(), value=b"out:" + m.value())
                producer.poll(0)
            positions = consumer.position(consumer.assignment())
            producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 60)
            producer.commit_transaction(60)
            total += len(msgs)
            emit({"event": "committed", "records": len(msgs), "total": total})
        except KafkaException as e:
            err = e.args[0]
            if err.fatal():
                emit({"event": "fatal", "error": str(err)})
                sys.exit(3)
            emit({"event": "aborted", "error": str(err)})
            if err.txn_requires_abort():
                producer.abort_transaction(60)
            # Go back to what the group committed, so the aborted records are processed again.
            try:
                committed = consumer.committed(consumer.assignment(), timeout=30)
                for tp in committed:
                    consumer.seek(tp if tp.offset >= 0 else TopicPartition(tp.topic, tp.partition, 0))
            except KafkaException as seek_error:
                emit({"event": "rewind-failed", "error": str(seek_error)})
        time.sleep(a.get("pause_s", 0.05))
    consumer.close()
    emit({"event": "done", "total": total})


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
