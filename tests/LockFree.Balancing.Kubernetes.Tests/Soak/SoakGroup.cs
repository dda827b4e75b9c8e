using Xunit;

namespace LockFree.Balancing.Kubernetes.Tests.Soak;

/// <summary>The soak runs alone, after the parallel tests: its timeouts are short and it keeps a core busy.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SoakGroup
{
    public const string Name = "Soak";
}
