using LockFree.Balancing.Fuzz.Balancer;
using LockFree.Balancing.Fuzz.Engine;
using LockFree.Balancing.Fuzz.Hashing;
using LockFree.Balancing.Fuzz.ServiceName;
using LockFree.Balancing.Fuzz.Watch;

FuzzTarget[] targets = [new WatchTarget(), new ListTarget(), new BalancerTarget(), new ServiceNameTarget(), new TextKeyHashTarget()];
string usage = FuzzOptions.Usage.Replace(
    "@TARGETS@",
    string.Concat(targets.Select(t => $"  {t.Name,-14} {t.Description}\n")),
    StringComparison.Ordinal);

if (args.Length == 1 && args[0] == "generate-corpus")
{
    // Rewrites the committed seed corpus from the targets' generators (deterministic: same bytes every time).
    foreach (FuzzTarget target in targets)
    {
        string directory = Path.Combine(FuzzRunner.ProjectDirectory, "corpus", target.Name);
        Directory.CreateDirectory(directory);
        int count = 0;
        foreach ((string fileName, byte[] content) in target.Seeds())
        {
            File.WriteAllBytes(Path.Combine(directory, fileName), content);
            count++;
        }

        Console.WriteLine($"{target.Name}: {count} seeds in {Path.GetRelativePath(Environment.CurrentDirectory, directory)}");
    }

    return 0;
}

FuzzOptions options;
try
{
    options = FuzzOptions.Parse(args);
}
catch (FormatException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

if (options.Help || options.Target is null)
{
    Console.WriteLine(usage);
    return options.Help ? 0 : 2;
}

FuzzTarget? chosen = targets.FirstOrDefault(t => t.Name == options.Target);
if (chosen is null)
{
    Console.Error.WriteLine($"Unknown target '{options.Target}'. Targets: {string.Join(", ", targets.Select(t => t.Name))}.");
    return 2;
}

try
{
    return new FuzzRunner(chosen, options, Console.Out).Run();
}
catch (IOException ex)
{
    Console.Error.WriteLine(ex.Message); // a missing --corpus folder or --replay file
    return 2;
}
