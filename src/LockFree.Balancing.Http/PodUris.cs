using System.Collections.Concurrent;

namespace LockFree.Balancing.Http;

/// <summary>
/// Turns a request URI naming a Service into the same URI naming the picked pod, reusing the last such URI per pod
/// while the scheme, path and query repeat.
/// </summary>
/// <remarks>
/// PERF: most clients send a few paths over and over. A fresh <see cref="Uri"/> per request costs its text, the
/// object, and the parts the socket handler then computes on it (host, path and query: about 250 B together); a
/// <see cref="Uri"/> is immutable and safe to share between requests, so a hit costs a dictionary lookup and a
/// string comparison instead. One entry per pod: a client alternating between paths replaces it each time and
/// pays what it would without the reuse, plus one small entry.
/// </remarks>
internal sealed class PodUris
{
    private static readonly UriCreationOptions RewrittenUriOptions = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private readonly ConcurrentDictionary<Endpoint, LastUri> _last = new();

    /// <summary>Entries held, one at most per pod rewritten to since the last <see cref="Retain"/>.</summary>
    public int Count => _last.Count;

    /// <summary>The URI with <paramref name="original"/>'s scheme, path and query and <paramref name="pod"/>'s address.</summary>
    public Uri For(Uri original, Endpoint pod)
    {
        // PathAndQuery of an absolute Uri is already escaped and canonical; skipping canonicalization keeps it byte
        // for byte and saves a pass.
        string pathAndQuery = original.PathAndQuery;
        string scheme = original.Scheme;
        if (_last.TryGetValue(pod, out LastUri? last)
            && string.Equals(last.PathAndQuery, pathAndQuery, StringComparison.Ordinal)
            && string.Equals(last.Scheme, scheme, StringComparison.Ordinal))
        {
            return last.Uri;
        }

        var rewritten = new Uri(string.Concat(scheme, "://", pod.Key, pathAndQuery), in RewrittenUriOptions);
        _last[pod] = new LastUri(scheme, pathAndQuery, rewritten);
        return rewritten;
    }

    /// <summary>Forgets the pods that left the set, so the entries stay bounded by the pods the Service has.</summary>
    /// <remarks>Runs on the watch's delivery, never on a request. A request racing with it may re-add a leaving pod's entry; the next delivery drops it.</remarks>
    public void Retain(IReadOnlyList<Endpoint> endpoints)
    {
        if (_last.IsEmpty)
        {
            return;
        }

        var current = new HashSet<Endpoint>(endpoints);
        foreach (Endpoint pod in _last.Keys)
        {
            if (!current.Contains(pod))
            {
                _last.TryRemove(pod, out _);
            }
        }
    }

    private sealed record LastUri(string Scheme, string PathAndQuery, Uri Uri);
}
