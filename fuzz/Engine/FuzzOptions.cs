using System.Globalization;

namespace LockFree.Balancing.Fuzz.Engine;

/// <summary>The parsed command line.</summary>
internal sealed class FuzzOptions
{
    public const string Usage = """
        Usage: dotnet run -c Release --project fuzz -- <target> [options]
               dotnet run -c Release --project fuzz -- generate-corpus

        Targets:
        @TARGETS@
        Options:
          --seconds N            run for N seconds (default 10)
          --iterations N         stop after N mutated executions (with --seed: an exactly reproducible run)
          --seed S               seed of the mutation source (default: random, printed)
          --corpus DIR           seed inputs (default fuzz/corpus/<target>)
          --replay FILE|DIR      run one input (or every file of a folder) once and report; no mutation
          --timeout-seconds N    an execution running longer than this is a finding (default 10)
          --help                 this text

        Exit code: 0 when every execution held, 1 on an invariant violation or an undocumented exception
        (the input is written to fuzz/findings/), 2 for a bad command line.
        """;

    public string? Target { get; private set; }

    public double Seconds { get; private set; } = 10;

    public long? Iterations { get; private set; }

    public int Seed { get; private set; } = Random.Shared.Next();

    public bool SeedGiven { get; private set; }

    public string? CorpusDirectory { get; private set; }

    public string? Replay { get; private set; }

    public double TimeoutSeconds { get; private set; } = 10;

    public bool Help { get; private set; }

    /// <exception cref="FormatException">An unknown option or a value that does not parse; the message says which.</exception>
    public static FuzzOptions Parse(IReadOnlyList<string> args)
    {
        var options = new FuzzOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "--help" or "-h" or "-?":
                    options.Help = true;
                    break;
                case "--seconds":
                    options.Seconds = PositiveDouble(arg, Value(args, ref i));
                    break;
                case "--iterations":
                    options.Iterations = long.TryParse(Value(args, ref i), NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n >= 0
                        ? n
                        : throw new FormatException($"--iterations needs a whole number of executions (0 or more), not '{args[i]}'.");
                    break;
                case "--seed":
                    options.Seed = int.TryParse(Value(args, ref i), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int seed)
                        ? seed
                        : throw new FormatException($"--seed needs a 32-bit integer, not '{args[i]}'.");
                    options.SeedGiven = true;
                    break;
                case "--corpus":
                    options.CorpusDirectory = Value(args, ref i);
                    break;
                case "--replay":
                    options.Replay = Value(args, ref i);
                    break;
                case "--timeout-seconds":
                    options.TimeoutSeconds = PositiveDouble(arg, Value(args, ref i));
                    break;
                default:
                    if (arg.StartsWith('-') || options.Target is not null)
                    {
                        throw new FormatException($"Unknown argument '{arg}'. Run with --help for the accepted options.");
                    }

                    options.Target = arg;
                    break;
            }
        }

        return options;
    }

    private static string Value(IReadOnlyList<string> args, ref int i)
    {
        if (i + 1 >= args.Count)
        {
            throw new FormatException($"{args[i]} needs a value. Run with --help for the accepted options.");
        }

        return args[++i];
    }

    private static double PositiveDouble(string name, string value)
        => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double result) && result > 0 && double.IsFinite(result)
            ? result
            : throw new FormatException($"{name} needs a positive number of seconds, not '{value}'.");
}
