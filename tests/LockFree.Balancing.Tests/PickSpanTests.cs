using System.Diagnostics;
using Xunit;

namespace LockFree.Balancing.Tests;

/// <summary>
/// The one spelling of the <c>lockfree.pick</c> span the integrations share: nothing without a listener, attributes only
/// on a recorded span, the error shape of a failed pick. Each test uses a source of its own, so parallel tests never
/// see each other's listeners.
/// </summary>
public sealed class PickSpanTests
{
    [Fact]
    public void Start_NoListener_ReturnsNull()
    {
        using var source = new ActivitySource("LockFree.Balancing.Tests.PickSpan." + Guid.NewGuid().ToString("N"));

        Assert.Null(PickSpan.Start(source));
    }

    [Fact]
    public void Picked_RecordedSpan_CarriesThePickAndEnds()
    {
        using var traced = new Traced(ActivitySamplingResult.AllDataAndRecorded);
        using Activity parent = new Activity("caller").Start();

        Activity span = PickSpan.Start(traced.Source)!;
        Assert.Same(span, Activity.Current);
        PickSpan.Picked(span, "orders.shop", "maglev", new Endpoint("10.0.0.7", 8080), PickOutcomeTag.Of(PickOutcome.Overflow), retry: true);

        Assert.Same(parent, Activity.Current); // ended: the caller's span is current again
        Assert.Equal("lockfree.pick", span.OperationName);
        Assert.Equal(ActivityKind.Internal, span.Kind);
        Assert.Equal(parent.SpanId, span.ParentSpanId);
        Assert.NotEqual(default, span.Duration);
        Assert.Equal(ActivityStatusCode.Unset, span.Status);
        Assert.Equal(
            new Dictionary<string, object?>
            {
                ["server.address"] = "orders.shop",
                ["lockfree.picker"] = "maglev",
                ["lockfree.pick.retry"] = true,
                ["network.peer.address"] = "10.0.0.7",
                ["network.peer.port"] = 8080,
                ["lockfree.pick.outcome"] = "overflow",
            },
            span.TagObjects.ToDictionary(t => t.Key, t => t.Value));
        Assert.Single(traced.Stopped);
    }

    [Fact]
    public void Failed_RecordedSpan_IsAnErrorWithTypeAndReason()
    {
        using var traced = new Traced(ActivitySamplingResult.AllDataAndRecorded);

        Activity span = PickSpan.Start(traced.Source)!;
        PickSpan.Failed(span, serverAddress: null, "round_robin", PickSpan.ErrorTypeOf(NoEndpointsReason.AllEjected), PickSpan.DescriptionOf(NoEndpointsReason.AllEjected));

        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("every endpoint is ejected by outlier detection (consecutive failures)", span.StatusDescription);
        Assert.Equal("all_ejected", span.GetTagItem("error.type"));
        Assert.Equal("none", span.GetTagItem("lockfree.pick.outcome"));
        Assert.Null(span.GetTagItem("server.address")); // absent, not empty, when the integration has none
        Assert.Null(span.GetTagItem("lockfree.pick.retry"));
        Assert.Null(span.GetTagItem("network.peer.address"));
        Assert.Single(traced.Stopped);
    }

    [Fact]
    public void Picked_PropagationOnlySpan_GetsNoAttributesButEnds()
    {
        using var traced = new Traced(ActivitySamplingResult.PropagationData);

        Activity span = PickSpan.Start(traced.Source)!;
        Assert.False(span.IsAllDataRequested);
        PickSpan.Picked(span, "orders.shop", "random", new Endpoint("10.0.0.7", 8080), "home");

        Assert.Empty(span.TagObjects);
        Assert.Null(Activity.Current);
        Assert.Single(traced.Stopped);
    }

    [Fact]
    public void Start_ListenerDoesNotSample_ReturnsNull()
    {
        using var traced = new Traced(ActivitySamplingResult.None);

        Assert.True(traced.Source.HasListeners());
        Assert.Null(PickSpan.Start(traced.Source));
    }

    [Theory]
    [InlineData(NoEndpointsReason.NoEndpoints, "no_endpoints")]
    [InlineData(NoEndpointsReason.AllEjected, "all_ejected")]
    public void ErrorTypeOf_EachReason_IsSnakeCase(NoEndpointsReason reason, string expected)
        => Assert.Equal(expected, PickSpan.ErrorTypeOf(reason));

    /// <summary>A source of the test's own and a listener on it with a fixed sampling answer.</summary>
    private sealed class Traced : IDisposable
    {
        private readonly ActivityListener _listener;

        public Traced(ActivitySamplingResult sample)
        {
            Source = new ActivitySource("LockFree.Balancing.Tests.PickSpan." + Guid.NewGuid().ToString("N"));
            _listener = new ActivityListener
            {
                ShouldListenTo = s => ReferenceEquals(s, Source),
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => sample,
                ActivityStopped = Stopped.Add,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public ActivitySource Source { get; }

        public List<Activity> Stopped { get; } = [];

        public void Dispose()
        {
            _listener.Dispose();
            Source.Dispose();
        }
    }
}
