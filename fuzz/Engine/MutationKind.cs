namespace LockFree.Balancing.Fuzz.Engine;

/// <summary>The mutation classes; counted per run and listed in docs/reliability.md.</summary>
internal enum MutationKind
{
    BitFlip,
    InterestingByte,
    InsertRandomBytes,
    DeleteRange,
    DuplicateRange,
    Truncate,
    Splice,
    InsertToken,
    InvalidUtf8,
    DeepNesting,
    HugeNumber,
    HugeString,
    LineShuffle,
    ReplaceNumber,
}
