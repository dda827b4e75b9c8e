using Xunit;

// Each test starts its own fake API server and pods; serial runs keep the timing measurements honest on two shared cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
