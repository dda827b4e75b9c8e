namespace LockFree.Balancing.Yarp.Policies;

/// <summary>The kinds of <see cref="HashKeySource"/>.</summary>
internal enum HashKeyKind
{
    Header,
    Cookie,
    Route,
    ClientIp,
}
