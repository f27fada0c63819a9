package ktp;

import java.nio.file.Path;
import java.util.Map;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;

/**
 * A real Neo4j Community server for the tests, in this one JVM.
 *
 *   java -cp target/classes:$(cat target/classpath.txt) ktp.Launcher DIR [PASSWORD]
 *
 * Bolt listens on 127.0.0.1 on a port the system picks; the first line printed is
 * "bolt bolt://127.0.0.1:PORT" once the server answers. With PASSWORD, authentication is on and
 * the user neo4j has that password; without it, authentication is off. No HTTP server, and
 * usage reporting is off: the server never connects anywhere. It stops when its standard
 * input closes, so a test run that dies takes the server with it.
 */
public final class Launcher {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String password = args.length > 1 ? args[1] : null;
        Neo4j neo4j = Neo4jBuilders.newInProcessBuilder(dir)
                .withDisabledServer()
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", 0))
                .withConfig(GraphDatabaseSettings.udc_enabled, false)
                .withConfig(GraphDatabaseInternalSettings.udc_network_enabled, false)
                .withConfig(GraphDatabaseSettings.auth_enabled, password != null)
                .build();
        if (password != null) {
            // Embedded transactions are not authenticated, so the password can be set here.
            neo4j.databaseManagementService().database("system").executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
        }
        System.out.println("bolt " + neo4j.boltURI().toString().replace("localhost", "127.0.0.1"));
        System.out.flush();
        while (System.in.read() != -1) {
            // nothing to read: waiting for the parent to close our input
        }
        neo4j.close();
    }
}
