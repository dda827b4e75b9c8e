using Xunit;

namespace LockFree.Balancing.Yarp.Tests;

/// <summary>
/// Tests that count the bytes a pick allocates, and tests that listen to our <c>ActivitySource</c>: run alone, never
/// beside each other or any other test. A listener on our source makes every pick in the process start an activity
/// (48 B for a pick without a parent span even when the listener samples nothing), so a span test running beside an
/// allocation test made that test see the span test's cost (a CI run: 48 B per pick).
/// </summary>
[CollectionDefinition(nameof(AllocationMeasurement), DisableParallelization = true)]
public sealed class AllocationMeasurement
{
}
