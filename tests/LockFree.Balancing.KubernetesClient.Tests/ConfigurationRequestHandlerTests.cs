using System.Net;
using System.Net.Http.Headers;
using k8s.Authentication;
using Xunit;

namespace LockFree.Balancing.KubernetesClient.Tests;

/// <summary>The per-request part of a mapped configuration, against a capturing inner handler.</summary>
public sealed class ConfigurationRequestHandlerTests
{
    private static async Task<HttpRequestMessage> SendAsync(ConfigurationRequestHandler handler, HttpRequestMessage request)
    {
        using var invoker = new HttpMessageInvoker(handler, disposeHandler: true);
        using HttpResponseMessage response = await invoker.SendAsync(request, CancellationToken.None);
        return request;
    }

    private static HttpRequestMessage Request(string url = "https://10.0.0.1:6443/apis") => new(HttpMethod.Get, url)
    {
        Version = HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
    };

    [Fact]
    public async Task SendAsync_DisableHttp2_RequestsHttp11Exactly()
    {
        var inner = new CapturingHandler();

        await SendAsync(new ConfigurationRequestHandler(inner, null, null, disableHttp2: true), Request());

        Assert.Equal(HttpVersion.Version11, inner.Version);
        Assert.Equal(HttpVersionPolicy.RequestVersionExact, inner.VersionPolicy);
    }

    [Fact]
    public async Task SendAsync_Http2Allowed_VersionUntouched()
    {
        var inner = new CapturingHandler();

        await SendAsync(new ConfigurationRequestHandler(inner, null, "kube.test", disableHttp2: false), Request());

        Assert.Equal(HttpVersion.Version20, inner.Version);
    }

    [Theory]
    [InlineData("https://10.0.0.1:6443/apis", "kube.test:6443")]
    [InlineData("https://10.0.0.1/apis", "kube.test")]
    public async Task SendAsync_TlsServerName_BecomesTheHostWithThePort(string url, string expected)
    {
        var inner = new CapturingHandler();

        await SendAsync(new ConfigurationRequestHandler(inner, null, "kube.test", disableHttp2: false), Request(url));

        Assert.Equal(expected, inner.Host);
    }

    [Fact]
    public async Task SendAsync_TokenProvider_SetsHeaderUnlessOneIsThere()
    {
        var inner = new CapturingHandler();
        var provider = new FixedProvider();
        HttpRequestMessage withHeader = Request();
        withHeader.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "explicit");

        await SendAsync(new ConfigurationRequestHandler(inner, provider, null, false), Request());
        string? provided = inner.Authorization;
        await SendAsync(new ConfigurationRequestHandler(inner, provider, null, false), withHeader);

        Assert.Equal("Bearer provided", provided);
        Assert.Equal("Bearer explicit", inner.Authorization);
    }

    [Fact]
    public async Task SendAsync_CancelledWhileProviderRuns_CancellationPropagates()
    {
        var inner = new CapturingHandler();
        using var cancel = new CancellationTokenSource();
        var provider = new BlockingProvider();
        using var invoker = new HttpMessageInvoker(new ConfigurationRequestHandler(inner, provider, null, false));
        Task<HttpResponseMessage> send = invoker.SendAsync(Request(), cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send);
        Assert.Null(inner.Version); // nothing was sent
    }

    private sealed class CapturingHandler : HttpMessageHandler
    {
        public Version? Version { get; private set; }

        public HttpVersionPolicy VersionPolicy { get; private set; }

        public string? Host { get; private set; }

        public string? Authorization { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Version = request.Version;
            VersionPolicy = request.VersionPolicy;
            Host = request.Headers.Host;
            Authorization = request.Headers.Authorization?.ToString();
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
        }
    }

    private sealed class FixedProvider : ITokenProvider
    {
        public Task<AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellationToken)
            => Task.FromResult(new AuthenticationHeaderValue("Bearer", "provided"));
    }

    private sealed class BlockingProvider : ITokenProvider
    {
        public async Task<AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }
}
