using System.Text;

namespace LockFree.Balancing.Fuzz.Engine;

/// <summary>
/// Byte-level and structure-aware mutations (libFuzzer's classic set plus the bad-input classes a watch stream
/// can carry: invalid UTF-8, deep nesting, huge numbers and strings, duplicated or reordered lines).
/// </summary>
/// <remarks>Deterministic for a given <see cref="Random"/> state: a seed and an iteration number replay a run.</remarks>
internal sealed class Mutator
{
    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x7F, 0x80, 0xFF, (byte)'"', (byte)'\\', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':', (byte)'\n', (byte)'\r', (byte)' ', (byte)'0', (byte)'-'];

    // Each is invalid UTF-8 in its own way: overlong, surrogate, lone continuation, truncated sequence, out of range.
    private static readonly byte[][] InvalidUtf8 =
    [
        [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0x80], [0xBF], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0xFE], [0xF0, 0x9F, 0x98],
    ];

    private static readonly string[] InterestingNumbers =
    [
        "0", "-1", "1", "65535", "65536", "-65536", "2147483647", "2147483648", "-2147483649", "4294967296",
        "9223372036854775808", "1e400", "-1e400", "1E-400", "0.5", "1.0", "-0", "1e2", "00", "410", "3.14e+2",
    ];

    private static readonly MutationKind[] AllKinds = Enum.GetValues<MutationKind>();

    private readonly Random _random;
    private readonly IReadOnlyList<byte[]> _dictionary;
    private readonly int _maxLength;

    public Mutator(Random random, IReadOnlyList<byte[]> dictionary, int maxLength)
    {
        _random = random;
        _dictionary = dictionary;
        _maxLength = maxLength;
    }

    /// <summary>How often each class was applied in this run.</summary>
    public long[] Counts { get; } = new long[AllKinds.Length];

    /// <summary>Applies one to four mutations to a copy of <paramref name="input"/>.</summary>
    public byte[] Mutate(byte[] input, IReadOnlyList<byte[]> corpus)
    {
        var data = new List<byte>(input);
        int rounds = 1 + _random.Next(4);
        for (int i = 0; i < rounds; i++)
        {
            MutationKind kind = AllKinds[_random.Next(AllKinds.Length)];
            Counts[(int)kind]++;
            Apply(kind, data, corpus);
            if (data.Count > _maxLength)
            {
                data.RemoveRange(_maxLength, data.Count - _maxLength);
            }
        }

        return [.. data];
    }

    private void Apply(MutationKind kind, List<byte> data, IReadOnlyList<byte[]> corpus)
    {
        switch (kind)
        {
            case MutationKind.BitFlip when data.Count > 0:
                {
                    int at = _random.Next(data.Count);
                    data[at] ^= (byte)(1 << _random.Next(8));
                    break;
                }

            case MutationKind.InterestingByte when data.Count > 0:
                data[_random.Next(data.Count)] = InterestingBytes[_random.Next(InterestingBytes.Length)];
                break;
            case MutationKind.InsertRandomBytes:
                {
                    var bytes = new byte[1 + _random.Next(8)];
                    _random.NextBytes(bytes);
                    data.InsertRange(Position(data), bytes);
                    break;
                }

            case MutationKind.DeleteRange when data.Count > 0:
                {
                    int at = _random.Next(data.Count);
                    data.RemoveRange(at, Math.Min(data.Count - at, 1 + _random.Next(Math.Max(1, data.Count / 8))));
                    break;
                }

            case MutationKind.DuplicateRange when data.Count > 0:
                {
                    int at = _random.Next(data.Count);
                    int length = Math.Min(data.Count - at, 1 + _random.Next(Math.Max(1, data.Count / 4)));
                    data.InsertRange(Position(data), data.GetRange(at, length));
                    break;
                }

            case MutationKind.Truncate when data.Count > 0:
                {
                    int keep = _random.Next(data.Count);
                    data.RemoveRange(keep, data.Count - keep);
                    break;
                }

            case MutationKind.Splice when corpus.Count > 0:
                {
                    byte[] other = corpus[_random.Next(corpus.Count)];
                    int keep = _random.Next(data.Count + 1);
                    int from = _random.Next(other.Length + 1);
                    data.RemoveRange(keep, data.Count - keep);
                    data.AddRange(other.AsSpan(from).ToArray());
                    break;
                }

            case MutationKind.InsertToken when _dictionary.Count > 0:
                data.InsertRange(Position(data), _dictionary[_random.Next(_dictionary.Count)]);
                break;
            case MutationKind.InvalidUtf8:
                data.InsertRange(Position(data), InvalidUtf8[_random.Next(InvalidUtf8.Length)]);
                break;
            case MutationKind.DeepNesting:
                {
                    // Around the parser's depth limit of 64: just under, at, and far over it.
                    int depth = _random.Next(3) switch { 0 => 60 + _random.Next(8), 1 => 1 + _random.Next(20), _ => 1000 + _random.Next(5000) };
                    bool arrays = _random.Next(2) == 0;
                    var nested = new StringBuilder();
                    for (int d = 0; d < depth; d++)
                    {
                        nested.Append(arrays ? "[" : "{\"a\":");
                    }

                    nested.Append('1');
                    if (_random.Next(4) != 0)
                    {
                        for (int d = 0; d < depth; d++)
                        {
                            nested.Append(arrays ? ']' : '}');
                        }
                    }

                    data.InsertRange(Position(data), Encoding.UTF8.GetBytes(nested.ToString()));
                    break;
                }

            case MutationKind.HugeNumber:
                {
                    string number = _random.Next(2) == 0
                        ? new string('9', 20 + _random.Next(2000))
                        : "1" + new string('0', _random.Next(400)) + (_random.Next(2) == 0 ? "e" + _random.Next(100000) : ".5");
                    data.InsertRange(Position(data), Encoding.ASCII.GetBytes(number));
                    break;
                }

            case MutationKind.HugeString:
                {
                    int length = _random.Next(3) switch { 0 => 200 + _random.Next(100), 1 => 4000 + _random.Next(4000), _ => 20000 + _random.Next(60000) };
                    char fill = _random.Next(3) switch { 0 => 'x', 1 => 'é', _ => '\\' };
                    string text = fill == '\\' ? string.Concat(Enumerable.Repeat("\\u00e9", length / 6)) : new string(fill, length);
                    data.InsertRange(Position(data), Encoding.UTF8.GetBytes("\"" + text + "\""));
                    break;
                }

            case MutationKind.LineShuffle:
                ShuffleLines(data);
                break;
            case MutationKind.ReplaceNumber:
                ReplaceNumber(data);
                break;
            default:
                // The chosen class needs data this input lacks (an empty input, an empty dictionary): flip a byte or grow.
                if (data.Count == 0)
                {
                    data.Add(InterestingBytes[_random.Next(InterestingBytes.Length)]);
                }
                else
                {
                    data[_random.Next(data.Count)] ^= 0x20;
                }

                break;
        }
    }

    private int Position(List<byte> data) => _random.Next(data.Count + 1);

    /// <summary>Duplicates, deletes or swaps whole lines (watch events): the replays and reorderings a server can produce.</summary>
    private void ShuffleLines(List<byte> data)
    {
        List<byte[]> lines = [];
        int start = 0;
        for (int i = 0; i < data.Count; i++)
        {
            if (data[i] == (byte)'\n')
            {
                lines.Add(data.GetRange(start, i - start + 1).ToArray());
                start = i + 1;
            }
        }

        if (start < data.Count)
        {
            lines.Add(data.GetRange(start, data.Count - start).ToArray());
        }

        if (lines.Count == 0)
        {
            return;
        }

        int a = _random.Next(lines.Count);
        int b = _random.Next(lines.Count);
        switch (_random.Next(3))
        {
            case 0:
                lines.Insert(b, lines[a]);
                break;
            case 1:
                lines.RemoveAt(a);
                break;
            default:
                (lines[a], lines[b]) = (lines[b], lines[a]);
                break;
        }

        data.Clear();
        foreach (byte[] line in lines)
        {
            data.AddRange(line);
            if (line.Length > 0 && line[^1] != (byte)'\n')
            {
                data.Add((byte)'\n'); // a swapped-in last line must still end its event
            }
        }
    }

    private void ReplaceNumber(List<byte> data)
    {
        // Find a run of digits from a random start; replace it with a boundary value.
        if (data.Count == 0)
        {
            return;
        }

        int from = _random.Next(data.Count);
        int start = -1;
        for (int i = 0; i < data.Count; i++)
        {
            int at = (from + i) % data.Count;
            if (data[at] is >= (byte)'0' and <= (byte)'9')
            {
                start = at;
                break;
            }
        }

        if (start < 0)
        {
            return;
        }

        while (start > 0 && data[start - 1] is >= (byte)'0' and <= (byte)'9')
        {
            start--;
        }

        int end = start;
        while (end < data.Count && data[end] is >= (byte)'0' and <= (byte)'9')
        {
            end++;
        }

        data.RemoveRange(start, end - start);
        data.InsertRange(start, Encoding.ASCII.GetBytes(InterestingNumbers[_random.Next(InterestingNumbers.Length)]));
    }
}
