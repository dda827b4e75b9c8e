namespace LockFree.Balancing.Load;

/// <summary>
/// Maps a 64-bit hash to the index of the endpoint that owns it in one snapshot: a ring lookup, a Maglev
/// table lookup. Implemented by structs so that <see cref="BoundedLoadPlacer.TryPlace{TLocator}"/> is
/// specialized per picker by the JIT: no delegate, no interface dispatch, no allocation.
/// </summary>
internal interface IKeyLocator
{
    /// <summary>The owner of <paramref name="hash"/>. Only called when the snapshot has a pickable endpoint.</summary>
    int Locate(ulong hash);
}
