namespace LockFree.Balancing.Fuzz.Engine;

/// <summary>A fuzz target found the library breaking one of its promises.</summary>
internal sealed class InvariantViolationException : Exception
{
    public InvariantViolationException()
        : base("An invariant was violated.")
    {
    }

    public InvariantViolationException(string message)
        : base(message)
    {
    }

    public InvariantViolationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
