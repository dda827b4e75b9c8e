using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using Xunit;

namespace LockFree.Balancing.Tests.PublicApi;

/// <summary>
/// The public surface, dumped by reflection, must equal the committed <c>*.approved.txt</c> file, so every
/// change of the surface is deliberate: when this fails, review <c>*.received.txt</c> beside it and, if
/// the change is intended, copy it over the approved file in the same commit.
/// </summary>
public sealed class PublicApiSnapshotTests
{
    [Fact]
    public void PublicSurface_LockFreeBalancing_MatchesApprovedSnapshot()
        => AssertMatchesApproved(typeof(LoadBalancer).Assembly, "LockFree.Balancing");

    internal static void AssertMatchesApproved(Assembly assembly, string name, [CallerFilePath] string sourcePath = "")
    {
        string directory = Path.GetDirectoryName(sourcePath)!;
        string approvedPath = Path.Combine(directory, $"{name}.approved.txt");
        string receivedPath = Path.Combine(directory, $"{name}.received.txt");
        string actual = PublicApiDump.Render(assembly);
        string approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).ReplaceLineEndings("\n") : "";

        if (approved == actual)
        {
            File.Delete(receivedPath);
            return;
        }

        File.WriteAllText(receivedPath, actual);
        string[] approvedLines = approved.Split('\n');
        string[] actualLines = actual.Split('\n');
        IEnumerable<string> diff = actualLines.Except(approvedLines).Select(l => "+ " + l)
            .Concat(approvedLines.Except(actualLines).Select(l => "- " + l));
        Assert.Fail($"The public API of {name} changed. Review {receivedPath} and copy it over {approvedPath} if intended.\n{string.Join('\n', diff)}");
    }
}

/// <summary>Renders every public and protected member of an assembly's public types, one per line, in a stable order.</summary>
internal static class PublicApiDump
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    public static string Render(Assembly assembly)
    {
        StringBuilder text = new();
        foreach (Type type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            text.Append(TypeHeader(type)).Append('\n');
            IEnumerable<string> members = type.GetMembers(Declared)
                .Where(IsVisible)
                .Select(Describe)
                .Where(line => line.Length > 0)
                .Order(StringComparer.Ordinal);
            foreach (string member in members)
            {
                text.Append("    ").Append(member).Append('\n');
            }
        }

        return text.ToString();
    }

    private static string TypeHeader(Type type)
    {
        string kind = type.IsEnum ? "enum" : type.IsInterface ? "interface" : type.IsValueType ? "struct" : type.IsAbstract && type.IsSealed ? "static class" : type.IsAbstract ? "abstract class" : type.IsSealed ? "sealed class" : "class";
        List<string> bases = [];
        if (type.BaseType is Type baseType && baseType != typeof(object) && baseType != typeof(ValueType) && baseType != typeof(Enum))
        {
            bases.Add(Name(baseType));
        }

        bases.AddRange(type.GetInterfaces().Select(Name).Order(StringComparer.Ordinal));
        return $"{kind} {Name(type)}{(bases.Count > 0 ? " : " + string.Join(", ", bases) : "")}";
    }

    private static bool IsVisible(MemberInfo member) => member switch
    {
        MethodBase method => method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly,
        FieldInfo field => field.IsPublic || field.IsFamily || field.IsFamilyOrAssembly,
        PropertyInfo property => property.GetAccessors(nonPublic: true).Any(IsVisible),
        EventInfo e => e.AddMethod is { } add && IsVisible(add),
        Type nested => nested.IsNestedPublic || nested.IsNestedFamily,
        _ => false,
    };

    private static string Describe(MemberInfo member) => member switch
    {
        ConstructorInfo ctor => $"ctor({Parameters(ctor)})",
        MethodInfo method when method.IsSpecialName => "",
        MethodInfo method => $"{(method.IsStatic ? "static " : "")}{(method.IsAbstract ? "abstract " : method.IsVirtual && !method.IsFinal && method.GetBaseDefinition() == method ? "virtual " : "")}{Name(method.ReturnType)} {method.Name}{Generic(method)}({Parameters(method)})",
        PropertyInfo property => $"{Name(property.PropertyType)} {property.Name} {{ {string.Join(" ", property.GetAccessors(nonPublic: true).Where(IsVisible).Select(a => a.Name.StartsWith("get_", StringComparison.Ordinal) ? "get;" : IsInitOnly(a) ? "init;" : "set;").Order(StringComparer.Ordinal))} }}",
        FieldInfo field when field.DeclaringType!.IsEnum => field.IsSpecialName ? "" : $"{field.Name} = {field.GetRawConstantValue()}",
        FieldInfo field => $"{(field.IsLiteral ? $"const {Name(field.FieldType)} {field.Name} = {field.GetRawConstantValue()}" : $"{(field.IsStatic ? "static " : "")}{(field.IsInitOnly ? "readonly " : "")}{Name(field.FieldType)} {field.Name}")}",
        EventInfo e => $"event {Name(e.EventHandlerType!)} {e.Name}",
        Type nested => $"nested {TypeHeader(nested)}",
        _ => "",
    };

    private static bool IsInitOnly(MethodInfo setter)
        => setter.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.FullName == "System.Runtime.CompilerServices.IsExternalInit");

    private static string Generic(MethodInfo method)
        => method.IsGenericMethodDefinition ? $"<{string.Join(", ", method.GetGenericArguments().Select(a => a.Name))}>" : "";

    private static string Parameters(MethodBase method)
        => string.Join(", ", method.GetParameters().Select(p =>
            $"{(p.IsOut ? "out " : p.ParameterType.IsByRef ? "ref " : "")}{(p.GetCustomAttributes(typeof(ParamArrayAttribute), false).Length > 0 || p.GetCustomAttributes().Any(a => a.GetType().Name == "ParamCollectionAttribute") ? "params " : "")}{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? $" = {p.DefaultValue ?? "null"}" : "")}"));

    private static string Name(Type type)
    {
        if (type.IsByRef)
        {
            return Name(type.GetElementType()!);
        }

        if (type.IsArray)
        {
            return Name(type.GetElementType()!) + "[]";
        }

        if (Nullable.GetUnderlyingType(type) is Type underlying)
        {
            return Name(underlying) + "?";
        }

        if (type.IsGenericType)
        {
            string name = type.GetGenericTypeDefinition().FullName ?? type.Name;
            name = name[..name.IndexOf('`', StringComparison.Ordinal)];
            return $"{name}<{string.Join(", ", type.GetGenericArguments().Select(Name))}>";
        }

        return type.FullName ?? type.Name;
    }
}
