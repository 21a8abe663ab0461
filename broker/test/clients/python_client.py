#!/usr/bin/python3
"""Drives a real Python Kafka client for Chronik's client tests.

Usage: python_client.py <confluent|kafka-python> <command> '<json arguments>'
Every command prints JSON lines on stdout; the test reads them. Commands:
  produce   {bootstrap, topic, messages: [{key, value, partition?}], compression, acks, idempotent}
            -> {"delivered": [[partition, offset], ...]}
  consume   {bootstrap, topic, group, count, timeout_s}   (from earliest, commits synchronously)
            -> {"messages": [{"partition", "offset", "key", "value"}]}
  member    {bootstrap, topic, group, run_s}  a group member that prints events until run_s passes or stdin closes
            -> {"event": "assigned", "partitions": [...]} / {"event": "message", ...} / {"event": "done"}
  admin     {bootstrap, topic, partitions}  create, describe, add partitions, delete -> {"steps": [...]}
  topic-config {bootstrap, topic, name, value, bad}  creates `topic` with name=value, describes it,
            then tries name=bad on a new topic and on `topic`
            -> {"created": err|null, "described": {"value", "source"}, "create_bad": err, "alter_bad": err}
            (err: {"code", "message"}, or null for success)
  txn-produce  {bootstrap, topic, transactional_id, transactions: [{commit, messages: [{key, value, partition?}]}]}
            (confluent only) each transaction flushed, then committed or aborted -> {"done": n}
  read      {bootstrap, topic, isolation, count, timeout_s}  (confluent only; no group commits, from earliest)
            -> {"messages": [{"partition", "offset", "key", "value"}]}
  watch-deletion {bootstrap, topic, group, strategy, propagation_ms}  (confluent only) a group member
            that reports when its client has dropped the topic's partitions from its metadata,
            and closes when stdin closes -> {"event": "assigned", "partitions": [...]} /
            {"event": "topic-gone"} / {"event": "closing"} / {"event": "closed"}
  produce-steady {bootstrap, topic, partitions, count, interval_ms}  (confluent only) idempotent
            acks=all, value "v<i>" to partition i % partitions every interval_ms
            -> {"delivered": [[partition, offset, value, seconds], ...], "errors": [...], "undelivered": n}
"""
import json
import select
import sys
import time


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def stdin_closed():
    r, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(r) and sys.stdin.read(1) == ""


# ---------------------------------------------------------------- confluent-kafka (librdkafka)
def confluent(command, a):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource

    if command == "produce":
        p = Producer({
            "bootstrap.servers": a["bootstrap"],
            "compression.type": a.get("compression", "none"),
            "acks": str(a.get("acks", "all")),
            "enable.idempotence": a.get("idempotent", True),
            "linger.ms": 5,
        })
        delivered, errors = [], []

        def cb(err, msg):
            if err is not None:
                errors.append(str(err))
            else:
                delivered.append([msg.partition(), msg.offset()])

        for m in a["messages"]:
            kw = {"key": m.get("key"), "value": m["value"], "on_delivery": cb}
            if m.get("partition") is not None:
                kw["partition"] = m["partition"]
            while True:
                try:
                    p.produce(a["topic"], **kw)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        remaining = p.flush(30)
        emit({"delivered": delivered, "errors": errors, "undelivered": remaining})
        return

    if command == "produce-steady":
        # librdkafka retries on its own (idempotence keeps order and uniqueness); a delivery
        # report with an error is what an application would have seen as a failure.
        p = Producer({"bootstrap.servers": a["bootstrap"], "acks": "all", "enable.idempotence": True,
                      "linger.ms": 1, "message.timeout.ms": 60000})
        delivered, errors = [], []
        start = time.monotonic()

        def steady_cb(err, msg):
            if err is not None:
                errors.append(str(err))
            else:
                delivered.append([msg.partition(), msg.offset(), msg.value().decode(), time.monotonic() - start])

        for i in range(a["count"]):
            p.produce(a["topic"], value=("v%d" % i).encode(), partition=i % a["partitions"], on_delivery=steady_cb)
            p.poll(a["interval_ms"] / 1000.0)
        remaining = p.flush(60)
        emit({"delivered": delivered, "errors": errors, "undelivered": remaining})
        return

    if command in ("consume", "member"):
        c = Consumer({
            "bootstrap.servers": a["bootstrap"],
            "group.id": a["group"],
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 10000,
            "heartbeat.interval.ms": 500,
            "partition.assignment.strategy": a.get("strategy", "cooperative-sticky" if command == "member" else "range"),
        })
        owned = set()

        def on_assign(consumer, parts):
            owned.update(tp.partition for tp in parts)
            emit({"event": "assigned", "partitions": sorted(owned)})

        def on_revoke(consumer, parts):
            owned.difference_update(tp.partition for tp in parts)
            emit({"event": "revoked", "partitions": sorted(tp.partition for tp in parts)})

        c.subscribe([a["topic"]], on_assign=on_assign, on_revoke=on_revoke)
        out = []
        deadline = time.time() + (a.get("run_s") or a.get("timeout_s", 30))
        while time.time() < deadline:
            if command == "consume" and len(out) >= a["count"]:
                break
            if command == "member" and stdin_closed():
                break
            msg = c.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                emit({"event": "error", "error": str(msg.error())})
                continue
            rec = {"partition": msg.partition(), "offset": msg.offset(),
                   "key": msg.key().decode() if msg.key() else None, "value": msg.value().decode()}
            c.commit(message=msg, asynchronous=False)
            if command == "member":
                emit({"event": "message", **rec})
            out.append(rec)
        c.close()
        emit({"messages": out} if command == "consume" else {"event": "done"})
        return

    if command == "watch-deletion":
        import logging

        # librdkafka says at NOTICE level when Metadata no longer lists a topic's partitions:
        # from then on they are no longer the cluster's, which is when 2.0.2's close leaks them.
        gone = []

        class Watch(logging.Handler):
            def emit(self, record):
                text = record.getMessage()
                if "PARTCNT" in text and ("Topic %s " % a["topic"]) in text and text.rstrip().endswith(" to 0"):
                    gone.append(text)

        log = logging.getLogger("librdkafka")
        log.addHandler(Watch())
        log.setLevel(logging.INFO)
        log.propagate = False
        c = Consumer({
            "bootstrap.servers": a["bootstrap"],
            "group.id": a["group"],
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 10000,
            "heartbeat.interval.ms": 500,
            "partition.assignment.strategy": a.get("strategy", "cooperative-sticky"),
            "topic.metadata.propagation.max.ms": a.get("propagation_ms", 30000),
            "logger": log,
        })
        owned = set()

        def on_assign(consumer, parts):
            owned.update(tp.partition for tp in parts)
            emit({"event": "assigned", "partitions": sorted(owned)})

        def on_revoke(consumer, parts):
            owned.difference_update(tp.partition for tp in parts)
            emit({"event": "revoked", "partitions": sorted(tp.partition for tp in parts)})

        c.subscribe([a["topic"]], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
        told = False
        while not stdin_closed():
            msg = c.poll(0.2)
            if msg is not None and msg.error():
                emit({"event": "error", "error": str(msg.error())})
            elif msg is not None:
                emit({"event": "message", "partition": msg.partition(), "offset": msg.offset()})
            if gone and not told:
                told = True
                emit({"event": "topic-gone"})
        emit({"event": "closing"})
        c.close()
        emit({"event": "closed"})
        return

    if command == "topic-config":
        from confluent_kafka import KafkaException

        ad = AdminClient({"bootstrap.servers": a["bootstrap"]})

        def outcome(future):
            try:
                future.result(15)
                return None
            except KafkaException as e:
                err = e.args[0]
                return {"code": err.name(), "message": err.str()}

        t, name = a["topic"], a["name"]
        created = outcome(ad.create_topics([NewTopic(t, num_partitions=1, replication_factor=1, config={name: a["value"]})])[t])
        res = ad.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, t)])
        entry = list(res.values())[0].result(15)[name]
        bad_topic = t + "-bad"
        create_bad = outcome(ad.create_topics([NewTopic(bad_topic, num_partitions=1, replication_factor=1, config={name: a["bad"]})])[bad_topic])
        resource = ConfigResource(ConfigResource.Type.TOPIC, t, set_config={name: a["bad"]})
        alter_bad = outcome(list(ad.alter_configs([resource]).values())[0])
        emit({"created": created, "described": {"value": entry.value, "source": int(entry.source)},
              "create_bad": create_bad, "alter_bad": alter_bad})
        return

    if command == "txn-produce":
        p = Producer({"bootstrap.servers": a["bootstrap"], "transactional.id": a["transactional_id"], "linger.ms": 5})
        p.init_transactions(60)
        for t in a["transactions"]:
            p.begin_transaction()
            for m in t["messages"]:
                kw = {"key": m.get("key"), "value": m["value"]}
                if m.get("partition") is not None:
                    kw["partition"] = m["partition"]
                p.produce(a["topic"], **kw)
            # Aborted records must reach the log (an abort before sending would just drop them).
            p.flush(60)
            if t["commit"]:
                p.commit_transaction(60)
            else:
                p.abort_transaction(60)
        emit({"done": len(a["transactions"])})
        return

    if command == "read":
        c = Consumer({
            "bootstrap.servers": a["bootstrap"],
            "group.id": "reader-" + str(time.time()),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": a["isolation"],
        })
        c.subscribe([a["topic"]])
        out = []
        deadline = time.time() + a.get("timeout_s", 30)
        while time.time() < deadline and len(out) < a["count"]:
            msg = c.poll(0.2)
            if msg is None or msg.error():
                continue
            out.append({"partition": msg.partition(), "offset": msg.offset(),
                        "key": msg.key().decode() if msg.key() else None, "value": msg.value().decode()})
        # A little longer: anything beyond `count` would be a record that should not be there.
        extra_until = time.time() + a.get("linger_s", 2)
        while time.time() < extra_until:
            msg = c.poll(0.2)
            if msg is not None and not msg.error():
                out.append({"partition": msg.partition(), "offset": msg.offset(),
                            "key": msg.key().decode() if msg.key() else None, "value": msg.value().decode()})
        c.close()
        emit({"messages": out})
        return

    if command == "admin":
        ad = AdminClient({"bootstrap.servers": a["bootstrap"]})
        steps = []
        t = a["topic"]
        ad.create_topics([NewTopic(t, num_partitions=a["partitions"], replication_factor=1,
                                   config={"retention.ms": "3600000"})])[t].result(15)
        steps.append("created")
        md = ad.list_topics(timeout=10)
        steps.append({"partitions": len(md.topics[t].partitions)})
        res = ad.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, t)])
        cfg = list(res.values())[0].result(15)
        steps.append({"retention.ms": cfg["retention.ms"].value})
        ad.create_partitions([NewPartitions(t, a["partitions"] + 2)])[t].result(15)
        md = ad.list_topics(timeout=10)
        steps.append({"partitions": len(md.topics[t].partitions)})
        ad.delete_topics([t])[t].result(15)
        steps.append("deleted")
        emit({"steps": steps})
        return
    raise SystemExit("unknown command " + command)


# ---------------------------------------------------------------- kafka-python
def kafka_python(command, a):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic

    if command == "produce":
        comp = a.get("compression", "none")
        p = KafkaProducer(bootstrap_servers=a["bootstrap"], acks=(-1 if a.get("acks", "all") == "all" else int(a["acks"])),
                          compression_type=None if comp == "none" else comp, linger_ms=5, api_version_auto_timeout_ms=10000)
        futures = [p.send(a["topic"], key=(m["key"].encode() if m.get("key") else None), value=m["value"].encode(),
                          partition=m.get("partition")) for m in a["messages"]]
        p.flush(30)
        delivered, errors = [], []
        for f in futures:
            try:
                md = f.get(timeout=30)
                delivered.append([md.partition, md.offset])
            except Exception as e:  # noqa: BLE001 - reported to the test
                errors.append(repr(e))
        p.close()
        emit({"delivered": delivered, "errors": errors, "undelivered": 0})
        return

    if command in ("consume", "member"):
        from kafka import ConsumerRebalanceListener

        owned = set()

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                owned.difference_update(tp.partition for tp in revoked)
                emit({"event": "revoked", "partitions": sorted(tp.partition for tp in revoked)})

            def on_partitions_assigned(self, assigned):
                owned.update(tp.partition for tp in assigned)
                emit({"event": "assigned", "partitions": sorted(owned)})

        c = KafkaConsumer(bootstrap_servers=a["bootstrap"], group_id=a["group"], auto_offset_reset="earliest",
                          enable_auto_commit=False, session_timeout_ms=10000, heartbeat_interval_ms=500,
                          api_version_auto_timeout_ms=10000)
        c.subscribe([a["topic"]], listener=Listener())
        out = []
        deadline = time.time() + (a.get("run_s") or a.get("timeout_s", 30))
        while time.time() < deadline:
            if command == "consume" and len(out) >= a["count"]:
                break
            if command == "member" and stdin_closed():
                break
            batch = c.poll(timeout_ms=200)
            for _tp, msgs in batch.items():
                for msg in msgs:
                    rec = {"partition": msg.partition, "offset": msg.offset,
                           "key": msg.key.decode() if msg.key else None, "value": msg.value.decode()}
                    if command == "member":
                        emit({"event": "message", **rec})
                    out.append(rec)
            if batch:
                c.commit()
        c.close()
        emit({"messages": out} if command == "consume" else {"event": "done"})
        return

    if command == "topic-config":
        from kafka.errors import KafkaError

        ad = KafkaAdminClient(bootstrap_servers=a["bootstrap"], api_version_auto_timeout_ms=10000)

        def outcome(call):
            try:
                call()
                return None
            except KafkaError as e:
                return {"code": type(e).__name__, "message": str(e)}

        t, name = a["topic"], a["name"]
        created = outcome(lambda: ad.create_topics([NewTopic(t, num_partitions=1, replication_factor=1, topic_configs={name: a["value"]})]))
        res = ad.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t, configs={name: None})])
        # (name, value, read_only, config_source, is_sensitive, synonyms) in DescribeConfigs v1+
        entries = {e[0]: e for e in res[0].resources[0][4]}
        create_bad = outcome(lambda: ad.create_topics([NewTopic(t + "-bad", num_partitions=1, replication_factor=1, topic_configs={name: a["bad"]})]))

        def alter():
            r = ad.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t, configs={name: a["bad"]})])
            code, message = r.resources[0][0], r.resources[0][1]
            if code != 0:
                from kafka.errors import for_code
                raise for_code(code)(message)

        alter_bad = outcome(alter)
        ad.close()
        emit({"created": created, "described": {"value": entries[name][1], "source": entries[name][3]},
              "create_bad": create_bad, "alter_bad": alter_bad})
        return

    if command == "admin":
        ad = KafkaAdminClient(bootstrap_servers=a["bootstrap"], api_version_auto_timeout_ms=10000)
        steps = []
        t = a["topic"]
        ad.create_topics([NewTopic(t, num_partitions=a["partitions"], replication_factor=1,
                                   topic_configs={"retention.ms": "3600000"})])
        steps.append("created")
        steps.append({"partitions": len(ad.describe_topics([t])[0]["partitions"])})
        res = ad.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t)])
        entries = {e[0]: e[1] for e in res[0].resources[0][4]}
        steps.append({"retention.ms": entries.get("retention.ms")})
        ad.create_partitions({t: NewPartitions(a["partitions"] + 2)})
        steps.append({"partitions": len(ad.describe_topics([t])[0]["partitions"])})
        ad.delete_topics([t])
        steps.append("deleted")
        ad.close()
        emit({"steps": steps})
        return
    raise SystemExit("unknown command " + command)


def main():
    lib, command, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    if lib == "confluent":
        confluent(command, args)
    elif lib == "kafka-python":
        kafka_python(command, args)
    else:
        raise SystemExit("unknown client library " + lib)


if __name__ == "__main__":
    main()
