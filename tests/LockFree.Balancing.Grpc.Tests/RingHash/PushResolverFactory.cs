using Grpc.Net.Client.Balancer;

namespace LockFree.Balancing.Grpc.Tests.RingHash;

/// <summary>A "push:///" resolver whose address list the test sets, as the Kubernetes watch resolver pushes updates.</summary>
internal sealed class PushResolverFactory(IReadOnlyList<BalancerAddress> addresses) : ResolverFactory
{
    private readonly object _lock = new();
    private IReadOnlyList<BalancerAddress> _addresses = addresses;
    private Action<ResolverResult>? _listener;

    public override string Name => "push";

    // The channel owns (and disposes) the resolver.
    public override Resolver Create(ResolverOptions options) => new PushResolver(this);

    public void Push(IReadOnlyList<BalancerAddress> addresses)
    {
        Action<ResolverResult>? listener;
        lock (_lock)
        {
            _addresses = addresses;
            listener = _listener;
        }

        listener?.Invoke(ResolverResult.ForResult(addresses));
    }

    private sealed class PushResolver(PushResolverFactory owner) : Resolver
    {
        public override void Start(Action<ResolverResult> listener)
        {
            IReadOnlyList<BalancerAddress> current;
            lock (owner._lock)
            {
                owner._listener = listener;
                current = owner._addresses;
            }

            listener(ResolverResult.ForResult(current));
        }

        // Push-only: re-resolution requests (sent on connection failures) have nothing new to report.
        public override void Refresh()
        {
        }
    }
}
