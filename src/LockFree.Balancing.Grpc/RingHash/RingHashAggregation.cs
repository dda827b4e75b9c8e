using Grpc.Core;

namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>gRFC A42 "Aggregated Connectivity State" and the proactive connect that goes with it.</summary>
internal static class RingHashAggregation
{
    /// <summary>
    /// Aggregates the endpoints' states, rules in A42's order: 1. any READY → READY; 2. two or more
    /// TRANSIENT_FAILURE → TRANSIENT_FAILURE; 3. any CONNECTING → CONNECTING; 4. one TRANSIENT_FAILURE among
    /// more than one endpoint → CONNECTING; 5. any IDLE → IDLE; 6. otherwise TRANSIENT_FAILURE.
    /// </summary>
    /// <param name="states">The endpoints' states as the policy sees them.</param>
    /// <returns>The policy's state.</returns>
    public static ConnectivityState Aggregate(ReadOnlySpan<ConnectivityState> states)
    {
        int ready = 0, connecting = 0, idle = 0, failed = 0;
        foreach (var state in states)
        {
            switch (state)
            {
                case ConnectivityState.Ready: ready++; break;
                case ConnectivityState.Connecting: connecting++; break;
                case ConnectivityState.Idle: idle++; break;
                case ConnectivityState.TransientFailure: failed++; break;
                default: break;
            }
        }

        if (ready > 0)
        {
            return ConnectivityState.Ready;
        }

        if (failed > 1)
        {
            return ConnectivityState.TransientFailure;
        }

        if (connecting > 0)
        {
            return ConnectivityState.Connecting;
        }

        if (failed == 1 && states.Length > 1)
        {
            return ConnectivityState.Connecting;
        }

        return idle > 0 ? ConnectivityState.Idle : ConnectivityState.TransientFailure;
    }

    /// <summary>
    /// Chooses the endpoint to connect proactively: while the policy reports CONNECTING or TRANSIENT_FAILURE,
    /// A42 keeps at least one endpoint connecting so that it recovers without picks; as grpc-go, when no endpoint
    /// is CONNECTING, the first IDLE endpoint in hash-key order is connected.
    /// </summary>
    /// <param name="aggregate">The policy's state.</param>
    /// <param name="states">The endpoints' states, in hash-key order.</param>
    /// <returns>The endpoint to connect, or -1.</returns>
    public static int ChooseEndpointToConnect(ConnectivityState aggregate, ReadOnlySpan<ConnectivityState> states)
    {
        if (aggregate is not (ConnectivityState.Connecting or ConnectivityState.TransientFailure))
        {
            return -1;
        }

        var idle = -1;
        for (var i = 0; i < states.Length; i++)
        {
            if (states[i] == ConnectivityState.Connecting)
            {
                return -1;
            }

            if (idle < 0 && states[i] == ConnectivityState.Idle)
            {
                idle = i;
            }
        }

        return idle;
    }
}
