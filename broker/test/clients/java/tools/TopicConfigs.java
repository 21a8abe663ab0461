// One topic config through the Java Admin client, as the config tests drive it. Prints one JSON
// object on stdout.
//
//   describe <bootstrap> <topic> <name>   describeConfigs with synonyms and documentation:
//       {"value":V,"source":S,"isDefault":B,"readOnly":B,"type":T,"documentation":D,
//        "synonyms":[{"name":N,"value":V,"source":S}]}
//   set <bootstrap> <topic> <name> <value>      incrementalAlterConfigs SET
//   delete <bootstrap> <topic> <name>           incrementalAlterConfigs DELETE
//   alter <bootstrap> <topic> <name> <value>    alterConfigs (the whole set replaced by this one)
//       {"ok":true} or {"error":E,"message":M} (E the exception's class, M its message)
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.common.config.ConfigResource;

public final class TopicConfigs {
  private TopicConfigs() {}

  static String quote(String s) {
    if (s == null) return "null";
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  static String failure(Throwable e) {
    Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
    return "{\"error\":" + quote(cause.getClass().getSimpleName()) + ",\"message\":" + quote(cause.getMessage()) + "}";
  }

  @SuppressWarnings("deprecation")
  public static void main(String[] args) throws Exception {
    String command = args[0];
    Properties props = new Properties();
    props.put("bootstrap.servers", args[1]);
    ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, args[2]);
    String name = args[3];
    try (Admin admin = Admin.create(props)) {
      String out;
      try {
        switch (command) {
          case "describe": {
            DescribeConfigsOptions opts = new DescribeConfigsOptions().includeSynonyms(true).includeDocumentation(true);
            Config config = admin.describeConfigs(List.of(topic), opts).all().get().get(topic);
            ConfigEntry e = config.get(name);
            if (e == null) {
              out = "{\"error\":\"missing\",\"message\":" + quote(name + " is not described") + "}";
              break;
            }
            List<String> synonyms = new ArrayList<>();
            for (ConfigEntry.ConfigSynonym s : e.synonyms()) {
              synonyms.add("{\"name\":" + quote(s.name()) + ",\"value\":" + quote(s.value()) + ",\"source\":" + quote(s.source().name()) + "}");
            }
            out = "{\"value\":" + quote(e.value()) + ",\"source\":" + quote(e.source().name()) + ",\"isDefault\":" + e.isDefault()
                + ",\"readOnly\":" + e.isReadOnly() + ",\"type\":" + quote(e.type().name()) + ",\"documentation\":" + quote(e.documentation())
                + ",\"synonyms\":[" + String.join(",", synonyms) + "]}";
            break;
          }
          case "set":
          case "delete": {
            AlterConfigOp.OpType type = command.equals("set") ? AlterConfigOp.OpType.SET : AlterConfigOp.OpType.DELETE;
            Collection<AlterConfigOp> ops = List.of(new AlterConfigOp(new ConfigEntry(name, command.equals("set") ? args[4] : null), type));
            admin.incrementalAlterConfigs(Map.of(topic, ops)).all().get();
            out = "{\"ok\":true}";
            break;
          }
          case "alter":
            admin.alterConfigs(Map.of(topic, new Config(List.of(new ConfigEntry(name, args[4]))))).all().get();
            out = "{\"ok\":true}";
            break;
          default:
            throw new IllegalArgumentException("unknown command " + command);
        }
      } catch (ExecutionException e) {
        out = failure(e);
      }
      System.out.println(out);
    }
  }
}
