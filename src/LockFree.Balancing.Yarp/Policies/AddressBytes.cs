namespace LockFree.Balancing.Yarp.Policies;

/// <summary>The buffer a client-ip key is written to.</summary>
internal static class AddressBytes
{
    /// <summary>Enough for an IPv6 address.</summary>
    public const int MaxLength = 16;
}
