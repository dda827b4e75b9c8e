using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>The machine and commit a report was produced on.</summary>
internal sealed record MachineInfo(string Cpu, int Cores, string Os, string Runtime, string Commit)
{
    public static MachineInfo Current(string repositoryRoot) => new(
        CpuName(),
        Environment.ProcessorCount,
        RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        CurrentCommit(repositoryRoot));

    /// <summary>The 1, 5 and 15-minute load averages (Linux), to tell a quiet machine from a busy one; null elsewhere.</summary>
    public static string? LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string CpuName()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                if (line is not null)
                {
                    return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
                }
            }
        }
        catch (IOException)
        {
            // Fall through to the architecture.
        }

        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static string CurrentCommit(string repositoryRoot)
    {
        try
        {
            using Process? git = Process.Start(new ProcessStartInfo("git", "rev-parse --short HEAD")
            {
                WorkingDirectory = repositoryRoot,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (git is null)
            {
                return "unknown";
            }

            string head = git.StandardOutput.ReadToEnd().Trim();
            if (!git.WaitForExit(5000) || git.ExitCode != 0 || head.Length == 0)
            {
                return "unknown";
            }

            using Process? status = Process.Start(new ProcessStartInfo("git", "status --porcelain --untracked-files=no")
            {
                WorkingDirectory = repositoryRoot,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            });
            string changes = status?.StandardOutput.ReadToEnd() ?? "";
            status?.WaitForExit(5000);
            return changes.Trim().Length == 0 ? head : head + " (with uncommitted changes)";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown (git not found)";
        }
    }
}
