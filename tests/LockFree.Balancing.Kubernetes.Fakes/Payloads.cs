using System.Globalization;
using System.Text;

namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>Realistic API-server JSON: what kube-apiserver really sends, with the noise (managedFields, ownerReferences, ...).</summary>
public static class Payloads
{
    private const string ManagedFieldsTemplate = """
        [{"manager":"kube-controller-manager","operation":"Update","apiVersion":"discovery.k8s.io/v1","time":"2026-11-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:addressType":{},"f:endpoints":{},"f:metadata":{"f:generateName":{},"f:labels":{".":{},"f:endpointslice.kubernetes.io/managed-by":{},"f:kubernetes.io/service-name":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"9d1c\"}":{}}},"f:ports":{}},"padding":"@PADDING@"}]
        """;

    private const string EndpointTemplate = """
        {"addresses":["@ADDRESS@","@ADDRESS@"],"conditions":@CONDITIONS@,"targetRef":{"kind":"Pod","namespace":"shop","name":"web-7d9f-@POD@","uid":"4f1c-@POD@"},"nodeName":"@NODE@","zone":"@ZONE@"@HINTS@}
        """;

    private const string SliceTemplate = """
        {"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":"@NAME@","generateName":"web-","namespace":"shop","uid":"uid-@NAME@","resourceVersion":"@RV@","generation":3,"creationTimestamp":"2026-11-01T10:00:00Z","labels":{"endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io","kubernetes.io/service-name":"web","note":"caf\u00e9 \u65e5\u672c"},"annotations":{"endpoints.kubernetes.io/last-change-trigger-time":"2026-11-01T10:00:00Z","description":"Zürich 日本語 🚀"},"ownerReferences":[{"apiVersion":"v1","kind":"Service","name":"web","uid":"9d1c","controller":true,"blockOwnerDeletion":true}],"managedFields":@MANAGED@},"addressType":"@TYPE@","endpoints":[@ENDPOINTS@],"ports":@PORTS@}
        """;

    public const string ReadyConditions = """{"ready":true,"serving":true,"terminating":false}""";

    public static string ManagedFields(int padding = 0) => ManagedFieldsTemplate.Replace("@PADDING@", new string('x', padding), StringComparison.Ordinal);

    /// <summary>One endpoint entry; <paramref name="conditions"/> is raw JSON (e.g. <c>{"ready":null}</c> or <c>{}</c>).</summary>
    public static string Endpoint(string address, string conditions = ReadyConditions, string node = "node-1", string zone = "zone-a", string? hints = null)
        => EndpointTemplate
            .Replace("@ADDRESS@", address, StringComparison.Ordinal)
            .Replace("@CONDITIONS@", conditions, StringComparison.Ordinal)
            .Replace("@POD@", address.Replace(':', '-').Replace('.', '-'), StringComparison.Ordinal)
            .Replace("@NODE@", node, StringComparison.Ordinal)
            .Replace("@ZONE@", zone, StringComparison.Ordinal)
            .Replace("@HINTS@", hints is null ? "" : ",\"hints\":" + hints, StringComparison.Ordinal);

    /// <summary>A full EndpointSlice object.</summary>
    public static string Slice(string name, string resourceVersion, string addressType, string ports, params string[] endpoints)
        => Slice(name, resourceVersion, addressType, ports, padding: 0, endpoints);

    public static string Slice(string name, string resourceVersion, string addressType, string ports, int padding, params string[] endpoints)
        => SliceTemplate
            .Replace("@NAME@", name, StringComparison.Ordinal)
            .Replace("@RV@", resourceVersion, StringComparison.Ordinal)
            .Replace("@MANAGED@", ManagedFields(padding), StringComparison.Ordinal)
            .Replace("@TYPE@", addressType, StringComparison.Ordinal)
            .Replace("@ENDPOINTS@", string.Join(',', endpoints), StringComparison.Ordinal)
            .Replace("@PORTS@", ports, StringComparison.Ordinal);

    public static string Ports(string name, int port)
        => "[{\"name\":\"" + name + "\",\"protocol\":\"TCP\",\"port\":" + port.ToString(CultureInfo.InvariantCulture) + "},{\"name\":\"metrics\",\"protocol\":\"TCP\",\"port\":9090,\"appProtocol\":\"http\"}]";

    public static string HttpPort(int port) => Ports("http", port);

    public static string Event(string type, string obj) => "{\"type\":\"" + type + "\",\"object\":" + obj + "}";

    public static string Bookmark(string resourceVersion, bool initialEventsEnd = false)
        => initialEventsEnd
            ? "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\"" + resourceVersion + "\",\"creationTimestamp\":null,\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}},\"endpoints\":null}}"
            : "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"\",\"metadata\":{\"resourceVersion\":\"" + resourceVersion + "\"}}}";

    /// <summary>
    /// A BOOKMARK exactly as kube-apiserver's watch cache serialises it for EndpointSlices: Go writes the zero values of
    /// the kind (<c>"addressType":""</c>, <c>"endpoints":null</c>, <c>"ports":null</c>, <c>"creationTimestamp":null</c>).
    /// </summary>
    public static string WatchCacheBookmark(string resourceVersion)
        => "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\"" + resourceVersion
           + "\",\"creationTimestamp\":null},\"addressType\":\"\",\"endpoints\":null,\"ports\":null}}";

    public static string Status(int code, string reason, string message)
        => "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"" + message + "\",\"reason\":\"" + reason + "\",\"code\":" + code.ToString(CultureInfo.InvariantCulture) + "}";

    /// <summary>
    /// The Status of a version the API server's watch cache has not reached, as <c>storage.NewTooLargeResourceVersionError</c>
    /// builds it (504, reason <c>Timeout</c>, cause <c>ResourceVersionTooLarge</c>, retry after 1 s).
    /// </summary>
    public static string TooLargeResourceVersionStatus(string asked, string current)
        => "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"Timeout: Too large resource version: " + asked + ", current: " + current
           + "\",\"reason\":\"Timeout\",\"details\":{\"causes\":[{\"reason\":\"ResourceVersionTooLarge\",\"message\":\"Too large resource version\"}],\"retryAfterSeconds\":1},\"code\":504}";

    public static string Gone(string reason = "Expired", string message = "too old resource version: 44982 (53593)")
        => "{\"type\":\"ERROR\",\"object\":" + Status(410, reason, message) + "}";

    public static string List(string resourceVersion, string? continueToken, params string[] slices)
        => "{\"kind\":\"EndpointSliceList\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\"" + resourceVersion + "\""
           + (continueToken is null ? "" : ",\"continue\":\"" + continueToken + "\"")
           + "},\"items\":[" + string.Join(',', slices) + "]}";

    /// <summary>A core/v1 Endpoints object (the legacy API) with the usual metadata noise.</summary>
    public static string LegacyEndpoints(string name, string resourceVersion, params string[] subsets)
        => "{\"kind\":\"Endpoints\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"" + name + "\",\"namespace\":\"shop\",\"uid\":\"e-1\",\"resourceVersion\":\"" + resourceVersion
           + "\",\"creationTimestamp\":\"2026-11-01T10:00:00Z\",\"labels\":{\"app\":\"web\"},\"annotations\":{\"endpoints.kubernetes.io/last-change-trigger-time\":\"2026-11-01T10:00:00Z\"},\"managedFields\":" + ManagedFields() + "}"
           + (subsets.Length == 0 ? "" : ",\"subsets\":[" + string.Join(',', subsets) + "]") + "}";

    /// <summary>
    /// A core/v1 Endpoints object marked by the endpoints controller as over capacity (more than 1000 addresses;
    /// <paramref name="mark"/> <c>truncated</c> since Kubernetes 1.22, when it keeps only 1000).
    /// </summary>
    public static string LegacyEndpointsOverCapacity(string name, string resourceVersion, string mark, params string[] subsets)
        => LegacyEndpoints(name, resourceVersion, subsets).Replace("\"annotations\":{", "\"annotations\":{\"endpoints.kubernetes.io/over-capacity\":\"" + mark + "\",", StringComparison.Ordinal);

    /// <summary>One subset: ready and not-ready IPs (node "node-1") and raw ports JSON.</summary>
    public static string LegacySubset(string[] ready, string[] notReady, string ports)
    {
        static string Addresses(string[] ips) => string.Join(',', ips.Select(ip =>
            "{\"ip\":\"" + ip + "\",\"nodeName\":\"node-1\",\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"shop\",\"name\":\"web-" + ip.Replace('.', '-').Replace(':', '-') + "\",\"uid\":\"u\"}}"));
        return "{" + (ready.Length == 0 ? "" : "\"addresses\":[" + Addresses(ready) + "],")
               + (notReady.Length == 0 ? "" : "\"notReadyAddresses\":[" + Addresses(notReady) + "],")
               + "\"ports\":" + ports + "}";
    }

    public static string LegacyList(string resourceVersion, params string[] items)
        => "{\"kind\":\"EndpointsList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"" + resourceVersion + "\"},\"items\":[" + string.Join(',', items) + "]}";

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
