using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.ServiceDiscovery;

namespace LockFree.Balancing.ServiceDiscovery.Tests;

/// <summary>A plain <see cref="IServiceEndpointBuilder"/> for calling a provider directly (ServiceDiscovery's own builder is internal).</summary>
internal sealed class TestEndpointBuilder : IServiceEndpointBuilder
{
    public List<IChangeToken> ChangeTokens { get; } = [];

    public IList<ServiceEndpoint> Endpoints { get; } = new List<ServiceEndpoint>();

    public IFeatureCollection Features { get; } = new FeatureCollection();

    public void AddChangeToken(IChangeToken changeToken) => ChangeTokens.Add(changeToken);
}
