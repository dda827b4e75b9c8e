using Grpc.Core;
using LockFree.Balancing.Grpc.RingHash;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests.RingHash;

/// <summary>gRFC A42 "Aggregated Connectivity State", rule by rule, and the proactive connect.</summary>
public sealed class RingHashAggregationTests
{
    private const ConnectivityState R = ConnectivityState.Ready;
    private const ConnectivityState I = ConnectivityState.Idle;
    private const ConnectivityState C = ConnectivityState.Connecting;
    private const ConnectivityState F = ConnectivityState.TransientFailure;

    [Theory]
    [InlineData(new[] { R, F, F, C }, R)] // 1. any READY
    [InlineData(new[] { F, F, C, I }, F)] // 2. two or more TRANSIENT_FAILURE beat CONNECTING
    [InlineData(new[] { C, I, I }, C)] // 3. any CONNECTING
    [InlineData(new[] { F, C }, C)] // 3. one failure and one connecting
    [InlineData(new[] { F, I, I }, C)] // 4. one failure among several
    [InlineData(new[] { I, I }, I)] // 5. all IDLE (a new policy reports IDLE)
    [InlineData(new[] { F }, F)] // 6. the only endpoint failed
    [InlineData(new ConnectivityState[0], F)] // 6. nothing at all
    public void Aggregate_States_A42Rules(ConnectivityState[] states, ConnectivityState expected)
    {
        Assert.Equal(expected, RingHashAggregation.Aggregate(states));
    }

    [Theory]
    [InlineData(new[] { F, I, I }, 1)] // CONNECTING because one failed: connect the first IDLE
    [InlineData(new[] { F, F, I }, 2)] // TRANSIENT_FAILURE with nothing connecting: connect one
    [InlineData(new[] { F, F, C, I }, -1)] // one is already connecting
    [InlineData(new[] { I, I }, -1)] // IDLE: A42 waits for picks
    [InlineData(new[] { R, I }, -1)] // READY: nothing to do
    [InlineData(new[] { F, F }, -1)] // nothing IDLE to connect (failed ones retry by themselves)
    public void ChooseEndpointToConnect_States_FirstIdleWhenNoneConnecting(ConnectivityState[] states, int expected)
    {
        Assert.Equal(expected, RingHashAggregation.ChooseEndpointToConnect(RingHashAggregation.Aggregate(states), states));
    }
}
