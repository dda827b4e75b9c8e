using System.Net;
using LockFree.Balancing.Kubernetes;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Http.Tests;

/// <summary>
/// End to end on loopback: the fake API server, real Kestrel backends, the handler over SocketsHttpHandler. Every
/// test runs once per <see cref="BalancingTransport"/> (the two sealed classes at the end).
/// </summary>
public abstract class KubernetesBalancingHandlerTests(BalancingTransport transport)
{
    private sealed class Setup : IAsyncDisposable
    {
        public required Cluster Cluster { get; init; }

        public required KubernetesBalancing Balancing { get; init; }

        public required HttpClient Client { get; init; }

        public required AttemptCounter Counter { get; init; }

        public BalancedService Service => Balancing.Resolve(Cluster.ServiceUri).Service;

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            Balancing.Dispose();
            await Cluster.DisposeAsync();
        }
    }

    private async Task<Setup> StartAsync(Cluster cluster, Action<KubernetesBalancingOptions>? configure = null)
    {
        var options = new KubernetesBalancingOptions { PortName = "http", Picker = BalancingPicker.RoundRobin, Transport = transport };
        configure?.Invoke(options);

        // Each attempt is counted where it leaves: under the handler (InnerHandler) or in front of the pod's own handler.
        var counter = new AttemptCounter();
        var settings = new BalancingSettings(options, name: string.Empty)
        {
            PodHandlerFactory = pod => new CountingHandler(counter, PodHandlers.CreateSocketsHandler(pod, options.ConfigurePodHandler), pod.Key),
        };
        var balancing = new KubernetesBalancing(cluster.Registry, settings, loggerFactory: null);
        KubernetesBalancingHandler handler = transport == BalancingTransport.InnerHandler
            ? balancing.CreateHandler(new CountingHandler(counter, new SocketsHttpHandler()))
            : balancing.CreateHandler();
        var client = new HttpClient(handler) { BaseAddress = Cluster.ServiceUri, Timeout = Cluster.WaitLimit };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());
        return new Setup { Cluster = cluster, Balancing = balancing, Client = client, Counter = counter };
    }

    [Fact]
    public async Task Get_ReachesTheListedPodsOnly_AndKeepsTheServiceAsHost()
    {
        await using Setup s = await StartAsync(await Cluster.StartAsync(backendCount: 3, listed: 2));
        var served = new List<string>();

        for (int i = 0; i < 20; i++)
        {
            using HttpResponseMessage response = await s.Client.GetAsync("who?i=" + i, Cluster.Limit());
            served.Add(await response.Content.ReadAsStringAsync(Cluster.Limit()));
            Assert.Equal(new Uri(Cluster.ServiceUri, "who?i=" + i), response.RequestMessage!.RequestUri); // restored
        }

        Assert.Equal(10, served.Count(n => n == "b0")); // round robin: exact halves
        Assert.Equal(10, served.Count(n => n == "b1"));
        Assert.Equal(0, s.Cluster.Backends[2].Hits);
        Assert.All(s.Cluster.Backends[0].HostHeaders, h => Assert.Equal("web.shop", h));
        Assert.Contains("GET /who?i=0", s.Cluster.Backends.SelectMany(b => b.Requests));
        Assert.Equal(0, s.Service.InFlight);
    }

    [Fact]
    public async Task Get_ExplicitPortInUri_IsKeptInTheHostHeader()
    {
        Cluster cluster = await Cluster.StartAsync(backendCount: 1);
        await using Setup s = await StartAsync(cluster);
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://web.shop:8080/who");

        using HttpResponseMessage response = await s.Client.SendAsync(request, Cluster.Limit());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("web.shop:8080", Assert.Single(cluster.Backends[0].HostHeaders));
        Assert.Null(request.Headers.Host); // the handler's own Host header is removed again
    }

    [Fact]
    public async Task AffinityHeader_KeysStayOnTheirPodAcrossUnrelatedMembershipChanges()
    {
        Cluster cluster = await Cluster.StartAsync(backendCount: 4, listed: 3);
        await using Setup s = await StartAsync(cluster, o => o.AffinityHeader = "x-user");
        string[] keys = [.. Enumerable.Range(0, 40).Select(i => "user-" + i)];
        Dictionary<string, string> before = await PodsByKeyAsync(s.Client, keys);
        Assert.True(before.Values.Distinct().Count() == 3, "40 keys spread over all three pods");

        // A pod joins: a key either stays or moves to the new pod, never between old pods.
        await cluster.SendAsync("ADDED", Cluster.SliceOf(cluster.Backends[3]));
        Dictionary<string, string> joined = await PodsByKeyAsync(s.Client, keys);
        Assert.All(keys, k => Assert.True(joined[k] == before[k] || joined[k] == "b3", $"{k} moved from {before[k]} to {joined[k]}"));
        Assert.Contains("b3", joined.Values);

        // An unrelated pod leaves: only its keys move.
        await cluster.SendAsync("DELETED", Cluster.SliceOf(cluster.Backends[0]));
        Dictionary<string, string> left = await PodsByKeyAsync(s.Client, keys);
        Assert.All(keys.Where(k => joined[k] != "b0"), k => Assert.Equal(joined[k], left[k]));
        Assert.DoesNotContain("b0", left.Values);

        // Requests without a key use the keyless picker (round robin over the three pods left).
        var keyless = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            keyless.Add(await s.Client.GetStringAsync("who", Cluster.Limit()));
        }

        Assert.Equal(["b1", "b1", "b2", "b2", "b3", "b3"], keyless.Order());
    }

    [Theory]
    [InlineData("query")]
    [InlineData("cookie")]
    [InlineData("function")]
    public async Task AffinitySources_SameKeySamePod_DifferentKeysSpread(string source)
    {
        Cluster cluster = await Cluster.StartAsync(backendCount: 3);
        await using Setup s = await StartAsync(cluster, o =>
        {
            switch (source)
            {
                case "query":
                    o.AffinityQueryParameter = "user";
                    break;
                case "cookie":
                    o.AffinityCookie = "session";
                    break;
                default:
                    o.AffinityKey = r => r.Headers.TryGetValues("x-tenant", out IEnumerable<string>? v) ? v.First() : null;
                    break;
            }
        });

        async Task<string> SendAsync(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, source == "query" ? $"who?a=1&user={key}&b=2" : "who");
            request.Headers.TryAddWithoutValidation("Cookie", $"theme=dark; session={key}; x=y");
            request.Headers.TryAddWithoutValidation("x-tenant", key);
            using HttpResponseMessage response = await s.Client.SendAsync(request, Cluster.Limit());
            return await response.Content.ReadAsStringAsync(Cluster.Limit());
        }

        var pods = new HashSet<string>();
        for (int i = 0; i < 30; i++)
        {
            string key = "k" + i;
            string first = await SendAsync(key);
            Assert.Equal(first, await SendAsync(key));
            Assert.Equal(first, await SendAsync(key));
            pods.Add(first);
        }

        Assert.Equal(3, pods.Count);
    }

    [Fact]
    public async Task ReportedLoad_FromAResponseHeader_SteersPowerOfTwoChoicesAwayFromTheBusyPod()
    {
        Cluster cluster = await Cluster.StartAsync(backendCount: 3);
        cluster.Backends[0].ReportedLoad = "0.95";
        cluster.Backends[1].ReportedLoad = "0.10";
        cluster.Backends[2].ReportedLoad = "not a number"; // ignored: counts as 0 until a valid report
        await using Setup s = await StartAsync(cluster, o =>
        {
            o.Picker = BalancingPicker.PowerOfTwoChoices;
            o.LoadMeasure = LoadMeasure.Reported;
            o.LoadReportHeader = "x-load";
        });

        // Until every pod has answered once, the busy one can still be picked.
        for (int i = 0; i < 200 && cluster.Backends.Any(b => b.Hits == 0); i++)
        {
            _ = await s.Client.GetStringAsync("who", Cluster.Limit());
        }

        Assert.All(cluster.Backends, b => Assert.True(b.Hits > 0));
        int busyHits = cluster.Backends[0].Hits;
        for (int i = 0; i < 60; i++)
        {
            _ = await s.Client.GetStringAsync("who", Cluster.Limit());
        }

        // Of any two candidates the busy pod is the more loaded: it gets nothing more.
        Assert.Equal(busyHits, cluster.Backends[0].Hits);
        Assert.Equal(0.95, s.Service.Balancer.GetStatus().Single(e => e.Endpoint.Port == cluster.Backends[0].Port).ReportedLoad);
        Assert.Equal(0, s.Service.Balancer.GetStatus().Single(e => e.Endpoint.Port == cluster.Backends[2].Port).ReportedLoad);
    }

    [Fact]
    public async Task RemovedPod_StopsReceivingRequests()
    {
        Cluster cluster = await Cluster.StartAsync(backendCount: 3);
        await using Setup s = await StartAsync(cluster);
        for (int i = 0; i < 6; i++)
        {
            _ = await s.Client.GetStringAsync("who", Cluster.Limit());
        }

        Assert.True(cluster.Backends[1].Hits > 0);
        await cluster.SendAsync("DELETED", Cluster.SliceOf(cluster.Backends[1]));
        int hitsAtRemoval = cluster.Backends[1].Hits;

        for (int i = 0; i < 30; i++)
        {
            _ = await s.Client.GetStringAsync("who", Cluster.Limit());
        }

        Assert.Equal(hitsAtRemoval, cluster.Backends[1].Hits);
        Assert.Equal(30, cluster.Backends[0].Hits + cluster.Backends[2].Hits - 4);
    }

    [Fact]
    public async Task RefusedConnection_Get_RetriedOnceOnAnotherPod()
    {
        int dead = Cluster.RefusingPort();
        Cluster cluster = await Cluster.StartAsync(1, null, dead);
        await using Setup s = await StartAsync(cluster, o => o.OutlierEjectionEnabled = false);

        for (int i = 0; i < 10; i++)
        {
            Assert.Equal("b0", await s.Client.GetStringAsync("who", Cluster.Limit()));
        }

        int deadAttempts = s.Counter.Targets.Count(t => t.EndsWith(":" + dead, StringComparison.Ordinal));
        Assert.Equal(10, cluster.Backends[0].Hits);
        Assert.Equal(10 + deadAttempts, s.Counter.Attempts);
        Assert.InRange(deadAttempts, 1, 10);
        Assert.Equal(0, s.Service.InFlight);
    }

    [Fact]
    public async Task RefusedConnection_EveryPodDead_GetTriesExactlyTwice_PostOnce()
    {
        Cluster cluster = await Cluster.StartAsync(0, null, Cluster.RefusingPort(), Cluster.RefusingPort(), Cluster.RefusingPort());
        await using Setup s = await StartAsync(cluster, o => o.OutlierEjectionEnabled = false);

        var get = await Assert.ThrowsAsync<HttpRequestException>(() => s.Client.GetAsync("who", Cluster.Limit()));
        Assert.Equal(HttpRequestError.ConnectionError, get.HttpRequestError);
        Assert.Equal(2, s.Counter.Attempts);
        Assert.NotEqual(s.Counter.Targets.First(), s.Counter.Targets.Last()); // the retry excluded the failed pod

        await Assert.ThrowsAsync<HttpRequestException>(() => s.Client.PostAsync("who", new StringContent("x"), Cluster.Limit()));
        Assert.Equal(3, s.Counter.Attempts);
        Assert.Equal(0, s.Service.InFlight);
    }

    [Fact]
    public async Task ResetConnection_Get_RetriedOnceOnAnotherPod_PostNot()
    {
        using var resetting = new Cluster.ResettingListener();
        Cluster cluster = await Cluster.StartAsync(1, null, resetting.Port);
        await using Setup s = await StartAsync(cluster, o => o.OutlierEjectionEnabled = false);

        for (int i = 0; i < 10; i++)
        {
            Assert.Equal("b0", await s.Client.GetStringAsync("who", Cluster.Limit()));
        }

        Assert.Equal(10, cluster.Backends[0].Hits);
        Assert.InRange(resetting.Accepted, 1, 10); // round robin sent some first attempts to the resetting pod

        int postFailures = 0;
        int attemptsBefore = s.Counter.Attempts;
        for (int i = 0; i < 10; i++)
        {
            try
            {
                using HttpResponseMessage response = await s.Client.PostAsync("who", new StringContent("order"), Cluster.Limit());
            }
            catch (HttpRequestException)
            {
                postFailures++;
            }
        }

        Assert.InRange(postFailures, 1, 10); // a POST may have reached the dead process: never sent twice
        Assert.Equal(attemptsBefore + 10, s.Counter.Attempts);
        Assert.Equal(0, s.Service.InFlight);
    }

    [Fact]
    public async Task RefusedConnection_Post_NeverRetried()
    {
        int dead = Cluster.RefusingPort();
        Cluster cluster = await Cluster.StartAsync(1, null, dead);
        await using Setup s = await StartAsync(cluster, o => o.OutlierEjectionEnabled = false);
        int failures = 0;

        for (int i = 0; i < 10; i++)
        {
            try
            {
                using HttpResponseMessage response = await s.Client.PostAsync("who", new StringContent("order"), Cluster.Limit());
                Assert.Equal("b0", await response.Content.ReadAsStringAsync(Cluster.Limit()));
            }
            catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConnectionError)
            {
                failures++;
            }
        }

        Assert.Equal(10, s.Counter.Attempts);                    // one attempt per POST
        Assert.Equal(5, failures);                               // round robin over two: every other one
        Assert.Equal(5, cluster.Backends[0].Hits);
    }

    [Fact]
    public async Task RefusedConnection_FeedsOutlierEjection()
    {
        int dead = Cluster.RefusingPort();
        Cluster cluster = await Cluster.StartAsync(2, null, dead);
        await using Setup s = await StartAsync(cluster, o => o.OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1 });

        for (int i = 0; i < 12; i++)
        {
            _ = await s.Client.GetStringAsync("who", Cluster.Limit());
        }

        Assert.Equal(1, s.Counter.Targets.Count(t => t.EndsWith(":" + dead, StringComparison.Ordinal)));
        EndpointStatus status = s.Service.Balancer.GetStatus().Single(e => e.Endpoint.Port == dead);
        Assert.True(status.IsEjected);
    }

    [Fact]
    public async Task ServerError_ReportedNotRetried_UnlessAsked()
    {
        Cluster cluster = await Cluster.StartAsync(2);
        await using Setup s = await StartAsync(cluster, o => o.OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1 });

        using HttpResponseMessage response = await s.Client.GetAsync("status/503", Cluster.Limit());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, s.Counter.Attempts);
        Assert.Single(s.Service.Balancer.GetStatus(), e => e.IsEjected);

        await using Setup retrying = await StartAsync(await Cluster.StartAsync(2), o => o.RetryServerErrors = true);
        using HttpResponseMessage retried = await retrying.Client.GetAsync("status/502", Cluster.Limit());
        Assert.Equal(HttpStatusCode.BadGateway, retried.StatusCode);
        Assert.Equal(2, retrying.Counter.Attempts);
        Assert.Equal(1, retrying.Cluster.Backends[0].Hits);
        Assert.Equal(1, retrying.Cluster.Backends[1].Hits);
        using HttpResponseMessage post = await retrying.Client.PostAsync("status/502", new StringContent("x"), Cluster.Limit());
        Assert.Equal(3, retrying.Counter.Attempts);
    }

    [Fact]
    public async Task StreamedBody_LeaseHeldUntilReadToTheEnd()
    {
        Cluster cluster = await Cluster.StartAsync(1);
        await using Setup s = await StartAsync(cluster);

        using HttpResponseMessage response = await s.Client.GetAsync("stream", HttpCompletionOption.ResponseHeadersRead, Cluster.Limit());
        Assert.Equal(1, s.Service.InFlight);
        Assert.Equal(1, s.Service.Balancer.GetStatus().Single().InFlight);
        await using Stream body = await response.Content.ReadAsStreamAsync(Cluster.Limit());
        var buffer = new byte[64];
        int first = await body.ReadAsync(buffer, Cluster.Limit());
        Assert.Equal("b0:", System.Text.Encoding.UTF8.GetString(buffer, 0, first));
        Assert.Equal(1, s.Service.InFlight);

        cluster.Backends[0].ReleaseStream();
        while (await body.ReadAsync(buffer, Cluster.Limit()) > 0)
        {
        }

        Assert.Equal(0, s.Service.InFlight);
        Assert.Equal(0, s.Service.Balancer.GetStatus().Single().InFlight);
    }

    [Fact]
    public async Task StreamedBody_DisposedUnread_ReleasesTheLease()
    {
        Cluster cluster = await Cluster.StartAsync(1);
        await using Setup s = await StartAsync(cluster);

        HttpResponseMessage response = await s.Client.GetAsync("stream", HttpCompletionOption.ResponseHeadersRead, Cluster.Limit());
        Assert.Equal(1, s.Service.InFlight);
        response.Dispose();

        Assert.Equal(0, s.Service.InFlight);
        response.Dispose(); // twice: still released once
        Assert.Equal(0, s.Service.Balancer.GetStatus().Single().InFlight);
    }

    [Fact]
    public async Task ResponseHeadersRelease_EndsTheLeaseBeforeTheBody()
    {
        Cluster cluster = await Cluster.StartAsync(1);
        await using Setup s = await StartAsync(cluster, o => o.LeaseRelease = LeaseRelease.ResponseHeaders);

        using HttpResponseMessage response = await s.Client.GetAsync("stream", HttpCompletionOption.ResponseHeadersRead, Cluster.Limit());

        Assert.Equal(0, s.Service.InFlight);
        cluster.Backends[0].ReleaseStream();
        Assert.Equal("b0:end", await response.Content.ReadAsStringAsync(Cluster.Limit()));
    }

    [Fact]
    public async Task NoEndpoints_ThrowsHttpRequestExceptionThatSaysWhy()
    {
        Cluster cluster = await Cluster.StartAsync(0);
        await using Setup s = await StartAsync(cluster);

        var exception = await Assert.ThrowsAsync<HttpRequestException>(() => s.Client.GetAsync("who", Cluster.Limit()));

        Assert.Contains("web.shop:http", exception.Message, StringComparison.Ordinal);
        Assert.Contains("no ready endpoint", exception.Message, StringComparison.Ordinal);
        Assert.Contains("reason NoEndpoints", exception.Message, StringComparison.Ordinal);
        Assert.Equal(NoEndpointsReason.NoEndpoints, Assert.IsType<NoEndpointsException>(exception.InnerException).Reason);
        Assert.Equal(0, s.Counter.Attempts);
    }

    [Fact]
    public async Task NoEndpoints_EveryPodEjected_InnerExceptionCarriesAllEjected()
    {
        Cluster cluster = await Cluster.StartAsync(1);
        await using Setup s = await StartAsync(cluster, o => o.OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1, MaxEjectedShare = 1 });
        using (HttpResponseMessage failed = await s.Client.GetAsync("status/503", Cluster.Limit()))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        }

        Assert.True(Assert.Single(s.Service.Balancer.GetStatus()).IsEjected);
        var exception = await Assert.ThrowsAsync<HttpRequestException>(() => s.Client.GetAsync("who", Cluster.Limit()));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, exception.StatusCode);
        Assert.Contains("reason AllEjected", exception.Message, StringComparison.Ordinal);
        Assert.Contains("ejected by outlier detection", exception.Message, StringComparison.Ordinal);
        NoEndpointsException inner = Assert.IsType<NoEndpointsException>(exception.InnerException);
        Assert.Equal(NoEndpointsReason.AllEjected, inner.Reason);
        Assert.Contains("ejected", inner.Message, StringComparison.Ordinal);
        Assert.Equal(1, s.Counter.Attempts);
    }

    [Fact]
    public async Task HostThatIsNotAService_ThrowsHttpRequestExceptionNamingIt()
    {
        Cluster cluster = await Cluster.StartAsync(0);
        await using Setup s = await StartAsync(cluster);

        var exception = await Assert.ThrowsAsync<HttpRequestException>(() => s.Client.GetAsync("http://Not_A_Service.example.com/", Cluster.Limit()));

        Assert.Equal(HttpRequestError.NameResolutionError, exception.HttpRequestError);
        Assert.Contains("does not name a Kubernetes Service", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelled_ReleasesWithoutCountingAFailure()
    {
        Cluster cluster = await Cluster.StartAsync(1);
        await using Setup s = await StartAsync(cluster, o => o.OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1, MaxEjectedShare = 1 });
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => s.Client.GetAsync("who", cancelled.Token));

        Assert.Equal(0, s.Service.InFlight);
        Assert.False(s.Service.Balancer.GetStatus().Single().IsEjected);
    }

    [Fact]
    public async Task Race_ConcurrentRequestsWhileMembershipChanges_AllServedAndCountsReturnToZero()
    {
        Cluster cluster = await Cluster.StartAsync(backendCount: 4, listed: 2);
        await using Setup s = await StartAsync(cluster, o =>
        {
            o.Picker = BalancingPicker.PowerOfTwoChoices;
            o.AffinityHeader = "x-user";
            o.LoadFactor = 1.25;
        });
        string[] pods = ["b0", "b1", "b2", "b3"];
        int served = 0;
        using var stop = new CancellationTokenSource(Cluster.WaitLimit);

        Task[] clients = [.. Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (int i = 0; i < 60; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "who");
                if ((i & 1) == 0)
                {
                    request.Headers.Add("x-user", "u" + (i % 7));
                }

                using HttpResponseMessage response = await s.Client.SendAsync(request, stop.Token);
                Assert.Contains(await response.Content.ReadAsStringAsync(stop.Token), pods);
                Interlocked.Increment(ref served);
            }
        }))];

        // Pods join and leave while the requests run.
        await cluster.SendAsync("ADDED", Cluster.SliceOf(cluster.Backends[2]));
        await cluster.SendAsync("ADDED", Cluster.SliceOf(cluster.Backends[3]));
        await cluster.SendAsync("DELETED", Cluster.SliceOf(cluster.Backends[0]));
        await cluster.SendAsync("DELETED", Cluster.SliceOf(cluster.Backends[2]));
        await Task.WhenAll(clients).WaitAsync(Cluster.WaitLimit);

        Assert.Equal(240, served);
        Assert.Equal(0, s.Service.InFlight);
        Assert.All(s.Service.Balancer.GetStatus(), e => Assert.Equal(0, e.InFlight));
        Assert.All(s.Service.AffinityBalancer!.GetStatus(), e => Assert.Equal(0, e.InFlight));
        Assert.Equal(["b1", "b3"], s.Service.Balancer.Endpoints.Select(e => pods[Array.IndexOf([.. cluster.Backends.Select(b => b.Port)], e.Port)]).Order());
    }

    private static async Task<Dictionary<string, string>> PodsByKeyAsync(HttpClient client, string[] keys)
    {
        var pods = new Dictionary<string, string>();
        foreach (string key in keys)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "who");
            request.Headers.Add("x-user", key);
            using HttpResponseMessage response = await client.SendAsync(request, Cluster.Limit());
            pods[key] = await response.Content.ReadAsStringAsync(Cluster.Limit());
        }

        return pods;
    }
}

/// <summary>The handler tests with each pod's own connection pool (the default transport).</summary>
public sealed class PodConnectionsHandlerTests() : KubernetesBalancingHandlerTests(BalancingTransport.PodConnections);

/// <summary>The handler tests with requests rewritten to the pod and sent through the inner handler.</summary>
public sealed class InnerHandlerHandlerTests() : KubernetesBalancingHandlerTests(BalancingTransport.InnerHandler);
