using LockFree.Balancing.Fuzz.Afl;
using LockFree.Balancing.Fuzz.Balancer;
using LockFree.Balancing.Fuzz.Engine;
using LockFree.Balancing.Fuzz.Hashing;
using LockFree.Balancing.Fuzz.ServiceName;
using LockFree.Balancing.Fuzz.Watch;
using SharpFuzz;

// The AFL++ entry point (fuzz/README.md, "Coverage-guided runs"): afl-fuzz starts this once per target, and
// SharpFuzz's fork server feeds it inputs in a loop. The same FuzzTarget.Execute(byte[]) as the seeded fuzzer runs,
// so a finding means the same thing in both: the documented typed errors are caught inside Execute (normal outcomes),
// and whatever escapes it (InvariantViolationException, or any exception the library should not let out) reaches
// SharpFuzz, which reports FAULT_CRASH to afl-fuzz.
// Factories, not instances: a target's constructor runs library code (ServiceReference.Parse in static fields), and
// instrumented code may only run inside Fuzzer.Run, once SharpFuzz has mapped AFL's coverage map (before that the
// trace writes to an unmapped pointer and the process dies with AccessViolationException).
Dictionary<string, Func<FuzzTarget>> factories = new(StringComparer.Ordinal)
{
    ["watch"] = () => new WatchTarget(),
    ["list"] = () => new ListTarget(),
    ["balancer"] = () => new BalancerTarget(),
    ["service-name"] = () => new ServiceNameTarget(),
    ["text-key-hash"] = () => new TextKeyHashTarget(),
};
const string Usage = """
    Usage: LockFree.Balancing.Fuzz.dll <target> [--out-of-process]   run under afl-fuzz (input on stdin outside it)
           LockFree.Balancing.Fuzz.dll <target> --write-dictionary FILE   the target's tokens as an AFL -x file
                                                  (before instrumenting: it runs library code outside Fuzzer.Run)
    Targets: watch, list, balancer, service-name. Driven by fuzz/afl/run.sh.
    """;

if (args.Length == 0 || !factories.TryGetValue(args[0], out Func<FuzzTarget>? create))
{
    Console.Error.WriteLine(Usage);
    return 2;
}

FuzzTarget? target = null;
void Execute(Stream stream)
{
    target ??= create(); // first input: constructed inside Fuzzer.Run, after the coverage map is set up
    target.Execute(AflInput.Read(stream, target.MaxInputLength));
}

switch (args.Length)
{
    case 1:
        // PERF: in-process persistent loop (no process start per input); every target is deterministic per input.
        Fuzzer.Run(Execute);
        return 0;
    case 2 when args[1] == "--out-of-process":
        // A child process runs the inputs, so a crash that cannot be caught (stack overflow) is still reported.
        Fuzzer.OutOfProcess.Run(Execute);
        return 0;
    case 3 when args[1] == "--write-dictionary":
        File.WriteAllText(args[2], AflInput.Dictionary(create().Dictionary));
        return 0;
    default:
        Console.Error.WriteLine(Usage);
        return 2;
}
