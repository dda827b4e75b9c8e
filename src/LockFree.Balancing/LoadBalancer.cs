using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LockFree.Balancing.Hashing;
using LockFree.Balancing.Load;

namespace LockFree.Balancing;

/// <summary>
/// Picks the endpoint that should serve a request, from an endpoint set that can change at any time.
/// The one public abstraction over every picker: <see cref="RoundRobinBalancer"/>, <see cref="RandomBalancer"/>,
/// <see cref="PowerOfTwoChoicesBalancer"/>, <see cref="ConsistentHashBalancer"/> and <see cref="MaglevBalancer"/>
/// (the last two optionally with bounded loads).
/// </summary>
/// <remarks>
/// <para><b>Concurrency contract.</b></para>
/// <list type="bullet">
/// <item><description>
/// Picks (<c>Pick</c>, <c>TryPick</c>, <c>Acquire</c>, <c>TryAcquire</c>) may run on any number of
/// threads. They read the current snapshot once with <see cref="Volatile.Read{T}(ref readonly T)"/>,
/// take no lock, never wait for an update and allocate nothing.
/// </description></item>
/// <item><description>
/// Updates (<see cref="Update"/>, <see cref="Add"/>, <see cref="Remove"/>) are serialized by a
/// writer lock that picks never touch. Each builds a complete new snapshot off the hot path and
/// publishes it with one reference write, so a pick sees the old set or the new one, never a mix.
/// </description></item>
/// <item><description>
/// In-flight counts live in per-endpoint objects shared by all snapshots: an endpoint that stays
/// keeps its count, and a lease on a removed endpoint still releases the count it took.
/// </description></item>
/// </list>
/// <para>
/// Keys: a byte key is hashed as given; a text key is hashed as its UTF-8 bytes, so
/// <c>TryPick("user-42")</c> and <c>TryPick("user-42"u8)</c> pick the same endpoint.
/// Pickers that do not place by key ignore it.
/// </para>
/// </remarks>
public abstract partial class LoadBalancer
{
    private readonly Lock _writerGate = new();

    // Guarded by _writerGate. Every key of the current set, plus removed keys with requests still
    // in flight (draining), so that a key that comes back finds its count again.
    private readonly Dictionary<string, EndpointState> _statesByKey = new(StringComparer.Ordinal);

    // Random probes for an available endpoint before sweeping the list, when the first choice is ejected.
    private const int MaxAvailabilityProbes = 16;

    // Weighted redraws for an available endpoint before drawing from the table of available endpoints only.
    private const int MaxAvailabilityRedraws = 8;

    private readonly bool _placesByKey;
    private readonly EndpointState? _fallback;
    private readonly TopologyOptions? _topology;
    private BalancerSnapshot _snapshot;
    private TurnCursor _keylessCursor;

    private protected LoadBalancer(LoadBalancerOptions options, bool placesByKey, bool keepsInFlightTotal)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ValidateShared(nameof(options));
        _placesByKey = placesByKey;
        Time = options.TimeProvider;
        InFlightTotal = keepsInFlightTotal ? new InFlightTotal() : null;
        Ejection = options.OutlierEjection is { } ejection ? new OutlierDetector(ejection, Time, () => CurrentSnapshot, options.Ejected) : null;

        // The fallback's requests are counted on a state of their own that never joins the set or the total.
        _fallback = options.FallbackEndpoint is { } fallback ? new EndpointState(fallback, total: null, ejection: null, Time) : null;

        // A copy: options are mutable, and a preference that changed under a running balancer would apply to some
        // snapshots and not others.
        _topology = options.Topology is { } topology
            ? new TopologyOptions { LocalZone = topology.LocalZone, LocalNode = topology.LocalNode, RequireHints = topology.RequireHints }
            : null;
        _snapshot = new BalancerSnapshot(version: 0, [], [], CreateScope([], [], previous: null, previousToNext: [], added: []), local: null);
    }

    /// <summary>The current endpoints, in ordinal key order. Reading it allocates nothing.</summary>
    /// <remarks>To read the set and its version together, use <see cref="View"/>.</remarks>
    public IReadOnlyList<Endpoint> Endpoints => Volatile.Read(ref _snapshot).ReadOnlyEndpoints;

    /// <summary>Increases by one with every update that changed the set; 0 before the first.</summary>
    /// <remarks>To read the set and its version together, use <see cref="View"/>.</remarks>
    public long Version => Volatile.Read(ref _snapshot).Version;

    /// <summary>The current endpoints together with their version, from one snapshot read. Reading it allocates nothing.</summary>
    public EndpointSetView View => Volatile.Read(ref _snapshot).View;

    /// <summary>The balancer-wide in-flight total, for pickers that bound loads.</summary>
    private protected InFlightTotal? InFlightTotal { get; }

    /// <summary>Passive outlier ejection, when configured.</summary>
    private protected OutlierDetector? Ejection { get; }

    /// <summary>The clock of ejections and request rates.</summary>
    private protected TimeProvider Time { get; }

    /// <summary>Replaces the endpoint set.</summary>
    /// <param name="endpoints">The complete new set. Duplicates of the same key with the same attributes count once.</param>
    /// <returns><see langword="true"/> when the set changed and a new snapshot was published; <see langword="false"/> for an update with the same set.</returns>
    /// <exception cref="ArgumentException">The set holds one key twice with different attributes, or the picker's index would exceed its limit; the current set stays in force.</exception>
    /// <exception cref="ObjectDisposedException">The balancer was disposed.</exception>
    public bool Update(IEnumerable<Endpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        Endpoint[] next = Normalize(endpoints);
        lock (_writerGate)
        {
            ThrowIfDisposed();
            return Publish(next);
        }
    }

    /// <summary>Adds endpoints, or replaces the attributes of endpoints whose key is already present.</summary>
    /// <param name="endpoints">The endpoints to add.</param>
    /// <returns><see langword="true"/> when the set changed.</returns>
    /// <exception cref="ArgumentException">The same key appears twice with different attributes.</exception>
    /// <exception cref="ObjectDisposedException">The balancer was disposed.</exception>
    public bool Add(params ReadOnlySpan<Endpoint> endpoints)
    {
        Endpoint[] added = Normalize(endpoints.ToArray());
        lock (_writerGate)
        {
            ThrowIfDisposed();
            Dictionary<string, Endpoint> merged = new(StringComparer.Ordinal);
            foreach (Endpoint endpoint in Volatile.Read(ref _snapshot).Endpoints)
            {
                merged[endpoint.Key] = endpoint;
            }

            foreach (Endpoint endpoint in added)
            {
                merged[endpoint.Key] = endpoint;
            }

            return Publish(Normalize(merged.Values));
        }
    }

    /// <summary>Removes the endpoints with these keys; keys not in the set are ignored.</summary>
    /// <param name="endpoints">The endpoints to remove (only their keys matter).</param>
    /// <returns><see langword="true"/> when the set changed.</returns>
    /// <exception cref="ObjectDisposedException">The balancer was disposed.</exception>
    public bool Remove(params ReadOnlySpan<Endpoint> endpoints)
    {
        HashSet<string> removed = new(StringComparer.Ordinal);
        foreach (Endpoint endpoint in endpoints)
        {
            ArgumentNullException.ThrowIfNull(endpoint, nameof(endpoints));
            removed.Add(endpoint.Key);
        }

        lock (_writerGate)
        {
            ThrowIfDisposed();
            Endpoint[] current = Volatile.Read(ref _snapshot).Endpoints;
            return Publish(Array.FindAll(current, endpoint => !removed.Contains(endpoint.Key)));
        }
    }

    /// <summary>Picks an endpoint without a key and without counting a request in flight.</summary>
    /// <param name="endpoint">The endpoint, when one is available.</param>
    /// <returns><see langword="false"/> when no endpoint is available (<see cref="GetUnavailableReason"/> says why).</returns>
    /// <remarks>Pickers that place by key spread keyless picks over the ring as if each carried a fresh key.</remarks>
    public bool TryPick([NotNullWhen(true)] out Endpoint? endpoint)
        => TryPickByHash(_placesByKey ? NextKeylessHash() : 0, out endpoint);

    /// <summary>Picks the endpoint for a key without counting a request in flight.</summary>
    /// <param name="key">The affinity key, hashed as given.</param>
    /// <param name="endpoint">The endpoint, when one is available.</param>
    /// <returns><see langword="false"/> when no endpoint is available (<see cref="GetUnavailableReason"/> says why).</returns>
    public bool TryPick(ReadOnlySpan<byte> key, [NotNullWhen(true)] out Endpoint? endpoint)
        => TryPickByHash(_placesByKey ? KeyHasher.Hash(key) : 0, out endpoint);

    /// <summary>Picks the endpoint for a text key (hashed as UTF-8) without counting a request in flight.</summary>
    /// <param name="key">The affinity key.</param>
    /// <param name="endpoint">The endpoint, when one is available.</param>
    /// <returns><see langword="false"/> when no endpoint is available (<see cref="GetUnavailableReason"/> says why).</returns>
    public bool TryPick(ReadOnlySpan<char> key, [NotNullWhen(true)] out Endpoint? endpoint)
        => TryPickByHash(_placesByKey ? KeyHasher.Hash(key) : 0, out endpoint);

    /// <summary>Picks an endpoint without a key and without counting a request in flight.</summary>
    /// <returns>The endpoint.</returns>
    /// <exception cref="NoEndpointsException">No endpoint is available; <see cref="NoEndpointsException.Reason"/> says whether the set is empty or every endpoint is ejected.</exception>
    public Endpoint Pick() => TryPick(out Endpoint? endpoint) ? endpoint : throw NoEndpoints();

    /// <summary>Picks the endpoint for a key without counting a request in flight.</summary>
    /// <param name="key">The affinity key, hashed as given.</param>
    /// <returns>The endpoint.</returns>
    /// <exception cref="NoEndpointsException">No endpoint is available; <see cref="NoEndpointsException.Reason"/> says whether the set is empty or every endpoint is ejected.</exception>
    public Endpoint Pick(ReadOnlySpan<byte> key) => TryPick(key, out Endpoint? endpoint) ? endpoint : throw NoEndpoints();

    /// <summary>Picks the endpoint for a text key (hashed as UTF-8) without counting a request in flight.</summary>
    /// <param name="key">The affinity key.</param>
    /// <returns>The endpoint.</returns>
    /// <exception cref="NoEndpointsException">No endpoint is available; <see cref="NoEndpointsException.Reason"/> says whether the set is empty or every endpoint is ejected.</exception>
    public Endpoint Pick(ReadOnlySpan<char> key) => TryPick(key, out Endpoint? endpoint) ? endpoint : throw NoEndpoints();

    /// <summary>Places a request without a key and counts it in flight until the lease is disposed.</summary>
    /// <param name="lease">The lease, when an endpoint is available.</param>
    /// <returns><see langword="false"/> when no endpoint is available (<see cref="GetUnavailableReason"/> says why).</returns>
    public bool TryAcquire(out EndpointLease lease)
        => AcquireOrFallback(_placesByKey ? NextKeylessHash() : 0, out lease) == PlacementResult.Placed;

    /// <summary>Places a request by key and counts it in flight until the lease is disposed.</summary>
    /// <param name="key">The affinity key, hashed as given.</param>
    /// <param name="lease">The lease, when an endpoint is available.</param>
    /// <returns><see langword="false"/> when no endpoint is available (<see cref="GetUnavailableReason"/> says why).</returns>
    public bool TryAcquire(ReadOnlySpan<byte> key, out EndpointLease lease)
        => AcquireOrFallback(_placesByKey ? KeyHasher.Hash(key) : 0, out lease) == PlacementResult.Placed;

    /// <summary>Places a request by text key (hashed as UTF-8) and counts it in flight until the lease is disposed.</summary>
    /// <param name="key">The affinity key.</param>
    /// <param name="lease">The lease, when an endpoint is available.</param>
    /// <returns><see langword="false"/> when no endpoint is available (<see cref="GetUnavailableReason"/> says why).</returns>
    public bool TryAcquire(ReadOnlySpan<char> key, out EndpointLease lease)
        => AcquireOrFallback(_placesByKey ? KeyHasher.Hash(key) : 0, out lease) == PlacementResult.Placed;

    /// <summary>Places a request without a key and counts it in flight until the lease is disposed.</summary>
    /// <returns>The lease; dispose it when the request completes.</returns>
    /// <exception cref="NoEndpointsException">No endpoint is available; <see cref="NoEndpointsException.Reason"/> says whether the set is empty or every endpoint is ejected.</exception>
    public EndpointLease Acquire()
        => AcquireOrFallback(_placesByKey ? NextKeylessHash() : 0, out EndpointLease lease) is var result && result == PlacementResult.Placed ? lease : throw NoEndpoints(result);

    /// <summary>Places a request by key and counts it in flight until the lease is disposed.</summary>
    /// <param name="key">The affinity key, hashed as given.</param>
    /// <returns>The lease; dispose it when the request completes.</returns>
    /// <exception cref="NoEndpointsException">No endpoint is available; <see cref="NoEndpointsException.Reason"/> says whether the set is empty or every endpoint is ejected.</exception>
    public EndpointLease Acquire(ReadOnlySpan<byte> key)
        => AcquireOrFallback(_placesByKey ? KeyHasher.Hash(key) : 0, out EndpointLease lease) is var result && result == PlacementResult.Placed ? lease : throw NoEndpoints(result);

    /// <summary>Places a request by text key (hashed as UTF-8) and counts it in flight until the lease is disposed.</summary>
    /// <param name="key">The affinity key.</param>
    /// <returns>The lease; dispose it when the request completes.</returns>
    /// <exception cref="NoEndpointsException">No endpoint is available; <see cref="NoEndpointsException.Reason"/> says whether the set is empty or every endpoint is ejected.</exception>
    public EndpointLease Acquire(ReadOnlySpan<char> key)
        => AcquireOrFallback(_placesByKey ? KeyHasher.Hash(key) : 0, out EndpointLease lease) is var result && result == PlacementResult.Placed ? lease : throw NoEndpoints(result);

    /// <summary>
    /// Records a load the endpoint reported about itself (for example CPU utilization or queue length,
    /// from a response header), for pickers configured with <see cref="LoadMeasure.Reported"/>.
    /// </summary>
    /// <param name="endpoint">The endpoint (only its key matters).</param>
    /// <param name="load">The reported load: finite and not negative; lower is less loaded.</param>
    /// <returns><see langword="false"/> when the endpoint is not in the current set (the report is dropped).</returns>
    /// <exception cref="ArgumentOutOfRangeException">The load is negative, NaN or infinite.</exception>
    /// <remarks>Lock-free and allocation-free: a binary search of the current snapshot by key and one write.</remarks>
    public bool ReportLoad(Endpoint endpoint, double load)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!double.IsFinite(load) || load < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(load), load, "A reported load must be a finite number of at least 0.");
        }

        BalancerSnapshot snapshot = Volatile.Read(ref _snapshot);
        int index = IndexOfKey(snapshot.Endpoints, endpoint.Key);
        if (index < 0)
        {
            return false;
        }

        snapshot.States[index].ReportLoad(load, Time.GetTimestamp());
        return true;
    }

    /// <summary>
    /// Why a pick or acquire would find nothing right now, for a caller whose <c>TryPick</c>/<c>TryAcquire</c>
    /// returned <see langword="false"/>: <see cref="NoEndpointsReason.NoEndpoints"/> (empty set or every weight 0),
    /// <see cref="NoEndpointsReason.AllEjected"/>, or <see langword="null"/> when an endpoint is available.
    /// </summary>
    /// <returns>The reason, or <see langword="null"/> when an endpoint is available.</returns>
    /// <remarks>
    /// Reads the current snapshot and the clock: the answer describes this moment, which may differ from the moment
    /// of the failed call. Allocation-free and lock-free, O(n) while endpoints are ejected. Bounded placements never
    /// fail for capacity (<see cref="PickOutcome.OverCapacity"/>; <see cref="NoEndpointsReason"/> says why).
    /// </remarks>
    public NoEndpointsReason? GetUnavailableReason()
    {
        BalancerSnapshot snapshot = Volatile.Read(ref _snapshot);
        if (snapshot.Pickable.Length == 0)
        {
            return NoEndpointsReason.NoEndpoints;
        }

        if (!ChecksEjections(out long now))
        {
            return null;
        }

        foreach (int index in snapshot.Pickable)
        {
            if (!IsEjected(snapshot, index, now))
            {
                return null;
            }
        }

        return NoEndpointsReason.AllEjected;
    }

    /// <summary>
    /// Every endpoint the balancer accounts for: the current set, and removed endpoints whose requests are still
    /// in flight (draining), with their in-flight count, load measures and ejection state. For diagnostics:
    /// it takes the writer lock and allocates the list it returns; picks are never affected.
    /// </summary>
    /// <returns>The current endpoints in key order, then the draining ones in key order.</returns>
    public IReadOnlyList<EndpointStatus> GetStatus()
    {
        lock (_writerGate)
        {
            BalancerSnapshot snapshot = Volatile.Read(ref _snapshot);
            long now = Time.GetTimestamp();
            List<EndpointStatus> statuses = new(snapshot.Endpoints.Length);
            HashSet<string> current = new(StringComparer.Ordinal);
            for (int i = 0; i < snapshot.States.Length; i++)
            {
                EndpointState state = snapshot.States[i];
                bool pickable = snapshot.Endpoints[i].Weight > 0;
                statuses.Add(Describe(state, now, isDraining: false, isLocal: pickable && snapshot.IsLocal(i)));
                current.Add(state.Endpoint.Key);
            }

            foreach ((string key, EndpointState state) in _statesByKey.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            {
                if (!current.Contains(key) && state.InFlight > 0)
                {
                    statuses.Add(Describe(state, now, isDraining: true, isLocal: false));
                }
            }

            return statuses;
        }
    }

    /// <summary>The in-flight count of the endpoint with this key, or 0 when the balancer does not know it.</summary>
    internal int InFlightOf(string key)
    {
        lock (_writerGate)
        {
            return _statesByKey.TryGetValue(key, out EndpointState? state) ? state.InFlight : 0;
        }
    }

    /// <summary>The outlier detector, for tests that drive ejections directly.</summary>
    internal OutlierDetector? EjectionForTests => Ejection;

    /// <summary>True while an ejection may be in force, i.e. picks take the ejection-checking path; for tests.</summary>
    internal bool ChecksEjectionsNow => Ejection is { AnyEjected: true };

    /// <summary>The current snapshot, for tests and diagnostics.</summary>
    internal BalancerSnapshot CurrentSnapshot => Volatile.Read(ref _snapshot);

    /// <summary>Builds the picker's scope, with its index (ring, Maglev table, cycle, draw table), over some endpoints of a new set.</summary>
    /// <remarks>
    /// Called once from the base constructor, before the derived constructor has run, for the initial
    /// empty set: an implementation must not depend on its own fields when <paramref name="pickable"/> is empty.
    /// </remarks>
    /// <param name="endpoints">The new endpoints in ordinal key order.</param>
    /// <param name="pickable">The snapshot indexes the scope covers, all with weight above 0, ascending.</param>
    /// <param name="previous">
    /// The all-endpoints scope of the snapshot being replaced, when this is the new all-endpoints scope and the
    /// picker may patch it; <see langword="null"/>: build from <paramref name="pickable"/> alone.
    /// </param>
    /// <param name="previousToNext">With <paramref name="previous"/>: for each previous index, the new index of an endpoint that stays with the same weight, else -1.</param>
    /// <param name="added">With <paramref name="previous"/>: endpoints new to the set or with a changed weight, with their new index.</param>
    private protected abstract PickScope CreateScope(
        Endpoint[] endpoints,
        int[] pickable,
        PickScope? previous,
        ReadOnlySpan<int> previousToNext,
        ReadOnlySpan<(int Owner, Endpoint Endpoint)> added);

    /// <summary>
    /// The index of the endpoint picked among <paramref name="scope"/>'s, or -1 when none of them is available.
    /// <paramref name="outcome"/> says whether it is the picker's first choice.
    /// </summary>
    private protected abstract int PickIn(BalancerSnapshot snapshot, PickScope scope, ulong keyHash, out PickOutcome outcome);

    /// <summary>
    /// Places a request among <paramref name="scope"/>'s endpoints and counts it. Pickers that bound loads
    /// override this; <paramref name="lastResort"/> is false for the local scope, which may give up early (full)
    /// because the request can still go to every endpoint. <see cref="PlacementResult.Stale"/>: the chosen
    /// endpoint left the pickable set after <paramref name="snapshot"/> was read; nothing was counted.
    /// </summary>
    private protected virtual PlacementResult TryAcquireIn(BalancerSnapshot snapshot, PickScope scope, ulong keyHash, bool lastResort, out EndpointLease lease)
    {
        int index = PickIn(snapshot, scope, keyHash, out PickOutcome outcome);
        if (index < 0)
        {
            lease = default;
            return scope.Pickable.Length == 0 ? PlacementResult.NoEndpoints : PlacementResult.AllEjected;
        }

        EndpointState state = snapshot.States[index];
        if (!state.TryAdd())
        {
            lease = default;
            return PlacementResult.Stale;
        }

        lease = new EndpointLease(snapshot.Endpoints[index], state, outcome);
        return PlacementResult.Placed;
    }

    /// <summary>
    /// True when a pick must skip ejected endpoints, with the clock read once into <paramref name="now"/>.
    /// While nothing is ejected this is one field read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected bool ChecksEjections(out long now)
    {
        if (Ejection is not { AnyEjected: true } ejection)
        {
            now = 0;
            return false;
        }

        now = ejection.Refresh();
        return true;
    }

    /// <summary>True when endpoint <paramref name="index"/> is ejected; only after <see cref="ChecksEjections"/> returned true.</summary>
    private protected static bool IsEjected(BalancerSnapshot snapshot, int index, long now) => OutlierDetector.IsEjected(snapshot.States[index], now);

    /// <summary>The first endpoint of <paramref name="order"/> from <paramref name="start"/> on (wrapping) that is not ejected, or -1.</summary>
    private protected static int FirstAvailable(BalancerSnapshot snapshot, int[] order, int start, long now)
    {
        for (int step = 0; step < order.Length; step++)
        {
            int position = start + step;
            int candidate = order[position >= order.Length ? position - order.Length : position];
            if (!IsEjected(snapshot, candidate, now))
            {
                return candidate;
            }
        }

        return -1;
    }

    /// <summary>
    /// An endpoint of <paramref name="scope"/> that is not ejected at <paramref name="now"/>, drawn by weight among the
    /// available ones, for a pick whose first choice is ejected; -1 when every one is ejected. Only after
    /// <see cref="ChecksEjections"/> returned true.
    /// </summary>
    /// <remarks>
    /// Step 1 – rejection sampling: redraw from the scope's own weighted index (alias table, cycle) a bounded number
    /// of times; the first available draw is distributed exactly as the weights restricted to the available endpoints.
    /// Step 2 – when most of the weight is ejected, draw from the scope's cached table of available endpoints, rebuilt
    /// only when the ejection set changed. Either way the ejected endpoints' traffic spreads by weight over every
    /// available endpoint; a linear walk from the ejected one poured it onto its neighbour in key order (pods of one
    /// node sort together, so a node failure did exactly that). O(1) amortised, allocation-free between changes.
    /// </remarks>
    private protected int RedrawAvailable(BalancerSnapshot snapshot, PickScope scope, ulong random, long now)
    {
        for (int attempt = 0; attempt < MaxAvailabilityRedraws; attempt++)
        {
            random = KeyHasher.Mix(random + ProbeSequence.GoldenGamma);
            int candidate = scope.DrawByWeight(random);
            if (!IsEjected(snapshot, candidate, now))
            {
                return candidate;
            }
        }

        int drawn = scope.DrawAvailable(snapshot, Ejection!, now, KeyHasher.Mix(random + ProbeSequence.GoldenGamma));

        // Another thread may have ejected the drawn endpoint since the table was built (the next pick rebuilds it).
        return drawn < 0 || !IsEjected(snapshot, drawn, now) ? drawn : FirstAvailable(snapshot, scope.Pickable, scope.Modulo((uint)random), now);
    }

    /// <summary>
    /// The key's home endpoint under <paramref name="locator"/> (an index over <paramref name="scope"/>), or, while
    /// the home is ejected, another endpoint of the scope found by <see cref="ProbeAvailable"/>; -1 when every one of
    /// them is ejected. The scope must have a pickable endpoint.
    /// </summary>
    private protected int PlaceByKey<TLocator>(BalancerSnapshot snapshot, PickScope scope, in TLocator locator, ulong keyHash, out PickOutcome outcome)
        where TLocator : struct, IKeyLocator
    {
        int home = locator.Locate(keyHash);
        if (ChecksEjections(out long now) && IsEjected(snapshot, home, now))
        {
            outcome = PickOutcome.Overflow;
            return ProbeAvailable(snapshot, scope, locator, keyHash, now);
        }

        outcome = PickOutcome.Home;
        return home;
    }

    /// <summary>
    /// An endpoint that is not ejected for a key whose own is: key-seeded random positions first, so keys of an
    /// ejected endpoint spread instead of all landing on one neighbour, then a sweep from a key-derived start.
    /// </summary>
    private protected static int ProbeAvailable<TLocator>(BalancerSnapshot snapshot, PickScope scope, in TLocator locator, ulong keyHash, long now)
        where TLocator : struct, IKeyLocator
    {
        ProbeSequence probes = new(keyHash);
        for (int attempt = 0; attempt < MaxAvailabilityProbes; attempt++)
        {
            int candidate = locator.Locate(probes.Next());
            if (!IsEjected(snapshot, candidate, now))
            {
                return candidate;
            }
        }

        return FirstAvailable(snapshot, scope.Pickable, scope.Modulo((uint)keyHash), now);
    }

    /// <summary>The decaying request count of an endpoint, for pickers that track it; <see langword="null"/> otherwise.</summary>
    private protected virtual double? RecentRequests(EndpointState state, long now) => null;

    private bool TryPickByHash(ulong keyHash, [NotNullWhen(true)] out Endpoint? endpoint)
    {
        BalancerSnapshot snapshot = Volatile.Read(ref _snapshot);
        int index = snapshot.Local is { } local && PickIn(snapshot, local, keyHash, out _) is var localIndex and >= 0
            ? localIndex
            : PickIn(snapshot, snapshot.All, keyHash, out _);
        endpoint = index >= 0 ? snapshot.Endpoints[index] : _fallback?.Endpoint;
        return endpoint is not null;
    }

    // Placed (on an endpoint or the fallback), or why not.
    private PlacementResult AcquireOrFallback(ulong keyHash, out EndpointLease lease)
    {
        PlacementResult result;
        do
        {
            // A stale attempt counted nothing: the endpoint it chose was detached after our read, which a writer
            // does only after publishing a newer snapshot, so the next read makes progress.
            result = AcquireOnce(Volatile.Read(ref _snapshot), keyHash, out lease);
        }
        while (result == PlacementResult.Stale);

        if (result == PlacementResult.Placed || _fallback is not EndpointState fallback)
        {
            return result;
        }

        fallback.TryAdd(); // the fallback's state is never detached
        lease = new EndpointLease(fallback.Endpoint, fallback, PickOutcome.Fallback);
        return PlacementResult.Placed;
    }

    private PlacementResult AcquireOnce(BalancerSnapshot snapshot, ulong keyHash, out EndpointLease lease)
    {
        if (snapshot.Local is not { } local)
        {
            return TryAcquireIn(snapshot, snapshot.All, keyHash, lastResort: true, out lease);
        }

        PlacementResult result = TryAcquireIn(snapshot, local, keyHash, lastResort: false, out lease);
        if (result is PlacementResult.Placed or PlacementResult.Stale)
        {
            return result;
        }

        result = TryAcquireIn(snapshot, snapshot.All, keyHash, lastResort: true, out lease);
        if (result == PlacementResult.Placed && lease.Outcome != PickOutcome.OverCapacity)
        {
            // Out of line: only requests that left the local set pay for the membership search. A placement over
            // capacity keeps saying so (the rarer, more telling outcome), wherever it landed.
            lease = SpilledFromLocal(snapshot, lease);
        }

        return result;
    }

    // A request the local set could not take, placed among all endpoints: Remote unless it landed on a local one
    // after all (room freed between the two attempts).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static EndpointLease SpilledFromLocal(BalancerSnapshot snapshot, EndpointLease lease)
        => lease.WithOutcome(IsLocalEndpoint(snapshot, lease.Endpoint) ? PickOutcome.Overflow : PickOutcome.Remote);

    private static bool IsLocalEndpoint(BalancerSnapshot snapshot, Endpoint endpoint)
    {
        int index = IndexOfKey(snapshot.Endpoints, endpoint.Key);
        return index >= 0 && snapshot.IsLocal(index);
    }

    /// <summary>The bounded-load in-flight total now (the sum of its cells once spread), or null without bounded loads (fuzzing, tests).</summary>
    internal int? InFlightTotalNow => InFlightTotal?.Current;

    /// <summary>
    /// Spreads the shared counters (turn cursors, the in-flight total) over per-processor cells, as the first
    /// collision of two threads on each does; tests call it to check the spread state's invariants.
    /// </summary>
    internal virtual void SpreadCounters()
    {
        _keylessCursor.Spread();
        InFlightTotal?.Spread();
    }

    // A keyless pick on a key-placing picker behaves as a fresh key: a bijective mix of a counter
    // covers the 64-bit space evenly, so keyless load follows each endpoint's share of the ring.
    private ulong NextKeylessHash() => KeyHasher.Mix((ulong)_keylessCursor.Next() + 1);

    // A pick found nothing: no pickable endpoint at all, else every one was ejected.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private NoEndpointsException NoEndpoints()
        => new(Volatile.Read(ref _snapshot).Pickable.Length == 0 ? NoEndpointsReason.NoEndpoints : NoEndpointsReason.AllEjected);

    // PlacementResult.AllOverCapacity never reaches here: only the local scope may give up for capacity, and the
    // placement then goes on to every endpoint with a last resort (see NoEndpointsReason's remarks).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static NoEndpointsException NoEndpoints(PlacementResult result)
        => new(result == PlacementResult.AllEjected ? NoEndpointsReason.AllEjected : NoEndpointsReason.NoEndpoints);

    private EndpointStatus Describe(EndpointState state, long now, bool isDraining, bool isLocal)
        => new(
            state.Endpoint,
            state.InFlight,
            state.ReportedLoad,
            RecentRequests(state, now),
            isDraining,
            Ejection?.Remaining(state, now),
            Volatile.Read(ref state.ConsecutiveFailures),
            isLocal,
            state.IgnoredReleases);

    private bool Publish(Endpoint[] next)
    {
        // Runs under _writerGate.
        BalancerSnapshot previous = Volatile.Read(ref _snapshot);
        Endpoint[] current = previous.Endpoints;

        // Step 1 – an update with the same set (same keys and attributes) publishes nothing.
        if (SameSet(current, next))
        {
            return false;
        }

        // Step 2 – reuse the counter of every key the balancer already tracks (staying or draining);
        // endpoints new to the balancer get a fresh one.
        EndpointState[] states = new EndpointState[next.Length];
        Dictionary<string, int> nextIndexByKey = new(next.Length, StringComparer.Ordinal);
        for (int i = 0; i < next.Length; i++)
        {
            Endpoint endpoint = next[i];
            if (!_statesByKey.TryGetValue(endpoint.Key, out EndpointState? state))
            {
                state = new EndpointState(endpoint, InFlightTotal, Ejection, Time);
            }

            states[i] = state;
            nextIndexByKey.Add(endpoint.Key, i);
        }

        // Step 3 – the diff the picker's index can reuse: which previous endpoints stay with the
        // same weight, and which are new or reweighted.
        int[] previousToNext = new int[current.Length];
        bool[] kept = new bool[next.Length];
        for (int i = 0; i < current.Length; i++)
        {
            previousToNext[i] = nextIndexByKey.TryGetValue(current[i].Key, out int j) && next[j].Weight == current[i].Weight ? j : -1;
            if (previousToNext[i] >= 0)
            {
                kept[previousToNext[i]] = true;
            }
        }

        List<(int Owner, Endpoint Endpoint)> added = [];
        for (int i = 0; i < next.Length; i++)
        {
            if (!kept[i])
            {
                added.Add((i, next[i]));
            }
        }

        // Step 4 – build the complete snapshot, index included, before anything is visible. If the
        // picker refuses the set (ArgumentException), nothing below runs and the old set stays in force.
        int[] pickable = BalancerSnapshot.PickableOf(next);
        PickScope all = CreateScope(next, pickable, previous.All, previousToNext, CollectionsMarshal.AsSpan(added));
        PickScope? local = _topology?.SelectLocal(next, pickable) is { } localPickable
            ? CreateScope(next, localPickable, previous: null, previousToNext: [], added: [])
            : null;
        BalancerSnapshot snapshot = new(previous.Version + 1, next, states, all, local);

        // Step 5 – register the new states and refresh the attributes of staying ones; readers of the
        // old snapshot still hold the same state objects, so their releases land on the right counter.
        // A pickable endpoint's state is attached (admits requests, its count is in the bounded-load total) before
        // any reader can pick it: a key that comes back while draining rejoins here.
        for (int i = 0; i < next.Length; i++)
        {
            _statesByKey[next[i].Key] = states[i];
            states[i].Endpoint = next[i];
            if (next[i].Weight > 0)
            {
                states[i].Attach();
            }
        }

        // Step 6 – publish: one reference write makes the whole snapshot visible at once.
        Volatile.Write(ref _snapshot, snapshot);

        // Step 7 – detach every state that is not pickable in the new snapshot (removed, or weight 0): it admits
        // nothing from now on, so a picker still holding the old snapshot is refused and retries on this one, and
        // its requests leave the bounded-load total (the capacity counts requests in current bins only). Only
        // after publication: detached before it, readers of the still-current old snapshot would retry in vain.
        for (int i = 0; i < next.Length; i++)
        {
            if (next[i].Weight == 0)
            {
                states[i].Detach();
            }
        }

        // Step 8 – forget removed keys that have nothing in flight; keep the others (draining) so that
        // their count is found again if the key returns while requests are still out. A detached count at 0
        // stays 0, so nothing is lost by forgetting it. A removed endpoint receives no new requests, so its
        // ejection, if any, no longer counts.
        List<string>? idle = null;
        foreach ((string key, EndpointState state) in _statesByKey)
        {
            if (!nextIndexByKey.ContainsKey(key))
            {
                state.Detach();
                Ejection?.Forget(state);
                if (state.InFlight == 0)
                {
                    (idle ??= []).Add(key);
                }
            }
        }

        if (idle is not null)
        {
            foreach (string key in idle)
            {
                _statesByKey.Remove(key);
            }
        }

        // Step 9 – complete the waits this snapshot satisfies (WaitForEndpointsAsync, WaitForChangeAsync).
        CompleteWaiters(snapshot);
        return true;
    }

    private static int IndexOfKey(Endpoint[] endpoints, string key)
    {
        int low = 0;
        int high = endpoints.Length - 1;
        while (low <= high)
        {
            int middle = low + ((high - low) >> 1);
            int order = string.CompareOrdinal(endpoints[middle].Key, key);
            if (order == 0)
            {
                return middle;
            }

            if (order < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return -1;
    }

    private static bool SameSet(Endpoint[] current, Endpoint[] next)
    {
        if (current.Length != next.Length)
        {
            return false;
        }

        for (int i = 0; i < current.Length; i++)
        {
            if (!current[i].HasSameAttributes(next[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static Endpoint[] Normalize(IEnumerable<Endpoint> endpoints)
    {
        // Ordinal key order is part of the placement definition (ties on the ring break by it), and it
        // makes equal sets compare equal element by element.
        List<Endpoint> list = [];
        foreach (Endpoint endpoint in endpoints)
        {
            ArgumentNullException.ThrowIfNull(endpoint, nameof(endpoints));
            list.Add(endpoint);
        }

        list.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        List<Endpoint> unique = new(list.Count);
        foreach (Endpoint endpoint in list)
        {
            if (unique.Count > 0 && string.Equals(unique[^1].Key, endpoint.Key, StringComparison.Ordinal))
            {
                if (!unique[^1].HasSameAttributes(endpoint))
                {
                    throw new ArgumentException(
                        $"The endpoint {endpoint.Key} appears twice with different attributes (weight {unique[^1].Weight} and {endpoint.Weight}, zone '{unique[^1].Zone}' and '{endpoint.Zone}', node '{unique[^1].NodeName}' and '{endpoint.NodeName}'); each key may appear once, or repeated with identical attributes.",
                        nameof(endpoints));
                }

                continue;
            }

            unique.Add(endpoint);
        }

        return [.. unique];
    }
}
