namespace LockFree.Balancing.Fuzz.Engine;

/// <summary>One thing to fuzz: turns an input into calls on the library and checks invariants.</summary>
/// <remarks>
/// <see cref="Execute"/> must be deterministic for a given input (a replayed finding must fail again), must not
/// open sockets or processes (executions per second are the fuzzer's budget), and must throw only
/// <see cref="InvariantViolationException"/> for a broken promise; any other exception that escapes is itself
/// a finding (the library let an undocumented exception out).
/// </remarks>
internal abstract class FuzzTarget
{
    /// <summary>The name on the command line and of the corpus folder.</summary>
    public abstract string Name { get; }

    /// <summary>One line for <c>--help</c>.</summary>
    public abstract string Description { get; }

    /// <summary>Inputs longer than this are cut before they run.</summary>
    public virtual int MaxInputLength => 64 * 1024;

    /// <summary>Byte strings the mutator splices in (field names, keywords, boundary values).</summary>
    public virtual IReadOnlyList<byte[]> Dictionary => [];

    /// <summary>The committed seed corpus is generated from these (<c>generate-corpus</c>), named by file.</summary>
    public abstract IEnumerable<(string FileName, byte[] Content)> Seeds();

    /// <summary>Runs one input.</summary>
    /// <returns>
    /// A small signature of what the input exercised (which outcome, which branches of the model): an input with
    /// a signature not seen before joins the working corpus, a cheap stand-in for coverage feedback.
    /// </returns>
    /// <exception cref="InvariantViolationException">The library broke a promise on this input.</exception>
    public abstract ulong Execute(byte[] input);
}
