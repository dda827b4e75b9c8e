using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Grpc.Tests.Protos;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests;

[Collection(nameof(AllocationMeasurement))]
public sealed class PickerAllocationTests
{
    [Theory]
    [InlineData("""{"lockfree_p2c": {}}""", false)]
    [InlineData("""{"lockfree_round_robin": {}}""", false)]
    [InlineData("""{"lockfree_consistent_hash": {"hash_header": "x-user", "load_factor": 1.25}}""", true)]
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user", "load_factor": 1.25}}""", true)]
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user"}}""", false)]
    public async Task Pick_ManyTimes_AllocatesNothing(string config, bool keyed)
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config(config), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 3 }, "all three subchannels are ready");
        LockFreePicker picker = policy.LastPicker!;
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://web.shop/lockfree.test.Echo/Who");
        if (keyed)
        {
            request.Headers.TryAddWithoutValidation("x-user", "user-42");
        }

        var context = new PickContext { Request = request };
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(PickResultType.Complete, picker.Pick(context).Type); // warm up (tiered JIT, statics)
        }

        Assert.Equal(0, PickAllocation.LeastOfThreeRounds(100_000, () => picker.Pick(context)));
    }

    [Fact]
    public async Task Pick_DroppedBecauseItsSubchannelLeft_ReservationReturnsAtThatRebuild()
    {
        // grpc-dotnet drops a pick whose subchannel stopped being ready, without calling Start. The pick's reservation
        // (kept so that concurrent picks see it under the bounded-load cap) must not leak.
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        (_, LockFreeSubchannelsBalancer policy, PickContext context) = await KeyedPolicyAsync(cluster);

        SubchannelCallTracker tracker = Tracker(policy.LastPicker!.Pick(context));
        for (int i = 1; i < 10; i++)
        {
            Assert.Same(tracker, Tracker(policy.LastPicker!.Pick(context))); // picked, never started
        }

        Assert.Equal(10, PolicyTests.CoreInFlight(policy));
        await cluster.SetReadyAsync(PodOf(cluster, tracker), ready: false); // its subchannel leaves: grpc-dotnet rebuilds the picker

        await TestWait.UntilAsync(() => tracker.Reserved == 0 && tracker.InFlight == 0, "the dropped picks' reservations are back");
        Assert.Equal(0, PolicyTests.CoreInFlight(policy));
    }

    [Fact]
    public async Task Pick_StartedJustAfterARebuild_ConfirmsItsReservationInsteadOfCountingTwice()
    {
        // A rebuild between a pick and its Start (another subchannel changed state) must not give the reservation back:
        // Start would then count the call again without a cap check, after other picks may have taken the room.
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        (FakeTimeProvider time, LockFreeSubchannelsBalancer policy, PickContext context) = await KeyedPolicyAsync(cluster);
        time.Advance(TimeSpan.FromMinutes(1)); // long idle: the rebuild below ages reservations

        SubchannelCallTracker tracker = Tracker(policy.LastPicker!.Pick(context));
        Assert.Equal(1, tracker.InFlight);
        Pod other = cluster.Pods.First(p => p != PodOf(cluster, tracker));
        await cluster.SetReadyAsync(other, ready: false);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 2 }, "the picker is rebuilt without the other pod");

        tracker.Start();
        Assert.Equal(1, tracker.InFlight); // confirmed, not counted again
        Assert.Equal(0, tracker.Reserved);
        tracker.Complete(new CompletionContext());
        Assert.Equal(0, PolicyTests.CoreInFlight(policy));
    }

    [Fact]
    public async Task Pick_NeverStartedOnASubchannelThatStays_ReservationReturnsAtTheSecondAgingRebuild()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        (FakeTimeProvider time, LockFreeSubchannelsBalancer policy, PickContext context) = await KeyedPolicyAsync(cluster);

        SubchannelCallTracker tracker = Tracker(policy.LastPicker!.Pick(context));
        Pod[] others = [.. cluster.Pods.Where(p => p != PodOf(cluster, tracker))];

        // Rebuilds within a second of the tracker's last aging age nothing (grpc-dotnet rebuilds several times per change).
        await cluster.SetReadyAsync(others[0], ready: false);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 2 }, "a rebuild");
        Assert.Equal(1, tracker.Reserved);

        time.Advance(SubchannelCallTracker.MinimumAge);
        await cluster.SetReadyAsync(others[0], ready: true);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 3 }, "the aging rebuild");
        Assert.Equal(1, tracker.Reserved); // aged, still kept for a Start that may come

        time.Advance(SubchannelCallTracker.MinimumAge);
        await cluster.SetReadyAsync(others[1], ready: false);
        await TestWait.UntilAsync(() => tracker.Reserved == 0 && tracker.InFlight == 0, "the second aging rebuild gives it back");
    }

    [Theory]
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user"}}""")]
    [InlineData("""{"lockfree_consistent_hash": {"hash_header": "x-user"}}""")]
    [InlineData("""{"lockfree_round_robin": {}}""")]
    public async Task Pick_WithoutBoundedLoads_CountsTheCallFromStartNotFromThePick(string config)
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config(config), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 3 }, "all three subchannels are ready");
        await TestWait.UntilAsync(() => PolicyTests.CoreInFlight(policy) == 0, "the first call is released");
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://web.shop/lockfree.test.Echo/Who");
        request.Headers.TryAddWithoutValidation("x-user", "user-42");
        var context = new PickContext { Request = request };

        PickResult[] picks = [.. Enumerable.Range(0, 10).Select(_ => policy.LastPicker!.Pick(context))];
        Assert.Equal(0, PolicyTests.CoreInFlight(policy)); // a dropped pick leaves nothing behind
        foreach (PickResult pick in picks)
        {
            pick.SubchannelCallTracker!.Start();
        }

        Assert.Equal(10, PolicyTests.CoreInFlight(policy));
        foreach (PickResult pick in picks)
        {
            pick.SubchannelCallTracker!.Complete(new CompletionContext());
        }

        Assert.Equal(0, PolicyTests.CoreInFlight(policy));
    }

    [Fact]
    public async Task Pick_OnAPickerOlderThanTheCoresSet_QueuesForTheNewerPicker()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config("""{"lockfree_maglev": {"hash_header": "x-user"}}"""), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 3 }, "all three subchannels are ready");
        LockFreePicker old = policy.LastPicker!;
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://web.shop/lockfree.test.Echo/Who");
        request.Headers.TryAddWithoutValidation("x-user", "user-42");
        var context = new PickContext { Request = request };
        Assert.Equal(PickResultType.Complete, old.Pick(context).Type);

        await cluster.SetReadyAsync(cluster.Pods[0], ready: false);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 2 }, "a newer picker");
        Assert.Equal(PickResultType.Queue, old.Pick(context).Type);
        Assert.Equal(PickResultType.Complete, policy.LastPicker!.Pick(context).Type);
    }

    [Fact]
    public async Task Hold_BeforeComplete_KeepsTheCallCountedOnceUntilReleased()
    {
        // The tracking handler holds a streaming call's count at its response headers, just before grpc-dotnet's
        // Complete: the count must stay 1 through that moment (never 2, which would raise every concurrent cap).
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        (_, LockFreeSubchannelsBalancer policy, PickContext context) = await KeyedPolicyAsync(cluster);

        SubchannelCallTracker tracker = Tracker(policy.LastPicker!.Pick(context));
        tracker.Start();
        Assert.Equal(1, tracker.InFlight);
        tracker.Hold();
        Assert.Equal(1, tracker.InFlight);
        tracker.Complete(new CompletionContext());
        Assert.Equal(1, tracker.InFlight); // the body is still being read
        tracker.ReleaseHold();
        Assert.Equal(0, tracker.InFlight);
        Assert.Equal(0, PolicyTests.CoreInFlight(policy));
    }

    // Bounded loads (a pick reserves), with a factor so large that every pick of the key still lands on its home.
    private static async Task<(FakeTimeProvider Time, LockFreeSubchannelsBalancer Policy, PickContext Context)> KeyedPolicyAsync(GrpcCluster cluster)
    {
        var time = new FakeTimeProvider();
        ServiceProvider services = cluster.Services(more: s => s.AddSingleton<TimeProvider>(time));
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config("""{"lockfree_maglev": {"hash_header": "x-user", "load_factor": 100}}"""), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 3 }, "all three subchannels are ready");
        await TestWait.UntilAsync(() => PolicyTests.CoreInFlight(policy) == 0, "the first call is released");
        var request = new HttpRequestMessage(HttpMethod.Post, "http://web.shop/lockfree.test.Echo/Who");
        request.Headers.TryAddWithoutValidation("x-user", "user-42");
        return (time, policy, new PickContext { Request = request });
    }

    private static SubchannelCallTracker Tracker(PickResult result)
        => Assert.IsType<SubchannelCallTracker>(result.SubchannelCallTracker);

    private static Pod PodOf(GrpcCluster cluster, SubchannelCallTracker tracker)
        => cluster.Pods.Single(p => p.Port == tracker.Subchannel.CurrentAddress!.EndPoint.Port);
}
