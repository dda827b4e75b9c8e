namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>The outcome kinds of a <c>ring_hash</c> pick.</summary>
internal enum RingHashPickKind
{
    /// <summary>Send the call to the chosen endpoint's subchannel.</summary>
    Pick,

    /// <summary>Wait for the next picker.</summary>
    Queue,

    /// <summary>Fail the call (unless it waits for ready) with the chosen endpoint's failure.</summary>
    Fail,
}
