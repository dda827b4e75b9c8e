using LockFree.Balancing.Load;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// The request feature that says "this request holds one in-flight count on this destination's core endpoint": set
/// by a LockFree policy that counts at the pick (<see cref="ClusterSettings.CountsAtPick"/>) when it places the request,
/// taken by <see cref="LeaseReleasingForwarder"/> when it forwards the request, and released when the forwarder
/// returns (the same span YARP's own <c>ConcurrentRequestCount</c> covers).
/// </summary>
/// <remarks>
/// PERF: one immutable instance per destination and endpoint state, built with the destination table and set as the
/// feature by reference, so marking a request allocates nothing. The count itself lives in the core's
/// <see cref="EndpointState"/>, which outlives table rebuilds: a release always goes to the counter the pick took.
/// </remarks>
internal sealed class HeldLease(EndpointState state)
{
    public EndpointState State { get; } = state;

    /// <summary>Marks <paramref name="context"/> as holding this count; a count the request already held (a second pick on one request) is released first.</summary>
    public void HoldOn(HttpContext context)
    {
        IFeatureCollection features = context.Features;
        features.Get<HeldLease>()?.State.Release();
        features.Set(this);
    }

    /// <summary>
    /// Takes the count <paramref name="context"/> holds, if any: the mark is removed (a later take, or a second
    /// pick, finds none) and the caller now owns the count, to release once.
    /// </summary>
    /// <returns>The endpoint state to release, or <see langword="null"/> when the request holds no count.</returns>
    public static EndpointState? Take(HttpContext context)
    {
        IFeatureCollection features = context.Features;
        if (features.Get<HeldLease>() is not HeldLease held)
        {
            return null;
        }

        features.Set<HeldLease>(null);
        return held.State;
    }

    /// <summary>Releases the count <paramref name="context"/> holds, if any; later calls do nothing.</summary>
    /// <returns><see langword="true"/> when a count was released.</returns>
    public static bool ReleaseFrom(HttpContext context)
    {
        if (Take(context) is not EndpointState state)
        {
            return false;
        }

        state.Release();
        return true;
    }
}
