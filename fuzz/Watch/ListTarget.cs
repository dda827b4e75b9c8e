using System.Text;
using LockFree.Balancing.Fuzz.Engine;
using LockFree.Balancing.Hashing;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Slices;
using LockFree.Balancing.Kubernetes.Watch;
using P = LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Fuzz.Watch;

/// <summary>
/// A LIST page as the watcher reads it (<see cref="BodyReader"/> with the page limit over random chunks, then
/// <see cref="KubernetesJson.ParseList"/>, then a full replace and merge), compared with
/// <see cref="ReferenceDecoder.ReadList"/> and <see cref="ReferenceMerge"/>. The page is parsed twice, the second
/// time against the slices the first produced, as a relist does: the reuse of held slices must not change anything.
/// </summary>
internal sealed class ListTarget : FuzzTarget
{
    private static readonly ServiceReference[] Services =
        [ServiceReference.Parse("web.shop:http"), ServiceReference.Parse("web.shop:8080"), ServiceReference.Parse("web.shop")];

    private static readonly AddressFamilyPreference[] Preferences = Enum.GetValues<AddressFamilyPreference>();

    private readonly WatchTarget _watch = new();

    public override string Name => "list";

    public override string Description => "LIST page: bounded body read + list parser + replace and merge against the JsonDocument reference";

    public override int MaxInputLength => 128 * 1024;

    private static readonly string[] ListTokens = ["\"items\":", "\"continue\":", "\"EndpointSliceList\""];

    public ListTarget()
    {
        Dictionary = [.. _watch.Dictionary, .. ListTokens.Select(Encoding.UTF8.GetBytes)];
    }

    public override IReadOnlyList<byte[]> Dictionary { get; }

    public override IEnumerable<(string FileName, byte[] Content)> Seeds()
    {
        string a = P.Slice("web-a", "10", "IPv4", P.HttpPort(8080), P.Endpoint("10.1.0.1"), P.Endpoint("10.1.0.2", "{\"ready\":null}"));
        string b = P.Slice("web-b", "11", "IPv4", P.HttpPort(9000), padding: 2000, P.Endpoint("10.1.0.3", zone: "zone-b", hints: "{\"forZones\":[{\"name\":\"zone-b\"}]}"));
        string v6 = P.Slice("web-v6", "12", "IPv6", P.HttpPort(8080), P.Endpoint("fd00::1"));
        string fqdn = P.Slice("web-fqdn", "13", "FQDN", P.HttpPort(8080), P.Endpoint("web-0.shop.example"));
        yield return ("page-with-continue.json", Encoding.UTF8.GetBytes(P.List("100", "c2", a, b)));
        yield return ("last-page.json", Encoding.UTF8.GetBytes(P.List("100", null, a, b, v6, fqdn)));
        yield return ("empty.json", Encoding.UTF8.GetBytes(P.List("5", null)));
        yield return ("items-null.json", "{\"kind\":\"EndpointSliceList\",\"metadata\":{\"resourceVersion\":\"7\",\"continue\":\"\"},\"items\":null}"u8.ToArray());
        yield return ("no-resource-version.json", "{\"metadata\":{},\"items\":[]}"u8.ToArray());
    }

    public override ulong Execute(byte[] input)
    {
        ulong hash = KeyHasher.Hash(input);
        ServiceReference service = Services[(int)(hash % 3)];
        AddressFamilyPreference preference = Preferences[(int)((hash >> 8) % (ulong)Preferences.Length)];
        bool fallback = ((hash >> 16) & 1) == 1;
        int maxBytes = ((hash >> 20) % 5) switch { 0 => 1024, 1 => 4096, _ => 1 << 20 };
        var settings = new MergeSettings(preference, fallback);
        string where = $"(service {service}, {preference}, fallback {fallback}, limit {maxBytes} B)";

        // Step 1 – the bounded body read.
        var chunks = new Random(unchecked((int)(hash >> 32)));
        using var stream = new ChunkedStream(input, _ => chunks.Next(4) == 0 ? 1 + chunks.Next(3) : 1 + chunks.Next(8192));
        PooledBody body;
        try
        {
            body = BodyReader.ReadAsync(stream, maxBytes, "list page", CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (WatchEventTooLargeException)
        {
            Check(input.Length > maxBytes, $"{where}: a {input.Length}-byte page was refused as larger than the limit");
            return 1;
        }

        using (body)
        {
            Check(input.Length <= maxBytes, $"{where}: a {input.Length}-byte page passed the {maxBytes}-byte limit");
            Check(body.Span.SequenceEqual(input), $"{where}: the body read differs from the bytes sent");

            // Step 2 – parse, against nothing held and then against what the first parse produced.
            (string? ResourceVersion, string? Continue, List<RefSlice> Items)? expected = ReferenceDecoder.ReadList(input, out string? why);
            var set = new EndpointSliceSet();
            var cache = new Utf8StringCache();
            for (int pass = 0; pass < 2; pass++)
            {
                EndpointSliceList page;
                try
                {
                    page = KubernetesJson.ParseList(body.Span, cache, pass == 0 ? null : set);
                }
                catch (InvalidWatchDataException ex)
                {
                    Check(expected is null, $"{where}: the parser rejected the page ({ex.Message}); the reference reads it");
                    return 2;
                }

                Check(expected is not null, $"{where}: the parser read a page the reference rejects ({why})");
                Check(page.ResourceVersion == expected!.Value.ResourceVersion && page.Continue == expected.Value.Continue, $"{where}: resourceVersion or continue differ");
                Check(page.Items.Select(i => i.Name).SequenceEqual(expected.Value.Items.Select(i => i.Name)), $"{where}: item names differ");

                // Step 3 – a relist replaces the whole state; the merge must equal the reference's.
                set.ReplaceAll(page.Items);
                var slices = new Dictionary<string, RefSlice>(StringComparer.Ordinal);
                foreach (RefSlice slice in expected.Value.Items)
                {
                    slices[slice.Name] = slice; // a repeated name: the last one stands, as in the adapter's replace
                }

                WatchTarget.Compare(set.Merge(service, settings), ReferenceMerge.Merge(slices, service, preference, fallback), $"{where}, pass {pass}");
            }

            return 3 | ((ulong)Math.Min(expected!.Value.Items.Count, 7) << 2) | ((expected.Value.Continue is null ? 0UL : 1) << 5);
        }
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvariantViolationException(message);
        }
    }
}
