// The Java Kafka client as the consumer-protocol tests drive it. Prints one JSON object per line.
//
//   member   <bootstrap> <topic> <group> <consumer|classic> <assignor|->
//       A group member (group.protocol as given, the server-side assignor for "consumer",
//       cooperative-sticky or - (the default, eager range first) for "classic") that
//       polls, prints each record, commits synchronously after every poll that returned records,
//       and prints its assignment whenever it changes. It closes (leaving the group) when its
//       stdin closes. Events: {"event":"assignment","partitions":[...]}, {"event":"message",
//       "partition":P,"offset":O,"value":V}, {"event":"committed","offsets":{"P":O}},
//       {"event":"commit-error","error":E}, {"event":"client-error","error":E,"message":M} (the
//       client's IllegalStateException from poll; it polls on), {"event":"error","error":E,"message":M} (a fatal
//       error: the process exits 3), {"event":"closed"}.
//   describe <bootstrap> <group>
//       Admin.describeConsumerGroups: {"state":S,"type":T,"assignor":A,"members":[{"memberId",
//       "clientId","partitions":[...]}]} or {"error":E,"message":M}.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

public final class GroupMember {
  private GroupMember() {}

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  static synchronized void emit(String json) {
    System.out.println(json);
    System.out.flush();
  }

  static String partitions(Set<TopicPartition> tps) {
    TreeSet<Integer> ps = new TreeSet<>();
    for (TopicPartition tp : tps) ps.add(tp.partition());
    return ps.toString().replace(" ", "");
  }

  static String errorJson(Throwable e) {
    Throwable root = e;
    // The client wraps some errors; the test reads the Kafka exception's class name.
    while (root.getCause() != null && !(root instanceof org.apache.kafka.common.errors.ApiException)) root = root.getCause();
    return "\"error\":" + quote(root.getClass().getSimpleName()) + ",\"message\":" + quote(String.valueOf(root.getMessage()));
  }

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "member" -> member(args[1], args[2], args[3], args[4], args[5]);
      case "describe" -> describe(args[1], args[2]);
      default -> throw new IllegalArgumentException("unknown command " + args[0]);
    }
  }

  static void member(String bootstrap, String topic, String group, String protocol, String assignor) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", group);
    p.put("group.protocol", protocol);
    if (protocol.equals("consumer") && !assignor.equals("-")) p.put("group.remote.assignor", assignor);
    // A classic member's client-side assignor: cooperative-sticky makes it an incremental
    // (cooperative) member, which keeps its partitions while it rejoins.
    if (protocol.equals("classic") && assignor.equals("cooperative-sticky")) {
      p.put("partition.assignment.strategy", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
    }
    p.put("client.id", "java-" + protocol + "-" + ProcessHandle.current().pid());
    p.put("enable.auto.commit", "false");
    p.put("auto.offset.reset", "earliest");
    p.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    p.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    p.put("reconnect.backoff.max.ms", "1000");
    p.put("retry.backoff.max.ms", "1000");
    KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p);
    AtomicBoolean stop = new AtomicBoolean(false);
    Thread stdin = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
        while (r.readLine() != null) {
          // Lines carry nothing yet: only the end of stdin matters.
        }
      } catch (Exception ignored) {
        // A broken stdin ends the member like a closed one.
      }
      stop.set(true);
      consumer.wakeup();
    });
    stdin.setDaemon(true);
    stdin.start();
    consumer.subscribe(List.of(topic));
    String last = null;
    int exit = 0;
    try {
      while (!stop.get()) {
        ConsumerRecords<String, String> records;
        try {
          records = consumer.poll(Duration.ofMillis(200));
        } catch (WakeupException e) {
          break;
        } catch (IllegalStateException e) {
          // The client's own race (seen with kafka-clients 4.4): a fetch collected for a
          // partition its background thread just unassigned, after the member was fenced.
          // The member goes on polling, as the next poll no longer has that fetch.
          emit("{\"event\":\"client-error\"," + errorJson(e) + "}");
          continue;
        }
        String now = partitions(consumer.assignment());
        if (!now.equals(last)) {
          emit("{\"event\":\"assignment\",\"partitions\":" + now + "}");
          last = now;
        }
        if (records.isEmpty()) continue;
        List<String> offsets = new ArrayList<>();
        for (ConsumerRecord<String, String> rec : records) {
          emit("{\"event\":\"message\",\"partition\":" + rec.partition() + ",\"offset\":" + rec.offset() + ",\"value\":" + quote(String.valueOf(rec.value())) + "}");
        }
        for (TopicPartition tp : records.partitions()) {
          List<ConsumerRecord<String, String>> rs = records.records(tp);
          offsets.add(quote(Integer.toString(tp.partition())) + ":" + (rs.get(rs.size() - 1).offset() + 1));
        }
        try {
          consumer.commitSync(Duration.ofSeconds(15));
          emit("{\"event\":\"committed\",\"offsets\":{" + String.join(",", offsets) + "}}");
        } catch (WakeupException e) {
          break;
        } catch (KafkaException e) {
          emit("{\"event\":\"commit-error\"," + errorJson(e) + "}");
        }
      }
    } catch (KafkaException e) {
      emit("{\"event\":\"error\"," + errorJson(e) + "}");
      exit = 3;
    } finally {
      try {
        consumer.close(Duration.ofSeconds(20));
      } catch (Exception e) {
        emit("{\"event\":\"close-error\"," + errorJson(e) + "}");
      }
    }
    emit("{\"event\":\"closed\"}");
    System.exit(exit);
  }

  static void describe(String bootstrap, String group) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    try (Admin admin = Admin.create(p)) {
      Map<String, ConsumerGroupDescription> all = admin.describeConsumerGroups(List.of(group)).all().get();
      ConsumerGroupDescription d = all.get(group);
      List<String> members = new ArrayList<>();
      for (MemberDescription m : d.members()) {
        members.add("{\"memberId\":" + quote(m.consumerId()) + ",\"clientId\":" + quote(m.clientId()) + ",\"partitions\":" + partitions(m.assignment().topicPartitions()) + "}");
      }
      emit("{\"state\":" + quote(d.groupState().toString()) + ",\"type\":" + quote(d.type().toString()) + ",\"assignor\":" + quote(d.partitionAssignor()) + ",\"members\":[" + String.join(",", members) + "]}");
    } catch (Exception e) {
      emit("{" + errorJson(e) + "}");
    }
  }
}
