// pgjdbc against QuorumDB, run as a single source file:
//   java -cp /usr/share/java/postgresql.jar ClientCheck.java PORT
// Runs every check twice: text transfer (binaryTransfer=false) and binary
// transfer (binaryTransfer=true, prepareThreshold=-1: server-prepared from
// the first execution, so results come back in binary). Checks: DDL, every
// supported type round-tripping through typed setters/getters with NULLs,
// a UUID primary key, commit and rollback, SQLSTATE 23505, one PreparedStatement reused 10
// times. Prints PASS/FAIL and exits 1 on failure.

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.UUID;
import java.util.Objects;
import java.util.Properties;

public class ClientCheck {
    static final String[] COLUMNS = {"id", "c_bool", "c_int2", "c_int4", "c_int8", "c_float4", "c_float8",
        "c_numeric", "c_text", "c_varchar", "c_bytea", "c_date", "c_timestamp"};
    static final int[] SQL_TYPES = {Types.INTEGER, Types.BOOLEAN, Types.SMALLINT, Types.INTEGER, Types.BIGINT,
        Types.REAL, Types.DOUBLE, Types.NUMERIC, Types.VARCHAR, Types.VARCHAR, Types.BINARY, Types.DATE,
        Types.TIMESTAMP};

    static final Object[][] ROWS = {
        {1, true, (short) 32767, 2147483647, 9223372036854775807L, 3.25f, 3.141592653589793,
            new BigDecimal("123456789.125"), "héllo, wörld ☃ 'q' \"dq\" \\ back\nline", "varchar ☃",
            new byte[] {0, 1, 2, (byte) 0xff, (byte) 0x80, 0x5c}, LocalDate.of(2024, 2, 29),
            LocalDateTime.of(2024, 2, 29, 13, 45, 30, 123_456_000)},
        {2, false, (short) -32768, -2147483648, -9223372036854775808L, -1234.5f, -1e300,
            new BigDecimal("-42.500"), "", "xxxxxxxxxxxxxxxxxxxx", new byte[0], LocalDate.of(1999, 12, 31),
            LocalDateTime.of(1970, 1, 1, 0, 0, 0)},
        {3, null, null, null, null, null, null, null, null, null, null, null, null},
        {4, true, (short) 0, 0, 0L, 0.0f, 0.1, new BigDecimal("0.001"), "plain", "", new byte[] {0x7f},
            LocalDate.of(2000, 1, 1), LocalDateTime.of(1999, 12, 31, 23, 59, 59, 999_999_000)},
    };

    static void check(boolean cond, String what) {
        if (!cond) throw new AssertionError(what);
    }

    static void bind(PreparedStatement ps, Object[] row) throws SQLException {
        for (int c = 0; c < row.length; c++) {
            int i = c + 1;
            Object v = row[c];
            if (v == null) { ps.setNull(i, SQL_TYPES[c]); continue; }
            switch (c) {
                case 0, 3 -> ps.setInt(i, (Integer) v);
                case 1 -> ps.setBoolean(i, (Boolean) v);
                case 2 -> ps.setShort(i, (Short) v);
                case 4 -> ps.setLong(i, (Long) v);
                case 5 -> ps.setFloat(i, (Float) v);
                case 6 -> ps.setDouble(i, (Double) v);
                case 7 -> ps.setBigDecimal(i, (BigDecimal) v);
                case 8, 9 -> ps.setString(i, (String) v);
                case 10 -> ps.setBytes(i, (byte[]) v);
                default -> ps.setObject(i, v);
            }
        }
    }

    static Object read(ResultSet rs, int c) throws SQLException {
        int i = c + 1;
        Object v = switch (c) {
            case 0, 3 -> rs.getInt(i);
            case 1 -> rs.getBoolean(i);
            case 2 -> rs.getShort(i);
            case 4 -> rs.getLong(i);
            case 5 -> rs.getFloat(i);
            case 6 -> rs.getDouble(i);
            case 7 -> rs.getBigDecimal(i);
            case 8, 9 -> rs.getString(i);
            case 10 -> rs.getBytes(i);
            case 11 -> rs.getObject(i, LocalDate.class);
            default -> rs.getObject(i, LocalDateTime.class);
        };
        return rs.wasNull() ? null : v;
    }

    static boolean same(Object got, Object want) {
        if (want instanceof byte[] w) return got instanceof byte[] g && Arrays.equals(g, w);
        if (want instanceof BigDecimal w) return got instanceof BigDecimal g && g.compareTo(w) == 0;
        return Objects.equals(got, want);
    }

    static String show(Object v) {
        return v instanceof byte[] b ? Arrays.toString(b) : String.valueOf(v);
    }

    static void run(int port, boolean binary) throws SQLException {
        String mode = binary ? "binary" : "text";
        Properties p = new Properties();
        p.setProperty("user", "root");
        p.setProperty("connectTimeout", "10");
        p.setProperty("sslmode", "disable");
        p.setProperty("binaryTransfer", Boolean.toString(binary));
        p.setProperty("prepareThreshold", binary ? "-1" : "5");
        String table = "jdbc_types_" + mode;
        try (Connection conn = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/quorumdb", p)) {
            try (Statement st = conn.createStatement()) {
                st.execute("DROP TABLE IF EXISTS " + table);
                st.execute("CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, c_bool BOOLEAN, c_int2 SMALLINT, "
                    + "c_int4 INTEGER, c_int8 BIGINT, c_float4 REAL, c_float8 DOUBLE PRECISION, "
                    + "c_numeric NUMERIC(12,3), c_text TEXT, c_varchar VARCHAR(20), c_bytea BYTEA, c_date DATE, "
                    + "c_timestamp TIMESTAMP)");
            }
            String marks = String.join(", ", java.util.Collections.nCopies(COLUMNS.length, "?"));
            try (PreparedStatement ins = conn.prepareStatement(
                    "INSERT INTO " + table + " (" + String.join(", ", COLUMNS) + ") VALUES (" + marks + ")")) {
                for (Object[] row : ROWS) {
                    bind(ins, row);
                    check(ins.executeUpdate() == 1, mode + ": insert count");
                }
            }
            String select = "SELECT " + String.join(", ", COLUMNS) + " FROM " + table + " ORDER BY id";
            try (PreparedStatement sel = conn.prepareStatement(select); ResultSet rs = sel.executeQuery()) {
                int r = 0;
                while (rs.next()) {
                    check(r < ROWS.length, mode + ": too many rows");
                    for (int c = 0; c < COLUMNS.length; c++) {
                        Object got = read(rs, c);
                        Object want = ROWS[r][c];
                        check(same(got, want), mode + ": row id=" + ROWS[r][0] + " column " + COLUMNS[c]
                            + ": got " + show(got) + ", want " + show(want));
                    }
                    r++;
                }
                check(r == ROWS.length, mode + ": " + r + " rows, want " + ROWS.length);
            }
            try (PreparedStatement q = conn.prepareStatement(
                    "SELECT id FROM " + table + " WHERE c_int8 = ? AND c_bytea = ? AND c_timestamp = ?")) {
                q.setLong(1, (Long) ROWS[0][4]);
                q.setBytes(2, (byte[]) ROWS[0][10]);
                q.setObject(3, ROWS[0][12]);
                try (ResultSet rs = q.executeQuery()) {
                    check(rs.next() && rs.getInt(1) == 1 && !rs.next(), mode + ": select by params");
                }
            }

            // UUID: setObject(java.util.UUID) goes as type uuid (16 bytes in
            // binary mode); getObject gives a java.util.UUID back.
            String ut = "jdbc_uuid_" + mode;
            try (Statement st = conn.createStatement()) {
                st.execute("DROP TABLE IF EXISTS " + ut);
                st.execute("CREATE TABLE " + ut + " (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), v TEXT)");
            }
            UUID u = UUID.fromString("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
            try (PreparedStatement ins = conn.prepareStatement("INSERT INTO " + ut + " VALUES (?, ?)")) {
                ins.setObject(1, u);
                ins.setString(2, "given");
                check(ins.executeUpdate() == 1, mode + ": uuid insert");
            }
            try (PreparedStatement q = conn.prepareStatement("SELECT id, v FROM " + ut + " WHERE id = ?")) {
                q.setObject(1, u);
                try (ResultSet rs = q.executeQuery()) {
                    check(rs.next() && u.equals(rs.getObject(1)) && "given".equals(rs.getString(2)) && !rs.next(),
                        mode + ": uuid round trip");
                }
            }
            try (Statement st = conn.createStatement();
                    ResultSet rs = st.executeQuery("INSERT INTO " + ut + " (v) VALUES ('made') RETURNING id")) {
                check(rs.next() && rs.getObject(1) instanceof UUID && ((UUID) rs.getObject(1)).version() == 4,
                    mode + ": gen_random_uuid");
            }

            String tx = "jdbc_tx_" + mode;
            try (Statement st = conn.createStatement()) {
                st.execute("DROP TABLE IF EXISTS " + tx);
                st.execute("CREATE TABLE " + tx + " (id INTEGER PRIMARY KEY, v TEXT)");
            }
            conn.setAutoCommit(false);
            try (PreparedStatement ins = conn.prepareStatement("INSERT INTO " + tx + " VALUES (?, ?)")) {
                ins.setInt(1, 1);
                ins.setString(2, "committed");
                ins.executeUpdate();
                conn.commit();
                ins.setInt(1, 2);
                ins.setString(2, "rolled back");
                ins.executeUpdate();
                conn.rollback();
                try (Statement st = conn.createStatement();
                        ResultSet rs = st.executeQuery("SELECT id, v FROM " + tx + " ORDER BY id")) {
                    check(rs.next() && rs.getInt(1) == 1 && "committed".equals(rs.getString(2)) && !rs.next(),
                        mode + ": commit/rollback");
                }
                conn.commit();
                ins.setInt(1, 1);
                ins.setString(2, "duplicate");
                try {
                    ins.executeUpdate();
                    throw new AssertionError(mode + ": duplicate key was accepted");
                } catch (SQLException e) {
                    check("23505".equals(e.getSQLState()), mode + ": SQLSTATE " + e.getSQLState() + ": " + e);
                }
                conn.rollback();
            }
            conn.setAutoCommit(true);

            try (PreparedStatement ps = conn.prepareStatement("SELECT c_int4, c_text FROM " + table + " WHERE id = ?")) {
                for (int i = 0; i < 10; i++) {
                    ps.setInt(1, 1 + i % 2);
                    try (ResultSet rs = ps.executeQuery()) {
                        check(rs.next() && rs.getInt(1) == (Integer) ROWS[i % 2][3]
                            && ROWS[i % 2][8].equals(rs.getString(2)) && !rs.next(), mode + ": prepared #" + i);
                    }
                }
            }
        }
    }

    public static void main(String[] args) {
        int port = Integer.parseInt(args.length > 0 ? args[0] : System.getenv().getOrDefault("QUORUMDB_PORT", "5433"));
        try {
            run(port, false);
            run(port, true);
        } catch (Throwable e) {
            e.printStackTrace();
            System.out.println("FAIL pgjdbc: " + e);
            System.exit(1);
        }
        System.out.println("PASS pgjdbc (" + org.postgresql.util.DriverInfo.DRIVER_FULL_NAME + ", text+binary)");
    }
}
