using System.Runtime.InteropServices;
using Gateway.Aspire.Hosting.ApplicationModel;
using Gateway.Aspire.Hosting.Processes;
using Gateway.Aspire.Hosting.Servers;

namespace Gateway.Aspire.Hosting;

/// <summary>
/// One pid file per running project under <c>&lt;data root&gt;/projects</c>, holding the project's pid
/// and the AppHost's. An AppHost killed with SIGKILL cannot stop its services (they survive it and
/// keep the router's port); the next start with the same data root finds them here and stops them,
/// as it already does for Redis and PostgreSQL.
/// </summary>
internal sealed class ProjectPidFiles(string dataRoot, TextWriter output)
{
    private readonly string _directory = Path.Combine(dataRoot, "projects");

    /// <summary>Stops projects a dead AppHost left running; refuses to touch those of a live one.</summary>
    public async Task StopOrphansAsync(IEnumerable<ProjectResource> projects)
    {
        foreach (var project in projects)
        {
            var file = PathOf(project);
            if (!File.Exists(file))
            {
                continue;
            }

            var parts = (await File.ReadAllTextAsync(file)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && int.TryParse(parts[0], out var pid) && int.TryParse(parts[1], out var appHostPid)
                && StaleProcess.IsRunning(pid, project.Project.TargetPath))
            {
                if (appHostPid != Environment.ProcessId && IsAlive(appHostPid))
                {
                    throw new InvalidOperationException(
                        $"Another AppHost (pid {appHostPid}) is running with the data directory {Path.GetDirectoryName(_directory)}: " +
                        "stop it first, or give this one another --data-root.");
                }

                output.WriteLine($"AppHost: stopping {project.Name} (pid {pid}), left running by an AppHost that did not stop cleanly");
                ChildProcess.Signal(pid, PosixSignal.SIGTERM);
                await StaleProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(15));
                if (IsAlive(pid))
                {
                    Kill(pid);
                    await StaleProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(5));
                }
            }

            File.Delete(file);
        }
    }

    /// <summary>Records a started project.</summary>
    public void Write(ProjectResource project, int pid)
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(PathOf(project), $"{pid} {Environment.ProcessId}");
    }

    /// <summary>Forgets a stopped project.</summary>
    public void Delete(ProjectResource project) => File.Delete(PathOf(project));

    private static void Kill(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            // Gone in the meantime.
        }
    }

    private static bool IsAlive(int pid) => Directory.Exists(Path.Combine("/proc", pid.ToString()));

    private string PathOf(ProjectResource project) => Path.Combine(_directory, project.Name + ".pid");
}
