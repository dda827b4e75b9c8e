namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// Lets a benchmark class say what a sane result is, so <c>--smoke</c> can run every benchmark method
/// directly and fail loudly on a wrong answer, not only on an exception.
/// </summary>
internal interface ISmokeChecked
{
    /// <summary>Throws when <paramref name="result"/> of <paramref name="benchmark"/> is not plausible.</summary>
    void CheckResult(string benchmark, object? result);

    /// <summary>Throws when the state left after the calls is not sane (e.g. a load count that did not return to 0).</summary>
    void CheckAfterCalls(string benchmark);
}
