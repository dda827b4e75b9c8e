using System.Text;
using LockFree.Balancing.Fuzz.Engine;
using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.Fuzz.ServiceName;

/// <summary>
/// <see cref="ServiceReference.Parse"/> on arbitrary text: only its typed error escapes, <c>TryParse</c> agrees with it,
/// every accepted reference holds valid parts, and its <c>ToString()</c> parses back to an equal reference.
/// </summary>
/// <remarks>
/// Input layout: byte 0 chooses the decoding (UTF-8 with replacement, or raw UTF-16 code units so that lone
/// surrogates and control characters reach the parser); a 0x00 byte (UTF-8 mode) splits the text from the
/// default namespace. The label rules are restated here from the Kubernetes validation docs, not taken from the parser.
/// </remarks>
internal sealed class ServiceNameTarget : FuzzTarget
{
    private static readonly string[] SeedTexts =
    [
        "web", "web.shop", "web.shop:8080", "web.shop:http", "web.shop.svc", "web.shop.svc.cluster.local", "web.shop.svc.cluster.local.:443",
        "kubernetes:///web.shop:8080", "kubernetes:///web:http", "kubernetes://shop/web:8080", "kubernetes://web.shop:grpc/",
        "web:1", "web:65535", "web:65536", "web:0", "web:-1", "web:http--x", "web:abcdefghijklmnop", "Web.shop", "web.Shop",
        "1web.shop", "web-.shop", "web..shop", ".shop", "web.", ":80", "web.shop:", "web.shop:80:90", "kubernetes:/web", "http://web",
        "kubernetes://shop/web/extra", "web.shop.cluster.local", " web", "web.shop\t", "w\u00e9b.shop", new string('a', 63) + ".shop", new string('a', 64) + ".shop",
    ];

    public override string Name => "service-name";

    public override string Description => "ServiceReference.Parse: only ServiceReferenceFormatException escapes; ToString() parses back to an equal value";

    public override int MaxInputLength => 512;

    public override IReadOnlyList<byte[]> Dictionary { get; } =
        [.. new[] { "kubernetes://", "kubernetes:///", ".svc", ".svc.cluster.local", ":", "/", ".", "-", "--", "8080", "65535", "http", "\u0000", "\u00e9", "\ud800" }
            .Select(Encoding.UTF8.GetBytes)];

    public override IEnumerable<(string FileName, byte[] Content)> Seeds()
    {
        for (int i = 0; i < SeedTexts.Length; i++)
        {
            yield return ($"text-{i:00}.bin", [0, .. Encoding.UTF8.GetBytes(SeedTexts[i])]);
        }

        yield return ("with-default-namespace.bin", [0, .. "web:http\0payments"u8]);
        yield return ("invalid-default-namespace.bin", [0, .. "web\0Bad_NS"u8]);
        yield return ("utf16-lone-surrogate.bin", [1, .. Utf16Input.Bytes("web.sh\ud800op")]);
    }

    public override ulong Execute(byte[] input)
    {
        (string text, string defaultNamespace) = Decode(input);
        bool namespaceValid = IsDns1123Label(defaultNamespace);
        ServiceReference? parsed;
        try
        {
            parsed = ServiceReference.Parse(text, defaultNamespace);
        }
        catch (ServiceReferenceFormatException ex)
        {
            Check(namespaceValid, $"Parse threw ServiceReferenceFormatException for an invalid default namespace '{defaultNamespace}'; ArgumentException is documented");
            Check(string.Equals(ex.Input, text, StringComparison.Ordinal), "the exception's Input is not the rejected text");
            Check(Enum.IsDefined(ex.Error), $"the exception's Error {ex.Error} is not a defined value");
            Check(ex.Message.Contains(ServiceReference.AcceptedForms, StringComparison.Ordinal), "the message does not list the accepted forms");
            Check(!ServiceReference.TryParse(text, defaultNamespace, out _), "TryParse accepts a text Parse rejects");
            return 0x100 | (ulong)ex.Error;
        }
        catch (ArgumentException) when (!namespaceValid)
        {
            return 0x200; // documented: the default namespace is not a DNS-1123 label
        }

        Check(namespaceValid, $"Parse accepted an invalid default namespace '{Escape(defaultNamespace)}'");
        Check(ServiceReference.TryParse(text, defaultNamespace, out ServiceReference? tried) && parsed.Equals(tried), "TryParse disagrees with Parse");
        Check(IsDns1035Label(parsed.Name), $"accepted service name '{Escape(parsed.Name)}' is not a DNS-1035 label");
        Check(IsDns1123Label(parsed.Namespace), $"accepted namespace '{Escape(parsed.Namespace)}' is not a DNS-1123 label");
        Check(parsed.Port is null || parsed.PortName is null, "both a port number and a port name");
        Check(parsed.Port is null or (>= 1 and <= 65535), $"port {parsed.Port} is out of range");
        Check(parsed.PortName is null || IsIanaServiceName(parsed.PortName), $"port name '{Escape(parsed.PortName)}' is not an IANA service name");

        // Round trip under a different default namespace: the printed form must carry the namespace itself.
        string printed = parsed.ToString();
        string otherNamespace = parsed.Namespace == "other" ? "another" : "other";
        ServiceReference again;
        try
        {
            again = ServiceReference.Parse(printed, otherNamespace);
        }
        catch (ServiceReferenceFormatException ex)
        {
            throw new InvariantViolationException($"'{Escape(text)}' parsed, but its ToString() '{Escape(printed)}' does not: {ex.Message}", ex);
        }

        Check(again.Equals(parsed) && again.GetHashCode() == parsed.GetHashCode(), $"'{Escape(printed)}' parses to {again}, not to an equal reference");
        Check(string.Equals(again.ToString(), printed, StringComparison.Ordinal), "ToString() is not stable across a round trip");
        string? port = parsed.Port?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? parsed.PortName;
        Check(ServiceReference.Create(parsed.Name, parsed.Namespace, port).Equals(parsed), "Create from the parts gives a different reference");
        return 0x300 | (parsed.Port is null ? 0UL : 1) | (parsed.PortName is null ? 0UL : 2) | (text.StartsWith("kubernetes:", StringComparison.Ordinal) ? 4UL : 0);
    }

    private static (string Text, string DefaultNamespace) Decode(byte[] input)
    {
        if (input.Length == 0)
        {
            return (string.Empty, ServiceReference.DefaultNamespace);
        }

        ReadOnlySpan<byte> body = input.AsSpan(1);
        if ((input[0] & 1) == 1)
        {
            // Raw UTF-16: every code unit is possible, lone surrogates included.
            char[] chars = new char[body.Length / 2];
            for (int i = 0; i < chars.Length; i++)
            {
                chars[i] = (char)(body[2 * i] | (body[(2 * i) + 1] << 8));
            }

            return (new string(chars), ServiceReference.DefaultNamespace);
        }

        int split = body.IndexOf((byte)0);
        return split < 0
            ? (Encoding.UTF8.GetString(body), ServiceReference.DefaultNamespace)
            : (Encoding.UTF8.GetString(body[..split]), Encoding.UTF8.GetString(body[(split + 1)..]));
    }

    // The rules as Kubernetes documents them (apimachinery validation), restated independently of the parser.
    private static bool IsDns1123Label(string s)
        => s.Length is >= 1 and <= 63 && s.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') && s[0] != '-' && s[^1] != '-';

    private static bool IsDns1035Label(string s) => IsDns1123Label(s) && s[0] is >= 'a' and <= 'z';

    private static bool IsIanaServiceName(string s)
        => s.Length is >= 1 and <= 15 && s.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
           && s[0] != '-' && s[^1] != '-' && !s.Contains("--", StringComparison.Ordinal) && s.Any(c => c is >= 'a' and <= 'z');

    private static string Escape(string? s)
        => s is null ? "(null)" : string.Concat(s.Select(c => c is < ' ' or > '~' ? $"\\u{(int)c:x4}" : c.ToString()));

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvariantViolationException(message);
        }
    }
}
