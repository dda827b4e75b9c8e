using System.Reflection;
using Xunit;

namespace LockFree.Balancing.ServiceDiscovery.Tests;

/// <summary>Fails when the public surface changes unintentionally; update PublicApi.txt deliberately when it should.</summary>
public sealed class PublicApiTests
{
    internal static string Dump()
    {
        Assembly assembly = typeof(KubernetesEndpointProviderOptions).Assembly;
        var lines = new List<string>();
        foreach (Type type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            string kind = type.IsEnum ? "enum" : type.IsValueType ? "struct" : type.IsInterface ? "interface" : "class";
            string baseType = type.BaseType is { } b && b != typeof(object) && b != typeof(Enum) && b != typeof(ValueType) ? " : " + b.FullName : string.Empty;
            lines.Add($"{kind} {type.FullName}{baseType}");
            const BindingFlags Flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            IEnumerable<string> members = type.GetMembers(Flags)
                .Where(m => m is not MethodInfo { IsSpecialName: true })
                .Select(m => "  " + m.MemberType + " " + m)
                .Order(StringComparer.Ordinal);
            lines.AddRange(members);
        }

        return string.Join('\n', lines) + "\n";
    }

    [Fact]
    public void PublicApi_MatchesCommittedSnapshot()
    {
        string expectedPath = Path.Combine(AppContext.BaseDirectory, "PublicApi.txt");
        string actual = Dump();
        string expected = File.ReadAllText(expectedPath).ReplaceLineEndings("\n");
        if (!string.Equals(expected, actual, StringComparison.Ordinal))
        {
            File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "PublicApi.received.txt"), actual);
        }

        Assert.Equal(expected, actual);
    }
}
