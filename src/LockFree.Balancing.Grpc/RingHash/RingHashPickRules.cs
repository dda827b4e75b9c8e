using Grpc.Core;

namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>
/// The picker's state rules, apart from grpc-dotnet types so that they can be tested with plain state arrays.
/// </summary>
/// <remarks>Pure functions of an immutable ring and state snapshot; the only side effect is the connector.</remarks>
internal static class RingHashPickRules
{
    /// <summary>
    /// Picks for a request hash that came from the request (gRFC A42 "Picker Behavior", its pseudo-code step by step).
    /// </summary>
    /// <param name="ring">The ring.</param>
    /// <param name="states">Each endpoint's state as the policy sees it (TRANSIENT_FAILURE is sticky until READY).</param>
    /// <param name="hash">The request hash.</param>
    /// <param name="connector">Triggers connection attempts.</param>
    /// <returns>The decision.</returns>
    public static RingHashPickDecision PickForHash(RingHashRing ring, ReadOnlySpan<ConnectivityState> states, ulong hash, IRingHashConnector connector)
    {
        var firstIndex = ring.FindIndex(hash);
        var first = ring.EndpointAt(firstIndex);
        switch (states[first])
        {
            case ConnectivityState.Ready:
                return new RingHashPickDecision(RingHashPickKind.Pick, first);
            case ConnectivityState.Idle:
                connector.TriggerConnect(first);
                return RingHashPickDecision.Queue;
            case ConnectivityState.Connecting:
                return RingHashPickDecision.Queue;
            default:
                return PickAfterFailure(ring, states, firstIndex, first, connector);
        }
    }

    /// <summary>
    /// Picks for a random hash (gRFC A76, as grpc-go's picker): the first READY endpoint from the hash on; on the
    /// way, connect at most one IDLE endpoint unless one is already CONNECTING, and queue if so; fail when all are
    /// in TRANSIENT_FAILURE.
    /// </summary>
    /// <param name="ring">The ring.</param>
    /// <param name="states">Each endpoint's state as the policy sees it.</param>
    /// <param name="hash">The random hash.</param>
    /// <param name="anyConnecting">Whether some endpoint is CONNECTING.</param>
    /// <param name="connector">Triggers connection attempts.</param>
    /// <returns>The decision.</returns>
    public static RingHashPickDecision PickForRandomHash(RingHashRing ring, ReadOnlySpan<ConnectivityState> states, ulong hash, bool anyConnecting, IRingHashConnector connector)
    {
        var firstIndex = ring.FindIndex(hash);
        var count = ring.Count;
        var requestedConnection = anyConnecting;
        for (var i = 0; i < count; i++)
        {
            var index = firstIndex + i;
            if (index >= count)
            {
                index -= count;
            }

            var endpoint = ring.EndpointAt(index);
            var state = states[endpoint];
            if (state == ConnectivityState.Ready)
            {
                return new RingHashPickDecision(RingHashPickKind.Pick, endpoint);
            }

            if (!requestedConnection && state == ConnectivityState.Idle)
            {
                // Connect, but keep looking for a READY endpoint further on.
                requestedConnection = true;
                connector.TriggerConnect(endpoint);
            }
        }

        return requestedConnection
            ? RingHashPickDecision.Queue
            : new RingHashPickDecision(RingHashPickKind.Fail, ring.EndpointAt(firstIndex));
    }

    // The TRANSIENT_FAILURE branch of A42's pseudo-code, kept out of the hot path.
    private static RingHashPickDecision PickAfterFailure(RingHashRing ring, ReadOnlySpan<ConnectivityState> states, int firstIndex, int first, IRingHashConnector connector)
    {
        // Step 1 – make sure the failed endpoint retries (after its backoff).
        connector.TriggerConnect(first);
        var count = ring.Count;
        var foundSecond = false;
        var foundFirstNonFailed = false;
        for (var i = 1; i < count; i++)
        {
            var index = firstIndex + i;
            if (index >= count)
            {
                index -= count;
            }

            var endpoint = ring.EndpointAt(index);
            if (endpoint == first)
            {
                // Skip the first endpoint's other entries: we look for the next *distinct* subchannel.
                continue;
            }

            var state = states[endpoint];
            if (state == ConnectivityState.Ready)
            {
                return new RingHashPickDecision(RingHashPickKind.Pick, endpoint);
            }

            // Step 2 – the second distinct endpoint is treated as the first would have been.
            if (!foundSecond)
            {
                if (state == ConnectivityState.Connecting)
                {
                    return RingHashPickDecision.Queue;
                }

                if (state == ConnectivityState.Idle)
                {
                    connector.TriggerConnect(endpoint);
                    return RingHashPickDecision.Queue;
                }

                foundSecond = true;
            }

            // Step 3 – both failed: walk the rest of the ring for a READY endpoint, keeping failed endpoints
            // retrying up to the first one that has not failed (connected if IDLE).
            if (!foundFirstNonFailed)
            {
                if (state == ConnectivityState.TransientFailure)
                {
                    connector.TriggerConnect(endpoint);
                }
                else
                {
                    if (state == ConnectivityState.Idle)
                    {
                        connector.TriggerConnect(endpoint);
                    }

                    foundFirstNonFailed = true;
                }
            }
        }

        return new RingHashPickDecision(RingHashPickKind.Fail, first);
    }
}
