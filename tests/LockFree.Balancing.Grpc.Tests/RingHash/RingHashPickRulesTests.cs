using Grpc.Core;
using LockFree.Balancing.Grpc.RingHash;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests.RingHash;

/// <summary>gRFC A42's picker rules (header hash) and A76's random-hash walk, on a 4-endpoint ring of 64 entries.</summary>
public sealed class RingHashPickRulesTests
{
    private const ConnectivityState Ready = ConnectivityState.Ready;
    private const ConnectivityState Idle = ConnectivityState.Idle;
    private const ConnectivityState Connecting = ConnectivityState.Connecting;
    private const ConnectivityState Failure = ConnectivityState.TransientFailure;

    private readonly RingHashRing _ring = RingHashRing.Build(["a:1", "b:1", "c:1", "d:1"], [1, 1, 1, 1], 64, 64);
    private readonly RecordingConnector _connector = new();

    // A hash whose first entry is entry 0, and the distinct endpoints in ring order from there.
    private ulong Hash => _ring.HashAt(0);

    private int[] Order()
    {
        var order = new List<int>();
        for (var i = 0; i < _ring.Count && order.Count < 4; i++)
        {
            if (!order.Contains(_ring.EndpointAt(i)))
            {
                order.Add(_ring.EndpointAt(i));
            }
        }

        return [.. order];
    }

    private ConnectivityState[] States(params (int Rank, ConnectivityState State)[] byRank)
    {
        var order = Order();
        var states = new ConnectivityState[4];
        Array.Fill(states, Idle);
        foreach (var (rank, state) in byRank)
        {
            states[order[rank]] = state;
        }

        return states;
    }

    [Fact]
    public void PickForHash_FirstReady_PicksIt()
    {
        var decision = RingHashPickRules.PickForHash(_ring, States((0, Ready)), Hash, _connector);

        Assert.Equal(new RingHashPickDecision(RingHashPickKind.Pick, Order()[0]), decision);
        Assert.Empty(_connector.Connected);
    }

    [Fact]
    public void PickForHash_FirstIdle_ConnectsItAndQueues()
    {
        var decision = RingHashPickRules.PickForHash(_ring, States((1, Ready)), Hash, _connector);

        Assert.Equal(RingHashPickKind.Queue, decision.Kind);
        Assert.Equal([Order()[0]], _connector.Connected);
    }

    [Fact]
    public void PickForHash_FirstConnecting_QueuesWithoutConnecting()
    {
        var decision = RingHashPickRules.PickForHash(_ring, States((0, Connecting), (1, Ready)), Hash, _connector);

        Assert.Equal(RingHashPickKind.Queue, decision.Kind);
        Assert.Empty(_connector.Connected);
    }

    [Fact]
    public void PickForHash_FirstFailedSecondReady_PicksSecond()
    {
        var decision = RingHashPickRules.PickForHash(_ring, States((0, Failure), (1, Ready)), Hash, _connector);

        Assert.Equal(new RingHashPickDecision(RingHashPickKind.Pick, Order()[1]), decision);
        Assert.Equal([Order()[0]], _connector.Connected);
    }

    [Fact]
    public void PickForHash_FirstFailedSecondIdle_RetriesFirstConnectsSecondAndQueues()
    {
        var decision = RingHashPickRules.PickForHash(_ring, States((0, Failure), (2, Ready)), Hash, _connector);

        Assert.Equal(RingHashPickKind.Queue, decision.Kind);
        Assert.Equal([Order()[0], Order()[1]], _connector.Connected);
    }

    [Fact]
    public void PickForHash_FirstFailedSecondConnecting_Queues()
    {
        var decision = RingHashPickRules.PickForHash(_ring, States((0, Failure), (1, Connecting), (2, Ready)), Hash, _connector);

        Assert.Equal(RingHashPickKind.Queue, decision.Kind);
        Assert.Equal([Order()[0]], _connector.Connected);
    }

    [Fact]
    public void PickForHash_TwoFailedLaterReady_PicksFirstReadyAfterThem()
    {
        var decision = RingHashPickRules.PickForHash(_ring, States((0, Failure), (1, Failure), (2, Idle), (3, Ready)), Hash, _connector);

        Assert.Equal(new RingHashPickDecision(RingHashPickKind.Pick, Order()[3]), decision);
        // Both failed endpoints retry; the first non-failed one (IDLE) is connected.
        Assert.Contains(Order()[0], _connector.Connected);
        Assert.Contains(Order()[1], _connector.Connected);
        Assert.Contains(Order()[2], _connector.Connected);
    }

    [Fact]
    public void PickForHash_TwoFailedThenIdleNoReady_FailsWithFirstAndConnectsIdle()
    {
        var decision = RingHashPickRules.PickForHash(_ring, States((0, Failure), (1, Failure), (2, Idle), (3, Connecting)), Hash, _connector);

        Assert.Equal(new RingHashPickDecision(RingHashPickKind.Fail, Order()[0]), decision);
        Assert.Contains(Order()[2], _connector.Connected);
        Assert.DoesNotContain(Order()[3], _connector.Connected);
    }

    [Fact]
    public void PickForHash_AllFailed_FailsAndRetriesEveryone()
    {
        var decision = RingHashPickRules.PickForHash(_ring, States((0, Failure), (1, Failure), (2, Failure), (3, Failure)), Hash, _connector);

        Assert.Equal(new RingHashPickDecision(RingHashPickKind.Fail, Order()[0]), decision);
        Assert.Equal(Order().Order(), _connector.Connected.Distinct().Order());
    }

    [Fact]
    public void PickForHash_SingleEndpointFailed_Fails()
    {
        var ring = RingHashRing.Build(["a:1"], [1], 8, 8);

        var decision = RingHashPickRules.PickForHash(ring, [Failure], ring.HashAt(3), _connector);

        Assert.Equal(new RingHashPickDecision(RingHashPickKind.Fail, 0), decision);
    }

    [Fact]
    public void PickForRandomHash_SomeReady_PicksFirstReadyFromHash()
    {
        var decision = RingHashPickRules.PickForRandomHash(_ring, States((0, Failure), (1, Idle), (2, Ready), (3, Ready)), Hash, anyConnecting: false, _connector);

        Assert.Equal(new RingHashPickDecision(RingHashPickKind.Pick, Order()[2]), decision);
        // At most one IDLE endpoint is connected on the way.
        Assert.Equal([Order()[1]], _connector.Connected);
    }

    [Fact]
    public void PickForRandomHash_NoneReadyOneConnecting_QueuesWithoutConnecting()
    {
        var states = States((0, Connecting), (1, Idle), (2, Idle), (3, Failure));

        var decision = RingHashPickRules.PickForRandomHash(_ring, states, Hash, anyConnecting: true, _connector);

        Assert.Equal(RingHashPickKind.Queue, decision.Kind);
        Assert.Empty(_connector.Connected);
    }

    [Fact]
    public void PickForRandomHash_AllIdle_ConnectsOneAndQueues()
    {
        var decision = RingHashPickRules.PickForRandomHash(_ring, States(), Hash, anyConnecting: false, _connector);

        Assert.Equal(RingHashPickKind.Queue, decision.Kind);
        Assert.Equal([Order()[0]], _connector.Connected);
    }

    [Fact]
    public void PickForRandomHash_AllFailed_Fails()
    {
        var decision = RingHashPickRules.PickForRandomHash(_ring, States((0, Failure), (1, Failure), (2, Failure), (3, Failure)), Hash, anyConnecting: false, _connector);

        Assert.Equal(new RingHashPickDecision(RingHashPickKind.Fail, Order()[0]), decision);
    }

    [Theory]
    [InlineData(Idle, Connecting, Connecting)]
    [InlineData(Connecting, Ready, Ready)]
    [InlineData(Connecting, Failure, Failure)]
    [InlineData(Failure, Connecting, Failure)]
    [InlineData(Failure, Idle, Failure)]
    [InlineData(Failure, Ready, Ready)]
    [InlineData(Ready, Idle, Idle)]
    public void NextState_A42StickyFailure_Expected(ConnectivityState current, ConnectivityState raw, ConnectivityState expected)
    {
        Assert.Equal(expected, RingHashEndpoint.NextState(current, raw));
    }
}
