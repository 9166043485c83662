/* ZkJuteCheck: the Java half of tests/fuzz/zk_differential. Reads fuzz corpus files with
 * Apache ZooKeeper's own classes and prints one verdict line per file, in the format of
 * jute_dump.c:
 *   frames FILE...  each frame's body as a request: "OK <hex of re-serialization>",
 *                   "OK-MULTI <ops>", "UNSUP" (no record for the opcode) or "ERR" (the
 *                   record does not deserialize, or bytes are left after it, or a multi's
 *                   ops are not all of the kind its opcode names), separated by " | ".
 *   paths FILE...   "1" or "0": PathUtils.validatePath(String(bytes[1..], UTF-8),
 *                   bytes[0] & 1) accepted or threw. */
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.apache.jute.BinaryInputArchive;
import org.apache.jute.BinaryOutputArchive;
import org.apache.zookeeper.MultiOperationRecord;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.common.PathUtils;
import org.apache.zookeeper.proto.*;

public class ZkJuteCheck {
    private static org.apache.jute.Record body(int type) {
        switch (type) {
        case 1: case 15: case 19: return new CreateRequest();
        case 21: return new CreateTTLRequest();
        case 2: return new DeleteRequest();
        case 3: return new ExistsRequest();
        case 4: return new GetDataRequest();
        case 5: return new SetDataRequest();
        case 6: return new GetACLRequest();
        case 7: return new SetACLRequest();
        case 8: return new GetChildrenRequest();
        case 9: return new SyncRequest();
        case 12: return new GetChildren2Request();
        case 13: return new CheckVersionRequest();
        case 16: return new ReconfigRequest();
        case 17: return new CheckWatchesRequest();
        case 18: return new RemoveWatchesRequest();
        case 100: return new AuthPacket();
        case 101: return new SetWatches();
        case 102: return new GetSASLRequest();
        case 103: return new GetEphemeralsRequest();
        case 104: return new GetAllChildrenNumberRequest();
        case 105: return new SetWatches2();
        case 106: return new AddWatchRequest();
        case 14: case 22: return new MultiOperationRecord();
        default: return null;
        }
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) s.append(String.format("%02x", x));
        return s.toString();
    }

    private static String request(byte[] d, int off, int len) {
        try {
            ByteArrayInputStream in = new ByteArrayInputStream(d, off, len);
            BinaryInputArchive ia = BinaryInputArchive.getArchive(in);
            RequestHeader h = new RequestHeader();
            h.deserialize(ia, "header");
            int t = h.getType();
            boolean noBody = t == 11 || t == -11 || t == 107;
            org.apache.jute.Record r = noBody ? null : body(t);
            if (r == null && !noBody) return "UNSUP";
            if (r != null) r.deserialize(ia, "request");
            if (in.available() != 0) return "ERR";
            if (r instanceof MultiOperationRecord) {
                MultiOperationRecord m = (MultiOperationRecord) r;
                Op.OpKind want = t == 14 ? Op.OpKind.TRANSACTION : Op.OpKind.READ;
                return m.size() > 0 && m.getOpKind() != want ? "ERR" : "OK-MULTI " + m.size();
            }
            ByteArrayOutputStream bo = new ByteArrayOutputStream();
            BinaryOutputArchive oa = BinaryOutputArchive.getArchive(bo);
            h.serialize(oa, "header");
            if (r != null) r.serialize(oa, "request");
            return "OK " + hex(bo.toByteArray());
        } catch (Exception e) {
            return "ERR";
        }
    }

    private static String frames(byte[] d) {
        StringBuilder out = new StringBuilder();
        int off = 0;
        while (d.length - off >= 4) {
            int n = ByteBuffer.wrap(d, off, 4).getInt();
            if (n < 0 || n > (1 << 20) || d.length - off - 4 < n) break;
            out.append(" | ").append(request(d, off + 4, n));
            off += 4 + n;
        }
        return out.toString();
    }

    private static String path(byte[] d) {
        if (d.length == 0) return "";
        try {
            PathUtils.validatePath(new String(d, 1, d.length - 1, StandardCharsets.UTF_8),
                                   (d[0] & 1) != 0);
            return " 1";
        } catch (IllegalArgumentException e) {
            return " 0";
        }
    }

    public static void main(String[] args) throws Exception {
        boolean paths = args[0].equals("paths");
        for (int i = 1; i < args.length; i++) {
            byte[] d = Files.readAllBytes(Paths.get(args[i]));
            System.out.println(args[i] + (paths ? path(d) : frames(d)));
        }
    }
}
