using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using LockFree.Balancing.Kubernetes.Fakes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace LockFree.Balancing.Yarp.Tests;

/// <summary>docs/yarp.md's "Turn it on": its JSON, read from the page, and its registration lines, run against real pods.</summary>
public sealed class DocsExampleTests
{
    [Fact]
    public async Task TurnItOn_TheDocumentedConfiguration_ProxiesWithAffinity()
    {
        string json = DocumentedJson();
        FakeCluster api = await FakeCluster.StartAsync("shop", "orders");
        Pod[] pods = [await Pod.StartAsync("p0"), await Pod.StartAsync("p1"), await Pod.StartAsync("p2")];
        try
        {
            foreach (Pod pod in pods)
            {
                api.Apply(pod.Slice);
            }

            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
            builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes("{" + json + "}")));
            builder.Services.AddKubernetesWatchRegistry(o => o.ApiServer = api.BaseAddress);

            // The documented lines.
            builder.Services.AddReverseProxy()
                .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
                .AddKubernetesDestinations()      // k8s://name.namespace:port destinations, from the shared watch
                .AddLockFreeLoadBalancing();      // the LockFree policies, their config checks, the release hook

            await using WebApplication app = builder.Build();
            app.MapReverseProxy();
            await app.StartAsync(Proxy.Limit());
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            using var client = new HttpClient { BaseAddress = address, Timeout = Proxy.WaitLimit };

            var podsByUser = new Dictionary<string, HashSet<string>>();
            for (int i = 0; i < 90; i++)
            {
                string user = "user-" + (i % 30);
                using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/x");
                request.Headers.Add("x-user", user);
                using HttpResponseMessage response = await client.SendAsync(request, Proxy.Limit());
                string pod = await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync(Proxy.Limit());
                (podsByUser.TryGetValue(user, out HashSet<string>? seen) ? seen : podsByUser[user] = []).Add(pod);
            }

            Assert.All(podsByUser.Values, seen => Assert.Single(seen));
            Assert.Equal(3, podsByUser.Values.Select(s => s.Single()).Distinct().Count());
            await app.StopAsync(Proxy.Limit());
        }
        finally
        {
            foreach (Pod pod in pods)
            {
                await pod.DisposeAsync();
            }

            await api.DisposeAsync();
        }
    }

    /// <summary>The first <c>```json</c> block of docs/yarp.md.</summary>
    private static string DocumentedJson()
    {
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "LockFree.sln")))
        {
            directory = Path.GetDirectoryName(directory);
        }

        Assert.NotNull(directory);
        string page = File.ReadAllText(Path.Combine(directory, "docs", "yarp.md"));
        Match block = Regex.Match(page, "```json\\n(?<json>.*?)\\n```", RegexOptions.Singleline);
        Assert.True(block.Success, "docs/yarp.md has no json block");
        return block.Groups["json"].Value;
    }
}
