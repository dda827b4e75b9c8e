using Xunit;

namespace LockFree.Balancing.Tests.Soak;

/// <summary>
/// Soaks run alone, after the parallel tests: they saturate the cores, and their managed-memory figures
/// (whole-process numbers after a full GC) would be noise if other tests allocated meanwhile.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SoakGroup
{
    public const string Name = "Soak";
}
