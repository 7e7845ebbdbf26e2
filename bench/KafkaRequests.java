// Requests per second the local broker answers, by API (Produce, Fetch, OffsetCommit, ...),
// over a window: the broker's own RequestMetrics read over JMX. Attaches to the broker's
// JVM (the same user, no JMX port needed) and starts its local management agent.
//
//   java bench/KafkaRequests.java [SECONDS] [PID]   (PID: the `kafka.Kafka` process)
//
// Kafka's cost is per request, not per record (docs/performance.md): this says which
// requests a load makes, e.g. per order at a steady rate.
import com.sun.tools.attach.VirtualMachine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class KafkaRequests {
    public static void main(String[] args) throws Exception {
        long seconds = args.length > 0 ? Long.parseLong(args[0]) : 20;
        String pid = args.length > 1 ? args[1] : brokerPid();
        String url = VirtualMachine.attach(pid).startLocalManagementAgent();
        MBeanServerConnection jmx =
                JMXConnectorFactory.connect(new JMXServiceURL(url)).getMBeanServerConnection();
        ObjectName query = new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*");
        Map<String, Long> before = counts(jmx, query);
        Thread.sleep(seconds * 1000);
        Map<String, Long> after = counts(jmx, query);
        List<String> names = new ArrayList<>(after.keySet());
        names.sort((a, b) -> Long.compare(
                after.get(b) - before.getOrDefault(b, 0L), after.get(a) - before.getOrDefault(a, 0L)));
        double total = 0;
        for (String name : names) {
            long n = after.get(name) - before.getOrDefault(name, 0L);
            if (n == 0) {
                continue;
            }
            // FetchConsumer and FetchFollower split Fetch by who asks: not counted again.
            boolean part = name.equals("FetchConsumer") || name.equals("FetchFollower");
            System.out.printf("%9.1f/s  %s%s%n", n / (double) seconds, name, part ? " (of Fetch)" : "");
            total += part ? 0 : n / (double) seconds;
        }
        System.out.printf("%9.1f/s  all (over %d s)%n", total, seconds);
    }

    /** Count per request API (the metric has one series per API version too: summed). */
    static Map<String, Long> counts(MBeanServerConnection jmx, ObjectName query) throws Exception {
        Map<String, Long> counts = new HashMap<>();
        for (ObjectName name : jmx.queryNames(query, null)) {
            long count = ((Number) jmx.getAttribute(name, "Count")).longValue();
            counts.merge(name.getKeyProperty("request"), count, Long::sum);
        }
        return counts;
    }

    static String brokerPid() throws Exception {
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path proc : (Iterable<Path>) procs::iterator) {
                Path cmdline = proc.resolve("cmdline");
                if (!proc.getFileName().toString().matches("\\d+") || !Files.isReadable(cmdline)) {
                    continue;
                }
                String cmd = new String(Files.readAllBytes(cmdline)).replace('\0', ' ');
                if (cmd.contains(" kafka.Kafka ")) {
                    return proc.getFileName().toString();
                }
            }
        }
        throw new IllegalStateException("no kafka.Kafka process: start the stack (orderflow up)");
    }
}
