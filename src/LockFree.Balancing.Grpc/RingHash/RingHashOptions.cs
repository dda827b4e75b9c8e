using System.Globalization;
using System.Text.Json;
using Grpc.Net.Client.Configuration;

namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>
/// Configuration of the <c>ring_hash</c> policy: gRFC A42's <c>RingHashLoadBalancingConfig</c>
/// (<c>minRingSize</c>, <c>maxRingSize</c>) plus gRFC A76's <c>requestHashHeader</c>, and grpc-go's global cap.
/// </summary>
/// <remarks>
/// <para>Service-config form (JSON names as in grpc-go and C-core):
/// <c>{"loadBalancingConfig":[{"ring_hash":{"minRingSize":1024,"maxRingSize":4096,"requestHashHeader":"x-user"}}]}</c>.</para>
/// <para>Defaults: <see cref="MinRingSize"/> 1024 and <see cref="MaxRingSize"/> 8,388,608 as in A42; both are then
/// capped at <see cref="RingSizeCap"/>, 4096 by default, as grpc-go does (<c>GRPC_RING_HASH_CAP</c>) — so with the
/// defaults the ring has 1024–4096 entries, the same ring grpc-go builds.</para>
/// <para>Not thread-safe while being set; the balancer copies it (<see cref="Clone"/>) when it builds a ring.</para>
/// </remarks>
public sealed class RingHashOptions
{
    /// <summary>The default <see cref="MinRingSize"/>: 1024 (A42, Envoy).</summary>
    public const long DefaultMinRingSize = 1024;

    /// <summary>The default <see cref="MaxRingSize"/>: 8M (A42, Envoy).</summary>
    public const long DefaultMaxRingSize = 8 * 1024 * 1024;

    /// <summary>The largest ring size A42 and grpc-go accept in a config: 8,388,608.</summary>
    public const long RingSizeUpperBound = 8 * 1024 * 1024;

    /// <summary>The default <see cref="RingSizeCap"/>: 4096, grpc-go's <c>GRPC_RING_HASH_CAP</c> default.</summary>
    public const long DefaultRingSizeCap = 4096;

    /// <summary>The service-config field name of <see cref="MinRingSize"/>.</summary>
    public const string MinRingSizeField = "minRingSize";

    /// <summary>The service-config field name of <see cref="MaxRingSize"/>.</summary>
    public const string MaxRingSizeField = "maxRingSize";

    /// <summary>The service-config field name of <see cref="RequestHashHeader"/>.</summary>
    public const string RequestHashHeaderField = "requestHashHeader";

    /// <summary>Gets or sets the minimum ring size, 1–8M (0 in a service config means the default).</summary>
    public long MinRingSize { get; set; } = DefaultMinRingSize;

    /// <summary>Gets or sets the maximum ring size, <see cref="MinRingSize"/>–8M (0 in a service config means the default).</summary>
    public long MaxRingSize { get; set; } = DefaultMaxRingSize;

    /// <summary>
    /// Gets or sets the cap applied to both sizes after validation, 1–8M: grpc-go's <c>GRPC_RING_HASH_CAP</c>
    /// (default 4096). Raise it (e.g. to <see cref="RingSizeUpperBound"/>) to let configs ask for bigger rings.
    /// </summary>
    public long RingSizeCap { get; set; } = DefaultRingSizeCap;

    /// <summary>
    /// Gets or sets the gRFC A76 request hash header: the request hash is XXH64 of its values joined with ",".
    /// A call without the header (or with only empty values) gets a random hash, as does every call when this is
    /// <see langword="null"/> or empty (A42 would take the hash from xDS routing, which grpc-dotnet does not have).
    /// Must be a valid, non-binary gRPC metadata key; it is lower-cased.
    /// </summary>
    public string? RequestHashHeader { get; set; }

    /// <summary>Gets the minimum ring size after the cap.</summary>
    public long EffectiveMinRingSize => Math.Min(MinRingSize, RingSizeCap);

    /// <summary>Gets the maximum ring size after the cap.</summary>
    public long EffectiveMaxRingSize => Math.Min(MaxRingSize, RingSizeCap);

    /// <summary>Copies these options.</summary>
    /// <returns>A copy.</returns>
    public RingHashOptions Clone() => new()
    {
        MinRingSize = MinRingSize,
        MaxRingSize = MaxRingSize,
        RingSizeCap = RingSizeCap,
        RequestHashHeader = RequestHashHeader,
    };

    /// <summary>Checks the options against gRFC A42/A76 and lower-cases the header name.</summary>
    /// <exception cref="RingHashConfigurationException">A size is out of range, min exceeds max, or the header is not a valid non-binary metadata key.</exception>
    public void Validate()
    {
        if (MinRingSize < 1 || MinRingSize > RingSizeUpperBound)
        {
            throw new RingHashConfigurationException(MinRingSizeField, string.Create(CultureInfo.InvariantCulture, $"ring_hash: minRingSize {MinRingSize} is out of range; it must be between 1 and {RingSizeUpperBound} (8M)."));
        }

        if (MaxRingSize < 1 || MaxRingSize > RingSizeUpperBound)
        {
            throw new RingHashConfigurationException(MaxRingSizeField, string.Create(CultureInfo.InvariantCulture, $"ring_hash: maxRingSize {MaxRingSize} is out of range; it must be between 1 and {RingSizeUpperBound} (8M)."));
        }

        if (MinRingSize > MaxRingSize)
        {
            throw new RingHashConfigurationException(MinRingSizeField, string.Create(CultureInfo.InvariantCulture, $"ring_hash: minRingSize {MinRingSize} is greater than maxRingSize {MaxRingSize}."));
        }

        if (RingSizeCap < 1 || RingSizeCap > RingSizeUpperBound)
        {
            throw new RingHashConfigurationException(nameof(RingSizeCap), string.Create(CultureInfo.InvariantCulture, $"ring_hash: RingSizeCap {RingSizeCap} is out of range; it must be between 1 and {RingSizeUpperBound} (8M)."));
        }

        if (string.IsNullOrEmpty(RequestHashHeader))
        {
            RequestHashHeader = null;
            return;
        }

        var header = RequestHashHeader.ToLowerInvariant();
        foreach (var c in header)
        {
            // gRPC metadata keys (grpc-go metadata.ValidateKey): 0-9 a-z - _ . only, no leading ':'.
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'z') or '-' or '_' or '.'))
            {
                throw new RingHashConfigurationException(RequestHashHeaderField, $"ring_hash: requestHashHeader \"{RequestHashHeader}\" is not a valid header name; use only 0-9, a-z, '-', '_' and '.'.");
            }
        }

        if (header.EndsWith("-bin", StringComparison.Ordinal))
        {
            throw new RingHashConfigurationException(RequestHashHeaderField, $"ring_hash: requestHashHeader \"{RequestHashHeader}\" is a binary header (ends with \"-bin\"), which gRFC A76 rejects.");
        }

        RequestHashHeader = header;
    }

    /// <summary>
    /// Reads a policy's configuration as grpc-dotnet passes it to <c>LoadBalancerOptions.Configuration</c>
    /// (the object under <c>"ring_hash"</c>), over these options as defaults, and validates the result.
    /// </summary>
    /// <param name="configuration">The policy's fields, or <see langword="null"/>.</param>
    /// <returns>New options.</returns>
    /// <exception cref="RingHashConfigurationException">A field has the wrong type or the result is invalid.</exception>
    public RingHashOptions WithConfiguration(IDictionary<string, object>? configuration)
    {
        var result = Clone();
        if (configuration is not null)
        {
            foreach (var (name, value) in configuration)
            {
                switch (name)
                {
                    case MinRingSizeField:
                        result.MinRingSize = ReadSize(name, value) is var min and not 0 ? min : DefaultMinRingSize;
                        break;
                    case MaxRingSizeField:
                        result.MaxRingSize = ReadSize(name, value) is var max and not 0 ? max : DefaultMaxRingSize;
                        break;
                    case RequestHashHeaderField:
                        result.RequestHashHeader = value switch
                        {
                            null => null,
                            string s => s,
                            JsonElement { ValueKind: JsonValueKind.String } j => j.GetString(),
                            _ => throw new RingHashConfigurationException(name, "ring_hash: requestHashHeader must be a string."),
                        };
                        break;
                    default:
                        // Unknown fields are ignored, as protobuf JSON parsing in grpc-go and C-core does.
                        break;
                }
            }
        }

        result.Validate();
        return result;
    }

    /// <summary>
    /// Reads the <c>ring_hash</c> entry of a service-config JSON document
    /// (<c>{"loadBalancingConfig":[{"ring_hash":{...}}]}</c>), or a bare policy object (<c>{"minRingSize":…}</c>),
    /// over default options, and validates it.
    /// </summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The options.</returns>
    /// <exception cref="RingHashConfigurationException">The JSON is malformed, has no <c>ring_hash</c> entry, or is invalid.</exception>
    public static RingHashOptions FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new RingHashConfigurationException("ring_hash: the configuration must be a JSON object.");
            }

            var policy = root;
            if (root.TryGetProperty("loadBalancingConfig", out var list))
            {
                policy = default;
                if (list.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in list.EnumerateArray())
                    {
                        if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty(RingHashLoadBalancerFactory.PolicyName, out var found))
                        {
                            policy = found;
                            break;
                        }
                    }
                }

                if (policy.ValueKind != JsonValueKind.Object)
                {
                    throw new RingHashConfigurationException("ring_hash: the service config's loadBalancingConfig has no \"ring_hash\" object.");
                }
            }

            var fields = new Dictionary<string, object>(StringComparer.Ordinal);
            foreach (var property in policy.EnumerateObject())
            {
                fields[property.Name] = property.Value.Clone();
            }

            return new RingHashOptions().WithConfiguration(fields);
        }
        catch (JsonException ex)
        {
            throw new RingHashConfigurationException("ring_hash: the configuration is not valid JSON: " + ex.Message, ex);
        }
    }

    /// <summary>
    /// Builds the grpc-dotnet service-config entry for these options, for <c>GrpcChannelOptions.ServiceConfig</c>:
    /// <c>new ServiceConfig { LoadBalancingConfigs = { options.ToLoadBalancingConfig() } }</c>.
    /// </summary>
    /// <returns>A <see cref="LoadBalancingConfig"/> named <c>ring_hash</c>.</returns>
    /// <remarks><see cref="RingSizeCap"/> is a client setting, not a service-config field: set it on the factory's options.</remarks>
    public LoadBalancingConfig ToLoadBalancingConfig()
    {
        Validate();
        var config = new LoadBalancingConfig(RingHashLoadBalancerFactory.PolicyName);
        var inner = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [MinRingSizeField] = MinRingSize,
            [MaxRingSizeField] = MaxRingSize,
        };
        if (RequestHashHeader is not null)
        {
            inner[RequestHashHeaderField] = RequestHashHeader;
        }

        config.Inner[RingHashLoadBalancerFactory.PolicyName] = inner;
        return config;
    }

    private static long ReadSize(string name, object? value)
    {
        try
        {
            return value switch
            {
                null => 0,
                int i => i,
                uint u => u,
                long l => l,
                ulong ul => ul > long.MaxValue ? long.MaxValue : (long)ul,
                double d when d == Math.Floor(d) && d is >= long.MinValue and <= long.MaxValue => (long)d,
                decimal m when m == decimal.Floor(m) => (long)m,
                string s => long.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture),
                JsonElement { ValueKind: JsonValueKind.Number } j when j.TryGetInt64(out var n) => n,
                JsonElement { ValueKind: JsonValueKind.Number } j when j.TryGetUInt64(out _) => long.MaxValue,
                JsonElement { ValueKind: JsonValueKind.String } j => long.Parse(j.GetString()!, NumberStyles.None, CultureInfo.InvariantCulture),
                _ => throw new RingHashConfigurationException(name, $"ring_hash: {name} must be a non-negative integer."),
            };
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            throw new RingHashConfigurationException($"ring_hash: {name} must be a non-negative integer.", ex);
        }
    }
}
