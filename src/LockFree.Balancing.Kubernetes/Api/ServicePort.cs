namespace LockFree.Balancing.Kubernetes.Api;

/// <summary>One entry of a Service's <c>spec.ports</c>.</summary>
/// <param name="Name">The port name; <c>""</c> for the unnamed port of a single-port Service.</param>
/// <param name="Port">The Service port number.</param>
/// <param name="TargetPort">The target port as written: a number, a container port name, or <see langword="null"/> (then it equals <paramref name="Port"/>).</param>
internal readonly record struct ServicePort(string Name, int Port, string? TargetPort)
{
    public override string ToString()
        => $"{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}->{TargetPort ?? Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}{(Name.Length == 0 ? string.Empty : " (" + Name + ")")}";
}
