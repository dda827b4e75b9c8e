using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using LockFree.Balancing.Benchmarks.Baselines;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// <c>--smoke</c>: proves in seconds, without BenchmarkDotNet's process spawning, that every
/// <c>[Benchmark]</c> method of every class runs at every <c>[Params]</c> value and returns a sane
/// result. It calls each method directly (with the class's global and iteration setups) up to a few
/// thousand times and asks the class (<see cref="ISmokeChecked"/>) to judge each result. CI runs this.
/// </summary>
/// <remarks>The ns/op it prints are reflection-invoked, unwarmed rough figures, not measurements.</remarks>
internal static class SmokeRunner
{
    private const int MaxCalls = 2000;
    private static readonly TimeSpan BudgetPerCase = TimeSpan.FromMilliseconds(150);

    /// <summary>Runs the smoke pass; returns the process exit code (0 when everything passed).</summary>
    public static int Run(TextWriter output)
    {
        Stopwatch total = Stopwatch.StartNew();
        int cases = 0;
        int failures = 0;

        failures += Check(output, "Crc32(\"123456789\") == 0xCBF43926", () =>
        {
            uint crc = Crc32.Compute("123456789"u8);
            return crc == 0xCBF43926u ? null : $"got 0x{crc:X8}";
        });
        failures += Check(output, "System.IO.Hashing.Crc32(\"123456789\") == 0xCBF43926", () =>
        {
            uint crc = System.IO.Hashing.Crc32.HashToUInt32("123456789"u8);
            return crc == 0xCBF43926u ? null : $"got 0x{crc:X8}";
        });

        Type[] classes = [.. typeof(SmokeRunner).Assembly.GetTypes()
            .Where(t => t.IsPublic && !t.IsAbstract && t.GetMethods().Any(m => m.IsDefined(typeof(BenchmarkAttribute))))
            .OrderBy(t => t.Name, StringComparer.Ordinal)];

        foreach (Type type in classes)
        {
            foreach (Dictionary<PropertyInfo, object?> parameters in ParameterSets(type))
            {
                foreach (MethodInfo method in type.GetMethods().Where(m => m.IsDefined(typeof(BenchmarkAttribute))))
                {
                    cases++;
                    failures += RunCase(output, type, parameters, method);
                }
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"smoke: {cases} benchmark cases, {failures} failed, {total.Elapsed.TotalSeconds:F1} s"));
        return failures == 0 ? 0 : 1;
    }

    private static int RunCase(TextWriter output, Type type, Dictionary<PropertyInfo, object?> parameters, MethodInfo method)
    {
        string name = $"{type.Name}.{method.Name}({string.Join(", ", parameters.Select(p => $"{p.Key.Name}={p.Value}"))})";
        try
        {
            object instance = Activator.CreateInstance(type)!;
            foreach ((PropertyInfo property, object? value) in parameters)
            {
                property.SetValue(instance, value);
            }

            Invoke(instance, SetupMethods<GlobalSetupAttribute>(type, method.Name, a => a.Targets));
            MethodInfo[] iterationSetups = SetupMethods<IterationSetupAttribute>(type, method.Name, a => a.Targets);
            ISmokeChecked? checker = instance as ISmokeChecked;
            int operationsPerInvoke = method.GetCustomAttribute<BenchmarkAttribute>()!.OperationsPerInvoke;

            Stopwatch budget = Stopwatch.StartNew();
            TimeSpan measured = TimeSpan.Zero;
            int calls = 0;
            while (calls < MaxCalls && (calls < 3 || budget.Elapsed < BudgetPerCase))
            {
                Invoke(instance, iterationSetups);
                long started = Stopwatch.GetTimestamp();
                object? result = method.Invoke(instance, null);
                measured += Stopwatch.GetElapsedTime(started);
                calls++;
                if (checker is not null)
                {
                    checker.CheckResult(method.Name, result);
                }
                else if (result is null)
                {
                    throw new InvalidOperationException("returned null");
                }
            }

            checker?.CheckAfterCalls(method.Name);
            Invoke(instance, SetupMethods<GlobalCleanupAttribute>(type, method.Name, a => a.Targets)); // servers and channels
            double nsPerOp = measured.TotalNanoseconds / ((double)calls * operationsPerInvoke);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ok    {name,-50} {calls,5} calls x {operationsPerInvoke,2} ops  ~{FormatNs(nsPerOp)}/op"));
            return 0;
        }
        catch (Exception exception)
        {
            Exception cause = exception is TargetInvocationException { InnerException: { } inner } ? inner : exception;
            output.WriteLine($"FAIL  {name}: {cause.GetType().Name}: {cause.Message}");
            return 1;
        }
    }

    private static int Check(TextWriter output, string name, Func<string?> check)
    {
        string? problem;
        try
        {
            problem = check();
        }
        catch (InvalidOperationException exception)
        {
            problem = exception.Message;
        }

        output.WriteLine(problem is null ? $"ok    {name}" : $"FAIL  {name}: {problem}");
        return problem is null ? 0 : 1;
    }

    // Every combination of the [Params] values of the class's public properties (one empty set if none).
    private static IEnumerable<Dictionary<PropertyInfo, object?>> ParameterSets(Type type)
    {
        IEnumerable<Dictionary<PropertyInfo, object?>> sets = [[]];
        foreach (PropertyInfo property in type.GetProperties())
        {
            if (property.GetCustomAttribute<ParamsAttribute>() is { } attribute)
            {
                object?[] values = attribute.Values;
                sets = [.. sets.SelectMany(set => values.Select(value => new Dictionary<PropertyInfo, object?>(set) { [property] = value }))];
            }
        }

        return sets;
    }

    private static MethodInfo[] SetupMethods<TAttribute>(Type type, string benchmark, Func<TAttribute, string[]?> targets)
        where TAttribute : Attribute
        => [.. type.GetMethods().Where(m => m.GetCustomAttribute<TAttribute>() is { } a
            && (targets(a) is not { Length: > 0 } names || names.Contains(benchmark, StringComparer.Ordinal)))];

    private static void Invoke(object instance, MethodInfo[] methods)
    {
        foreach (MethodInfo method in methods)
        {
            method.Invoke(instance, null);
        }
    }

    private static string FormatNs(double ns) => ns switch
    {
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{ns / 1_000_000:F2} ms"),
        >= 10_000 => string.Create(CultureInfo.InvariantCulture, $"{ns / 1_000:F1} us"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{ns:F1} ns"),
    };
}
