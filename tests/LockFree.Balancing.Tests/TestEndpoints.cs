namespace LockFree.Balancing.Tests;

/// <summary>Endpoint sets for tests, deterministic for a given seed.</summary>
internal static class TestEndpoints
{
    /// <summary><paramref name="count"/> distinct IPv4 endpoints in 10.0.0.0/8, port 8080, weight 1.</summary>
    public static Endpoint[] Distinct(int count, int seed)
    {
        Random random = new(seed);
        HashSet<int> used = [];
        Endpoint[] endpoints = new Endpoint[count];
        for (int i = 0; i < count; i++)
        {
            int address;
            do
            {
                address = random.Next(1, 1 << 24);
            }
            while (!used.Add(address));

            endpoints[i] = new Endpoint($"10.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}", 8080);
        }

        return endpoints;
    }

    /// <summary>10.0.0.1:8080 … 10.0.0.n:8080.</summary>
    public static Endpoint[] Sequential(int count)
        => Enumerable.Range(1, count).Select(i => new Endpoint($"10.0.{i / 256}.{i % 256}", 8080)).ToArray();

    /// <summary>Keys of 16–32 bytes, like user ids and session tokens.</summary>
    public static string[] Keys(int count, int seed)
    {
        Random random = new(seed);
        string[] keys = new string[count];
        for (int i = 0; i < count; i++)
        {
            keys[i] = $"user-{random.NextInt64():x16}-{i}";
        }

        return keys;
    }
}
