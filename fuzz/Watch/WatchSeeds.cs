using System.Globalization;
using System.Text;
using LockFree.Balancing.Kubernetes.Fakes;
using P = LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Fuzz.Watch;

/// <summary>Recorded-style watch streams built with the fake server's payload builders (what kube-apiserver sends).</summary>
internal static class WatchSeeds
{
    public static IEnumerable<(string FileName, byte[] Content)> All()
    {
        yield return ("many-slices.jsonl", Stream(ManySlices()));
        yield return ("dual-stack-ipv6.jsonl", Stream(
            P.Event("ADDED", P.Slice("web-v4", "10", "IPv4", P.HttpPort(8080), P.Endpoint("10.1.0.1"), P.Endpoint("10.1.0.2"))),
            P.Event("ADDED", P.Slice("web-v6", "11", "IPv6", P.HttpPort(8080), P.Endpoint("fd00::1"), P.Endpoint("fd00:0:0::2"), P.Endpoint("::ffff:10.1.0.3"))),
            P.Event("MODIFIED", P.Slice("web-v6", "12", "IPv6", P.HttpPort(8080), P.Endpoint("FD00::1"))),
            P.Event("DELETED", P.Slice("web-v4", "13", "IPv4", P.HttpPort(8080)))));
        yield return ("fqdn.jsonl", Stream(
            P.Event("ADDED", P.Slice("web-fqdn", "20", "FQDN", P.HttpPort(443), P.Endpoint("web-0.shop.example.com"), P.Endpoint("WEB-1.shop.example.com."), P.Endpoint("10.0.0.9"))),
            P.Event("ADDED", P.Slice("web-v4", "21", "IPv4", P.HttpPort(443), P.Endpoint("10.2.0.1")))));
        yield return ("null-conditions.jsonl", Stream(
            P.Event("ADDED", P.Slice("web-a", "30", "IPv4", P.HttpPort(8080),
                P.Endpoint("10.3.0.1", "{\"ready\":null}"), P.Endpoint("10.3.0.2", "{}"), P.Endpoint("10.3.0.3", "{\"ready\":false,\"serving\":true,\"terminating\":true}"),
                P.Endpoint("10.3.0.4", "{\"ready\":false,\"serving\":null,\"terminating\":null}"), P.Endpoint("10.3.0.5", "{\"ready\":null,\"serving\":false}"))),
            P.Event("MODIFIED", P.Slice("web-a", "31", "IPv4", P.HttpPort(8080),
                P.Endpoint("10.3.0.3", "{\"ready\":false,\"serving\":true,\"terminating\":true}"), P.Endpoint("10.3.0.6", "{\"ready\":false,\"serving\":true,\"terminating\":true}")))));
        yield return ("managed-fields.jsonl", Stream(
            P.Event("ADDED", P.Slice("web-big", "40", "IPv4", P.HttpPort(8080), padding: 3000, P.Endpoint("10.4.0.1"), P.Endpoint("10.4.0.2"))),
            P.Event("MODIFIED", P.Slice("web-big", "41", "IPv4", P.HttpPort(8080), padding: 3000, P.Endpoint("10.4.0.1"), P.Endpoint("10.4.0.2")))));
        yield return ("bookmarks.jsonl", Stream(
            P.Event("ADDED", P.Slice("web-a", "50", "IPv4", P.HttpPort(8080), P.Endpoint("10.5.0.1"))),
            P.Bookmark("51", initialEventsEnd: true),
            P.Bookmark("52"),
            P.Event("MODIFIED", P.Slice("web-a", "53", "IPv4", P.HttpPort(8080), P.Endpoint("10.5.0.1"), P.Endpoint("10.5.0.2"))),
            "{\"type\":\"SOMETHING-NEW\",\"object\":{\"metadata\":{\"resourceVersion\":\"54\"}}}"));
        yield return ("gone-410.jsonl", Stream(
            P.Event("ADDED", P.Slice("web-a", "60", "IPv4", P.HttpPort(8080), P.Endpoint("10.6.0.1"))),
            P.Gone(),
            P.Event("ADDED", P.Slice("web-b", "61", "IPv4", P.HttpPort(8080), P.Endpoint("10.6.0.2")))));
        yield return ("error-500.jsonl", Stream(
            P.Event("ADDED", P.Slice("web-a", "70", "IPv4", P.HttpPort(8080), P.Endpoint("10.7.0.1"))),
            "{\"type\":\"ERROR\",\"object\":" + P.Status(500, "InternalError", "etcdserver: request timed out") + "}"));
        yield return ("crlf-blank-lines.jsonl", Encoding.UTF8.GetBytes(
            "\r\n  \n" + P.Event("ADDED", P.Slice("web-a", "80", "IPv4", P.HttpPort(8080), P.Endpoint("10.8.0.1"))) + "\r\n\t\r\n"
            + P.Event("ADDED", P.Slice("web-b", "81", "IPv4", P.HttpPort(8080), P.Endpoint("10.8.0.2"))) + "\r\n"));
        yield return ("last-line-without-newline.jsonl", Encoding.UTF8.GetBytes(
            P.Event("ADDED", P.Slice("web-a", "90", "IPv4", P.HttpPort(8080), P.Endpoint("10.9.0.1"))) + "\n"
            + P.Event("ADDED", P.Slice("web-b", "91", "IPv4", P.HttpPort(8080), P.Endpoint("10.9.0.2")))));
        string cut = P.Event("ADDED", P.Slice("web-b", "101", "IPv4", P.HttpPort(8080), P.Endpoint("10.10.0.2")));
        yield return ("cut-mid-event.jsonl", Encoding.UTF8.GetBytes(
            P.Event("ADDED", P.Slice("web-a", "100", "IPv4", P.HttpPort(8080), P.Endpoint("10.10.0.1"))) + "\n" + cut[..(cut.Length / 2)]));
        yield return ("ports-per-slice.jsonl", Stream(
            P.Event("ADDED", P.Slice("web-a", "110", "IPv4", P.HttpPort(8080), P.Endpoint("10.11.0.1"))),
            P.Event("ADDED", P.Slice("web-b", "111", "IPv4", P.HttpPort(9000), P.Endpoint("10.11.0.2"))),
            P.Event("ADDED", P.Slice("web-c", "112", "IPv4", "[{\"name\":\"http\",\"port\":null}]", P.Endpoint("10.11.0.3"))),
            P.Event("ADDED", P.Slice("web-d", "113", "IPv4", "[{\"name\":\"http\",\"port\":\"8080\"},{\"port\":8080,\"protocol\":\"UDP\"}]", P.Endpoint("10.11.0.4"))),
            P.Event("ADDED", P.Slice("web-e", "114", "IPv4", "[]", P.Endpoint("10.11.0.5"))),
            P.Event("ADDED", P.Slice("web-f", "115", "IPv4", "null", P.Endpoint("10.11.0.6")))));
        yield return ("hints.jsonl", Stream(
            P.Event("ADDED", P.Slice("web-a", "120", "IPv4", P.HttpPort(8080),
                P.Endpoint("10.12.0.1", hints: "{\"forZones\":[{\"name\":\"zone-a\"}]}"),
                P.Endpoint("10.12.0.2", zone: "zone-b", hints: "{\"forZones\":[{\"name\":\"zone-b\"},{\"name\":\"zone-c\"}],\"forNodes\":[{\"name\":\"node-2\"}]}"))),
            P.Event("MODIFIED", P.Slice("web-a", "121", "IPv4", P.HttpPort(8080),
                P.Endpoint("10.12.0.1", hints: "{\"forZones\":[{\"name\":\"zone-b\"}]}"), P.Endpoint("10.12.0.2", zone: "zone-b")))));
        yield return ("duplicates-across-slices.jsonl", Stream(
            P.Event("ADDED", P.Slice("web-b", "130", "IPv4", P.HttpPort(8080), P.Endpoint("10.13.0.1", zone: "zone-b"), P.Endpoint("10.13.0.2"))),
            P.Event("ADDED", P.Slice("web-a", "131", "IPv4", P.HttpPort(8080), P.Endpoint("10.13.0.1", zone: "zone-a"))),
            P.Event("DELETED", P.Slice("web-a", "132", "IPv4", P.HttpPort(8080))),
            P.Event("DELETED", P.Slice("web-zz", "133", "IPv4", P.HttpPort(8080)))));
        yield return ("escapes-and-unicode.jsonl", Stream(
            "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"web-\\u00e9\\u65e5\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"10.14.0.\\u0031\"],\"zone\":\"z\\u00fcrich\"}],\"ports\":[{\"name\":\"\\u0068ttp\",\"port\":8080}]}}",
            "{\"object\":{\"addressType\":\"IPv4\",\"metadata\":{\"name\":\"web-late-type\"},\"endpoints\":[{\"addresses\":[\"10.14.0.2\"]}],\"ports\":[{\"port\":8080}]},\"type\":\"ADDED\"}"));
        yield return ("repeated-slice.jsonl", Stream(RepeatedSlice()));
        yield return ("invalid-event.jsonl", Stream(
            P.Event("ADDED", P.Slice("web-a", "140", "IPv4", P.HttpPort(8080), P.Endpoint("10.15.0.1"))),
            "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"web-b\"},\"endpoints\":[{\"addresses\":[\"10.15.0.2\"],\"conditions\":{\"ready\":\"yes\"}}]}}"));
    }

    private static string[] ManySlices()
    {
        var lines = new List<string>();
        for (int s = 0; s < 8; s++)
        {
            string[] endpoints = [.. Enumerable.Range(1, 4).Select(e => P.Endpoint(string.Create(CultureInfo.InvariantCulture, $"10.0.{s}.{e}"), node: $"node-{e}", zone: $"zone-{(char)('a' + (e % 3))}"))];
            lines.Add(P.Event("ADDED", P.Slice($"web-{s:x4}", (1000 + s).ToString(CultureInfo.InvariantCulture), "IPv4", P.HttpPort(8080), endpoints)));
        }

        lines.Add(P.Event("MODIFIED", P.Slice("web-0003", "1100", "IPv4", P.HttpPort(8080), P.Endpoint("10.0.3.1", "{\"ready\":false,\"serving\":false,\"terminating\":true}"), P.Endpoint("10.0.3.9"))));
        lines.Add(P.Event("DELETED", P.Slice("web-0005", "1101", "IPv4", P.HttpPort(8080))));
        lines.Add(P.Bookmark("1102"));
        return [.. lines];
    }

    /// <summary>
    /// One slice sent again and again with small differences, as a real watch does: the parser steps over endpoints
    /// it knows byte for byte, so mutations near and inside repeated endpoints test that shortcut.
    /// </summary>
    private static string[] RepeatedSlice()
    {
        string[] pool = [.. Enumerable.Range(1, 6).Select(e => P.Endpoint(
            string.Create(CultureInfo.InvariantCulture, $"10.16.0.{e}"), node: $"node-{e % 3}", zone: e % 2 == 0 ? "zone-a" : "zone-b",
            hints: e == 4 ? "{\"forZones\":[{\"name\":\"zone-a\"}]}" : null))];
        string Event(string rv, params string[] endpoints) => P.Event("MODIFIED", P.Slice("web-r", rv, "IPv4", P.HttpPort(8080), endpoints));
        string changed = P.Endpoint("10.16.0.3", "{\"ready\":false,\"serving\":true,\"terminating\":true}", node: "node-0", zone: "zone-b");
        return
        [
            P.Event("ADDED", P.Slice("web-r", "200", "IPv4", P.HttpPort(8080), pool)),
            Event("201", pool),
            Event("202", pool[0], pool[1], changed, pool[3], pool[4], pool[5]),
            Event("203", [P.Endpoint("10.16.0.9"), .. pool]),
            Event("204", pool[0], pool[1], pool[3], pool[4], pool[5]),
            Event("205", pool).Replace("},{\"addresses\"", "} , {\"addresses\"", StringComparison.Ordinal),
            Event("206", pool[0], pool[2], pool[2], pool[5]),
            Event("207", pool),
        ];
    }

    private static byte[] Stream(params string[] lines) => Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n")));
}
