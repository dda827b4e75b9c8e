using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Yarp.ReverseProxy.Configuration;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// Maps a YARP destination to the core <see cref="Endpoint"/> the pickers place on: the host and port of its
/// <c>Address</c> (the scheme's default port when none is written), weighted by <see cref="LockFreeClusterMetadata.Weight"/>.
/// </summary>
/// <remarks>
/// Keying by address (not by destination id) makes placements agree across proxy replicas and with the HTTP and gRPC
/// integrations: the same key reaches the same pod from every client of a Service.
/// </remarks>
internal static class DestinationEndpoints
{
    /// <summary>The endpoint of <paramref name="destination"/>, or the problem (naming the destination and what is accepted).</summary>
    public static bool TryCreate(string destinationId, DestinationConfig destination, [NotNullWhen(true)] out Endpoint? endpoint, [NotNullWhen(false)] out string? problem)
    {
        endpoint = null;
        if (!Uri.TryCreate(destination.Address, UriKind.Absolute, out Uri? address) || address.Host.Length == 0
            || !(address.Scheme == Uri.UriSchemeHttp || address.Scheme == Uri.UriSchemeHttps))
        {
            problem = $"destination '{destinationId}' has address '{destination.Address}', which is not an absolute http:// or https:// URI with a host.";
            return false;
        }

        int weight = 1;
        if (destination.Metadata is { } metadata && metadata.TryGetValue(LockFreeClusterMetadata.Weight, out string? text))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out weight) || weight > Endpoint.MaxWeight)
            {
                problem = $"destination '{destinationId}' has metadata '{LockFreeClusterMetadata.Weight}' = '{text}': expected an integer from 0 to {Endpoint.MaxWeight} (0 = no new requests).";
                return false;
            }
        }

        try
        {
            endpoint = new Endpoint(address.IdnHost, address.Port, weight);
            problem = null;
            return true;
        }
        catch (ArgumentException ex)
        {
            problem = $"destination '{destinationId}' has address '{destination.Address}', which the pickers cannot use: {ex.Message}";
            return false;
        }
    }
}
