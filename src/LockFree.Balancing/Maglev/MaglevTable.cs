using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using LockFree.Balancing.Hashing;

namespace LockFree.Balancing.Maglev;

/// <summary>
/// A Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
/// Balancer", NSDI 2016): M slots, M prime, each holding the index of the endpoint that owns it.
/// A lookup is one multiply and one load.
/// </summary>
/// <remarks>
/// <para>
/// Population, byte for byte: for an endpoint with UTF-8 key bytes K, let h = XXH3-64(K);
/// offset = (h &gt;&gt; 32) mod M and skip = ((h mod 2^32) mod (M − 1)) + 1, so its permutation
/// offset, offset + skip, offset + 2·skip, … (mod M) visits every slot (M is prime). Endpoints take
/// turns in ordinal key order, each claiming the next free slot of its permutation; with weights, an
/// endpoint earns w/max(w) of a turn per round, so slots are shared in proportion to weight. The table
/// depends only on the set, never on the order it was given in.
/// </para>
/// <para>
/// A key's slot is ⌊(high 32 bits of its XXH3-64) · M / 2^32⌋ (Lemire's multiply-shift range
/// reduction, uniform like <c>mod M</c> but without a division).
/// </para>
/// <para>Immutable after construction; safe to read from any thread.</para>
/// </remarks>
internal sealed class MaglevTable
{
    /// <summary>The default size, the prime Envoy uses: within ~1 % of the fair share for N ≤ 650.</summary>
    public const int DefaultSize = 65537;

    /// <summary>The largest accepted size; 4 bytes per slot.</summary>
    public const int MaxSize = 16_777_259;

    public static readonly MaglevTable Empty = new([]);

    private readonly int[] _slots;

    private MaglevTable(int[] slots) => _slots = slots;

    /// <summary>M, or 0 for a table without endpoints.</summary>
    public int Size => _slots.Length;

    /// <summary>For each slot, the index of the endpoint that owns it.</summary>
    public ReadOnlySpan<int> Slots => _slots;

    /// <summary>The owner of a key hash. The table must not be empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int OwnerOf(ulong keyHash)
    {
        nint slot = (nint)(((keyHash >> 32) * (ulong)(uint)_slots.Length) >> 32);
        return Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_slots), slot);
    }

    /// <summary>True when <paramref name="value"/> is prime (trial division; sizes are at most 2^24).</summary>
    public static bool IsPrime(int value)
    {
        if (value < 2)
        {
            return false;
        }

        if (value % 2 == 0)
        {
            return value == 2;
        }

        for (int divisor = 3; (long)divisor * divisor <= value; divisor += 2)
        {
            if (value % divisor == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Fills a table of <paramref name="size"/> slots for the endpoints with weight above 0.</summary>
    /// <param name="endpoints">The snapshot's endpoints in ordinal key order.</param>
    /// <param name="pickable">The indexes of the endpoints with weight above 0, ascending (the snapshot's).</param>
    /// <param name="size">M, a prime larger than the number of pickable endpoints.</param>
    public static MaglevTable Build(Endpoint[] endpoints, int[] pickable, int size)
    {
        if (pickable.Length == 0)
        {
            return Empty;
        }

        if (pickable.Length >= size)
        {
            throw new ArgumentException(
                $"A Maglev table of {size} slots cannot hold {pickable.Length} endpoints: choose a prime table size above 100 × the endpoint count (for example 65537, 131071, 262147, 524287, 1048573, 2097143 or 4194301).");
        }

        int count = pickable.Length;
        int[] position = new int[count];
        int[] skip = new int[count];
        int[] credit = new int[count];
        int maxWeight = 0;
        Span<byte> keyBytes = stackalloc byte[1024];
        for (int i = 0; i < count; i++)
        {
            Endpoint endpoint = endpoints[pickable[i]];
            ulong hash = KeyHasher.Hash(keyBytes[..Encoding.UTF8.GetBytes(endpoint.Key, keyBytes)]);
            position[i] = (int)((hash >> 32) % (uint)size);
            skip[i] = (int)((uint)hash % (uint)(size - 1)) + 1;
            maxWeight = Math.Max(maxWeight, endpoint.Weight);
        }

        int[] slots = new int[size];
        slots.AsSpan().Fill(-1);
        int filled = 0;
        while (true)
        {
            for (int i = 0; i < count; i++)
            {
                // Weighted turns: each round an endpoint earns its weight in credit and claims one slot per
                // max-weight of credit, so over the fill it claims slots in proportion to its weight.
                credit[i] += endpoints[pickable[i]].Weight;
                while (credit[i] >= maxWeight)
                {
                    credit[i] -= maxWeight;
                    int slot = position[i];
                    while (slots[slot] >= 0)
                    {
                        slot += skip[i];
                        if (slot >= size)
                        {
                            slot -= size;
                        }
                    }

                    slots[slot] = pickable[i];
                    slot += skip[i];
                    position[i] = slot >= size ? slot - size : slot;
                    if (++filled == size)
                    {
                        return new MaglevTable(slots);
                    }
                }
            }
        }
    }
}
