using Grpc.Core;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// Process-wide defaults of the <c>kubernetes</c> resolver and the <c>lockfree_*</c> policies, set with
/// <c>services.AddKubernetesGrpcBalancing(o => ...)</c>. A policy's service-config inputs override them per channel.
/// </summary>
/// <remarks>Read once when a resolver or a policy instance is created; later changes affect new channels only.</remarks>
public sealed class KubernetesGrpcBalancingOptions
{
    /// <summary>The namespace of targets that name none (<c>kubernetes:///orders:grpc</c>). Default <c>default</c>.</summary>
    public string DefaultNamespace { get; set; } = Kubernetes.ServiceReference.DefaultNamespace;

    /// <summary>
    /// The <c>:authority</c> (and TLS SNI name) of calls: <see langword="null"/> (the default) for
    /// <c>{service}.{namespace}</c>, the name kuberesolver users put in their certificates; a function to choose another.
    /// </summary>
    public Func<Kubernetes.ServiceReference, string>? Authority { get; set; }

    /// <summary>The zone this process runs in, for topology preference (service config <c>local_zone</c>); <see langword="null"/> for none.</summary>
    public string? LocalZone { get; set; }

    /// <summary>Passive outlier ejection for every policy (service config <c>outlier_ejection</c>); <see langword="null"/> (default) for none.</summary>
    public OutlierEjectionOptions? OutlierEjection { get; set; }

    /// <summary>The call status codes that count as an endpoint failure for outlier ejection (service config <c>outlier_ejection.status_codes</c>). Default <see cref="StatusCode.Unavailable"/>.</summary>
    public IList<StatusCode> FailureStatusCodes { get; } = [StatusCode.Unavailable];

    /// <summary>The policy the resolver proposes when the channel has no service config of its own. Default <c>lockfree_p2c</c>; <see langword="null"/> keeps grpc-dotnet's <c>pick_first</c>.</summary>
    public string? DefaultPolicy { get; set; } = LockFreePolicyNames.PowerOfTwoChoices;
}
