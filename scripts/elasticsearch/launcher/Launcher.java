import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipFile;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

/**
 * Starts one Elasticsearch node in this JVM: the real server from Maven Central, without the
 * distribution's launcher (which is not published). Run in source-file mode by node.ts:
 *   java -p target/server --add-modules ALL-MODULE-PATH Launcher.java <home> <modules> <http port>
 */
public class Launcher {
    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]).toAbsolutePath();
        Path modules = Path.of(args[1]).toAbsolutePath();
        int port = Integer.parseInt(args[2]);
        Files.createDirectories(home.resolve("config"));
        Files.createDirectories(home.resolve("plugins"));
        writeDescriptors(modules, Path.of(args[3]));

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "chat-dev")
            .put("node.name", "chat-dev")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", port)
            .put("transport.port", port + 100)
            // A write to a missing alias must fail, not create an index with a guessed mapping.
            .put("action.auto_create_index", false)
            .build();

        LogConfigurator.configureESLogging();
        LogConfigurator.configureWithoutConfig(settings);
        Environment environment = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), home.resolve("config"), () -> "chat-dev");
        PluginsLoader plugins = PluginsLoader.createPluginsLoader(
            PluginsLoader.loadModulesBundles(modules),
            PluginsLoader.loadPluginsBundles(home.resolve("plugins")),
            Map.of()
        );
        Node node = new Node(environment, plugins).start();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }));
        stopped.await();
    }

    /** Each module folder needs its plugin-descriptor.properties beside its jars. */
    private static void writeDescriptors(Path modules, Path ourDescriptor) throws Exception {
        Files.copy(ourDescriptor, modules.resolve("chat-analysis/plugin-descriptor.properties"), StandardCopyOption.REPLACE_EXISTING);
        Path netty = modules.resolve("transport-netty4");
        try (var jars = Files.list(netty)) {
            Path jar = jars.filter(p -> p.getFileName().toString().startsWith("transport-netty4-")).findFirst().orElseThrow();
            try (ZipFile zip = new ZipFile(jar.toFile());
                 InputStream in = zip.getInputStream(zip.getEntry("META-INF/es-plugins/transport-netty4/plugin-descriptor.properties"))) {
                Files.copy(in, netty.resolve("plugin-descriptor.properties"), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
