using System.Diagnostics;
using System.Globalization;

namespace LockFree.Balancing.Fuzz.Engine;

/// <summary>
/// The fuzzing loop: every corpus input once, then mutated inputs until the budget is spent; the first failure
/// stops the run, prints the seed and iteration, and writes the input under <c>fuzz/findings/</c>.
/// </summary>
internal sealed class FuzzRunner
{
    private const int MaxWorkingCorpus = 4096;

    private readonly FuzzTarget _target;
    private readonly FuzzOptions _options;
    private readonly TextWriter _out;

    // Watchdog state: the input running now and when it started (0 when idle).
    private volatile byte[]? _running;
    private long _runningSince;
    private long _runningIteration;

    public FuzzRunner(FuzzTarget target, FuzzOptions options, TextWriter output)
    {
        _target = target;
        _options = options;
        _out = output;
    }

    /// <summary>The <c>fuzz/</c> folder (found upwards from the binary), home of the corpus and findings.</summary>
    public static string ProjectDirectory { get; } = FindProjectDirectory();

    /// <returns>The process exit code.</returns>
    public int Run()
    {
        return _options.Replay is string replay ? RunReplay(replay) : RunFuzz();
    }

    private int RunReplay(string path)
    {
        string[] files = Directory.Exists(path)
            ? [.. Directory.GetFiles(path).Order(StringComparer.Ordinal)]
            : File.Exists(path) ? [path] : throw new FileNotFoundException($"--replay: '{path}' is neither a file nor a folder.", path);
        int failed = 0;
        foreach (string file in files)
        {
            byte[] input = File.ReadAllBytes(file);
            try
            {
                ulong signature = Execute(Trim(input), iteration: -1);
                _out.WriteLine($"replay {Path.GetFileName(file)}: held (signature {signature:x16})");
            }
#pragma warning disable CA1031 // Any exception is the finding being replayed: report it, do not crash.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failed++;
                _out.WriteLine($"replay {Path.GetFileName(file)}: FAILED");
                _out.WriteLine(ex.ToString());
            }
        }

        _out.WriteLine($"fuzz replay target={_target.Name} inputs={files.Length} failed={failed}");
        return failed == 0 ? 0 : 1;
    }

    private int RunFuzz()
    {
        List<byte[]> corpus = LoadCorpus();
        var random = new Random(_options.Seed);
        var mutator = new Mutator(random, _target.Dictionary, _target.MaxInputLength);
        var signatures = new HashSet<ulong>();
        using var watchdog = new Timer(_ => CheckHang(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        Stopwatch clock = Stopwatch.StartNew();
        long executions = 0;
        _out.WriteLine($"fuzz target={_target.Name} seed={_options.Seed} corpus={corpus.Count} budget={_options.Seconds.ToString(CultureInfo.InvariantCulture)}s");

        // Step 1 – the corpus as it is: a committed input that fails is a regression, reported as iteration -1.
        foreach (byte[] seed in corpus.ToArray())
        {
            if (!TryExecute(seed, -1, clock, executions, corpus.Count, out ulong signature))
            {
                return 1;
            }

            executions++;
            signatures.Add(signature);
        }

        // Step 2 – mutate. Iteration i is fully determined by the seed: the same seed replays the same inputs.
        for (long iteration = 0; ; iteration++)
        {
            if ((_options.Iterations is long limit && iteration >= limit)
                || (_options.Iterations is null && clock.Elapsed.TotalSeconds >= _options.Seconds))
            {
                break;
            }

            byte[] input = mutator.Mutate(corpus[random.Next(corpus.Count)], corpus);
            if (!TryExecute(input, iteration, clock, executions, corpus.Count, out ulong signature))
            {
                PrintMutations(mutator);
                return 1;
            }

            executions++;
            if (signatures.Add(signature) && corpus.Count < MaxWorkingCorpus)
            {
                corpus.Add(input);
            }
        }

        PrintMutations(mutator);
        PrintSummary(executions, clock.Elapsed.TotalSeconds, findings: 0, corpus.Count, signatures.Count);
        return 0;
    }

    private bool TryExecute(byte[] input, long iteration, Stopwatch clock, long executions, int corpusSize, out ulong signature)
    {
        try
        {
            signature = Execute(input, iteration);
            return true;
        }
#pragma warning disable CA1031 // Every exception that escapes a target is a finding; it is reported, never rethrown.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            string file = WriteFinding(input, iteration);
            _out.WriteLine($"FINDING target={_target.Name} seed={_options.Seed} iteration={iteration} input={file}");
            _out.WriteLine($"  replay: dotnet run -c Release --project fuzz -- {_target.Name} --replay {file}");
            _out.WriteLine($"  rerun:  dotnet run -c Release --project fuzz -- {_target.Name} --seed {_options.Seed} --iterations {Math.Max(0, iteration + 1)}");
            _out.WriteLine(ex.ToString());
            PrintSummary(executions + 1, clock.Elapsed.TotalSeconds, findings: 1, corpusSize, signatures: -1);
            signature = 0;
            return false;
        }
    }

    private ulong Execute(byte[] input, long iteration)
    {
        _runningIteration = iteration;
        _running = input;
        Volatile.Write(ref _runningSince, Stopwatch.GetTimestamp());
        try
        {
            return _target.Execute(input);
        }
        finally
        {
            Volatile.Write(ref _runningSince, 0);
            _running = null;
        }
    }

    private void CheckHang()
    {
        long since = Volatile.Read(ref _runningSince);
        byte[]? input = _running;
        if (since == 0 || input is null || Stopwatch.GetElapsedTime(since).TotalSeconds < _options.TimeoutSeconds)
        {
            return;
        }

        // A hang cannot be interrupted safely inside the library; record it and end the process.
        string file = WriteFinding(input, _runningIteration);
        _out.WriteLine($"FINDING (hang over {_options.TimeoutSeconds.ToString(CultureInfo.InvariantCulture)} s) target={_target.Name} seed={_options.Seed} iteration={_runningIteration} input={file}");
        _out.Flush();
        Environment.Exit(1);
    }

    private string WriteFinding(byte[] input, long iteration)
    {
        string directory = Path.Combine(ProjectDirectory, "findings");
        Directory.CreateDirectory(directory);
        string file = Path.Combine(directory, $"{_target.Name}-seed{_options.Seed}-iter{iteration}.bin");
        File.WriteAllBytes(file, input);
        return Path.GetRelativePath(Environment.CurrentDirectory, file);
    }

    private List<byte[]> LoadCorpus()
    {
        string directory = _options.CorpusDirectory ?? Path.Combine(ProjectDirectory, "corpus", _target.Name);
        List<byte[]> corpus = [];
        if (Directory.Exists(directory))
        {
            foreach (string file in Directory.GetFiles(directory).Order(StringComparer.Ordinal))
            {
                corpus.Add(Trim(File.ReadAllBytes(file)));
            }
        }
        else if (_options.CorpusDirectory is not null)
        {
            throw new DirectoryNotFoundException($"--corpus: the folder '{directory}' does not exist.");
        }

        if (corpus.Count == 0)
        {
            // No committed corpus (a fresh checkout of a new target): start from the generated seeds.
            corpus.AddRange(_target.Seeds().Select(seed => Trim(seed.Content)));
        }

        if (corpus.Count == 0)
        {
            corpus.Add([]);
        }

        return corpus;
    }

    private byte[] Trim(byte[] input) => input.Length <= _target.MaxInputLength ? input : input[.._target.MaxInputLength];

    private void PrintMutations(Mutator mutator)
    {
        IEnumerable<string> counts = Enum.GetValues<MutationKind>().Select(kind => $"{kind}={mutator.Counts[(int)kind]}");
        _out.WriteLine("mutations: " + string.Join(' ', counts));
    }

    private void PrintSummary(long executions, double seconds, int findings, int corpusSize, int signatures)
    {
        double rate = seconds > 0 ? executions / seconds : 0;
        _out.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"fuzz summary: target={_target.Name} executions={executions} seconds={seconds:0.0} exec/s={rate:0} findings={findings} corpus={corpusSize}{(signatures >= 0 ? $" signatures={signatures}" : "")} seed={_options.Seed}"));
    }

    private static string FindProjectDirectory()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "LockFree.Balancing.Fuzz.csproj")))
            {
                return directory.FullName;
            }
        }

        // Run from a published copy: keep corpus and findings beside the current directory.
        return Environment.CurrentDirectory;
    }
}
