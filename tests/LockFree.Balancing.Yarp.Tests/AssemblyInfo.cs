using Xunit;

// Each proxy test starts its own API server, pods and proxy; serial runs keep the allocation and timing checks honest on two shared cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
