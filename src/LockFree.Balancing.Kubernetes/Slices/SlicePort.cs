namespace LockFree.Balancing.Kubernetes.Slices;

/// <summary>One entry of an EndpointSlice's <c>ports</c>.</summary>
/// <param name="Name">The port name; <see langword="null"/> or empty for an unnamed port.</param>
/// <param name="Number">The port number; <see langword="null"/> means "all ports" in the API.</param>
/// <param name="Protocol">The protocol (<c>TCP</c> when the API omits it).</param>
internal readonly record struct SlicePort(string? Name, int? Number, string? Protocol);
