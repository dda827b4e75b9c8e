using System.Globalization;
using System.Text.Json;
using LockFree.Balancing.Kubernetes.Api;

namespace LockFree.Balancing.Kubernetes.Watch;

internal static partial class KubernetesJson
{
    /// <summary>Reads <c>spec.ports</c> of a core/v1 Service (a cold path: once per port mapping, so a DOM is fine).</summary>
    /// <exception cref="JsonException">The body is not JSON, or not a Service.</exception>
    public static IReadOnlyList<ServicePort> ParseServicePorts(ReadOnlySpan<byte> body)
    {
        using JsonDocument document = JsonDocument.Parse(body.ToArray());
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("kind", out JsonElement kind) || kind.ValueKind != JsonValueKind.String || kind.GetString() != "Service")
        {
            throw new JsonException("the response is not a Service object");
        }

        if (!root.TryGetProperty("spec", out JsonElement spec) || !spec.TryGetProperty("ports", out JsonElement ports) || ports.ValueKind != JsonValueKind.Array)
        {
            return []; // a Service without ports (headless, or ExternalName)
        }

        var result = new List<ServicePort>(ports.GetArrayLength());
        foreach (JsonElement port in ports.EnumerateArray())
        {
            if (port.ValueKind != JsonValueKind.Object || !port.TryGetProperty("port", out JsonElement number) || !number.TryGetInt32(out int value))
            {
                continue;
            }

            string name = port.TryGetProperty("name", out JsonElement n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : string.Empty;
            string? target = port.TryGetProperty("targetPort", out JsonElement t)
                ? t.ValueKind switch
                {
                    JsonValueKind.Number when t.TryGetInt32(out int targetNumber) => targetNumber.ToString(CultureInfo.InvariantCulture),
                    JsonValueKind.String => t.GetString(),
                    _ => null,
                }
                : null;
            result.Add(new ServicePort(name, value, target));
        }

        return result;
    }
}
