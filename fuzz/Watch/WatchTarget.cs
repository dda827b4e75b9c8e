using System.Numerics;
using System.Text;
using LockFree.Balancing.Fuzz.Engine;
using LockFree.Balancing.Hashing;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Slices;
using LockFree.Balancing.Kubernetes.Watch;

namespace LockFree.Balancing.Fuzz.Watch;

/// <summary>
/// The watch path as the watcher runs it (<see cref="WatchLineReader"/> over a stream that returns random chunk
/// sizes, <see cref="KubernetesJson.ParseWatchEvent"/> with the held slices, <see cref="EndpointSliceSet"/> upserts,
/// deletes and merges), compared step by step with <see cref="ReferenceDecoder"/> and <see cref="ReferenceMerge"/>.
/// </summary>
/// <remarks>
/// Invariants: the only exceptions are the documented <see cref="InvalidWatchDataException"/>,
/// <see cref="WatchEventTooLargeException"/> and <see cref="EndOfStreamException"/>, each exactly where the reference
/// says the stream stops; after every event the published set (family, keys, zones, nodes, hints, fallback) equals the
/// reference merge of the same bytes; the line buffer never grows past what the event limit needs.
/// The service, family preference, terminating fallback and event limit are chosen from a hash of the input.
/// </remarks>
internal sealed class WatchTarget : FuzzTarget
{
    private static readonly ServiceReference[] Services =
        [ServiceReference.Parse("web.shop:http"), ServiceReference.Parse("web.shop:8080"), ServiceReference.Parse("web.shop")];

    private static readonly AddressFamilyPreference[] Preferences = Enum.GetValues<AddressFamilyPreference>();

    public override string Name => "watch";

    public override string Description => "watch stream: line reader + parser + slice merge against a JsonDocument reference decoder";

    public override int MaxInputLength => 128 * 1024;

    public override IReadOnlyList<byte[]> Dictionary { get; } =
    [
        .. new[]
        {
            "\"type\":", "\"object\":", "\"ADDED\"", "\"MODIFIED\"", "\"DELETED\"", "\"BOOKMARK\"", "\"ERROR\"", "\"metadata\":", "\"name\":",
            "\"resourceVersion\":", "\"addressType\":", "\"IPv4\"", "\"IPv6\"", "\"FQDN\"", "\"endpoints\":", "\"ports\":", "\"port\":", "\"protocol\":",
            "\"addresses\":", "\"conditions\":", "\"ready\":", "\"serving\":", "\"terminating\":", "\"nodeName\":", "\"zone\":", "\"hints\":",
            "\"forZones\":", "\"forNodes\":", "\"kind\":", "\"code\":", "\"message\":", "\"reason\":", "\"annotations\":",
            "\"k8s.io/initial-events-end\":\"true\"", "null", "true", "false", "[]", "{}", "\"\"", ",", ":", "\\u0000", "\\ud800", "\\\"", "\r\n", "\n",
            "\"10.0.0.1\"", "\"fd00::1\"", "\"::ffff:10.0.0.1\"", "\"web-0.shop.example\"", "\"http\"", "8080", "410", "65536", "0",
        }.Select(Encoding.UTF8.GetBytes),
    ];

    public override IEnumerable<(string FileName, byte[] Content)> Seeds() => WatchSeeds.All();

    public override ulong Execute(byte[] input)
    {
        // Step 1 – the configuration, from the input's hash (so a replay uses the same one).
        ulong hash = KeyHasher.Hash(input);
        ServiceReference service = Services[(int)(hash % 3)];
        AddressFamilyPreference preference = Preferences[(int)((hash >> 8) % (ulong)Preferences.Length)];
        bool fallback = ((hash >> 16) & 1) == 1;
        int maxLineBytes = ((hash >> 20) % 5) switch { 0 => 1024, 1 => 4096, _ => 1 << 20 };
        var settings = new MergeSettings(preference, fallback);

        // Step 2 – the reference reading.
        List<RefStep> expected = ReferenceDecoder.Read(input, maxLineBytes);
        var referenceSlices = new Dictionary<string, RefSlice>(StringComparer.Ordinal);

        // Step 3 – the adapter, fed in random chunks (reads end anywhere, inside UTF-8 sequences too).
        var chunks = new Random(unchecked((int)(hash >> 32)));
        using var stream = new ChunkedStream(input, _ => chunks.Next(4) == 0 ? 1 + chunks.Next(3) : 1 + chunks.Next(8192));
        using var lines = new WatchLineReader(stream, maxLineBytes);
        var set = new EndpointSliceSet();
        var cache = new Utf8StringCache();
        MergedEndpoints published = set.Merge(service, settings);
        int bufferBound = (int)BitOperations.RoundUpToPowerOf2((uint)maxLineBytes + 2);
        int events = 0;
        ulong typesSeen = 0;
        for (int step = 0; ; step++)
        {
            RefStep want = expected[step];
            string where = $"step {step} (service {service}, {preference}, fallback {fallback}, limit {maxLineBytes} B)";
            ReadOnlyMemory<byte> line;
            try
            {
                line = lines.ReadLineAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
            }
            catch (WatchEventTooLargeException)
            {
                Expect(want, RefStepKind.TooLarge, where, "the reader raised WatchEventTooLargeException");
                return Signature(RefStepKind.TooLarge, events, typesSeen, published);
            }
            catch (EndOfStreamException)
            {
                Expect(want, RefStepKind.CutMidEvent, where, "the reader raised EndOfStreamException");
                return Signature(RefStepKind.CutMidEvent, events, typesSeen, published);
            }

            // The memory bound: the only buffer that grows with the input is the line buffer, capped by the limit.
            Check(lines.BufferCapacity <= bufferBound, $"{where}: the line buffer holds {lines.BufferCapacity} bytes, more than the {bufferBound} the {maxLineBytes}-byte limit allows");
            Check(line.Length <= maxLineBytes, $"{where}: a {line.Length}-byte line passed the {maxLineBytes}-byte limit");
            if (line.IsEmpty)
            {
                Expect(want, RefStepKind.End, where, "the stream ended cleanly");
                return Signature(RefStepKind.End, events, typesSeen, published);
            }

            WatchEvent change;
            try
            {
                change = KubernetesJson.ParseWatchEvent(line.Span, cache, set);
            }
            catch (InvalidWatchDataException ex)
            {
                Expect(want, RefStepKind.Invalid, where, "the parser raised InvalidWatchDataException: " + ex.Message);
                return Signature(RefStepKind.Invalid, events, typesSeen, published);
            }

            if (change.Type == WatchEventType.Error)
            {
                Expect(want, RefStepKind.Error, where, "the parser read an ERROR event");
                Check(change.Status is not null, $"{where}: an ERROR event without a Status");
                return Signature(RefStepKind.Error, events, typesSeen, published);
            }

            Expect(want, RefStepKind.Event, where, $"the parser read a {change.Type} event");
            string type = change.Type switch
            {
                WatchEventType.Added => "ADDED",
                WatchEventType.Modified => "MODIFIED",
                WatchEventType.Deleted => "DELETED",
                WatchEventType.Bookmark => "BOOKMARK",
                _ => "UNKNOWN",
            };
            Check(type == want.Type, $"{where}: the adapter read a {type} event, the reference a {want.Type} event");
            typesSeen |= 1UL << (int)change.Type;
            events++;

            // Step 4 – apply both, the adapter exactly as the watch loop does (no merge when the parser returned the held slice).
            bool changed = false;
            switch (change.Type)
            {
                case WatchEventType.Added or WatchEventType.Modified:
                    Check(change.Slice is not null && change.Slice.Name == want.Slice!.Name, $"{where}: slice name differs ('{change.Slice?.Name}' vs '{want.Slice!.Name}')");
                    changed = !(set.TryGet(change.Slice!.Name, out EndpointSlice? held) && ReferenceEquals(held, change.Slice));
                    if (changed)
                    {
                        set.Upsert(change.Slice);
                    }

                    referenceSlices[want.Slice.Name] = want.Slice;
                    break;
                case WatchEventType.Deleted:
                    Check(change.Slice is not null && change.Slice.Name == want.Slice!.Name, $"{where}: deleted slice name differs");
                    set.Remove(change.Slice!.Name);
                    referenceSlices.Remove(want.Slice!.Name);
                    changed = true;
                    break;
            }

            if (changed)
            {
                published = set.Merge(service, settings);
            }

            Compare(published, ReferenceMerge.Merge(referenceSlices, service, preference, fallback), where);
            Check(set.Count == referenceSlices.Count, $"{where}: the adapter holds {set.Count} slices, the reference {referenceSlices.Count}");
        }
    }

    internal static void Compare(MergedEndpoints actual, (string Family, List<RefMerged> Endpoints, bool Fallback) expected, string where)
    {
        string family = actual.Family switch
        {
            SliceAddressType.IPv4 => "IPv4",
            SliceAddressType.IPv6 => "IPv6",
            SliceAddressType.Fqdn => "FQDN",
            _ => "Unknown",
        };
        string Describe() =>
            $"adapter [{family}{(actual.UsedTerminatingFallback ? ", fallback" : "")}] {string.Join(' ', actual.Endpoints.Select(e => e.Key))} | "
            + $"reference [{expected.Family}{(expected.Fallback ? ", fallback" : "")}] {string.Join(' ', expected.Endpoints.Select(e => e.Key))}";
        Check(family == expected.Family, $"{where}: family differs: {Describe()}");
        Check(actual.UsedTerminatingFallback == expected.Fallback, $"{where}: terminating fallback differs: {Describe()}");
        Check(actual.Endpoints.Count == expected.Endpoints.Count, $"{where}: endpoint sets differ: {Describe()}");
        for (int i = 0; i < expected.Endpoints.Count; i++)
        {
            Endpoint a = actual.Endpoints[i];
            RefMerged e = expected.Endpoints[i];
            Check(a.Key == e.Key && a.Zone == e.Zone && a.NodeName == e.NodeName && a.Weight == 1, $"{where}: endpoint {i} differs ({a.Key} zone {a.Zone} node {a.NodeName} vs {e.Key} zone {e.Zone} node {e.NodeName}): {Describe()}");

            // The core keeps hints sorted and without duplicates.
            Check(
                a.ZoneHints.SequenceEqual(e.ForZones.Distinct().Order(StringComparer.Ordinal)) && a.NodeHints.SequenceEqual(e.ForNodes.Distinct().Order(StringComparer.Ordinal)),
                $"{where}: hints of {e.Key} differ: [{string.Join(',', a.ZoneHints)}|{string.Join(',', a.NodeHints)}] vs [{string.Join(',', e.ForZones)}|{string.Join(',', e.ForNodes)}]");
        }
    }

    private static ulong Signature(RefStepKind end, int events, ulong typesSeen, MergedEndpoints published)
        => (ulong)end
           | ((ulong)Math.Min(BitOperations.Log2((uint)events + 1), 7) << 3)
           | (typesSeen << 6)
           | ((ulong)published.Family << 14)
           | ((published.UsedTerminatingFallback ? 1UL : 0) << 17)
           | ((ulong)Math.Min(published.Endpoints.Count, 7) << 18);

    private static void Expect(RefStep want, RefStepKind actual, string where, string what)
    {
        if (want.Kind != actual)
        {
            throw new InvariantViolationException($"{where}: {what}, but the reference reading says {want.Kind}{(want.Why is null ? "" : " (" + want.Why + ")")}");
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
