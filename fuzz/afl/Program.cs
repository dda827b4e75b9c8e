using LockFree.Balancing.Fuzz.Afl;
using LockFree.Balancing.Fuzz.Balancer;
using LockFree.Balancing.Fuzz.Engine;
using LockFree.Balancing.Fuzz.ServiceName;
using LockFree.Balancing.Fuzz.Watch;
using SharpFuzz;

// The AFL++ entry point (fuzz/README.md, "Coverage-guided runs"): afl-fuzz starts this once per target, and
// SharpFuzz's fork server feeds it inputs in a loop. The same FuzzTarget.Execute(byte[]) as the seeded fuzzer runs,
// so a finding means the same thing in both: the documented typed errors are caught inside Execute (normal outcomes),
// and whatever escapes it (InvariantViolationException, or any exception the library should not let out) reaches
// SharpFuzz, which reports FAULT_CRASH to afl-fuzz.
FuzzTarget[] targets = [new WatchTarget(), new ListTarget(), new BalancerTarget(), new ServiceNameTarget()];
const string Usage = """
    Usage: LockFree.Balancing.Fuzz.dll <target> [--out-of-process]   run under afl-fuzz (input on stdin outside it)
           LockFree.Balancing.Fuzz.dll <target> --write-dictionary FILE   the target's tokens as an AFL -x file
    Targets: watch, list, balancer, service-name. Driven by fuzz/afl/run.sh.
    """;

FuzzTarget? target = args.Length > 0 ? targets.FirstOrDefault(t => t.Name == args[0]) : null;
if (target is null)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

switch (args.Length)
{
    case 1:
        // PERF: in-process persistent loop (no process start per input); every target is deterministic per input.
        Fuzzer.Run(stream => target.Execute(AflInput.Read(stream, target.MaxInputLength)));
        return 0;
    case 2 when args[1] == "--out-of-process":
        // A child process runs the inputs, so a crash that cannot be caught (stack overflow) is still reported.
        Fuzzer.OutOfProcess.Run(stream => target.Execute(AflInput.Read(stream, target.MaxInputLength)));
        return 0;
    case 3 when args[1] == "--write-dictionary":
        File.WriteAllText(args[2], AflInput.Dictionary(target.Dictionary));
        return 0;
    default:
        Console.Error.WriteLine(Usage);
        return 2;
}
