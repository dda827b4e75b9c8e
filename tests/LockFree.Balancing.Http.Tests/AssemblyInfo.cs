using Xunit;

// The meter is process-wide and the fake API server serves one Service (shop/web): tests that read metrics must
// not see another test's requests. The whole suite runs in a few seconds serially.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
