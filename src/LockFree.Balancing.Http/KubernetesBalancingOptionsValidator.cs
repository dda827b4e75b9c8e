using LockFree.Balancing.Kubernetes;
using Microsoft.Extensions.Options;

namespace LockFree.Balancing.Http;

/// <summary>Checks <see cref="KubernetesBalancingOptions"/> when the host starts, with messages that say what is wrong and what is accepted.</summary>
public sealed class KubernetesBalancingOptionsValidator : IValidateOptions<KubernetesBalancingOptions>
{
    /// <summary>Validates one named options instance.</summary>
    /// <param name="name">The options name (the HTTP client's name).</param>
    /// <param name="options">The options.</param>
    /// <returns>Success, or every problem found.</returns>
    public ValidateOptionsResult Validate(string? name, KubernetesBalancingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> failures = Check(options, string.IsNullOrEmpty(name) ? "KubernetesBalancing" : $"KubernetesBalancing (client '{name}')");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static List<string> Check(KubernetesBalancingOptions options, string prefix)
    {
        var failures = new List<string>();
        void Fail(string message) => failures.Add($"{prefix}: {message}");

        bool namespaceValid = IsNamespace(options.DefaultNamespace);
        if (!namespaceValid)
        {
            Fail($"DefaultNamespace '{options.DefaultNamespace}' is not a DNS-1123 label (1-63 lower-case letters, digits and '-', starting and ending with a letter or digit).");
        }

        if (options.Service is not null && namespaceValid)
        {
            try
            {
                _ = ServiceReference.Parse(options.Service, options.DefaultNamespace!);
            }
            catch (ServiceReferenceFormatException ex)
            {
                Fail($"Service '{options.Service}' is not a Kubernetes Service reference: {ex.Message}");
            }
        }

        if (options.PortName is not null && !IsPortName(options.PortName))
        {
            Fail($"PortName '{options.PortName}' is not a Service port name (1-15 lower-case letters, digits and '-', with at least one letter, no '-' at either end or twice in a row); give a port number in the URI instead.");
        }

        if (options.PortName is not null && options.Service is not null && options.Service.Contains(':', StringComparison.Ordinal) && !options.Service.Contains("://", StringComparison.Ordinal))
        {
            Fail($"Service '{options.Service}' names a port and PortName '{options.PortName}' names another: set one of them.");
        }

        if (options.Picker is not (BalancingPicker.PowerOfTwoChoices or BalancingPicker.RoundRobin or BalancingPicker.Random))
        {
            Fail($"Picker '{options.Picker}' is not accepted: Picker places requests without an affinity key and must be PowerOfTwoChoices, RoundRobin or Random; set AffinityPicker (ConsistentHash or Maglev) and an affinity source for keyed placement.");
        }

        if (options.AffinityPicker is not (BalancingPicker.ConsistentHash or BalancingPicker.Maglev))
        {
            Fail($"AffinityPicker '{options.AffinityPicker}' is not accepted: it must be ConsistentHash or Maglev.");
        }

        if (options.LoadFactor is double factor && !(factor > 1 && factor <= ConsistentHashOptions.MaxLoadFactor))
        {
            Fail($"LoadFactor {factor} is not accepted: it must be above 1 and at most {ConsistentHashOptions.MaxLoadFactor} (1.25 is common), or unset for plain hashing.");
        }

        string[] sources = [.. AffinitySources(options)];
        if (sources.Length > 1)
        {
            Fail($"{string.Join(sources.Length == 2 ? " and " : ", ", sources)} are {(sources.Length == 2 ? "both" : "all")} set: set at most one affinity source (AffinityHeader, AffinityQueryParameter, AffinityCookie or AffinityKey).");
        }

        if (options.MaxBufferedBodyBytes is < 0 or > KubernetesBalancingOptions.MaxBufferedBodyBytesLimit)
        {
            Fail($"MaxBufferedBodyBytes {options.MaxBufferedBodyBytes} is not accepted: it must be between 0 (never read the body in the handler) and {KubernetesBalancingOptions.MaxBufferedBodyBytesLimit} (1 MiB); longer bodies should stream.");
        }

        if (!Enum.IsDefined(options.Transport))
        {
            Fail($"Transport '{options.Transport}' is not accepted: it must be PodConnections or InnerHandler.");
        }
        else if (options.ConfigurePodHandler is not null && options.Transport != BalancingTransport.PodConnections)
        {
            Fail($"ConfigurePodHandler is set but Transport is {options.Transport}: pod handlers exist only with Transport PodConnections; configure the inner (primary) handler instead.");
        }

        CheckToken(options.AffinityHeader, nameof(options.AffinityHeader), Fail);
        CheckToken(options.AffinityCookie, nameof(options.AffinityCookie), Fail);
        if (options.AffinityQueryParameter is { Length: 0 })
        {
            Fail("AffinityQueryParameter is empty: give the parameter name, or leave it unset.");
        }

        if (options.FallbackEndpoint is not null && !Endpoint.TryParse(options.FallbackEndpoint, out _))
        {
            Fail($"FallbackEndpoint '{options.FallbackEndpoint}' is not an endpoint: use host:port, e.g. 'orders.shop.svc:80', '10.0.0.7:8080' or '[fd00::7]:8080'.");
        }

        if (options.OutlierEjectionEnabled)
        {
            if (options.OutlierEjection is null)
            {
                Fail("OutlierEjection is null while OutlierEjectionEnabled is true: set OutlierEjectionEnabled to false to turn ejection off.");
            }
            else
            {
                try
                {
                    _ = new RoundRobinBalancer(new LoadBalancerOptions { OutlierEjection = options.OutlierEjection });
                }
                catch (ArgumentException ex)
                {
                    Fail(ex.Message.Split(" (Parameter", 2)[0]);
                }
            }
        }

        if (options.Topology is { } topology && string.IsNullOrEmpty(topology.LocalZone) && string.IsNullOrEmpty(topology.LocalNode))
        {
            Fail("Topology is set without LocalZone or LocalNode: set the caller's zone, node or both, or leave Topology unset for no preference.");
        }

        if (!Enum.IsDefined(options.LoadMeasure))
        {
            Fail($"LoadMeasure '{options.LoadMeasure}' is not accepted: it must be InFlight, RequestRate or Reported.");
        }
        else if (options.LoadMeasure != LoadMeasure.InFlight && options.Picker != BalancingPicker.PowerOfTwoChoices)
        {
            Fail($"LoadMeasure {options.LoadMeasure} applies only to the PowerOfTwoChoices picker, and Picker is {options.Picker}: use PowerOfTwoChoices, or leave LoadMeasure at InFlight.");
        }

        if (options.LoadMeasure == LoadMeasure.Reported && string.IsNullOrEmpty(options.LoadReportHeader))
        {
            Fail("LoadMeasure Reported needs LoadReportHeader: the response header in which pods report their load, e.g. 'x-load'.");
        }
        else if (options.LoadReportHeader is not null && options.LoadMeasure != LoadMeasure.Reported)
        {
            Fail($"LoadReportHeader '{options.LoadReportHeader}' is only read with LoadMeasure Reported (LoadMeasure is {options.LoadMeasure}): set both, or neither.");
        }

        CheckToken(options.LoadReportHeader, nameof(options.LoadReportHeader), Fail);

        if (!Enum.IsDefined(options.LeaseRelease))
        {
            Fail($"LeaseRelease '{options.LeaseRelease}' is not accepted: it must be ResponseEnd or ResponseHeaders.");
        }

        return failures;
    }

    internal static IEnumerable<string> AffinitySources(KubernetesBalancingOptions options)
    {
        if (options.AffinityHeader is not null)
        {
            yield return nameof(options.AffinityHeader);
        }

        if (options.AffinityQueryParameter is not null)
        {
            yield return nameof(options.AffinityQueryParameter);
        }

        if (options.AffinityCookie is not null)
        {
            yield return nameof(options.AffinityCookie);
        }

        if (options.AffinityKey is not null)
        {
            yield return nameof(options.AffinityKey);
        }
    }

    internal static bool IsNamespace(string? value)
    {
        if (value is null)
        {
            return false;
        }

        try
        {
            return ServiceReference.TryParse("x", value, out _);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    internal static bool IsPortName(string value)
        => ServiceReference.TryParse("x:" + value, out ServiceReference? reference) && reference.PortName is not null;

    private static void CheckToken(string? value, string name, Action<string> fail)
    {
        if (value is null)
        {
            return;
        }

        // RFC 9110 token characters: what a header or cookie name may hold.
        if (value.Length == 0 || value.AsSpan().ContainsAnyExcept(TokenCharacters))
        {
            fail($"{name} '{value}' is not a valid name: use letters, digits and !#$%&'*+-.^_`|~ only, or leave it unset.");
        }
    }

    private static readonly System.Buffers.SearchValues<char> TokenCharacters =
        System.Buffers.SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
}
