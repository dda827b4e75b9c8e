using System.Text.Json.Serialization;

namespace LockFree.Balancing.Kubernetes.Api;

/// <summary>Source-generated JSON for the few strings the kubeconfig code writes (AOT-safe escaping).</summary>
[JsonSerializable(typeof(string))]
internal sealed partial class KubeConfigJsonContext : JsonSerializerContext
{
}
